"""The built site must work offline: no page may load a script, stylesheet,
font, image or frame from the network.

Links (``<a href="https://...">``) are fine: a reader follows them on purpose.
What is checked is everything a browser fetches by itself when it opens a page:
``src``/``srcset``/``data`` attributes, ``<link>`` elements other than plain
navigation relations, inline ``style`` and ``<style>`` blocks, and every
stylesheet the site ships (``url(...)`` and ``@import``).

Example:
    >>> external_assets_in_html('<script src="https://cdn.example/x.js"></script>')
    ['<script src>: https://cdn.example/x.js']
    >>> external_assets_in_html('<a href="https://example.org">a link</a>')
    []
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

# A URL the browser would fetch from another host: http(s) or protocol-relative.
_EXTERNAL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*['"]?([^'");\s]+)""", re.IGNORECASE)
# <link rel=...> values that are navigation metadata, not fetched resources.
_NAVIGATION_RELS = frozenset(
    {"canonical", "alternate", "prev", "next", "author", "license", "help", "search", "me"}
)
_FETCHED_ATTRS = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
    "input": ("src",),
}


def _srcset_urls(value: str) -> list[str]:
    return [part.strip().split(" ")[0] for part in value.split(",") if part.strip()]


def external_urls_in_css(css: str) -> list[str]:
    """Every external URL a stylesheet (or inline style) would fetch."""
    found = _CSS_URL.findall(css) + _CSS_IMPORT.findall(css)
    return [url for url in found if _EXTERNAL.match(url)]


class _AssetScanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "link":
            rels = set(values.get("rel", "").lower().split())
            if rels and rels <= _NAVIGATION_RELS:
                return
            self._check(tag, "href", values.get("href", ""))
        for attr in _FETCHED_ATTRS.get(tag, ()):
            value = values.get(attr, "")
            urls = _srcset_urls(value) if attr == "srcset" else [value]
            for url in urls:
                self._check(tag, attr, url)
        if "style" in values:
            for url in external_urls_in_css(values["style"]):
                self.found.append(f"<{tag} style>: {url}")
        self._in_style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_style = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found.extend(f"<style>: {url}" for url in external_urls_in_css(data))

    def _check(self, tag: str, attr: str, url: str) -> None:
        if url and _EXTERNAL.match(url):
            self.found.append(f"<{tag} {attr}>: {url.strip()}")


def external_assets_in_html(html: str) -> list[str]:
    """Every external resource an HTML page would load, as ``<tag attr>: url``."""
    scanner = _AssetScanner()
    scanner.feed(html)
    scanner.close()
    return scanner.found


def external_assets_in_site(site_dir: Path) -> dict[str, list[str]]:
    """Scan every built page and stylesheet; maps a file (relative) to what it loads."""
    problems: dict[str, list[str]] = {}
    for path in sorted(site_dir.rglob("*")):
        if path.suffix == ".html":
            found = external_assets_in_html(path.read_text(encoding="utf-8", errors="replace"))
        elif path.suffix == ".css":
            found = external_urls_in_css(path.read_text(encoding="utf-8", errors="replace"))
        else:
            continue
        if found:
            problems[str(path.relative_to(site_dir))] = found
    return problems
