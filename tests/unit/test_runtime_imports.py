"""Only the edges import the composition root (``agora.runtime``), even for typing:
``runtime.py``, ``worker.py``, ``api/``, ``console/`` (the operator console, an
edge like the API), ``cli/`` and ``tasks.py`` modules (the
task entry points, which take the platform and build narrow dependencies)."""

from __future__ import annotations

import ast
from pathlib import Path

import agora

SRC = Path(agora.__file__).parent
EDGES = ("runtime.py", "worker.py", "api/", "cli/", "console/")


def _imports_runtime(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import) and any(a.name == "agora.runtime" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (
            node.module == "agora.runtime"
            or (node.module == "agora" and any(a.name == "runtime" for a in node.names))
        ):
            return True
    return False


def _allowed(rel: str) -> bool:
    return rel.startswith(EDGES) or rel == "tasks.py" or rel.endswith("/tasks.py")


def test_only_the_edges_import_the_composition_root() -> None:
    importers = {p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py") if _imports_runtime(p)}
    assert importers, "the API and CLI import the platform: the scan found nothing"
    assert sorted(m for m in importers if not _allowed(m)) == []
