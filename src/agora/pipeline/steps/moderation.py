"""Pipeline step ``moderation``: SafetyScore of the listing's text and images.

Runs after ``integrity``. The step stays pure with respect to the catalog:
it returns its assessment and asks the runner to hold the asset when the
decision is ``flag`` or ``block``; the runner records the result once per
(job, step) and settles the status (held -> ``flagged``, else ``active``).
The moderation queue reads the recorded results (``ModerationQueue.sync``),
so a redelivered job never queues an asset twice.

``block`` (a prohibited-item rule or an explicit image) is a hold marked
``block: true`` in the output: the runner settles it as ``banned`` rather than
``flagged``, and the item sits at the top of the queue for a moderator.

If text analysis is down the asset is accepted (not held) and queued for
post-hoc batch review (seed 001 failure table); a corrupt image is recorded
as an error for that image and never fails the step.

Example:
    >>> ModerationStep(lambda: platform.moderation).model  # doctest: +SKIP
    'moderation@1.0'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Self

from agora.moderation.metrics import VERDICTS
from agora.pipeline.base import Step, StepContext, StepOutcome, StepServices

if TYPE_CHECKING:
    from agora.moderation.service import ModerationService


class ModerationStep(Step):
    """Scores the asset's safety; holds it for review when the score is low."""

    name = "moderation"
    version = "1.0"
    requires = ("integrity",)
    can_hold = True

    def __init__(self, service: Callable[[], ModerationService]) -> None:
        """``service``: the process's moderation service (loaded on first run)."""
        self.service = service

    @classmethod
    def from_services(cls, services: StepServices) -> Self:
        return cls(services.moderation)

    def run_batch(self, ctxs: Sequence[StepContext]) -> list[StepOutcome | Exception]:
        """Every listing text of the batch embedded in one encoder call and every
        image's item category in one image call, then each asset assessed on its own
        (a corrupt image is that asset's, never the batch's)."""
        if ctxs:
            self.service().prime([ctx.asset for ctx in ctxs], ctxs[0].blobs)
        return super().run_batch(ctxs)

    def run(self, ctx: StepContext) -> StepOutcome:
        assessment = self.service().assess_asset(ctx.asset, ctx.blobs)
        VERDICTS.labels(assessment.decision).inc()
        reason = None
        if assessment.hold:
            top = "; ".join(r.detail for r in assessment.reasons[:3]) or "low safety score"
            reason = f"moderation {assessment.decision}: {top}"
        return StepOutcome(
            output=assessment.to_dict(),
            confidence=assessment.score,
            hold=assessment.hold,
            reason=reason,
        )
