"""The verdict model's gated training pipeline (``train.code_review``,
``agora train code-review``).

Data: GuardDog's snippets (``guarddog-snippets/``) plus benign real code
(Python files of the virtualenv's well-known packages, JavaScript of npm
packages installed into ``npm_corpus_dir``). Evaluation: ``cross_validate``
over folds that hold out whole rule ids; those held-out figures are the
version's metrics (``auc`` is the gated one). Then the model is fitted on all
samples, registered as ``code-review-verdict`` and gated against the
champion like every other family (``agora.mlops.training.pipeline``).
``export`` also writes it as the shipped model file.

The analysers' findings are cached per (text, rules) digest in
``data_dir/codereview/findings-*.json``: Semgrep over two thousand files takes
minutes, and a retrain with the same rules reuses them.

Example:
    >>> train_code_review(services, data_dir="../shared/data")["decision"]  # doctest: +SKIP
    'champion'
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from agora.codereview.base import Analyser, Finding, ScriptFile
from agora.codereview.datasets import (
    NPM_PACKAGES,
    Sample,
    guarddog_samples,
    npm_samples,
    python_package_samples,
    split_by_rule,
)
from agora.codereview.evaluation import cross_validate, feature_matrix
from agora.codereview.model import NAME, VerdictModel
from agora.codereview.review import SHIPPED_MODEL, default_analysers
from agora.codereview.semgrep import RULES
from agora.errors import InvalidInput
from agora.mlops.tasks import TaskContext
from agora.mlops.training.pipeline import (
    TrainingOutcome,
    TrainingRun,
    TrainingServices,
    champion_metrics,
    guarded,
    register_and_gate,
)

log = logging.getLogger("agora.codereview")


def rules_digest() -> str:
    """Changes whenever a rule or an analyser version changes (keys the findings cache)."""
    h = hashlib.sha256()
    for path in sorted(RULES.glob("*.yaml")):
        h.update(path.read_bytes())
    h.update((Path(__file__).parent / "gdscript.py").read_bytes())
    for dist in ("semgrep", "bandit", "guarddog", "yara-python"):
        try:
            h.update(f"{dist}={version(dist)}".encode())
        except PackageNotFoundError:
            h.update(f"{dist}=absent".encode())
    return h.hexdigest()[:16]


def _key(script: ScriptFile) -> str:
    return hashlib.sha256(f"{script.language}\0{script.text}".encode()).hexdigest()


def findings_for(
    analysers: Sequence[Analyser],
    scripts: Sequence[ScriptFile],
    cache: Path | None = None,
    *,
    batch_size: int = 50,
    progress: Callable[[int, int], None] | None = None,
) -> list[list[Finding]]:
    """Every analyser's findings per script, batched, through an on-disk cache."""
    stored: dict[str, list[dict[str, Any]]] = {}
    if cache is not None and cache.exists():
        stored = json.loads(cache.read_text())
    keys = [_key(s) for s in scripts]
    todo = [i for i, k in enumerate(keys) if k not in stored]
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        batch = [scripts[i] for i in chunk]
        found: list[list[Finding]] = [[] for _ in batch]
        for analyser in analysers:
            for j, hits in enumerate(analyser.analyse(batch)):
                found[j].extend(hits)
        for i, hits in zip(chunk, found, strict=True):
            stored[keys[i]] = [h.to_dict() for h in hits]
        if progress is not None:
            progress(min(start + batch_size, len(todo)), len(todo))
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(stored))
    # A cached finding belongs to the text, not the name the sample has this time.
    return [
        [Finding(**{**d, "file": s.name}) for d in stored[k]]
        for s, k in zip(scripts, keys, strict=True)
    ]


def install_npm_corpus(folder: Path, packages: Sequence[str] = NPM_PACKAGES) -> Path:
    """``npm install`` the benign packages into ``folder`` (scripts disabled); its node_modules."""
    modules = folder / "node_modules"
    if modules.is_dir() and any(modules.iterdir()):
        return modules
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--prefix",
            str(folder),
            *packages,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise InvalidInput(f"npm install failed: {proc.stderr.strip()[-400:]}")
    return modules


@dataclass
class ReviewDataset:
    """Samples, their folds and their findings."""

    samples: list[Sample]
    folds: list[int]
    findings: list[list[Finding]]
    left_out: dict[str, int]

    def describe(self) -> str:
        pos = sum(s.label for s in self.samples)
        real = sum(s.source.startswith("real") for s in self.samples)
        return (
            f"guarddog-snippets: {pos} malicious, {len(self.samples) - pos - real} ok; "
            f"benign real code: {real} files; {max(self.folds) + 1} folds by rule id"
        )


def build_dataset(
    snippets: Path,
    node_modules: Path | None,
    *,
    analysers: Sequence[Analyser] | None = None,
    cache_dir: Path | None = None,
    python_per_package: int = 25,
    npm_per_package: int = 25,
    progress: Callable[[int, int], None] | None = None,
) -> ReviewDataset:
    """The samples (snippets, real Python, real npm JavaScript), folds and findings."""
    samples, left_out = guarddog_samples(snippets)
    samples += python_package_samples(per_package=python_per_package)
    if node_modules is not None:
        samples += npm_samples(node_modules, per_package=npm_per_package)
    cache = cache_dir / f"findings-{rules_digest()}.json" if cache_dir else None
    findings = findings_for(
        analysers or default_analysers(), [s.script for s in samples], cache, progress=progress
    )
    return ReviewDataset(samples, split_by_rule(samples), findings, dict(left_out))


def fit_final(dataset: ReviewDataset) -> VerdictModel:
    """The served model: fitted on every sample (thresholds from grouped out-of-fold scores)."""
    x = feature_matrix(dataset.samples, dataset.findings)
    y = np.asarray([s.label for s in dataset.samples])
    groups = np.asarray([s.group for s in dataset.samples])
    real = np.asarray([s.source.startswith("real") for s in dataset.samples])
    return VerdictModel().fit(x, y, groups, cut_on=real)


def train_code_review(
    services: TrainingServices,
    ctx: TaskContext | None = None,
    *,
    data_dir: str | None = None,
    npm_dir: str | None = None,
    export: bool = False,
    cache_dir: str | None = None,
    reason: str = "manual",
    actor: str = "pipeline:train.code_review",
    end: str | None = None,
    days: float | None = None,
) -> dict[str, Any]:
    """Train, evaluate (rule-id held out), register and gate the verdict model.

    ``data_dir``: the folder with ``guarddog-snippets/`` (default
    ``codereview.train_data_dir``); ``npm_dir``: a folder whose
    ``node_modules`` holds the benign npm packages (installed there when
    missing; default ``codereview.npm_corpus_dir`` or ``data_dir/codereview/npm``).
    ``export`` writes the model to the shipped file as well; ``cache_dir`` keeps
    the analysers' findings (default ``data_dir/codereview``).
    """
    del end, days  # uniform `agora train` interface; the corpora are not time windows
    ctx = ctx or TaskContext()
    settings = services.settings
    folder = Path(data_dir or settings.codereview.train_data_dir or "../shared/data")
    snippets = folder / "guarddog-snippets"
    if not snippets.is_dir():
        raise InvalidInput(f"no guarddog-snippets/ under {folder}: give data_dir")
    npm_root = Path(
        npm_dir or settings.codereview.npm_corpus_dir or settings.data_dir / "codereview" / "npm"
    )
    run = TrainingRun.start(services, NAME, "code_review", reason=reason)

    def body() -> TrainingOutcome:
        ctx.progress(2, f"installing the benign npm corpus into {npm_root}")
        modules = install_npm_corpus(npm_root)
        dataset = build_dataset(
            snippets,
            modules,
            cache_dir=Path(cache_dir) if cache_dir else settings.data_dir / "codereview",
            progress=lambda d, t: ctx.progress(5 + 60 * d / max(t, 1), f"analysed {d}/{t}"),
        )
        snapshot = f"{dataset.describe()} (guarddog @ ca8b5b43; rules {rules_digest()})"
        run.update(data_snapshot=snapshot)
        ctx.progress(65, "cross-validating with whole rule ids held out")
        metrics, _ = cross_validate(dataset.samples, dataset.folds, dataset.findings)
        metrics["auc"] = metrics["verdict.auc"]
        ctx.progress(85, "fitting the served model on every sample")
        model = fit_final(dataset)
        if export:
            SHIPPED_MODEL.parent.mkdir(parents=True, exist_ok=True)
            model.save(SHIPPED_MODEL, metrics)
        # The champion was fitted on these same samples: its figures are its own
        # held-out ones from registration, never a re-score here.
        champion = champion_metrics(services, NAME, lambda _champ: None)
        return register_and_gate(
            services,
            run,
            save=lambda m, snap: services.models.save(
                NAME,
                model,
                params={
                    "malicious_cut": model.malicious_cut_,
                    "suspicious_cut": model.suspicious_cut_,
                },
                metrics=m,
                data_snapshot=snap,
                features=model.features,
            ),
            metrics=metrics,
            champion=champion,
            reference=None,
            feature_names=model.features,
            snapshot=snapshot,
            actor=actor,
        )

    return guarded(run, body)
