"""Generalisation (issue 20): every learned model scored on data from another source.

Runs the four protocols, each a standalone script that merges its section into
``benchmarks/results/generalisation.json`` (so one can be rerun alone), then
prints the goals table from that file:

- ``generalisation_moderation.py``: offensive and hate, leave one corpus out
  over {Davidson, TweetEval}; spam, SMS <-> e-mail; in-source figures beside;
- ``generalisation_art.py``: image moderation on safe game art (sprites,
  textures, renders), ``moderation.art_false_flag_rate``;
- ``generalisation_tagging.py``: k = 5 heads on held-out categories, beside a
  linear probe on the same features and support images;
- ``generalisation_search.py``: keyword, semantic and hybrid search on Home
  Depot's product queries (test half), with rank_bm25 as the anchor.

``moderation_product_text.py`` (the full text analysis on the test half of
the 54,667 Home Depot product titles, the rules on every title) writes its
own JSON; its headline figures are shown in the table too.

Usage::

    python benchmarks/generalisation.py                 # every section, full
    python benchmarks/generalisation.py --only search   # one section
    python benchmarks/generalisation.py --table         # the table only

Full runs take hours on 2 cores (the sentence encoders); the section scripts
cache embeddings under /tmp, so a rerun is minutes. ``--quick`` runs sample
and do not overwrite the committed figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "generalisation.json"
PRODUCT_TEXT = HERE / "results" / "moderation_product_text.json"
SECTIONS = ("moderation", "art", "tagging", "search")

# (dotted key in generalisation.json, goal as text, check on the value(s))
GOALS: tuple[tuple[str, str], ...] = (
    ("offensive.loco_roc_auc", ">= 0.85"),
    ("offensive.in_source_roc_auc", "(in-source)"),
    ("hate.loco_roc_auc", ">= 0.75"),
    ("hate.in_source_roc_auc", "(in-source)"),
    ("spam.loco_f1", ">= 0.80"),
    ("spam.in_source_f1", "(in-source)"),
    ("tagging.k5.heldout_categories_top3", ">= 0.90 and > linear probe"),
    ("tagging.k5.heldout_categories_top3_no_propagation", ""),
    ("tagging.k5.linear_probe_top3", "(anchor)"),
    ("tagging.k5.in_source_top3", "(in-source)"),
    ("search.product.full.bm25_ndcg@10", "(anchor)"),
    ("search.product.full.hybrid_ndcg@10", ">= 1.05 x bm25"),
    ("search.product.rerank.bm25_ndcg@10", "(anchor)"),
    ("search.product.rerank.hybrid_ndcg@10", ">= bm25 + 0.01"),
    ("moderation.art_false_flag_rate", "< 0.005, 0 bans"),
)


def lookup(data: Mapping[str, Any], dotted: str) -> Any:
    """``data["a"]["b.c"]``-style lookup: the longest key that matches at each level.

    >>> lookup({"search": {"product": {"full": {"bm25_ndcg@10": 0.3}}}},
    ...        "search.product.full.bm25_ndcg@10")
    0.3
    >>> lookup({"a": {"b": 1}}, "a.c") is None
    True
    """
    node: Any = data
    rest = dotted
    while rest:
        if not isinstance(node, Mapping):
            return None
        parts = rest.split(".")
        for n in range(len(parts), 0, -1):
            key = ".".join(parts[:n])
            if key in node:
                node, rest = node[key], ".".join(parts[n:])
                break
        else:
            return None
    return node


def met(key: str, value: Any, data: Mapping[str, Any]) -> str:
    """Whether ``key``'s goal holds ("yes"/"no"), or "" for figures without one."""
    if not isinstance(value, int | float):
        return ""
    if key == "offensive.loco_roc_auc":
        return _yes(value >= 0.85)
    if key == "hate.loco_roc_auc":
        return _yes(value >= 0.75)
    if key == "spam.loco_f1":
        return _yes(value >= 0.80)
    if key == "tagging.k5.heldout_categories_top3":
        probe = lookup(data, "tagging.k5.linear_probe_top3")
        return _yes(value >= 0.90 and isinstance(probe, int | float) and value > probe)
    if key.startswith("search.product.") and key.endswith("hybrid_ndcg@10"):
        bm25 = lookup(data, key.replace("hybrid_", "bm25_"))
        if not isinstance(bm25, int | float):
            return ""
        return _yes(value >= 1.05 * bm25 if ".full." in key else value >= bm25 + 0.01)
    if key == "moderation.art_false_flag_rate":
        bans = lookup(data, "moderation.art_ban_rate")
        return _yes(value < 0.005 and bans == 0)
    return ""


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


def table(
    path: Path = RESULTS, product_text: Path = PRODUCT_TEXT
) -> list[tuple[str, str, str, str]]:
    """(figure, value, goal, met) rows from the committed results."""
    data = json.loads(path.read_text()) if path.is_file() else {}
    rows = []
    for key, goal in GOALS:
        value = lookup(data, key)
        shown = "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
        rows.append((key, shown, goal, met(key, value, data)))
    if product_text.is_file():
        figures = json.loads(product_text.read_text())
        head = figures.get("moderation.product_false_flag_rate")
        rules = figures.get("rules.product_false_flag_rate")
        if head is not None:
            scope = figures.get("moderation.product_false_flag_scope", "")
            rows.append((f"moderation.product_false_flag_rate ({scope})", f"{head:.4f}",
                         "< 0.002", _yes(head < 0.002)))  # fmt: skip
        if rules is not None:
            rows.append(("  rules alone, every title", f"{rules:.4f}", "< 0.002",
                         _yes(rules < 0.002)))  # fmt: skip
    return rows


def run_section(name: str, quick: bool) -> float:
    """Run one section's script (it merges its own figures); returns its seconds."""
    script = HERE / f"generalisation_{name}.py"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(script), *(["--quick"] if quick else [])], check=True, cwd=HERE.parent
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sampled runs (not committed)")
    parser.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--table", action="store_true", help="print the table only")
    args = parser.parse_args()
    if not args.table:
        chosen = args.only.split(",") if args.only else list(SECTIONS)
        unknown = sorted(set(chosen) - set(SECTIONS))
        if unknown:
            parser.error(f"unknown sections {unknown}; choose from {list(SECTIONS)}")
        for name in chosen:
            print(f"== {name}: {run_section(name, args.quick):.0f} s")
    rows = table()
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'value':>8}  {'goal':<28} met")
    for key, value, goal, ok in rows:
        print(f"{key:<{width}}  {value:>8}  {goal:<28} {ok}")


if __name__ == "__main__":
    main()
