"""An OpenAI-compatible chat-completions client (vLLM, LMDeploy, SGLang and TGI all serve one).

Images go as base64 ``data:`` URLs before the text. Requests run ``concurrency`` at a time; a timeout, a
connection error, a 429 or a 5xx answer, or a body that is not a chat completion is retried with exponential
backoff (``retries`` times), after which that request's slot holds a :class:`ModelCallError`. The API key is
read from the environment variable ``api_key_env`` and never logged or put in an error message.
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from annotate.errors import ModelError
from annotate.vlm import ChatRequest, GenerationSettings, ModelCallError, seed_of

RETRIABLE = {408, 409, 425, 429, 500, 502, 503, 504}


def _image_url(data: bytes) -> str:
    kind = "png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "jpeg"
    return f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")


class OpenAIClient:
    """``complete`` answers each request with the first choice's message content, or a ModelCallError."""

    def __init__(self, endpoint: str | None, model: str | None, api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 8, timeout_s: float = 120.0, retries: int = 4, backoff_s: float = 1.0) -> None:
        if not endpoint:
            raise ModelError("the openai backend needs endpoint (e.g. --endpoint http://127.0.0.1:8000/v1)")
        if not model:
            raise ModelError("the openai backend needs model: the name the server serves (--model)")
        self.url = endpoint.rstrip("/") + "/chat/completions"
        self.model, self.revision = model, None
        self.api_key_env = api_key_env
        self.concurrency, self.timeout_s, self.retries, self.backoff_s = concurrency, timeout_s, retries, backoff_s

    def _body(self, request: ChatRequest, settings: GenerationSettings) -> bytes:
        content = [{"type": "image_url", "image_url": {"url": _image_url(image)}} for image in request.images]
        content.append({"type": "text", "text": request.user})
        messages = ([{"role": "system", "content": request.system}] if request.system else []) + \
                   [{"role": "user", "content": content if request.images else request.user}]
        return json.dumps({"model": self.model, "messages": messages, "max_tokens": settings.max_new_tokens,
                           "temperature": settings.temperature, "top_p": settings.top_p,
                           "seed": seed_of(request, settings)}).encode()

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _one(self, request: ChatRequest, settings: GenerationSettings) -> str | ModelCallError:
        body, problem = self._body(request, settings), ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            http = urllib.request.Request(self.url, data=body, headers=self._headers(), method="POST")
            try:
                with urllib.request.urlopen(http, timeout=self.timeout_s) as response:
                    payload = json.loads(response.read())
                content = payload["choices"][0]["message"]["content"]
                if not isinstance(content, str):
                    raise TypeError(f"message content is {type(content).__name__}")
                return content
            except urllib.error.HTTPError as exc:
                problem = f"HTTP {exc.code}"
                if exc.code not in RETRIABLE:
                    break
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                problem = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            except (ValueError, KeyError, IndexError, TypeError) as exc:  # not a chat completion
                problem = f"malformed response ({type(exc).__name__}: {exc})"
        return ModelCallError(f"request {request.request_id} to {self.url} failed after {attempt + 1} "
                              f"attempt(s): {problem}")

    def complete(self, requests: list[ChatRequest], settings: GenerationSettings) -> list[str | ModelCallError]:
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            return list(pool.map(lambda r: self._one(r, settings), requests))
