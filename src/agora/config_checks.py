"""Validation helpers of the settings tree and the start-up error message.

``agora.config`` declares the settings; this module holds what it validates
with (closed key sets, URL schemes, import paths, ordered pairs) and turns a
pydantic ``ValidationError`` into one line per bad setting that names its key,
its environment variable, the valid choices and the closest one to a typo.

Example:
    >>> closest("lambdamrt", ["final_score", "lambdamart"])
    'lambdamart'
    >>> keys_in(("keyword", "text"), "retriever")({"txet": 1.0})
    Traceback (most recent call last):
    ...
    ValueError: unknown retriever 'txet'; did you mean 'text'? (valid: 'keyword', 'text')
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Callable, Collection, Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError


class SettingsError(ValueError):
    """The settings cannot start the platform; the message names every bad key."""


def closest(word: str, choices: Collection[str]) -> str | None:
    """The valid choice a typo most likely meant (None: nothing is close)."""
    found = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return found[0] if found else None


def unknown(kind: str, word: str, choices: Collection[str]) -> str:
    """The message for a ``word`` outside ``choices``, with the closest one."""
    guess = closest(word, choices)
    hint = f"; did you mean {guess!r}?" if guess else ""
    listed = ", ".join(repr(c) for c in choices)
    return f"unknown {kind} {word!r}{hint} (valid: {listed})"


M = TypeVar("M", bound=Mapping[str, Any] | None)
C = TypeVar("C", bound=Collection[Any])


def keys_in(choices: tuple[str, ...], kind: str) -> Callable[[M], M]:
    """A validator refusing mapping keys outside ``choices`` (weights per retriever, ...)."""

    def check(value: M) -> M:
        for key in {} if value is None else value:
            if key not in choices:
                raise ValueError(unknown(kind, key, choices))
        return value

    return check


def each(check: Callable[[Any], Any]) -> Callable[[C], C]:
    """Apply an item validator to every list item or mapping value. Validators sit on
    the whole container so the documented type stays plain (``list[str]``)."""

    def check_all(value: C) -> C:
        for item in value.values() if isinstance(value, Mapping) else value:
            check(item)
        return value

    return check_all


def items_in(choices: tuple[str, ...], kind: str) -> Callable[[list[str]], list[str]]:
    """A validator refusing list items outside ``choices`` (advisory labels, ...)."""

    def check(value: list[str]) -> list[str]:
        for item in value:
            if item not in choices:
                raise ValueError(unknown(kind, item, choices))
        return value

    return check


def all_between(low: float, high: float) -> Callable[[Mapping[str, float]], Any]:
    """A validator refusing mapping values outside ``[low, high]``."""

    def check(value: Mapping[str, float]) -> Mapping[str, float]:
        for key, number in value.items():
            if not low <= number <= high:
                raise ValueError(f"{key!r} is {number}; expected a value in [{low}, {high}]")
        return value

    return check


def positive(number: int) -> int:
    """Refuse a position below 1 (positions are 1-based)."""
    if number < 1:
        raise ValueError(f"{number} is not a 1-based position")
    return number


def url_scheme(*schemes: str) -> Callable[[str], str]:
    """A validator for a URL that is empty (embedded backend) or one of ``schemes``."""

    def check(url: str) -> str:
        if url and not url.startswith(tuple(f"{s}://" for s in schemes)):
            expected = " or ".join(f"{s}://..." for s in schemes)
            raise ValueError(f"{url!r} is not supported; expected '' (embedded) or {expected}")
        return url

    return check


def import_path(path: str) -> str:
    """Refuse anything but ``module:name``."""
    module, sep, name = path.partition(":")
    if not (sep and module and name):
        raise ValueError(f"{path!r} is not an import path; expected 'module:name'")
    return path


def http_url(url: str) -> str:
    """Refuse a non-empty URL that is not http(s)."""
    if url and not url.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} is not an http(s) URL")
    return url


def upper(value: Any) -> Any:
    """Upper-case a string (log levels are case-insensitive)."""
    return value.upper() if isinstance(value, str) else value


def ordered(model: BaseModel, low: str, high: str) -> None:
    """Refuse ``model.low > model.high`` (a backoff floor above its cap, ...)."""
    if getattr(model, low) > getattr(model, high):
        raise ValueError(
            f"{low} ({getattr(model, low)}) must not exceed {high} ({getattr(model, high)})"
        )


def stray_env_vars(
    root: type[BaseModel], environ: Mapping[str, str], prefix: str, delimiter: str
) -> list[str]:
    """Variables that look like settings but that the environment source skips:
    ``AGORA_X__Y`` of an unknown section ``x``, ``AGORA_SEARCH_FUSION`` (one
    underscore where nesting needs ``__``) and near-misses of a top-level key
    (``AGORA_DATA_DRI``). Other ``AGORA_*`` variables (``AGORA_URL``) are not settings."""
    sections = [name for name, f in root.model_fields.items() if _model_of(f.annotation)]
    top = [name for name in root.model_fields if name not in sections]
    problems = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(prefix):
            continue
        key = upper.removeprefix(prefix).lower()
        if delimiter.lower() in key:
            section = key.split(delimiter.lower())[0]
            if section not in sections:
                problems.append(f"{name}: {unknown('settings section', section, sections)}")
            continue
        if key in top:
            continue
        nested = next((s for s in sections if key.startswith(f"{s}_")), None)
        if nested is not None:
            meant = f"{prefix}{nested.upper()}{delimiter}{key.removeprefix(nested + '_').upper()}"
            problems.append(f"{name}: nested settings use {delimiter!r}; did you mean {meant}?")
            continue
        guess = difflib.get_close_matches(key, top, n=1, cutoff=0.8)
        if guess:
            problems.append(f"{name}: unknown setting; did you mean {prefix}{guess[0].upper()}?")
    return problems


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _field_model(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The settings model that holds the key at ``loc`` (None: inside a plain value)."""
    model: type[BaseModel] | None = root
    for part in loc[:-1]:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return None
        model = _model_of(model.model_fields[part].annotation)
    return model


def _is_scalar_setting(root: type[BaseModel], keys: list[str]) -> bool:
    """Whether ``keys`` names one setting (which then has one environment variable)."""
    model = _field_model(root, tuple(keys))
    return (
        model is not None
        and keys[-1] in model.model_fields
        and _model_of(model.model_fields[keys[-1]].annotation) is None
    )


def _choices(annotation: Any) -> list[str]:
    """Every Literal value allowed by ``annotation`` (unions included)."""
    if typing.get_origin(annotation) is Literal:
        return [str(a) for a in typing.get_args(annotation)]
    return [c for arg in typing.get_args(annotation) for c in _choices(arg)]


def explain(root: type[BaseModel], exc: ValidationError, prefix: str, delimiter: str) -> list[str]:
    """One line per error: the dotted key, its environment variable and what is wrong."""
    lines: list[str] = []
    for error in exc.errors():
        keys = [str(p) for p in error["loc"]]
        model = _field_model(root, tuple(keys))
        where = ".".join(keys)
        unknown_in_section = error["type"] == "extra_forbidden" and len(keys) == 2
        if _is_scalar_setting(root, keys) or unknown_in_section:
            where += f" ({prefix}{delimiter.join(k.upper() for k in keys)})"
        given = error.get("input")
        if error["type"] == "extra_forbidden":
            valid = list(model.model_fields) if model is not None else []
            guess = closest(keys[-1], valid)
            hint = f"; did you mean {guess!r}?" if guess else ""
            line = f"{where}: unknown setting{hint} (valid: {', '.join(valid)})"
        elif error["type"] == "literal_error" and model is not None:
            choices = _choices(model.model_fields[keys[-1]].annotation)
            guess = closest(str(given), choices)
            hint = f"; did you mean {guess!r}?" if guess else ""
            listed = ", ".join(repr(c) for c in choices)
            line = f"{where}: {given!r} is not a valid choice{hint} (choices: {listed})"
        else:
            line = f"{where}: {str(error['msg']).removeprefix('Value error, ')}"
            if error["type"] != "value_error" and isinstance(given, str | int | float | bool):
                line += f" (got {given!r})"
        if line not in lines:
            lines.append(line)
    return lines
