"""Where the client connects and with which key: arguments, else ``AGORA_URL``
and ``AGORA_KEY``, else the local default server."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class ClientSettings:
    """The resolved base URL and API key."""

    url: str
    key: str | None

    @classmethod
    def resolve(cls, url: str | None = None, key: str | None = None) -> ClientSettings:
        """Explicit values win; the environment fills the gaps (the SDK is an
        entry point, like the CLI, so it may read it)."""
        return cls(
            url=(url or os.environ.get("AGORA_URL") or DEFAULT_URL).rstrip("/"),
            key=key or os.environ.get("AGORA_KEY") or None,
        )
