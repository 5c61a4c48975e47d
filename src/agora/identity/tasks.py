"""The ``ekyc_retention`` task: delete kept eKYC originals past their expiry (hourly job)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agora.mlops.tasks import TaskContext
    from agora.runtime import Platform


def purge_expired(platform: Platform, ctx: TaskContext | None = None) -> dict[str, Any]:
    """Delete every encrypted original whose ``ekyc.retention_days`` have passed."""
    deleted = platform.ekyc.purge_expired()
    if ctx is not None:
        ctx.progress(100, f"{deleted} expired eKYC originals deleted")
    return {"deleted": deleted}
