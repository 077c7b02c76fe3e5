"""A real OpenAI-compatible chat-completions server on 127.0.0.1 for tests: it answers through a function
of the request and can be slow, fail with a status, or send a body that is not a chat completion."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay_s: float = 0.0
    raw_body: bytes | None = None  # sent as is instead of a chat completion


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the listen backlog: the default 5 refuses bursts of concurrent clients
    daemon_threads = True


@dataclass
class ChatServer:
    """``answer(request_json, attempt)`` decides each reply; ``requests`` keeps every request received."""

    answer: Callable[[dict, int], Reply]
    requests: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    host: str = "127.0.0.1"  # the address to bind (another one only inside a test's own network namespace)

    def __enter__(self) -> "ChatServer":
        server = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    attempt = sum(1 for r in server.requests if r == body)
                reply = server.answer(body, attempt)
                time.sleep(reply.delay_s)
                data = reply.raw_body if reply.raw_body is not None else json.dumps({
                    "id": "chatcmpl-test", "object": "chat.completion", "model": body.get("model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content},
                                 "finish_reason": "stop"}]}).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)

        self.httpd = _Server((self.host, 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.httpd.server_address[1]}/v1"

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def official_answer(count: int, description: str = "A quiet restaurant with a table set for two.") -> str:
    """A well-formed answer in the requested shape: one object, or an array of ``count`` objects."""
    item = {"Scene": [None, "Quiet Western Restaurant"], "Scene Description": description,
            "people": [{"Type": "person", "Age": "adult", "Gender": "female", "Looks": "long dark hair",
                        "Emotion": "regretful", "Actions": "sitting at a table",
                        "Continuous Emotion": {"Valence (V)": 3, "Arousal (A)": "4", "Dominance (D)": 3},
                        "Temperament": "reflective", "Facial Attractiveness": 4, "Shot Type": "Medium Shot"}],
            "objects": [{"Type": "glass of wine", "Description": "a glass of red wine", "Shot Type": "Close-Up"}]}
    return json.dumps(item if count == 1 else [dict(item, **{"Scene Description": f"{description} ({i})"})
                                               for i in range(count)])
