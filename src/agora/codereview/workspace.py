"""A batch of scripts written to a temporary folder, for the analysers that
read files (Semgrep, Bandit): each file gets a short safe name with its
language's extension, so a crafted upload name cannot escape the folder or
change the language Semgrep picks.

Example:
    >>> with BatchFolder([ScriptFile("a/b.py", "python", "x = 1")]) as batch:
    ...     batch.paths[0].name
    'f0.py'
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from agora.codereview.base import ScriptFile
from agora.codereview.languages import SUFFIX


class BatchFolder:
    """Context manager: ``paths[i]`` holds ``files[i]``; the folder is removed on exit."""

    def __init__(self, files: Sequence[ScriptFile]) -> None:
        self.files = list(files)
        self.root = Path(tempfile.mkdtemp(prefix="agora-review-"))
        self.paths: list[Path] = []
        for i, f in enumerate(self.files):
            path = self.root / f"f{i}{SUFFIX.get(f.language, '.txt')}"
            path.write_text(f.text, encoding="utf-8", errors="surrogateescape")
            self.paths.append(path)

    def index_of(self, path: str | Path) -> int | None:
        """The batch index of a path an analyser reported (None if foreign)."""
        name = Path(path).name
        stem = name.split(".", 1)[0]
        if not stem.startswith("f") or not stem[1:].isdigit():
            return None
        index = int(stem[1:])
        return index if index < len(self.files) else None

    def __enter__(self) -> BatchFolder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
