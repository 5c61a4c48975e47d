"""Package exports imported on first use (PEP 562).

A capability package re-exports its public names, but importing the package
must stay cheap: the SDK imports the API schemas, which import a few input
models from capability packages, and ``agora --help`` imports nothing heavy.

Example:
    >>> __getattr__ = lazy_exports("pkg", {"sqrt": "math"})
    >>> __getattr__("sqrt")(9.0)
    3.0
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``name`` from ``homes[name]`` when asked."""

    def load(name: str) -> Any:
        if name in homes:
            return getattr(importlib.import_module(homes[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return load
