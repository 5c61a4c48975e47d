"""Network helpers for tests that start real servers on the loopback interface."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from agora.testing.wait import PROCESS_START_S


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of the call."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """An app served by uvicorn on a free loopback port, in a background thread.

    For tests that need a real HTTP server (the SDK over a socket, the CLI's
    ``--url``) without the seconds a new interpreter costs.

    Example:
        >>> with LiveServer(app) as url:  # doctest: +SKIP
        ...     httpx.get(f"{url}/healthz")
    """

    def __init__(
        self, app: Callable[..., Any], *, startup_timeout_s: float = PROCESS_START_S
    ) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.startup_timeout_s = startup_timeout_s
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> str:
        self._thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)  # polling the started flag, not a guess
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(30)
