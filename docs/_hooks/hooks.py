"""MkDocs hooks for Agora's documentation site.

- ``on_config``: generate the reference pages (API from the app's OpenAPI
  document, settings from ``agora.config.Settings``, CLI from the Typer app,
  benchmarks from ``benchmarks/results/*.json``) and put the API reference's
  per-tag pages into the navigation where ``reference/api/index.md`` stands;
- ``on_files``: add the generated pages to the build;
- ``on_post_build``: fail the build if any built page or stylesheet loads an
  asset from the network (the site must work offline).

Problems in the benchmark metadata are logged as warnings, which fail a
``--strict`` build.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from agora_docs.benchmark_page import Benchmark, embed, load, problems, render_benchmarks
from agora_docs.cli_page import render_cli
from agora_docs.offline import external_assets_in_site
from agora_docs.openapi_pages import ApiReference
from agora_docs.ops_tables import alert_rules_markdown, import_metric_modules, metrics_markdown
from agora_docs.settings_page import render_settings, section_tables
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.agora")
ROOT = Path(__file__).resolve().parents[2]
API_DIR = "reference/api"
API_INDEX = f"{API_DIR}/index.md"
BENCHMARKS_PAGE = "reference/benchmarks.md"
# In a page, a line `<!-- benchmark: NAME -->` becomes the figures table of
# benchmarks/results/NAME.json, and `<!-- generated: NAME -->` a generated snippet.
MARKER = re.compile(r"^<!-- (benchmark|generated): ([\w-]+) -->$", re.MULTILINE)
_generated: dict[str, str] = {}
_snippets: dict[str, str] = {}
_benchmarks: dict[str, Benchmark] = {}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the app, built on a throw-away embedded data dir
    (the same way ``GET /openapi.json`` builds it)."""
    from agora.api.app import create_app
    from agora.config import Settings
    from agora.runtime import Platform

    with tempfile.TemporaryDirectory(prefix="agora-docs-") as tmp:
        data = Path(tmp) / "agora"
        settings = Settings.load(
            data_dir=data,
            catalog={"url": f"sqlite:///{data / 'catalog.db'}"},
            bus={"url": "memory://"},
        )
        platform = Platform.build(settings)
        try:
            document: dict[str, Any] = create_app(platform, start_background=False).openapi()
        finally:
            platform.close()
    return document


def generate_pages() -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Every generated page, keyed by its path inside the docs folder, and the
    API reference's (tag title, page path) list for the navigation."""
    from agora.cli.main import app
    from agora.config import Settings

    reference = ApiReference(openapi_document())
    pages = {f"{API_DIR}/{name}": text for name, text in reference.pages().items()}
    pages["reference/settings.md"] = render_settings(Settings)
    pages["reference/cli.md"] = render_cli(app)
    metadata = yaml.safe_load((ROOT / "docs/_data/benchmarks.yml").read_text()) or {}
    benchmarks = load(ROOT / "benchmarks/results", metadata, ROOT / "benchmarks")
    for problem in problems(benchmarks, metadata):
        log.warning(problem)
    _benchmarks.clear()
    _benchmarks.update({b.name: b for b in benchmarks})
    pages[BENCHMARKS_PAGE] = render_benchmarks(benchmarks, page_prefix="../")
    import agora

    import_metric_modules(Path(agora.__file__).parent, "agora")
    rules = yaml.safe_load((ROOT / "deploy/prometheus-rules.yml").read_text())
    _snippets.clear()
    _snippets.update({"metrics": metrics_markdown(), "alert-rules": alert_rules_markdown(rules)})
    _snippets.update({f"settings-{k}": v for k, v in section_tables(Settings).items()})
    tag_pages = [
        (tag.capitalize(), f"{API_DIR}/{reference.tag_file(tag)}") for tag, _ in reference.tags()
    ]
    return pages, tag_pages


def _expand_api_nav(items: list[Any], tag_pages: list[tuple[str, str]]) -> bool:
    """Replace the nav entry that points at the API index with a section holding
    the index, one page per tag and the schemas page."""
    for position, item in enumerate(items):
        if isinstance(item, dict):
            ((title, value),) = item.items()
            if value == API_INDEX:
                section = [API_INDEX, *({tag: path} for tag, path in tag_pages)]
                section.append({"Schemas": f"{API_DIR}/schemas.md"})
                items[position] = {title: section}
                return True
            if isinstance(value, list) and _expand_api_nav(value, tag_pages):
                return True
        elif item == API_INDEX:
            section = [API_INDEX, *({tag: path} for tag, path in tag_pages)]
            items[position] = {"API reference": [*section, {"Schemas": f"{API_DIR}/schemas.md"}]}
            return True
    return False


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    pages, tag_pages = generate_pages()
    _generated.clear()
    _generated.update(pages)
    if config.nav is not None and not _expand_api_nav(config.nav, tag_pages):
        log.warning(f"nav has no entry for {API_INDEX}; the API pages are not in the navigation")
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for path, content in _generated.items():
        existing = files.get_file_from_path(path)
        if existing is not None:
            raise PluginError(f"{path} is generated at build time; remove docs/{path}")
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    src = page.file.src_uri
    target = os.path.relpath(BENCHMARKS_PAGE, os.path.dirname(src) or ".").replace(os.sep, "/")

    def replace(match: re.Match[str]) -> str:
        kind, name = match.groups()
        if kind == "benchmark" and name in _benchmarks:
            return embed(_benchmarks[name], target)
        if kind == "generated" and name in _snippets:
            return _snippets[name]
        log.warning(f"{src}: nothing is generated for the marker {match.group(0)}")
        return ""

    return MARKER.sub(replace, markdown)


def on_post_build(config: MkDocsConfig) -> None:
    problems = external_assets_in_site(Path(config.site_dir))
    if problems:
        lines = [f"  {page}: {url}" for page, urls in problems.items() for url in urls]
        raise PluginError(
            "the built site loads assets from the network (it must work offline):\n"
            + "\n".join(lines)
        )
