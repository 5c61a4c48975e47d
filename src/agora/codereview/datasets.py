"""Training and evaluation samples of the verdict model.

``guarddog_samples``: GuardDog's own rule tests (``../shared/data/guarddog-snippets``,
Apache-2.0). One marked snippet is one sample: a ``# ruleid: R`` (malicious)
or ``# ok: R`` (benign) marker and the code up to the next marker; unmarked
``threat-*`` files are whole positive samples of rule ``threat-*``, and the
benign regression files (``benign/``) whole negatives of their rule. Only the
languages reviewed here are kept (Python, JavaScript); Go, Ruby and JSON
snippets are counted and left out.

``benign_samples``: real code no one calls malicious, to measure false
positives where the snippets have few negatives: the Python files of
well-known packages of this virtualenv and the JavaScript files of npm
packages installed into a folder (``npm install lodash express ...``). Their
group is the package, so one package never straddles a train/test split.

Real files are long and the snippets short, so a model could learn "short
means malicious" (it did: it flagged small game scripts). So every second
real file also gives one snippet-sized excerpt (4 to 25 lines from a
top-level statement, ``real-*-excerpt``), which makes length no evidence.

``split_by_rule``: folds that hold out whole rule ids (and whole packages),
as issue 24 asks: a random split of a rule's own tests flatters any model.

Example:
    >>> samples = guarddog_samples(Path("../shared/data/guarddog-snippets"))  # doctest: +SKIP
    >>> sum(s.label for s in samples), len(samples)  # doctest: +SKIP
    (300, 450)
"""

from __future__ import annotations

import importlib.util
import re
import textwrap
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agora.codereview.base import ScriptFile

_MARKER = re.compile(r"^\s*(?:#|//)\s*(ruleid|ok)\s*:\s*([\w.-]+)", re.I)
_LANG = {".py": "python", ".js": "javascript"}
# Well-known packages of the virtualenv whose Python files are benign real code.
PYTHON_PACKAGES = (
    "requests",
    "urllib3",
    "click",
    "jinja2",
    "yaml",
    "flask",
    "werkzeug",
    "starlette",
    "fastapi",
    "httpx",
    "httpcore",
    "rich",
    "typer",
    "sqlalchemy",
    "alembic",
    "packaging",
    "idna",
    "anyio",
    "pygments",
    "markupsafe",
    "h11",
    "attr",
    "dateutil",
    "itsdangerous",
    "mako",
    "markdown",
    "jsonschema",
    "redis",
    "pluggy",
    "setuptools",
    "boto3",
    "s3transfer",
    "croniter",
    "psutil",
    "docker",
    "watchdog",
    "filelock",
    "platformdirs",
    "tqdm",
    "uvicorn",
)
# npm packages whose JavaScript (and their dependencies') is benign real code.
NPM_PACKAGES = (
    "lodash",
    "express",
    "axios",
    "moment",
    "underscore",
    "async",
    "chalk@4",
    "commander",
    "debug",
    "qs",
    "uuid",
    "semver",
    "yargs",
    "minimist",
    "ws",
    "three",
    "howler",
)


@dataclass(frozen=True)
class Sample:
    """One labelled script: ``label`` 1 malicious, 0 benign; ``group`` its rule
    id (snippets) or package (real code); ``source`` where it came from."""

    script: ScriptFile
    label: int
    group: str
    source: str  # "ruleid" | "ok" | "benign-file" | "real-python" | "real-npm"


def _snippets(path: Path, language: str) -> Iterable[Sample]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    marks = [(i, m) for i, line in enumerate(lines) if (m := _MARKER.match(line))]
    for n, (i, m) in enumerate(marks):
        end = marks[n + 1][0] if n + 1 < len(marks) else len(lines)
        code = textwrap.dedent("\n".join(lines[i + 1 : end])).strip("\n")
        if not code.strip():
            continue
        kind, rule = m.group(1).lower(), m.group(2)
        yield Sample(
            ScriptFile(f"{path.name}:{i + 1}", language, code + "\n"),
            int(kind == "ruleid"),
            rule,
            kind,
        )


def guarddog_samples(folder: Path) -> tuple[list[Sample], Counter[str]]:
    """The snippet samples in Python and JavaScript, and a count of those left out by suffix."""
    root = folder / "sourcecode"
    if not root.is_dir():
        raise FileNotFoundError(f"no guarddog snippets at {root}")
    samples: list[Sample] = []
    left_out: Counter[str] = Counter()
    for path in sorted(root.iterdir()):
        if path.is_dir() or path.name.startswith("test_"):
            continue
        language = _LANG.get(path.suffix)
        if language is None:
            left_out[path.suffix or path.name] += 1
            continue
        marked = list(_snippets(path, language))
        if marked:
            samples += marked
        elif path.stem.startswith("threat-") or path.stem == "unicode":
            text = path.read_text(encoding="utf-8", errors="replace")
            samples.append(Sample(ScriptFile(path.name, language, text), 1, path.stem, "ruleid"))
    for path in sorted((root / "benign").iterdir()):
        language = _LANG.get(path.suffix)
        if language is None:
            left_out[f"benign{path.suffix}"] += 1
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        samples.append(
            Sample(ScriptFile(f"benign/{path.name}", language, text), 0, path.stem, "benign-file")
        )
    return samples, left_out


def _pick(paths: list[Path], cap: int) -> list[Path]:
    """A deterministic, spread-out sample of at most ``cap`` paths."""
    if len(paths) <= cap:
        return paths
    step = len(paths) / cap
    return [paths[int(i * step)] for i in range(cap)]


def _files(folder: Path, suffix: str, min_bytes: int, max_bytes: int) -> list[Path]:
    found = []
    for path in sorted(folder.rglob(f"*{suffix}")):
        if not path.is_file() or path.name.endswith((".min.js", ".d.ts")):
            continue
        if "test" in path.parts or "tests" in path.parts:
            continue
        size = path.stat().st_size
        if min_bytes <= size <= max_bytes:
            found.append(path)
    return found


def excerpt(text: str, seed: str) -> str | None:
    """A snippet-sized piece of a file: 4 to 25 lines from a top-level statement
    (chosen by a stable hash of ``seed``), or None for a file too short."""
    lines = text.splitlines()
    starts = [
        i
        for i, line in enumerate(lines)
        if line and not line[0].isspace() and not line.lstrip().startswith(("#", "//", "*", "/*"))
    ]
    if len(lines) < 8 or not starts:
        return None
    h = zlib.crc32(seed.encode())
    start = starts[h % len(starts)]
    size = 4 + (h >> 8) % 22
    piece = "\n".join(lines[start : start + size]).strip("\n")
    return piece + "\n" if piece.count("\n") >= 2 else None


def _with_excerpts(samples: list[Sample]) -> list[Sample]:
    out = list(samples)
    for n, s in enumerate(samples):
        if n % 2:
            continue
        piece = excerpt(s.script.text, s.script.name)
        if piece is not None:
            script = ScriptFile(f"{s.script.name}#excerpt", s.script.language, piece)
            out.append(Sample(script, 0, s.group, f"{s.source}-excerpt"))
    return out


def python_package_samples(
    packages: Sequence[str] = PYTHON_PACKAGES,
    per_package: int = 25,
    min_bytes: int = 300,
    max_bytes: int = 40_000,
) -> list[Sample]:
    """Python files of installed well-known packages (benign real code)."""
    samples = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = Path(next(iter(spec.submodule_search_locations)))
        for path in _pick(_files(folder, ".py", min_bytes, max_bytes), per_package):
            text = path.read_text(encoding="utf-8", errors="replace")
            name = f"{package}/{path.relative_to(folder)}"
            samples.append(
                Sample(ScriptFile(name, "python", text), 0, f"py:{package}", "real-python")
            )
    return _with_excerpts(samples)


def npm_samples(
    node_modules: Path,
    per_package: int = 25,
    min_bytes: int = 300,
    max_bytes: int = 40_000,
) -> list[Sample]:
    """JavaScript files of every package under ``node_modules`` (benign real code)."""
    samples = []
    for folder in sorted(p for p in node_modules.iterdir() if p.is_dir()):
        packages = sorted(folder.iterdir()) if folder.name.startswith("@") else [folder]
        for package in packages:
            if not package.is_dir() or package.name.startswith("."):
                continue
            for path in _pick(_files(package, ".js", min_bytes, max_bytes), per_package):
                text = path.read_text(encoding="utf-8", errors="replace")
                name = f"{package.name}/{path.relative_to(package)}"
                samples.append(
                    Sample(
                        ScriptFile(name, "javascript", text), 0, f"npm:{package.name}", "real-npm"
                    )
                )
    return _with_excerpts(samples)


def split_by_rule(samples: Sequence[Sample], folds: int = 5) -> list[int]:
    """A fold per sample: whole groups (rule ids, packages) per fold.

    Groups are dealt largest first to the fold with the fewest samples of the
    same kind (snippet rules balanced on their positives, packages on their
    files), so every test fold holds malicious snippets and enough real code.
    """
    sizes: Counter[str] = Counter()
    kinds: dict[str, str] = {}
    for s in samples:
        kind = "real" if s.source.startswith("real") else "rule"
        kinds[s.group] = kind
        sizes[s.group] += 1 if kind == "real" else s.label + 0.25  # type: ignore[assignment]
    load = {kind: [0.0] * folds for kind in ("rule", "real")}
    assigned: dict[str, int] = {}
    # Ties broken by a stable hash of the name, never by Python's salted hash().
    for group in sorted(sizes, key=lambda g: (-sizes[g], zlib.crc32(g.encode()))):
        kind = kinds[group]
        fold = min(range(folds), key=lambda f: (load[kind][f], f))
        assigned[group] = fold
        load[kind][fold] += sizes[group]
    return [assigned[s.group] for s in samples]
