"""What every stage that asks a chat model shares: one :class:`ModelSettings`, the client factory and the
per-process cached client.

A stage's settings class inherits :class:`ModelSettings` (``class ExtractConfig(ModelSettings)``), so
``--set model=...``, ``--endpoint`` and the rest mean the same everywhere; the stage picks its own default
``backend`` and ``max_new_tokens``. Concurrency, timeouts, retries, batch size, device and the cache file are
:func:`annotate.config.operational`: changing them never stops a resume.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from annotate.config import operational
from annotate.errors import ModelError
from annotate.vlm import CachedClient, ChatClient, GenerationSettings, ResponseCache
from annotate.vlm_openai import OpenAIClient

MODEL_BACKENDS = ("transformers", "openai")


@dataclass
class ModelSettings:
    """The chat model of a stage: which model, where, and how it generates."""

    backend: str = "none"  # transformers or openai (each stage names its offline default too)
    model: str | None = None  # hub id or local path (transformers), served model name (openai)
    revision: str | None = None
    endpoint: str | None = None  # openai: e.g. http://127.0.0.1:8000/v1
    api_key_env: str = "OPENAI_API_KEY"  # name of the environment variable holding the key (never the key)
    concurrency: int = operational(8)  # openai: requests in flight
    timeout_s: float = operational(120.0)
    retries: int = operational(4)
    max_new_tokens: int = 1024
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = operational(4)  # transformers: requests per generate call
    device: str = operational("auto")
    dtype: str = "auto"
    prompt_version: str = "v1"
    cache: str | None = operational(None)  # response cache file; default OUT/_cache/responses.sqlite

    def generation(self) -> GenerationSettings:
        return GenerationSettings(self.max_new_tokens, self.temperature, self.top_p, self.seed)


def is_loopback(endpoint: str | None) -> bool:
    """Whether an endpoint URL names this machine (``localhost`` or a loopback address; no DNS lookup)."""
    host = urlsplit(endpoint or "").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_client(settings: ModelSettings, device: str) -> ChatClient:
    """The ``transformers`` or ``openai`` client of ``settings``; ``device`` is the process's device, used when
    the ``device`` setting is ``auto``."""
    s = settings
    if s.backend == "transformers":
        from annotate.vlm_transformers import TransformersClient  # torch and transformers only when used

        if not s.model:
            raise ModelError("the transformers backend needs model (a hub id or a local path, --model)")
        return TransformersClient(s.model, s.revision, device if s.device == "auto" else s.device, s.dtype,
                                  s.batch_size)
    if s.backend == "openai":
        return OpenAIClient(s.endpoint, s.model, s.api_key_env, s.concurrency, s.timeout_s, s.retries)
    raise ModelError(f"backend {s.backend!r}: use one of {', '.join(MODEL_BACKENDS)}")


class ChatModelStage:
    """For stages whose settings are :class:`ModelSettings`: one cached client per process, its cache file
    ``cache`` or ``OUT/_cache/responses.sqlite``."""

    client: ChatClient | None
    config: ModelSettings

    def cached_client(self, out: Path) -> CachedClient:
        if getattr(self, "_cached_client", None) is None:
            path = Path(self.config.cache) if self.config.cache else out / "_cache" / "responses.sqlite"
            self._cached_client = CachedClient(self.client, ResponseCache(path))
        return self._cached_client
