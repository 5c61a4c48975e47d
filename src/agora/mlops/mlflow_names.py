"""Names, URIs and errors between the platform and MLflow (used by ``MlflowModelStore``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

from mlflow.exceptions import MlflowException

from agora.errors import InvalidInput, NotFound

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_MLFLOW_KEY_BAD = re.compile(r"[^\w\-. :/]")


def mlflow_db_uri(uri: str) -> str:
    """MLflow talks to PostgreSQL through SQLAlchemy; the platform ships psycopg 3."""
    if uri.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + uri.split("://", 1)[1]
    return uri


def artifact_location(root: str) -> str:
    """A URI MLflow accepts for an artifact root (a local folder is created)."""
    if "://" in root:
        return root
    path = Path(root).absolute()
    path.mkdir(parents=True, exist_ok=True)
    return path.as_uri()


def local_path(uri: str) -> Path | None:
    """The local folder behind an artifact URI, or None when it lives elsewhere (S3)."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "":
        return Path(uri)
    return None


def mlflow_key(key: str) -> str:
    """A metric/param name MLflow accepts (``ndcg@10`` -> ``ndcg_at_10``); display only."""
    return _MLFLOW_KEY_BAD.sub("_", str(key).replace("@", "_at_"))[:250] or "_"


def check_name(name: str) -> str:
    """``name`` when it is a valid registered-model name, else ``InvalidInput``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"invalid model name {name!r}: use letters, digits, '_', '-', '.' (max 128)"
        )
    return name


@contextmanager
def mlflow_errors(what: str) -> Iterator[None]:
    """Map MLflow's exceptions onto the platform's error classes."""
    try:
        yield
    except MlflowException as exc:
        if exc.error_code in {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"}:
            raise NotFound(f"{what} not found") from exc
        raise InvalidInput(f"{what}: {exc.message}") from exc
