"""Progress of a batch job: one job for many items, each accepted item run by a
child job (a bulk import: one asset and its pipeline job per accepted line).

The batch job's ``result`` holds the counters; a client polls that one job.
Rejected items are done the moment they are refused; accepted ones are done
when their child job ends, whatever its outcome (``failed`` counts those that
failed or were cancelled). The batch succeeds once every item is done.

Example:
    >>> p = BatchProgress(total=4)
    >>> p = p.submitted(accepted=3, rejected=1).child_done(failed=False)
    >>> p.percent, p.finished, p.message
    (50.0, False, '1 of 3 accepted processed (0 failed), 1 rejected')
    >>> p.child_done(failed=True).child_done(failed=False).finished
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

PARENT_KEY = "parent_id"
"""The key of a child job's ``params`` that names its batch job."""


@dataclass(frozen=True)
class BatchProgress:
    """Counters of a batch job, stored as its ``result``.

    ``accepted`` is None until every item was submitted: children may end
    before that (a fast pipeline), so their count never waits for it."""

    total: int
    accepted: int | None = None
    rejected: int = 0
    processed: int = 0
    failed: int = 0

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> BatchProgress:
        """Read back from a job's ``result``."""
        names = ("total", "accepted", "rejected", "processed", "failed")
        return cls(**{k: result[k] for k in names if k in result})

    def to_result(self) -> dict[str, Any]:
        """The job ``result`` form."""
        return asdict(self)

    def submitted(self, *, accepted: int, rejected: int) -> BatchProgress:
        """Every item was submitted: ``accepted`` became child jobs."""
        return replace(self, accepted=accepted, rejected=rejected)

    def child_done(self, *, failed: bool) -> BatchProgress:
        """One child job ended (``failed``: it failed or was cancelled)."""
        return replace(self, processed=self.processed + 1, failed=self.failed + int(failed))

    @property
    def finished(self) -> bool:
        """Every item submitted and every accepted one processed."""
        return self.accepted is not None and self.processed >= self.accepted

    @property
    def percent(self) -> float:
        """Done items (rejected or processed) over all items, 0-100."""
        if self.finished:
            return 100.0
        return 100.0 * (self.rejected + self.processed) / max(self.total, 1)

    @property
    def message(self) -> str:
        """One line for a person."""
        if self.accepted is None:
            return f"submitting {self.total} items; {self.processed} processed so far"
        return (
            f"{self.processed} of {self.accepted} accepted processed ({self.failed} failed), "
            f"{self.rejected} rejected"
        )
