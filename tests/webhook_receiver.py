"""A partner's or police unit's webhook for the tests: a real HTTP server on a free port of 127.0.0.1.

Every POST is kept (path, headers, raw body) and answered with the status `answer` returns for it;
what differs between tests (a flaky unit, a partner that checks signatures, one that is down) is that
function or a subclass's `answer`, not another copy of the server.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


class WebhookReceiver:
    """`answer(request) -> status` (default 204; given, or a subclass's) decides each answer, one at a time;
    `requests` holds every POST in order, including the one being answered. `base` is its address
    (http://127.0.0.1:port). Use as a context manager or call `close()`."""

    def __init__(self, answer: Callable[[Request], int] | None = None):
        if answer is not None:
            self.answer = answer
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                request = Request(self.path, dict(self.headers), self.rfile.read(int(self.headers["Content-Length"])))
                with receiver._lock:
                    receiver.requests.append(request)
                    status = receiver.answer(request)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, request: Request) -> int:
        return 204

    def bodies(self) -> list[bytes]:
        return [r.body for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
