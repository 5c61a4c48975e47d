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
    >>> ModerationStep().model
    'moderation@1.0'
"""

from __future__ import annotations

from agora.moderation.metrics import VERDICTS
from agora.moderation.service import service_for
from agora.pipeline.base import Step, StepContext, StepOutcome


class ModerationStep(Step):
    """Scores the asset's safety; holds it for review when the score is low."""

    name = "moderation"
    version = "1.0"
    requires = ("integrity",)
    can_hold = True

    def run(self, ctx: StepContext) -> StepOutcome:
        assessment = service_for(ctx.settings).assess_asset(ctx.asset, ctx.blobs)
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
