"""Pipeline step ``models3d``: a verdict for every 3D model of an asset.

Every file typed as a 3D model by its content, and every model inside an
uploaded zip or tar, is validated in a bounded child process
(``validate_model``) against the polycount budget of the asset's category
(``settings.models3d.polycount_budgets``). The output::

    {"models": [{"name", "sha256", ...report...}],  # one per model, see report.py
     "checked": int, "skipped": int,                # skipped: past max_models_per_asset
     "verdict": "ok" | "warn" | "fail" | None,      # worst of the models; None: no model
     "defects": [{"code", "message", "severity", "model"}]}

A ``fail`` verdict holds the asset for review (``hold_on_fail``). The step
is idempotent (same files, same output) and versioned (``models3d@1.0``).

Example:
    >>> Models3DStep().model
    'models3d@1.0'
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from agora.config import Models3DSettings
from agora.pipeline.base import Step, StepContext, StepOutcome
from agora.quality.models3d.report import verdict_of
from agora.quality.models3d.sandbox import SandboxLimits, validate_model
from agora.quality.models3d.staging import stage_asset

# Stored kinds that can never hold a model: skip staging for them. Anything
# else (models, archives, and older uploads typed before the sniffer knew a
# format: a large .gltf stored as JSON, an OBJ stored as text) is staged and
# typed again by content.
_NEVER_MODELS = frozenset({"image"})


def polycount_budget(settings: Models3DSettings, category: str | None) -> int | None:
    """The triangle budget of ``category`` (or of ``default``; None: no budget)."""
    budgets = settings.polycount_budgets
    return budgets.get(category or "", budgets.get("default"))


class Models3DStep(Step):
    """Validates each 3D model of the asset; holds the asset on a ``fail``."""

    name = "models3d"
    version = "1.0"
    can_hold = True

    def run(self, ctx: StepContext) -> StepOutcome:
        """Stage the asset's files, validate every model, summarise."""
        config = ctx.settings.models3d
        refs = [*(ctx.asset.get("files") or []), *(ctx.asset.get("images") or [])]
        if all(r.get("kind") in _NEVER_MODELS for r in refs):
            return StepOutcome(output=_summary([], 0), confidence=1.0)
        budget = polycount_budget(config, ctx.asset.get("category"))
        limits = SandboxLimits(config.timeout_s, config.memory_mb, config.assimp or None)
        reports: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory(prefix="agora-models3d-") as tmp:
            staged = stage_asset(ctx.blobs, refs, Path(tmp), ctx.settings.uploads)
            for model in staged[: config.max_models_per_asset]:
                report = validate_model(model.path, model.format, budget=budget, limits=limits)
                reports.append({"name": model.name, "sha256": model.sha256, **report})
        output = _summary(reports, max(len(staged) - config.max_models_per_asset, 0))
        failing = [r for r in reports if r["verdict"] == "fail"]
        if not failing or not config.hold_on_fail:
            return StepOutcome(output=output, confidence=1.0)
        first = next(d for d in failing[0]["defects"] if d["severity"] == "fail")
        reason = (
            f"{len(failing)} of {len(reports)} 3D models failed validation "
            f"({failing[0]['name']}: {first['message']})"
        )
        return StepOutcome(output=output, confidence=1.0, hold=True, reason=reason)


def _summary(reports: list[dict[str, Any]], skipped: int) -> dict[str, Any]:
    defects = [{**d, "model": r["name"]} for r in reports for d in r["defects"]]
    return {
        "models": reports,
        "checked": len(reports),
        "skipped": skipped,
        "verdict": verdict_of(defects) if reports else None,
        "defects": defects,
    }
