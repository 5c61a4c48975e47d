"""Pipeline step ``tagging``: auto-tag the asset after it is indexed.

Runs after ``index`` (the embedding step) so a slow tagger never delays
search. It uses the same flow as the API (consent, local taggers, cloud only
when allowed and requested by the deployment's defaults), persists the
result and writes the audit entry. An owner without AI-processing consent
is not an error: the step records ``skipped`` and the refusal is audited.
The step never holds the asset.

Example:
    >>> TaggingStep(lambda: platform.tagging).model  # doctest: +SKIP
    'tagging@1.0'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Self

from agora.pipeline.base import Step, StepContext, StepOutcome, StepServices
from agora.tagging.prime import prime_batch
from agora.tagging.router import ConsentRequired

if TYPE_CHECKING:
    from agora.tagging.service import TaggingService


class TaggingStep(Step):
    """Tags the asset (object type, style, genre, format, engines, theme)."""

    name = "tagging"
    version = "1.0"
    requires = ("index",)

    def __init__(self, service: Callable[[], TaggingService]) -> None:
        """``service``: the process's tagging service (its encoders load on first run)."""
        self.service = service

    @classmethod
    def from_services(cls, services: StepServices) -> Self:
        return cls(services.tagging)

    def run_batch(self, ctxs: Sequence[StepContext]) -> list[StepOutcome | Exception]:
        """The batch's texts and images encoded in one call each (``prime_batch``),
        then each asset tagged, persisted and audited on its own."""
        prime_batch(self.service(), [str(ctx.asset["id"]) for ctx in ctxs])
        return super().run_batch(ctxs)

    def run(self, ctx: StepContext) -> StepOutcome:
        service = self.service()
        try:
            result = service.tag_asset(str(ctx.asset["id"]), actor="pipeline:tagging")
        except ConsentRequired as exc:
            return StepOutcome(output={"skipped": exc.detail}, confidence=None)
        return StepOutcome(
            output={
                k: result[k] for k in ("tags", "quality_score", "models_used", "consent_version")
            },
            confidence=result["quality_score"],
        )
