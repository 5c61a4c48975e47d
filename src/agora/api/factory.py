"""App factory for multi-process serving: each uvicorn worker process builds its
own settings and platform from the environment (``agora serve`` exports what
its flags changed before starting them).

Example:
    $ uvicorn --factory agora.api.factory:app_from_env --workers 4
"""

from __future__ import annotations

from fastapi import FastAPI

from agora.api.app import create_app
from agora.config import Settings
from agora.ops.logging import configure_logging
from agora.runtime import Platform


def app_from_env() -> FastAPI:
    """Settings from the environment and ``agora.toml``, one platform, one app."""
    settings = Settings.load()
    configure_logging(settings.server.log_level, json=settings.server.log_json)
    return create_app(Platform.build(settings))
