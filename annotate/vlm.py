"""Chat model clients shared by the stages that ask a (multimodal) LLM: requests, settings, cache.

A :class:`ChatRequest` is one chat turn (a system prompt, the user's text, the images before it). Backends
implement :class:`ChatClient`: ``annotate.vlm_transformers`` runs a local model (hub id or path),
``annotate.vlm_openai`` calls an OpenAI-compatible server (``annotate.chat_models`` picks one from the
settings). :class:`ResponseCache` keeps every answer under a
key made of the model, its revision, the prompt's sha, the generation settings, the images in order and the
request's own seed (when it has one), so a rerun or a resume never pays for the same call twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class ChatRequest:
    """One request: ``images`` (encoded JPEG/PNG bytes, in order) come before ``user`` in the user turn;
    ``seed`` is the request's own sampling seed (None: the :class:`GenerationSettings`' seed)."""

    request_id: str
    system: str
    user: str
    images: tuple[bytes, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class GenerationSettings:
    max_new_tokens: int = 1024
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0

    def sha(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


class ModelCallError(Exception):
    """A request that got no answer (after the client's retries); it is never cached."""


class ChatClient(Protocol):
    """A chat model: ``complete`` answers every request, in order (any text, even empty), or holds the
    :class:`ModelCallError` that ended that request's retries."""

    model: str
    revision: str | None

    def complete(self, requests: list[ChatRequest], settings: GenerationSettings) -> list[str | ModelCallError]: ...


def seed_of(request: ChatRequest, settings: GenerationSettings) -> int:
    """The seed a request is sampled with: its own, else the settings'."""
    return settings.seed if request.seed is None else request.seed


_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n(.*?)\n?\s*```\s*$", re.DOTALL)


def unfenced(answer: str) -> str:
    """A model's answer without the one code fence around it (a markdown ``json`` block), else as it is."""
    fenced = _FENCE.match(answer)
    return fenced.group(1) if fenced else answer


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """Answers on disk (SQLite, safe across threads and processes), keyed by everything that decides them."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL)")

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = sqlite3.connect(self.path, timeout=60)
            self._local.db, self._local.pid = db, os.getpid()
        return db

    @staticmethod
    def key(client: ChatClient, request: ChatRequest, settings: GenerationSettings) -> str:
        digest = hashlib.sha256()
        for part in (client.model, client.revision or "", sha256_text(request.system), sha256_text(request.user),
                     settings.sha()):
            digest.update(part.encode() + b"\0")
        for image in request.images:
            digest.update(hashlib.sha256(image).digest())
        if request.seed is not None:  # requests without a seed keep the keys they always had
            digest.update(b"seed:%d\0" % request.seed)
        return digest.hexdigest()

    def get(self, key: str) -> str | None:
        row = self._db().execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put_many(self, items: list[tuple[str, str]]) -> None:
        """Store answers in one transaction (one commit for a batch, not one per answer)."""
        with self._db() as db:
            db.executemany("INSERT OR REPLACE INTO answers (key, answer) VALUES (?, ?)", items)


class CachedClient:
    """A client in front of a cache: only requests without a cached answer reach the model."""

    def __init__(self, client: ChatClient, cache: ResponseCache) -> None:
        self.client, self.cache = client, cache
        self.model, self.revision = client.model, client.revision
        self.calls = 0  # requests sent to the model

    def complete(self, requests: list[ChatRequest], settings: GenerationSettings) -> list[str | ModelCallError]:
        keys = [ResponseCache.key(self.client, r, settings) for r in requests]
        answers = [self.cache.get(k) for k in keys]
        missing = [i for i, a in enumerate(answers) if a is None]
        if missing:
            fresh = self.client.complete([requests[i] for i in missing], settings)
            self.calls += len(missing)
            for i, answer in zip(missing, fresh):
                answers[i] = answer
            self.cache.put_many([(keys[i], a) for i, a in zip(missing, fresh) if isinstance(a, str)])
        return answers  # type: ignore[return-value]
