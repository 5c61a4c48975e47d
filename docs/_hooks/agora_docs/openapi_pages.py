"""The API reference, rendered from an OpenAPI 3.x document.

One page per tag (its operations: parameters, request body with its schema
and example, responses, the scope it needs), one page of schemas, and an index.
The renderer is generic: it shows whatever the document holds and assumes
nothing about Agora's routes, so it follows the API as routers change.

Example:
    >>> doc = {"openapi": "3.1.0", "info": {"title": "T", "version": "1"},
    ...        "paths": {"/ping": {"get": {"tags": ["ops"], "summary": "Ping",
    ...                  "responses": {"200": {"description": "OK"}}}}}}
    >>> pages = ApiReference(doc).pages()
    >>> sorted(pages)
    ['index.md', 'ops.md', 'schemas.md']
    >>> "`GET /ping`" in pages["ops.md"]
    True
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from agora_docs.markdown import anchor, cell, code, json_block, slug, table

METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
UNTAGGED = "other"
RESERVED = {"index", "schemas"}
_SCOPE_NOTE = re.compile(r"\n*\*\*Scope:\*\*[^\n]*\s*$")
_CONSTRAINTS = (
    ("minLength", "min length {}"),
    ("maxLength", "max length {}"),
    ("minimum", ">= {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "<= {}"),
    ("exclusiveMaximum", "< {}"),
    ("multipleOf", "multiple of {}"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
    ("uniqueItems", "unique items"),
    ("minProperties", "at least {} keys"),
    ("maxProperties", "at most {} keys"),
)


@dataclass(frozen=True)
class Operation:
    """One method on one path."""

    method: str
    path: str
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return anchor("op", self.spec.get("operationId") or f"{self.method}-{self.path}")

    @property
    def title(self) -> str:
        return f"{self.method.upper()} {self.path}"


def _is_error(status: str) -> bool:
    return status == "default" or status[:1] in {"4", "5"}


class ApiReference:
    """Markdown pages for one OpenAPI document."""

    def __init__(self, document: dict[str, Any], schemas_page: str = "schemas.md") -> None:
        self.doc = document
        self.schemas_page = schemas_page
        self.components: dict[str, Any] = document.get("components", {}).get("schemas", {})

    # -- structure ---------------------------------------------------------

    def operations(self) -> Iterator[Operation]:
        """Every operation, in document order."""
        for path, item in self.doc.get("paths", {}).items():
            for method in METHODS:
                if isinstance(item.get(method), dict):
                    yield Operation(method, path, item[method])

    def tags(self) -> list[tuple[str, str]]:
        """(tag, description) of every tag with operations: declared tags first, in
        the document's order, then undeclared ones, then untagged operations."""
        used = {self._tag_of(op) for op in self.operations()}
        declared = [(t["name"], t.get("description", "")) for t in self.doc.get("tags", [])]
        ordered = [(name, text) for name, text in declared if name in used]
        known = {name for name, _ in declared}
        ordered += [(name, "") for name in sorted(used - known)]
        return ordered

    def tag_file(self, tag: str) -> str:
        """The page (relative to the API reference folder) that documents ``tag``."""
        name = slug(tag)
        return f"{name}-tag.md" if name in RESERVED else f"{name}.md"

    def pages(self) -> dict[str, str]:
        """Every page, keyed by its file name inside the API reference folder."""
        pages = {self.tag_file(tag): self.tag_page(tag, text) for tag, text in self.tags()}
        pages["index.md"] = self.index_page()
        pages[self.schemas_page] = self.schemas_markdown()
        return pages

    @staticmethod
    def _tag_of(op: Operation) -> str:
        tags = op.spec.get("tags") or [UNTAGGED]
        return str(tags[0])

    # -- schemas -----------------------------------------------------------

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow ``$ref`` chains to the component schema."""
        seen = set()
        while "$ref" in schema and schema["$ref"] not in seen:
            seen.add(schema["$ref"])
            target = self.components.get(schema["$ref"].rsplit("/", 1)[-1])
            if target is None:
                break
            schema = target
        return schema

    def link(self, name: str, page: str = "") -> str:
        """A link to a component schema on the schemas page (``page`` prefix when
        linking from another page)."""
        target = f"{page}#{anchor('schema', name)}" if page else f"#{anchor('schema', name)}"
        return f"[{name}]({target})"

    def type_text(self, schema: dict[str, Any] | bool | None, page: str = "") -> str:
        """A readable type for a JSON schema, linking component schemas."""
        if schema is True or schema is None or schema == {}:
            return "any"
        if schema is False:
            return "nothing"
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return self.link(name, page) if name in self.components else code(name)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                parts = [s for s in schema[key] if s != {"type": "null"}]
                text = " or ".join(self.type_text(s, page) for s in parts)
                return text + (" or null" if len(parts) < len(schema[key]) else "")
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.type_text(schema["allOf"][0], page)
        if "const" in schema:
            return code(json.dumps(schema["const"]))
        if "enum" in schema:
            return "one of " + ", ".join(code(json.dumps(v)) for v in schema["enum"])
        kind = schema.get("type")
        if isinstance(kind, list):
            return " or ".join(self.type_text({**schema, "type": k}, page) for k in kind)
        if kind == "array":
            items = schema.get("items")
            return f"array of {self.type_text(items, page)}" if items else "array"
        if kind == "object":
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return f"object of {self.type_text(extra, page)}"
            return "object"
        if kind == "string":
            media = schema.get("contentMediaType") or ""
            if schema.get("format") == "binary" or media == "application/octet-stream":
                return "file"
            if schema.get("format"):
                return f"string ({schema['format']})"
        return str(kind or "any")

    def constraints(self, schema: dict[str, Any]) -> list[str]:
        """Validation keywords of ``schema`` (and of its non-null alternative)."""
        found = []
        branches = [schema] + [
            s for key in ("anyOf", "oneOf") for s in schema.get(key, []) if s != {"type": "null"}
        ]
        for branch in branches:
            for key, text in _CONSTRAINTS:
                if key in branch and branch[key] is not False:
                    found.append(text.format(branch[key]))
            if "pattern" in branch:
                found.append(f"pattern {code(branch['pattern'])}")
        if "default" in schema:
            found.append(f"default {code(json.dumps(schema['default']))}")
        return found

    def field_rows(
        self, schema: dict[str, Any], page: str = "", prefix: str = "", depth: int = 0
    ) -> list[list[str]]:
        """Rows (name, type, required, description) of an object schema's properties;
        inline nested objects are expanded with dotted names."""
        schema = self.resolve(schema)
        required = set(schema.get("required", []))
        rows = []
        for name, prop in schema.get("properties", {}).items():
            notes = self.constraints(prop)
            description = prop.get("description", "")
            text = cell(description) + ("<br>" if description and notes else "")
            text += "; ".join(notes)
            rows.append(
                [
                    code(prefix + name),
                    self.type_text(prop, page),
                    "yes" if name in required else "",
                    text,
                ]
            )
            if prop.get("type") == "object" and prop.get("properties") and depth < 3:
                rows += self.field_rows(prop, page, f"{prefix}{name}.", depth + 1)
        return rows

    def example(self, schema: dict[str, Any] | None, media: dict[str, Any] | None = None) -> Any:
        """The document's own example for a body (media type first, then schema);
        ``None`` when it has none (examples are never invented)."""
        media = media or {}
        if "example" in media:
            return media["example"]
        for value in (media.get("examples") or {}).values():
            if isinstance(value, dict) and "value" in value:
                return value["value"]
        if not schema:
            return None
        for candidate in (schema, self.resolve(schema)):
            if candidate.get("examples"):
                examples = candidate["examples"]
                return examples[0] if isinstance(examples, list) else examples
            if "example" in candidate:
                return candidate["example"]
        return None

    # -- pages -------------------------------------------------------------

    def scope_text(self, op: Operation) -> str:
        """Who may call the operation, from its security requirements."""
        requirements = op.spec.get("security", self.doc.get("security"))
        if not requirements:
            return "none: no API key needed."
        options = []
        for requirement in requirements:
            if not requirement:
                options.append("no key")
                continue
            for scheme, roles in requirement.items():
                if roles:
                    options.append(f"{', '.join(code(r) for r in roles)} ({scheme})")
                else:
                    options.append(f"any valid key ({scheme})")
        return " or ".join(options) + ". See [authentication](index.md#authentication)."

    def _parameters(self, op: Operation, page: str) -> str:
        params = [self.resolve(p) for p in op.spec.get("parameters", [])]
        if not params:
            return ""
        rows = []
        for param in params:
            schema = param.get("schema", {})
            description = cell(param.get("description") or schema.get("description", ""))
            notes = "; ".join(self.constraints(schema))
            rows.append(
                [
                    code(param.get("name", "")),
                    param.get("in", ""),
                    self.type_text(schema, page),
                    "yes" if param.get("required") else "",
                    description + ("<br>" if description and notes else "") + notes,
                ]
            )
        return "**Parameters**\n\n" + table(["name", "in", "type", "required", "notes"], rows)

    def _body(self, op: Operation, page: str) -> str:
        body = self.resolve(op.spec.get("requestBody", {}))
        if not body:
            return ""
        required = " (required)" if body.get("required") else ""
        out = [f"**Request body**{required}\n"]
        if body.get("description"):
            out.append(body["description"] + "\n")
        for media_type, media in body.get("content", {}).items():
            schema = media.get("schema", {})
            out.append(f"`{media_type}`: {self.type_text(schema, page)}\n")
            rows = self.field_rows(schema, page)
            if rows:
                out.append(table(["field", "type", "required", "notes"], rows))
            example = self.example(schema, media)
            if example is not None:
                out.append("Example:\n\n" + json_block(example))
        return "\n".join(out)

    def _responses(self, op: Operation, page: str) -> str:
        results: list[list[str]] = []
        errors: list[list[str]] = []
        examples: list[str] = []
        for status, response in op.spec.get("responses", {}).items():
            response = self.resolve(response)
            content = response.get("content", {})
            kinds = "<br>".join(
                f"{code(media_type)}: {self.type_text(media.get('schema'), page)}"
                for media_type, media in content.items()
            )
            row = [code(status), cell(response.get("description", "")), kinds]
            (errors if _is_error(str(status)) else results).append(row)
            if str(status).startswith("2"):
                for media_type, media in content.items():
                    example = self.example(media.get("schema"), media)
                    if example is not None:
                        examples.append(
                            f"Example `{status}` `{media_type}`:\n\n{json_block(example)}"
                        )
        out = ""
        if results:
            out += "**Responses**\n\n" + table(["status", "meaning", "content"], results)
        out += "".join(f"\n{e}" for e in examples)
        if errors:
            shared = {row[2] for row in errors}
            if len(shared) == 1:
                out += f"\n**Errors**, each {shared.pop()}:\n\n"
                out += table(["status", "meaning"], (row[:2] for row in errors))
            else:
                out += "\n**Errors**\n\n" + table(["status", "meaning", "content"], errors)
        return out

    def operation_markdown(self, op: Operation, page: str) -> str:
        """One operation's section."""
        out = [f"## `{op.title}` {{#{op.id}}}\n"]
        if op.spec.get("summary"):
            out.append(
                f"**{op.spec['summary']}**"
                + (" (deprecated)" if op.spec.get("deprecated") else "")
                + "\n"
            )
        description = _SCOPE_NOTE.sub("", op.spec.get("description", "")).strip()
        if description:
            out.append(description + "\n")
        out.append(f"**Scope:** {self.scope_text(op)}\n")
        out += [part for part in (self._parameters(op, page), self._body(op, page)) if part]
        out.append(self._responses(op, page))
        return "\n".join(out)

    def tag_page(self, tag: str, description: str) -> str:
        """The page of one tag: every operation it holds."""
        page = self.schemas_page
        ops = [op for op in self.operations() if self._tag_of(op) == tag]
        out = [f"# {tag.capitalize()}\n"]
        if description:
            out.append(description + "\n")
        out.append(
            "Generated from the OpenAPI document when this site is built.\n\n"
            + table(
                ["operation", "summary"],
                ([f"[`{op.title}`](#{op.id})", cell(op.spec.get("summary", ""))] for op in ops),
            )
        )
        out += [self.operation_markdown(op, page) for op in ops]
        return "\n".join(out)

    def schemas_markdown(self) -> str:
        """Every component schema: fields, enum values, example."""
        out = [
            "# Schemas\n",
            "The request and response models of the API, generated from the OpenAPI "
            "document's components when this site is built.\n",
        ]
        for name, schema in sorted(self.components.items(), key=lambda kv: kv[0].lower()):
            out.append(f"## {name} {{#{anchor('schema', name)}}}\n")
            if schema.get("description"):
                out.append(schema["description"] + "\n")
            rows = self.field_rows(schema)
            if rows:
                out.append(table(["field", "type", "required", "notes"], rows))
            elif schema.get("properties") is None:
                out.append(f"Type: {self.type_text(schema)}\n")
            example = self.example(schema)
            if example is not None:
                out.append("Example:\n\n" + json_block(example))
        return "\n".join(out)

    def index_page(self) -> str:
        """The reference's front page: what the API is, authentication, errors, every operation."""
        info = self.doc.get("info", {})
        out = [
            "# API reference\n",
            f"{info.get('title', 'API')} {info.get('version', '')}, "
            f"OpenAPI {self.doc.get('openapi', '?')}. Generated from the document the "
            "app serves at `/openapi.json` when this site is built.\n",
        ]
        if info.get("summary"):
            out.append(info["summary"] + "\n")
        if info.get("description"):
            out.append(info["description"] + "\n")
        schemes = self.doc.get("components", {}).get("securitySchemes", {})
        if schemes:
            out.append("## Authentication {#authentication}\n")
            for name, scheme in schemes.items():
                kind = scheme.get("scheme") or scheme.get("type", "")
                out.append(f"- `{name}` ({kind}): {scheme.get('description', '')}")
            out.append("")
        out.append("## Operations\n")
        rows = []
        for tag, _ in self.tags():
            for op in self.operations():
                if self._tag_of(op) == tag:
                    target = f"{self.tag_file(tag)}#{op.id}"
                    rows.append(
                        [f"[`{op.title}`]({target})", cell(tag), cell(op.spec.get("summary", ""))]
                    )
        out.append(table(["operation", "tag", "summary"], rows))
        out.append(f"Models: [schemas]({self.schemas_page}).\n")
        return "\n".join(out)
