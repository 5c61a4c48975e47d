"""Pipeline step ``codereview``: every script of an upload, reviewed.

Scripts are found in the asset's files: script files, the members of ZIP and
tar archives, and scripts embedded as text in scenes (Godot built-in scripts)
and pages. All of an asset's scripts go through the reviewer as one batch.
``malicious`` holds the asset (it turns ``flagged``, which sends the seller's
``asset.flagged`` webhook); ``suspicious`` leaves it live and queues it for a
moderator (``queue: true``, read by ``ModerationQueue.sync``). The findings
are the step's recorded output, so they are in the asset's results and the
console.

A corrupt archive or an unreadable blob is recorded in ``errors`` and never
fails the step (the ``integrity`` step reports it).

Example:
    >>> CodeReviewStep(lambda: reviewer).model  # doctest: +SKIP
    'codereview@1.0'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from agora.codereview.base import ScriptFile
from agora.codereview.extract import scripts_in
from agora.codereview.metrics import VERDICTS
from agora.pipeline.base import Step, StepContext, StepOutcome, StepServices

if TYPE_CHECKING:
    from agora.codereview.review import CodeReviewer


class CodeReviewStep(Step):
    """Reviews the asset's scripts; holds it when one is malicious."""

    name = "codereview"
    version = "1.0"
    requires = ("integrity",)
    can_hold = True

    def __init__(self, reviewer: Callable[[], CodeReviewer]) -> None:
        """``reviewer``: the process's code reviewer (built on first run)."""
        self.reviewer = reviewer

    @classmethod
    def from_services(cls, services: StepServices) -> Self:
        if services.code_reviewer is None:
            from agora.codereview.service import build_reviewer

            settings = services.settings
            built: list[CodeReviewer] = []

            def lazy() -> CodeReviewer:
                if not built:
                    built.append(build_reviewer(settings))
                return built[0]

            return cls(lazy)
        return cls(services.code_reviewer)

    def run(self, ctx: StepContext) -> StepOutcome:
        if not ctx.settings.codereview.enabled:
            return StepOutcome(output={"verdict": "clean", "scripts": 0, "skipped": "disabled"})
        scripts: list[ScriptFile] = []
        skipped: list[str] = []
        errors: list[str] = []
        for ref in ctx.asset.get("files") or []:
            name = str(ref.get("name") or ref.get("sha256"))
            try:
                data = ctx.blobs.get(str(ref.get("sha256")))
                found, why = scripts_in(name, data, ctx.settings.uploads)
            # Hostile bytes may raise anything; the integrity step reports them.
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
                continue
            scripts += found
            skipped += why
        if not scripts:
            # Nothing to review: the reviewer (and the model store it loads from)
            # is not touched, so an asset without scripts never waits on them.
            VERDICTS.labels("clean").inc()
            return StepOutcome(
                output={"verdict": "clean", "probability": 0.0, "files": [], "scripts": 0,
                        "skipped": skipped, "errors": errors, "queue": False}
            )  # fmt: skip
        review = self.reviewer().review_files(scripts)
        VERDICTS.labels(review.verdict).inc()
        output: dict[str, Any] = review.to_dict() | {
            "scripts": len(scripts),
            "skipped": skipped,
            "errors": errors,
            "queue": review.verdict != "clean",
            # What the moderation queue shows for the item.
            "decision": "review",
            "safety_score": round(1.0 - review.probability, 4),
            "recommended_action": "reject" if review.verdict == "malicious" else "review",
            "reasons": _reasons(review.to_dict()),
            "models": [review.model],
        }
        if review.verdict != "malicious":
            return StepOutcome(output=output, confidence=review.probability)
        bad = [f for f in review.files if f.verdict == "malicious"]
        listed = "; ".join(f"{f.file} ({', '.join(f.drivers[:3])})" for f in bad[:3])
        reason = f"code review: {len(bad)} malicious script(s): {listed}"
        return StepOutcome(output=output, confidence=review.probability, hold=True, reason=reason)


def _reasons(review: dict[str, Any]) -> list[dict[str, Any]]:
    """Queue reasons in moderation's shape (source, detail, severity, score)."""
    reasons: list[dict[str, Any]] = []
    for f in review["files"]:
        if f["verdict"] == "clean":
            continue
        severity = "block" if f["verdict"] == "malicious" else "review"
        for driver in f["drivers"][:3]:
            detail = f"{f['file']}: {driver}"
            reasons.append(
                {
                    "source": "code",
                    "detail": detail,
                    "severity": severity,
                    "score": f["probability"],
                }
            )
    return reasons[:10]
