"""The code reviewer: analysers, features and the verdict model, per batch.

``CodeReviewer.review_files`` runs every analyser once over the whole batch
(Semgrep as one process), extracts each file's features and asks the verdict
model for a malicious probability; each file's verdict comes with the
findings and the features that drove it. ``rules_verdict`` is the anchor the
benchmark compares against: malicious on any high or critical finding,
suspicious on a medium one.

A critical rule hit is never answered ``clean``: when the model scores it
under the suspicious cut, the file is still queued (``suspicious``) so a
person looks at it.

Example:
    >>> reviewer = CodeReviewer.default()  # doctest: +SKIP
    >>> reviewer.review_upload("mod.zip", data).verdict  # doctest: +SKIP
    'malicious'
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agora.codereview.bandit import BanditAnalyser
from agora.codereview.base import (
    Analyser,
    FileReview,
    Finding,
    Review,
    ScriptFile,
    Verdict,
)
from agora.codereview.extract import scripts_in
from agora.codereview.features import extract, feature_names
from agora.codereview.gdscript import GDScriptAnalyser
from agora.codereview.model import NAME, VerdictModel
from agora.codereview.semgrep import SemgrepAnalyser
from agora.codereview.yara_rules import YaraAnalyser
from agora.config import UploadSettings

log = logging.getLogger("agora.codereview")
SHIPPED_MODEL = Path(__file__).parent / "artifacts" / f"{NAME}.json"


def rules_verdict(findings: Sequence[Finding]) -> Verdict:
    """The rules-alone verdict: high/critical -> malicious, medium -> suspicious."""
    top = max((f.score for f in findings), default=-1)
    if top >= 3:
        return "malicious"
    if top == 2:
        return "suspicious"
    return "clean"


def default_analysers() -> list[Analyser]:
    """Semgrep, Bandit, GuardDog's YARA rules and the GDScript rules."""
    return [SemgrepAnalyser(), BanditAnalyser(), YaraAnalyser(), GDScriptAnalyser()]


class CodeReviewer:
    """Reviews scripts with the analysers and the verdict model."""

    def __init__(
        self,
        analysers: Sequence[Analyser],
        model: VerdictModel | None,
        *,
        model_ref: str = f"{NAME}@shipped",
        batch_size: int = 50,
        limits: UploadSettings | None = None,
    ) -> None:
        """``model``: the verdict model (None: the rules decide alone)."""
        self.analysers = list(analysers)
        self.model = model
        self.model_ref = model_ref if model is not None else "rules-only"
        self.batch_size = batch_size
        self.limits = limits or UploadSettings()

    @classmethod
    def default(cls, model_path: Path | None = None, **kwargs: object) -> CodeReviewer:
        """Every analyser plus the shipped verdict model (rules alone if it is absent)."""
        path = model_path or SHIPPED_MODEL
        model = VerdictModel.load(path) if path.exists() else None
        if model is None:
            log.warning("no code-review verdict model at %s: rules decide alone", path)
        return cls(default_analysers(), model, **kwargs)  # type: ignore[arg-type]

    def findings(self, files: Sequence[ScriptFile]) -> list[list[Finding]]:
        """Every analyser's findings per file (each analyser once per batch)."""
        out: list[list[Finding]] = [[] for _ in files]
        for start in range(0, len(files), self.batch_size):
            chunk = files[start : start + self.batch_size]
            for analyser in self.analysers:
                for i, found in enumerate(analyser.analyse(chunk)):
                    out[start + i].extend(found)
        return out

    def review_files(self, files: Sequence[ScriptFile]) -> Review:
        """A verdict per file, with the findings and features that drove it."""
        all_findings = self.findings(files)
        rows = np.asarray(
            [extract(f, found) for f, found in zip(files, all_findings, strict=True)],
            dtype=np.float64,
        ).reshape(len(files), len(feature_names()))
        probabilities = (
            self.model.predict_proba(rows) if self.model is not None and len(files) else None
        )
        reviews = []
        for i, (script, found) in enumerate(zip(files, all_findings, strict=True)):
            by_rules = rules_verdict(found)
            ordered = sorted(found, key=lambda f: (-f.score, f.line_start))
            drivers = [f"{f.analyser}:{f.rule_id}" for f in ordered if f.score >= 2][:5]
            if probabilities is None or self.model is None:
                probability = {"malicious": 1.0, "suspicious": 0.5}.get(by_rules, 0.0)
                verdict = by_rules
            else:
                probability = float(probabilities[i])
                verdict = self.model.verdict(probability)
                if verdict == "clean" and any(f.severity == "critical" for f in found):
                    verdict = "suspicious"
                if verdict != "clean":
                    drivers += [f"feature:{name}" for name in self.model.explain(rows[i], top=3)]
            reviews.append(
                FileReview(
                    file=script.name,
                    language=script.language,
                    verdict=verdict,
                    probability=probability,
                    rules_verdict=by_rules,
                    findings=ordered,
                    drivers=drivers,
                )
            )
        return Review(self.model_ref, reviews)

    def review_upload(self, name: str, data: bytes) -> Review:
        """Every script of an upload (a script, an archive, a scene with built-in scripts)."""
        scripts, skipped = scripts_in(name, data, self.limits)
        review = self.review_files(scripts)
        return Review(review.model, review.files, skipped)
