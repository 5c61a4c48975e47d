"""Building the process's code reviewer from settings.

The verdict model served is, in order: ``codereview.model_path`` when set;
the ``champion`` of ``code-review-verdict`` in the model store (a gated
``agora train code-review``); the model shipped in the package
(``agora/codereview/artifacts``); else the rules decide alone and the review
says so (``model: rules-only``).

Example:
    >>> reviewer = build_reviewer(settings, platform.models)  # doctest: +SKIP
    >>> reviewer.model_ref  # doctest: +SKIP
    'code-review-verdict@3'
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from agora.codereview.model import NAME, VerdictModel
from agora.codereview.review import SHIPPED_MODEL, CodeReviewer, default_analysers
from agora.codereview.semgrep import SemgrepAnalyser

if TYPE_CHECKING:
    from agora.config import Settings
    from agora.mlops.base import ModelStore

log = logging.getLogger("agora.codereview")


def _champion(models: ModelStore | None) -> str | None:
    if models is None:
        return None
    try:
        return models.aliases(NAME).get("champion")
    # A store that has never seen the model raises its own "not found".
    except Exception:  # noqa: BLE001
        return None


def _served_model(settings: Settings, models: ModelStore | None) -> tuple[VerdictModel | None, str]:
    if settings.codereview.model_path:
        path = Path(settings.codereview.model_path)
        return VerdictModel.load(path), f"{NAME}@file:{path.name}"
    version = _champion(models)
    if models is not None and version is not None:
        loaded = models.load(NAME, version=version)
        if isinstance(loaded, VerdictModel):
            return loaded, f"{NAME}@{version}"
    if SHIPPED_MODEL.exists():
        return VerdictModel.load(SHIPPED_MODEL), f"{NAME}@shipped"
    log.warning("no code-review verdict model: the rules decide alone")
    return None, "rules-only"


def build_reviewer(settings: Settings, models: ModelStore | None = None) -> CodeReviewer:
    """The reviewer with every analyser and the served verdict model."""
    model, ref = _served_model(settings, models)
    analysers = default_analysers()
    analysers[0] = SemgrepAnalyser(
        timeout_s=settings.codereview.semgrep_timeout_s, binary=settings.codereview.semgrep_bin
    )
    return CodeReviewer(
        analysers,
        model,
        model_ref=ref,
        batch_size=settings.codereview.batch_size,
        limits=settings.uploads,
    )
