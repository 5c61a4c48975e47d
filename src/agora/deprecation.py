"""Agora's own deprecations: one warning class, one decorator.

A deprecated public function (or method) keeps working for a release while it
warns with :class:`AgoraDeprecationWarning`; callers inside Agora must move
off it at once, so the test suite turns this warning, and only this one, into
an error (``filterwarnings`` in ``pyproject.toml``). Third-party
``DeprecationWarning``\\ s stay non-fatal: Agora cannot fix them by editing
its own calls.

Example:
    >>> import warnings
    >>> @deprecated("use new_total()", since="0.9")
    ... def old_total(xs: list[int]) -> int:
    ...     return sum(xs)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     old_total([1, 2])
    3
    >>> str(caught[0].message)
    'old_total is deprecated since Agora 0.9: use new_total()'
    >>> issubclass(caught[0].category, DeprecationWarning)
    True
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class AgoraDeprecationWarning(DeprecationWarning):
    """An Agora API that still works but will be removed; the message says what replaces it."""


def deprecated(instead: str, *, since: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Mark a function deprecated since release ``since``; ``instead`` says what to use.

    Each call warns with :class:`AgoraDeprecationWarning`, attributed to the
    caller's line (``stacklevel=2``), so the warning names the code to change.
    """

    def mark(func: Callable[P, R]) -> Callable[P, R]:
        message = f"{func.__qualname__} is deprecated since Agora {since}: {instead}"

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            warnings.warn(message, AgoraDeprecationWarning, stacklevel=2)
            return func(*args, **kwargs)

        return wrapper

    return mark


__all__ = ["AgoraDeprecationWarning", "deprecated"]
