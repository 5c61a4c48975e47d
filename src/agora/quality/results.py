"""Reading the ``scores`` step's recorded results: what features and ranking use.

Example:
    >>> with platform.db.session() as s:  # doctest: +SKIP
    ...     latest_scores(s)["a-1"]
    {'quality': 0.82, 'risk': 0.07}
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agora.storage.tables import ProcessingResultRow

SCORES_STEP = "scores"


def latest_scores(
    s: Session, asset_ids: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """Asset id -> the newest ``scores`` result's ``quality`` and ``risk`` scores
    (of ``asset_ids``, or of every scored asset)."""
    newest = select(func.max(ProcessingResultRow.id)).where(ProcessingResultRow.step == SCORES_STEP)
    if asset_ids is not None:
        newest = newest.where(ProcessingResultRow.asset_id.in_(list(asset_ids)))
    rows = s.execute(
        select(ProcessingResultRow.asset_id, ProcessingResultRow.output).where(
            ProcessingResultRow.id.in_(newest.group_by(ProcessingResultRow.asset_id))
        )
    ).tuples()
    out: dict[str, dict[str, float]] = {}
    for asset_id, output in rows:
        found = {k: ((output or {}).get(k) or {}).get("score") for k in ("quality", "risk")}
        out[asset_id] = {k: float(v) for k, v in found.items() if isinstance(v, int | float)}
    return out
