"""Training labels from impression logs (seed 001 section 5: click = 1, skip = 0, 1-hour window).

An impression is labelled by the first *decisive* event the same user has on
the same asset after it, within the attribution window: a ``click`` makes it
1, an explicit ``skip`` makes it 0 (the user's own negative judgement beats a
later click), nothing makes it 0. Conversions are labelled the same way by a
``purchase`` within the window (for pCVR).

Impressions are either the ``impression`` events themselves or the served-list
feature log (rows with ``user_id``, ``asset_id``, ``ts``): labelling the
feature log is what makes training data point-in-time correct by construction,
since each row already carries the features exactly as they were served.

Example:
    >>> ev = [
    ...   {"user_id": "u", "asset_id": "a", "type": "impression", "ts": "2025-01-01T10:00:00Z"},
    ...   {"user_id": "u", "asset_id": "a", "type": "click", "ts": "2025-01-01T10:20:00Z"},
    ...   {"user_id": "u", "asset_id": "b", "type": "impression", "ts": "2025-01-01T10:00:00Z"},
    ...   {"user_id": "u", "asset_id": "b", "type": "click", "ts": "2025-01-01T11:30:00Z"},
    ... ]
    >>> label_impressions(ev)[["asset_id", "label"]].values.tolist()
    [['a', 1], ['b', 0]]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import pandas as pd

from agora.errors import InvalidInput

ATTRIBUTION_WINDOW = timedelta(hours=1)
_KEYS = ["user_id", "asset_id"]


def _frame(rows: pd.DataFrame | Iterable[Mapping[str, Any]], what: str) -> pd.DataFrame:
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    missing = {"user_id", "asset_id", "ts"} - set(frame.columns)
    if missing and len(frame):
        raise InvalidInput(f"{what} lack columns: {sorted(missing)}")
    if not len(frame):
        frame = pd.DataFrame(columns=["user_id", "asset_id", "ts", "type"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    frame["user_id"] = frame["user_id"].astype(str)
    frame["asset_id"] = frame["asset_id"].astype(str)
    return frame


def _first_after(
    left: pd.DataFrame, right: pd.DataFrame, window: timedelta, column: str
) -> pd.Series:
    """For each left row, the ``type`` of the first right row at or after it within window."""
    if not len(right) or not len(left):
        return pd.Series([None] * len(left), index=left.index, dtype=object)
    probe = left[[*_KEYS, "ts"]].reset_index().sort_values("ts", kind="stable")
    found = pd.merge_asof(
        probe,
        right[[*_KEYS, "ts", "type"]].rename(columns={"type": column}).sort_values("ts"),
        on="ts",
        by=_KEYS,
        direction="forward",
        tolerance=pd.Timedelta(window),
        allow_exact_matches=True,
    )
    return found.set_index("index")[column].reindex(left.index)


def label_impressions(
    events: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    impressions: pd.DataFrame | Iterable[Mapping[str, Any]] | None = None,
    window: timedelta = ATTRIBUTION_WINDOW,
) -> pd.DataFrame:
    """Label impressions with ``clicked``, ``purchased`` and ``label`` (= clicked), 0/1 ints.

    ``events`` are interaction events (``user_id``, ``asset_id``, ``type``, ``ts``);
    ``impressions`` defaults to the ``impression`` events among them, or give the
    served-list feature log. Every other column of ``impressions`` is kept.
    """
    if window <= timedelta(0):
        raise InvalidInput("the attribution window must be positive")
    ev = _frame(events, "events")
    if "type" not in ev.columns:
        raise InvalidInput("events lack a 'type' column")
    shown = (
        ev[ev["type"] == "impression"]
        if impressions is None
        else _frame(impressions, "impressions")
    )
    shown = shown.reset_index(drop=True)
    decisive = ev[ev["type"].isin(["click", "skip"])]
    purchases = ev[ev["type"] == "purchase"]
    out = shown.copy()
    out["clicked"] = (_first_after(shown, decisive, window, "_first") == "click").astype(int)
    out["purchased"] = _first_after(shown, purchases, window, "_buy").notna().astype(int)
    out["label"] = out["clicked"]
    return out.sort_values(["ts", *_KEYS], kind="stable").reset_index(drop=True)


__all__ = ["ATTRIBUTION_WINDOW", "label_impressions"]
