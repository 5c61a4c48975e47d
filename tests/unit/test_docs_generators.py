"""The documentation site's generators (docs/_hooks/agora_docs): the offline
check, the benchmark tables, the API reference and the settings reference."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "_hooks"))

from agora_docs.benchmark_page import Goal, load, problems, render_benchmarks  # noqa: E402
from agora_docs.offline import external_assets_in_html, external_assets_in_site  # noqa: E402
from agora_docs.openapi_pages import ApiReference  # noqa: E402
from agora_docs.settings_page import render_settings, section_tables  # noqa: E402


@pytest.mark.parametrize(
    "html",
    [
        '<script src="https://cdn.example/x.js"></script>',
        '<link rel="stylesheet" href="//fonts.example/css">',
        '<link rel="preconnect" href="https://fonts.gstatic.com">',
        '<link rel="icon" href="http://example.org/favicon.png">',
        '<img src="https://example.org/a.png">',
        '<img srcset="a.png 1x, https://example.org/b.png 2x">',
        '<iframe src="https://example.org/embed"></iframe>',
        "<style>@font-face { src: url(https://fonts.example/r.woff2) }</style>",
        "<div style=\"background: url('http://example.org/bg.png')\"></div>",
        "<svg><image href='https://example.org/i.png'/></svg>",
    ],
)
def test_offline_check_finds_external_assets(html: str) -> None:
    assert external_assets_in_html(f"<html><body>{html}</body></html>")


def test_offline_check_allows_links_and_local_assets() -> None:
    page = """<html><head>
      <link rel="canonical" href="https://agora.example/docs/">
      <link rel="stylesheet" href="assets/main.css">
      <script src="../assets/bundle.js"></script></head>
      <body><a href="https://github.com/mlflow/mlflow/issues/6180">mlflow#6180</a>
      <img src="assets/architecture.svg"><p>https://example.org in text</p></body></html>"""
    assert external_assets_in_html(page) == []


def test_offline_check_scans_stylesheets_in_a_site(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<link rel="stylesheet" href="assets/a.css">')
    (tmp_path / "assets" / "a.css").write_text("@import 'https://fonts.example/roboto.css';")
    assert external_assets_in_site(tmp_path) == {
        "assets/a.css": ["https://fonts.example/roboto.css"]
    }


def _results(tmp_path: Path, files: dict[str, dict[str, Any]]) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    for name, figures in files.items():
        (folder / f"{name}.json").write_text(json.dumps(figures))
    return folder


def test_goals_are_judged_from_the_data(tmp_path: Path) -> None:
    results = _results(tmp_path, {"speed": {"p95_ms": 24.0, "p99_ms": 31.0, "extra": 7}})
    metadata = {
        "speed": {
            "title": "Speed",
            "figures": {
                "p95_ms": {"label": "p95 (ms)", "goal": "< 30"},
                "p99_ms": {"label": "p99 (ms)", "goal": "< 30"},
            },
        }
    }
    benchmarks = load(results, metadata, tmp_path)
    page = render_benchmarks(benchmarks)
    assert "| p95 (ms) | `p95_ms` | 24 | < 30 | **met** |" in page
    assert "| p99 (ms) | `p99_ms` | 31 | < 30 | **not met** |" in page
    assert "1 of 2 goals met" in page
    assert "`extra`" in page  # a figure without metadata still appears
    assert problems(benchmarks, metadata) == []


def test_results_without_metadata_get_a_generic_table(tmp_path: Path) -> None:
    results = _results(tmp_path, {"new_bench": {"a.b": 0.5, "machine": "2 cores"}})
    (tmp_path / "new_bench.py").write_text('"""Measures a new thing."""\n')
    page = render_benchmarks(load(results, {}, tmp_path))
    assert "## new_bench" in page
    assert "Measures a new thing" in page
    assert "| `a.b` | 0.5 |" in page


def test_metadata_naming_a_missing_figure_is_reported(tmp_path: Path) -> None:
    results = _results(tmp_path, {"speed": {"p95_ms": 24.0}})
    metadata = {"speed": {"figures": {"p50_ms": {"goal": "< 10"}}}, "gone": {}}
    found = problems(load(results, metadata, tmp_path), metadata)
    assert any("no figure 'p50_ms'" in p for p in found)
    assert any("'gone'" in p for p in found)


def test_goal_parsing() -> None:
    assert Goal.parse(">= 20,000").met(20000) and not Goal.parse("> 1").met(1)
    with pytest.raises(ValueError):
        Goal.parse("about 3")


def test_committed_benchmark_metadata_matches_the_results() -> None:
    import yaml

    metadata = yaml.safe_load((ROOT / "docs/_data/benchmarks.yml").read_text())
    benchmarks = load(ROOT / "benchmarks/results", metadata, ROOT / "benchmarks")
    assert problems(benchmarks, metadata) == []


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Shop", "version": "2"},
    "tags": [{"name": "items", "description": "Things for sale."}],
    "paths": {
        "/items": {
            "post": {
                "tags": ["items"],
                "summary": "Create Item",
                "operationId": "create_item",
                "description": "Add an item.\n\n**Scope:** `write` (or any higher scope).",
                "security": [{"bearerAuth": ["write"]}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ItemIn"}}
                    },
                },
                "responses": {
                    "201": {
                        "description": "Created",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}
                        },
                    },
                    "422": {"description": "Invalid", "content": {"application/problem+json": {}}},
                },
            },
            "get": {
                "tags": ["items"],
                "summary": "List Items",
                "operationId": "list_items",
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                    }
                ],
                "responses": {"200": {"description": "OK"}},
            },
        },
        "/healthz": {"get": {"summary": "Healthz", "responses": {"200": {"description": "OK"}}}},
    },
    "components": {
        "schemas": {
            "ItemIn": {
                "type": "object",
                "required": ["title"],
                "properties": {
                    "title": {
                        "type": "string",
                        "maxLength": 200,
                        "description": "Shown to buyers.",
                    },
                    "price": {"anyOf": [{"type": "number"}, {"type": "null"}]},
                },
                "examples": [{"title": "Tank", "price": 4.99}],
            },
            "Item": {"type": "object", "properties": {"id": {"type": "string"}}},
        }
    },
}


def test_api_reference_renders_every_operation_by_tag() -> None:
    pages = ApiReference(DOCUMENT).pages()
    assert sorted(pages) == ["index.md", "items.md", "other.md", "schemas.md"]
    items = pages["items.md"]
    assert "## `POST /items` {#op-create_item}" in items
    assert "## `GET /items` {#op-list_items}" in items
    assert "**Scope:** `write` (bearerAuth)" in items
    assert items.count("**Scope:**") == 2  # the description's own note is not repeated
    assert "| `limit` | query | integer |  | >= 1; <= 500; default `50` |" in items
    assert "| `title` | string | yes | Shown to buyers.<br>max length 200 |" in items
    assert "| `price` | number or null |  |  |" in items
    assert '"title": "Tank"' in items  # the document's own example
    assert "[Item](schemas.md#schema-item)" in items
    assert "**Scope:** none: no API key needed." in pages["other.md"]
    assert "[`GET /healthz`](other.md#op-get-healthz)" in pages["index.md"]
    assert "## ItemIn {#schema-itemin}" in pages["schemas.md"]


def test_settings_reference_lists_every_field_with_its_environment_variable() -> None:
    from agora.config import Settings

    page = render_settings(Settings)
    for section, info in Settings.model_fields.items():
        model = info.annotation
        names = getattr(model, "model_fields", {section: None})
        for name in names:
            key = f"{section}.{name}" if name != section else section
            assert f"`AGORA_{key.replace('.', '__').upper()}`" in page, key
    # An empty URL says what it stands for, and a field's comment is its description.
    assert '(empty: `"sqlite:///<data_dir>/catalog.db"`)' in page
    assert "A delivery not acked within this time is handed to another consumer." in page
    assert set(section_tables(Settings)) >= {"search", "bus", "mlops"}


MODULES = [
    "benchmark_page",
    "cli_page",
    "markdown",
    "offline",
    "openapi_pages",
    "ops_tables",
    "settings_page",
]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"agora_docs.{module}"))
    assert result.failed == 0
