"""The composition root owns the process's shared objects; capabilities get them passed in.

No module-level cache hands out the encoders, the catalog view or the label
prototypes: a platform owns one of each, every service of that platform uses
that one, and another platform has its own. Capability packages never reach
for the platform itself (``agora.runtime``): only the edges do.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import agora
from agora.config import Settings
from agora.runtime import Platform
from agora.tagging.taxonomy import Taxonomy
from agora.tagging.zeroshot import LabelPrototypes, ZeroShotTextTagger

SRC = Path(agora.__file__).parent
# Packages rebuilt on narrow dependencies (issue 19): none may import agora.runtime.
NARROW = ("tagging", "demo", "encoders", "eligibility", "search", "moderation")


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    yield p
    p.close()


def test_services_share_the_platforms_encoders_and_catalog_view(tmp_path: Path) -> None:
    one = Platform.build(Settings.load(data_dir=tmp_path / "one"))
    other = Platform.build(Settings.load(data_dir=tmp_path / "other"))
    try:
        # Nothing here loads a model: the encoders load on first encode.
        assert one.search_backends.encoders is one.encoders
        assert one.moderation.categorizer.encoders is one.encoders
        assert one.moderation_models.encoders is one.encoders
        assert one.search.catalog.snapshot is one.catalog_view
        assert one.recommendations.gate.view is one.catalog_view
        assert other.encoders is not one.encoders
        assert other.catalog_view is not one.catalog_view
    finally:
        one.close()
        other.close()


def test_closing_the_platform_closes_its_encoders(platform: Platform) -> None:
    text = platform.encoders.text("minilm")
    platform.close()
    # A closed owner's encoders refuse work instead of leaving a caller waiting.
    with pytest.raises(RuntimeError, match="closed"):
        text.encode_queries(["after close"])
    with pytest.raises(RuntimeError, match="closed"):
        platform.encoders.image()


class _CountingText:
    """A text encoder stand-in that counts the passages it embeds."""

    def __init__(self, version: str = "1") -> None:
        from agora.encoders.base import EncoderInfo

        self.info = EncoderInfo(name="counting", version=version, dim=4, modality="text")
        self.passages = 0

    def encode_passages(self, texts: list[str]) -> object:
        import numpy as np

        self.passages += len(texts)
        rows = np.ones((len(texts), 4), dtype=np.float32)
        rows[:, 0] = [len(t) for t in texts]
        return rows

    def encode_queries(self, texts: list[str]) -> object:
        return self.encode_passages(texts)


def test_label_prototypes_are_embedded_once_per_owner() -> None:
    taxonomy, text = Taxonomy.default(), _CountingText()
    protos = LabelPrototypes(taxonomy, text)  # type: ignore[arg-type]
    assert text.passages == 0  # lazy: nothing embedded before the first use
    first = ZeroShotTextTagger(taxonomy, text, prototypes=protos)  # type: ignore[arg-type]
    second = ZeroShotTextTagger(taxonomy, text, prototypes=protos)  # type: ignore[arg-type]
    assert first.prototypes.by_category is second.prototypes.by_category
    embedded = text.passages
    assert embedded > 0
    protos.by_category  # noqa: B018 (a second read embeds nothing)
    assert text.passages == embedded
    with pytest.raises(ValueError, match="another taxonomy or text encoder"):
        ZeroShotTextTagger(taxonomy, _CountingText("2"), prototypes=protos)  # type: ignore[arg-type]


def _imports_runtime(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "agora.runtime":
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "agora"
            and any(a.name == "runtime" for a in node.names)
        ):
            return True
        if isinstance(node, ast.Import) and any(a.name == "agora.runtime" for a in node.names):
            return True
    return False


@pytest.mark.parametrize("package", NARROW)
def test_capabilities_do_not_import_the_platform(package: str) -> None:
    # ``tasks.py`` modules are task entry points: they take the platform and build deps.
    offenders = [
        str(path.relative_to(SRC))
        for path in sorted((SRC / package).rglob("*.py"))
        if path.name != "tasks.py" and _imports_runtime(path)
    ]
    assert offenders == []
