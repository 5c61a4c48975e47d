"""A local emulator of the generic HTTP cloud tagger protocol, for tests and demos.

It is a real HTTP server on the loopback interface that answers with the
labels it was given, records every request (so tests can prove no call was
made without consent) and can fail or stall on demand (retries, time budget).
Like moto for Rekognition, it answers canned labels: it emulates the wire
protocol, not a vision model.

Example:
    >>> with CloudTaggerEmulator([("Tank", 0.93)]) as emu:  # doctest: +SKIP
    ...     HttpCloudTagger(emu.url, taxonomy).tag(png_bytes, timeout_s=1)
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agora.testing.net import free_port


class CloudTaggerEmulator:
    """Serves ``POST /labels`` with canned labels; ``fail_next`` / ``delay_s`` inject faults."""

    def __init__(self, labels: list[tuple[str, float]], *, token: str | None = None) -> None:
        self.labels = labels
        self.token = token
        self.requests: list[dict[str, Any]] = []
        self.fail_next = 0
        self.delay_s = 0.0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/labels"
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                auth = self.headers.get("Authorization")
                emulator.requests.append({"path": self.path, "auth": auth, "bytes": len(body)})
                if emulator.delay_s:
                    time.sleep(emulator.delay_s)
                if emulator.token and auth != f"Bearer {emulator.token}":
                    return self._reply(401, {"error": "bad token"})
                if emulator.fail_next > 0:
                    emulator.fail_next -= 1
                    return self._reply(503, {"error": "try again"})
                try:
                    base64.b64decode(json.loads(body)["image"], validate=True)
                except (ValueError, KeyError):
                    return self._reply(400, {"error": "image must be base64"})
                labels = [{"name": n, "confidence": c} for n, c in emulator.labels]
                return self._reply(200, {"labels": labels, "model_version": "emu-1"})

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CloudTaggerEmulator:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
