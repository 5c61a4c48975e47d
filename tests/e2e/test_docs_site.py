"""The documentation site builds strictly (a broken link, anchor or any warning
fails), works offline (no page loads an asset from the network), and its API
reference documents every operation of the app's OpenAPI document."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "_hooks"))

from agora_docs.markdown import anchor  # noqa: E402
from agora_docs.offline import external_assets_in_site  # noqa: E402

# One build for the module: keep its tests on one xdist worker (make test uses --dist loadgroup).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docs-site")]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("AGORA_DATA_DIR", None)
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-6000:]}"
    return out


def test_the_site_loads_nothing_from_the_network(site: Path) -> None:
    pages = list(site.rglob("*.html"))
    assert len(pages) > 40
    assert external_assets_in_site(site) == {}


def test_reference_pages_are_generated(site: Path) -> None:
    for page in ("reference/settings.html", "reference/cli.html", "reference/benchmarks.html"):
        assert (site / page).is_file(), page
    settings = (site / "reference/settings.html").read_text()
    assert "AGORA_BUS__VISIBILITY_TIMEOUT_S" in settings
    benchmarks = (site / "reference/benchmarks.html").read_text()
    assert "goals met in the committed results" in benchmarks
    # The capability pages embed generated tables, never leave a marker behind.
    search = (site / "capabilities/search.html").read_text()
    assert "AGORA_SEARCH__TEXT_PROFILE" in search and "hybrid.ndcg@10" in search
    assert "<!-- benchmark:" not in search and "<!-- generated:" not in search


def test_api_reference_documents_every_operation(site: Path) -> None:
    from hooks import openapi_document  # docs/_hooks/hooks.py

    document = openapi_document()
    built = "\n".join(p.read_text() for p in (site / "reference/api").glob("*.html"))
    missing = [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and f'id="{anchor("op", op["operationId"])}"' not in built
    ]
    assert not missing, f"operations missing from the API reference: {missing}"
    assert (site / "reference/api/schemas.html").is_file()
