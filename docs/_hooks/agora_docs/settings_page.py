"""The settings reference, generated from the pydantic ``Settings`` model.

Each section (a nested model) becomes a table: the ``agora.toml`` key, the
environment variable, the type, the default and the description. A field's
description is its ``Field(description=...)`` when it has one, else the
comment written beside it in the source (the lines directly above the field,
or the comment at the end of its line), so the page says what the code says.

Example:
    >>> from agora.config import BusSettings
    >>> row = field_rows(BusSettings, "bus")[5]
    >>> row.env, row.default
    ('AGORA_BUS__VISIBILITY_TIMEOUT_S', '30.0')
    >>> row.description
    'A delivery not acked within this time is handed to another consumer.'
"""

from __future__ import annotations

import inspect
import io
import json
import re
import textwrap
import tokenize
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from agora_docs.markdown import anchor, cell, code, table


@dataclass(frozen=True)
class FieldRow:
    """One setting as the page shows it."""

    key: str
    env: str
    type: str
    default: str
    description: str


def source_comments(cls: type) -> dict[str, str]:
    """Map each field name of ``cls`` to the comment written beside it in the source."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    lines = source.splitlines()
    found: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        match = re.match(r"\s+(\w+)\s*:", line)
        if not match or line.lstrip().startswith("#"):
            continue
        above: list[str] = []
        prev = number - 1
        while prev in comments and lines[prev - 1].lstrip().startswith("#"):
            above.insert(0, comments[prev])
            prev -= 1
        text = " ".join(above + ([comments[number]] if number in comments else []))
        if text:
            found[match.group(1)] = text
    return found


def type_name(annotation: Any) -> str:
    """A readable type: ``dict[str, float]``, ``Literal['blend', 'ltr']``, ``Path``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def default_text(info: FieldInfo) -> str:
    """The default as it would be written in ``agora.toml`` (JSON for containers)."""
    if info.default_factory is not None:
        return default_text_of(info.default_factory())  # type: ignore[call-arg]
    if info.default is PydanticUndefined:
        return "(required)"
    return default_text_of(info.default)


def default_text_of(value: Any) -> str:
    """A value as TOML/JSON would spell it (paths as plain text)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, default=str)


DATA_DIR = Path("/DATA_DIR")  # placeholder shown as <data_dir>


def embedded_defaults(settings_cls: type[BaseModel]) -> BaseModel:
    """The settings with code defaults only (no environment, no ``agora.toml``),
    after the model's own ``after`` validators filled what an empty value means
    (e.g. an empty catalog URL becomes the SQLite file under ``data_dir``)."""
    settings = settings_cls.model_construct(data_dir=DATA_DIR)
    for name, decorator in settings_cls.__pydantic_decorators__.model_validators.items():
        if decorator.info.mode == "after":
            settings = getattr(settings, name)() or settings
    return settings


def _effective(value: Any) -> str:
    text = default_text_of(value)
    return text.replace(str(DATA_DIR), "<data_dir>")


def field_rows(
    model: type[BaseModel], prefix: str, effective: BaseModel | None = None
) -> list[FieldRow]:
    """The scalar settings of ``model`` under the dotted ``prefix``; ``effective``
    (the section's filled-in instance) adds what an empty default stands for."""
    comments = {}
    for cls in reversed(model.__mro__):
        if isinstance(cls, type) and issubclass(cls, BaseModel) and cls is not BaseModel:
            comments.update(source_comments(cls))
    rows = []
    for name, info in model.model_fields.items():
        if _is_model(info.annotation):
            continue
        key = f"{prefix}.{name}" if prefix else name
        default = default_text(info)
        if effective is not None and name != "data_dir":
            filled = _effective(getattr(effective, name))
            if filled != default:
                default = f"{default} (empty: {filled})"
        rows.append(
            FieldRow(
                key=key,
                env="AGORA_" + key.replace(".", "__").upper(),
                type=type_name(info.annotation),
                default=default,
                description=info.description or comments.get(name, ""),
            )
        )
    return rows


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _default_cell(text: str) -> str:
    plain, _, filled = text.partition(" (empty: ")
    if not filled:
        return code(plain)
    return f"{code(plain)} (empty: {code(filled[:-1])})"


def _rows_table(rows: list[FieldRow]) -> str:
    return table(
        ["setting", "environment variable", "type", "default", "what it does"],
        (
            [code(r.key), code(r.env), cell(r.type), _default_cell(r.default), cell(r.description)]
            for r in rows
        ),
    )


def _section(title: str, model: type[BaseModel], prefix: str, effective: BaseModel) -> str:
    doc = inspect.getdoc(model) or ""
    heading = title if not prefix else f"`{title}`"
    out = [f"## {heading} {{#{anchor('settings', title)}}}\n"]
    if doc:
        out.append(doc.replace("``", "`") + "\n")
    out.append(_rows_table(field_rows(model, prefix, effective)))
    return "\n".join(out)


def sections(
    model: type[BaseModel], filled: BaseModel, prefix: str = ""
) -> Iterator[tuple[str, type[BaseModel], BaseModel]]:
    """(dotted name, model, filled-in instance) of every nested settings model,
    at any depth, in declaration order."""
    for name, info in model.model_fields.items():
        if _is_model(info.annotation):
            sub = typing.cast(type[BaseModel], info.annotation)
            key = f"{prefix}.{name}" if prefix else name
            yield key, sub, getattr(filled, name)
            yield from sections(sub, getattr(filled, name), key)


def section_tables(settings_cls: type[BaseModel]) -> dict[str, str]:
    """The settings table of every section (nested model), keyed by its dotted
    name, for embedding in the capability pages."""
    filled = embedded_defaults(settings_cls)
    return {
        key: _rows_table(field_rows(model, key, instance))
        for key, model, instance in sections(settings_cls, filled)
    }


INTRO = """\
# Settings reference

Generated from `agora.config.Settings` when this site is built: every row is a
field of the model, with the comment the code carries for it.

Settings are read once, at the entry point, from (highest precedence first):
explicit arguments (CLI flags such as `--data-dir`), `AGORA_*` environment
variables, then `agora.toml` in the working directory. Nested keys use `__` in
environment variables (`AGORA_BUS__URL`) and tables in TOML:

```toml
data_dir = "/var/lib/agora"

[catalog]
url = "postgresql://agora@db/agora"

[search]
fusion_weights = {keyword = 0.6, text = 0.4, conse = 0.3, image = 1.0}
```

Lists and mappings are JSON in environment variables, for example
`AGORA_RANKING__SPONSORED_SLOTS='[4, 12]'`. Empty URLs choose the embedded
backend under `data_dir`.
"""


def render_settings(settings_cls: type[BaseModel]) -> str:
    """The whole settings reference page for the root ``settings_cls``."""
    filled = embedded_defaults(settings_cls)
    parts = [INTRO, _section("top level", settings_cls, "", filled)]
    parts += [
        _section(key, model, key, inst) for key, model, inst in sections(settings_cls, filled)
    ]
    return "\n".join(parts)
