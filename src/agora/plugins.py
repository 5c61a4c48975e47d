"""Backend registry: a URL scheme (or a name) maps to a backend class.

Example:
    >>> registry = BackendRegistry[object]("demo")
    >>> @registry.register("mem")
    ... class Mem:
    ...     def __init__(self, url: str, **kw: object) -> None:
    ...         self.url = url
    >>> registry.create("mem://x").url
    'mem://x'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from agora.errors import InvalidInput

T = TypeVar("T")


class BackendRegistry(Generic[T]):
    """Maps URL schemes to backend factories for one concern (bus, blobs...)."""

    def __init__(self, concern: str) -> None:
        self.concern = concern
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, *schemes: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Class decorator registering a backend under one or more schemes."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            for scheme in schemes:
                self._factories[scheme] = factory
            return factory

        return decorate

    def schemes(self) -> list[str]:
        """Registered schemes, sorted."""
        return sorted(self._factories)

    def create(self, url: str, **kwargs: Any) -> T:
        """Build the backend for ``url``; unknown schemes are a configuration error."""
        scheme = urlsplit(url).scheme.split("+")[0]
        try:
            factory = self._factories[scheme]
        except KeyError:
            raise InvalidInput(
                f"no {self.concern} backend for scheme {scheme!r} (known: {self.schemes()})"
            ) from None
        return factory(url, **kwargs)
