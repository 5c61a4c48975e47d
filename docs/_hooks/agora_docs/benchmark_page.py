"""The benchmark tables, generated from ``benchmarks/results/*.json``.

No measured value is typed into the documentation: the page reads every
results file when the site is built. A small metadata file
(``docs/_data/benchmarks.yml``) names, per benchmark, the figures to show
first, their labels and goals; whether a goal is met is computed from the
data. Figures without metadata still appear, in a generic table.

Example:
    >>> Goal.parse("< 30").met(24.0), Goal.parse(">= 0.95").met(0.91)
    (True, False)
    >>> fmt(127674), fmt(0.96331), fmt(7.155), fmt(None)
    ('127,674', '0.9633', '7.155', '-')
"""

from __future__ import annotations

import ast
import json
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agora_docs.markdown import cell, code, table

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Goal:
    """A goal such as ``< 30`` or ``>= 0.95``."""

    op: str
    target: float

    @classmethod
    def parse(cls, text: str) -> Goal:
        """Read ``"<op> <number>"``; raises ``ValueError`` on anything else."""
        op, _, number = str(text).strip().partition(" ")
        if op not in _OPS:
            raise ValueError(f"goal {text!r}: expected one of {sorted(_OPS)} then a number")
        return cls(op, float(number.replace(",", "").replace("_", "")))

    def met(self, value: float) -> bool:
        """Whether ``value`` reaches the goal."""
        return _OPS[self.op](value, self.target)

    def __str__(self) -> str:
        return f"{self.op} {fmt(self.target)}"


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys (results files are flat; this keeps nested ones readable)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def fmt(value: Any) -> str:
    """A figure as the tables show it: thousands separators, four significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def _value_cell(value: Any) -> str:
    return cell(fmt(value)) if isinstance(value, int | float) or value is None else code(value)


def _status(goal: Goal | None, value: Any) -> str:
    if goal is None:
        return ""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "not measured"
    return "**met**" if goal.met(float(value)) else "**not met**"


def script_summary(path: Path) -> str:
    """The first line of a benchmark script's docstring (its description when no
    metadata gives one)."""
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError):
        return ""
    return doc.strip().split("\n")[0]


@dataclass
class Benchmark:
    """One results file with its metadata."""

    name: str
    figures: dict[str, Any]
    meta: dict[str, Any]
    script: Path

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.name)

    @property
    def shown(self) -> dict[str, dict[str, Any]]:
        return dict(self.meta.get("figures") or {})

    def goal_rows(self) -> list[tuple[str, str, Any, Goal]]:
        """(key, label, value, goal) of every figure that has a goal."""
        rows = []
        for key, spec in self.shown.items():
            if spec and spec.get("goal") is not None:
                rows.append(
                    (key, spec.get("label", key), self.figures.get(key), Goal.parse(spec["goal"]))
                )
        return rows


def load(results_dir: Path, metadata: Mapping[str, Any], scripts_dir: Path) -> list[Benchmark]:
    """Every results file, paired with its metadata (files without metadata included)."""
    benchmarks = []
    for path in sorted(results_dir.glob("*.json")):
        figures = flatten(json.loads(path.read_text(encoding="utf-8")))
        meta = dict(metadata.get(path.stem) or {})
        script_name = path.stem.removesuffix("_quick")
        benchmarks.append(Benchmark(path.stem, figures, meta, scripts_dir / f"{script_name}.py"))
    return benchmarks


def problems(benchmarks: list[Benchmark], metadata: Mapping[str, Any]) -> list[str]:
    """Metadata that names what the results do not hold (a renamed figure, a removed file)."""
    found = []
    names = {b.name for b in benchmarks}
    found += [
        f"benchmarks.yml names {n!r}, which has no results file" for n in metadata if n not in names
    ]
    for bench in benchmarks:
        for key, spec in bench.shown.items():
            if key not in bench.figures:
                found.append(f"benchmarks.yml: {bench.name}.json has no figure {key!r}")
            if spec and spec.get("goal") is not None:
                try:
                    Goal.parse(spec["goal"])
                except ValueError as exc:
                    found.append(f"benchmarks.yml: {bench.name}: {exc}")
    return found


INTRO = """\
# Benchmarks

Generated from `benchmarks/results/*.json` when this site is built: no figure
on this page is typed by hand. Each benchmark is a script,
`benchmarks/NAME.py`, run with the project's Python
(`.venv/bin/python benchmarks/NAME.py`, `--quick` for a short run), that
prints a table and writes `benchmarks/results/NAME.json`. Labels and goals
come from `docs/_data/benchmarks.yml`; whether a goal is met is computed from
the data. The figures were measured on a 2-core development machine, often
shared with other jobs: latencies are upper bounds, and the
[design journal](../journal/index.md) says which runs were on a quiet machine.
"""


def figures_table(bench: Benchmark) -> str:
    """The figures the metadata names, with their goals and whether each is met."""
    rows = []
    for key, spec in bench.shown.items():
        spec = spec or {}
        goal = Goal.parse(spec["goal"]) if spec.get("goal") is not None else None
        value = bench.figures.get(key)
        rows.append(
            [
                cell(spec.get("label", key)),
                code(key),
                _value_cell(value),
                cell(str(goal)) if goal else "",
                _status(goal, value),
            ]
        )
    return table(["figure", "key", "measured", "goal", ""], rows)


def bench_anchor(bench: Benchmark) -> str:
    """The id of a benchmark's section on the benchmark page."""
    return "bench-" + bench.name.replace("_", "-")


def embed(bench: Benchmark, benchmarks_page: str) -> str:
    """A benchmark's figures table for another page, linking to its full section."""
    body = figures_table(bench) if bench.shown else ""
    source = f"`benchmarks/{bench.script.name}`"
    link = f"[all figures]({benchmarks_page}#{bench_anchor(bench)})"
    return f"{body}\n*{bench.title}* ({source}; {link}, generated from `{bench.name}.json`).\n"


def _section(bench: Benchmark, page_prefix: str) -> str:
    out = [f"## {bench.title} {{#{bench_anchor(bench)}}}\n"]
    description = bench.meta.get("description") or script_summary(bench.script)
    source = f"`benchmarks/{bench.script.name}` → `benchmarks/results/{bench.name}.json`"
    page = bench.meta.get("page")
    more = f" See the [capability page]({page_prefix}{page})." if page else ""
    out.append(f"{str(description).rstrip('.')} ({source}).{more}\n")
    shown = bench.shown
    if shown:
        out.append(figures_table(bench))
    rest = {k: v for k, v in bench.figures.items() if k not in shown}
    if rest:
        rows = [[code(k), _value_cell(v)] for k, v in rest.items()]
        body = table(["key", "value"], rows)
        if shown:
            indented = "\n".join(f"    {line}" if line else "" for line in body.splitlines())
            out.append(
                f'??? note "Other figures in {bench.name}.json ({len(rest)})"\n\n{indented}\n'
            )
        else:
            out.append(body)
    return "\n".join(out)


def render_benchmarks(benchmarks: list[Benchmark], page_prefix: str = "../") -> str:
    """The benchmark page: a summary of every goal, then one section per results file."""
    goals = [
        [
            f"[{cell(b.title)}](#{bench_anchor(b)})",
            cell(label),
            _value_cell(value),
            cell(str(goal)),
            _status(goal, value),
        ]
        for b in benchmarks
        for _, label, value, goal in b.goal_rows()
    ]
    parts = [INTRO]
    if goals:
        met = sum(1 for row in goals if row[-1] == "**met**")
        parts.append(f"## Goals\n\n{met} of {len(goals)} goals met in the committed results.\n")
        parts.append(table(["benchmark", "figure", "measured", "goal", ""], goals))
    parts += [_section(b, page_prefix) for b in benchmarks]
    return "\n".join(parts)
