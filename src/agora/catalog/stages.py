"""Which stages of the post-upload pipeline are done for an asset.

The asset's API representation carries ``pipeline``: the stages its newest
pipeline job has reached, read from the results the runner records per
(job, step). An accepted asset turns active as soon as the steps that may
hold it (integrity, moderation) have answered; it is keyword-searchable
once active and indexed, semantically searchable once its text vector
landed, and ``processed`` when every step has answered (``processed_at``).

Example:
    >>> stages_of("active", {"moderation": {}, "index": {"models": {"text": "m@1"}}}, True)
    ... # doctest: +NORMALIZE_WHITESPACE
    {'moderated': True, 'keyword_searchable': True, 'semantic_searchable': True,
     'image_searchable': False, 'tagged': False, 'processed': True}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agora.storage.tables import ProcessingResultRow

STAGES = (
    "moderated",
    "keyword_searchable",
    "semantic_searchable",
    "image_searchable",
    "tagged",
    "processed",
)


def stages_of(
    status: str, outputs: Mapping[str, Mapping[str, Any]], processed: bool
) -> dict[str, bool]:
    """Stage flags from the asset's status and its recorded step outputs (by step)."""
    active = status == "active"
    index = outputs.get("index")
    indexed = index is not None and "error" not in index
    models = (index or {}).get("models") or {}
    tagging = outputs.get("tagging")
    return {
        "moderated": "moderation" in outputs,
        "keyword_searchable": active and indexed,
        "semantic_searchable": active and indexed and "text" in models,
        "image_searchable": active and indexed and "image" in models,
        "tagged": tagging is not None and "error" not in tagging and "skipped" not in tagging,
        "processed": processed,
    }


def pipeline_view(session: Session, asset: Mapping[str, Any]) -> dict[str, Any]:
    """``{"job_id", "steps_done", "stages"}`` of the asset's newest pipeline job."""
    rows = list(
        session.scalars(
            select(ProcessingResultRow)
            .where(ProcessingResultRow.asset_id == asset["id"])
            .order_by(ProcessingResultRow.id)
        )
    )
    job_id = rows[-1].job_id if rows else None
    outputs = {r.step: r.output for r in rows if r.job_id == job_id}
    processed = asset.get("processed_at") is not None
    return {
        "job_id": job_id,
        "steps_done": sorted(outputs),
        "stages": stages_of(str(asset.get("status")), outputs, processed),
    }
