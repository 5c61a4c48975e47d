"""Pipeline step ``duplicates``: is this upload a copy of something in the catalog?

Runs after ``integrity`` and may hold: a copy of another seller's active asset
(same bytes, a flipped, turned, cropped or recoloured picture, or the same
mesh) is held for review with the original linked (``original`` in the
output, and a moderation queue item); a seller's own re-upload is not held
but marked as a version of the earlier asset (``own_version_of``). Over a
batch, every picture is embedded in one image-encoder call whose rows the
served encoder caches, so the ``index`` step that follows reads them instead
of encoding again. A corrupt picture or mesh is an entry of ``errors``, never a
failed step. The output's shape is documented in
:mod:`agora.quality.duplicates.detector`.

Example:
    >>> DuplicatesStep.from_services(platform.step_services()).model  # doctest: +SKIP
    'duplicates@1.0'
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Self

from agora.errors import InvalidInput
from agora.pipeline.base import Step, StepContext, StepOutcome, StepServices
from agora.quality.duplicates.detector import DuplicateDetector
from agora.quality.duplicates.store import FingerprintStore

if TYPE_CHECKING:
    from agora.storage.database import Database


class DuplicatesStep(Step):
    """Finds exact, near and 3D duplicates; holds copies of other sellers' work."""

    name = "duplicates"
    version = "1.0"
    requires = ("integrity",)
    can_hold = True

    def __init__(self, detector: DuplicateDetector) -> None:
        self.detector = detector
        # One check at a time per process: the in-memory index is updated between
        # an asset's check and the next one (batch-mates must see each other).
        self._lock = threading.Lock()

    @classmethod
    def from_services(cls, services: StepServices) -> Self:
        if services.db is None:
            raise InvalidInput("the duplicates step needs the catalog database")
        db: Database = services.db()
        store = FingerprintStore(db)
        detector = DuplicateDetector(
            store, services.search_backends, services.blobs, services.settings.duplicates
        )
        return cls(detector)

    def run(self, ctx: StepContext) -> StepOutcome:
        result = self.run_batch([ctx])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def run_batch(self, ctxs: Sequence[StepContext]) -> list[StepOutcome | Exception]:
        """One encoder call for every picture of the batch, then each asset checked
        in order (each sees the batch-mates checked before it)."""
        if not ctxs:
            return []
        with self._lock:
            outputs = self.detector.check_many([ctx.asset for ctx in ctxs])
        out: list[StepOutcome | Exception] = []
        for output in outputs:
            reason = None
            if output["held"]:
                reason = f"duplicate of asset {output['original']} of another seller"
            out.append(
                StepOutcome(output=output, confidence=1.0, hold=output["held"], reason=reason)
            )
        return out
