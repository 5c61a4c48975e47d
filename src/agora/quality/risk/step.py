"""Pipeline step ``scores``: the asset's quality score and risk score, with reasons.

It runs after the steps it reads (``Step.after``: integrity, completeness,
moderation, scan, duplicates, models3d), whichever of them are enabled, and
after none of them when they are not: an absent step is an absent signal,
named in the breakdown. It also measures the images (resolution, sharpness),
reads the seller's trust and history from the catalog, and asks the anomaly
model's champion (``agora.quality.risk.anomaly``, trained by ``train.anomaly``)
how unusual the asset's measured properties are; with no champion yet that
signal is absent too.

A risk at or above ``scores.hold_risk_at`` holds the asset for review (the
seed's "automatic flagging"); the moderation queue ranks items by it.

Example:
    >>> step = ScoresStep(Settings().scores)  # doctest: +SKIP
    >>> step.run(ctx).output["risk"]["breakdown"][0]  # doctest: +SKIP
    {'signal': 'scan', 'value': 1.0, 'weight': 1.0, 'contribution': 1.0, 'reason': 'malware: ...'}
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self

from agora.errors import NotFound
from agora.pipeline.base import Step, StepContext, StepOutcome, StepServices
from agora.quality.risk.anomaly import PROPERTIES, AnomalyModel, asset_properties
from agora.quality.risk.images import measure_image
from agora.quality.risk.seller import seller_context
from agora.quality.risk.signals import Signal, quality_score, risk_score

if TYPE_CHECKING:
    from agora.blobs.base import BlobStore
    from agora.config import ScoreSettings
    from agora.mlops.base import ModelStore
    from agora.storage.database import Database

log = logging.getLogger(__name__)
REFRESH_S = 300.0


class AnomalyChampion:
    """The anomaly model's champion, re-read from the model store every few minutes."""

    def __init__(self, models: Callable[[], ModelStore] | None, name: str) -> None:
        self.models, self.name = models, name
        self.model: AnomalyModel | None = None
        self.version: str | None = None
        self._checked = -REFRESH_S
        self._lock = threading.Lock()

    def current(self) -> tuple[AnomalyModel | None, str | None]:
        if self.models is None:
            return None, None
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= REFRESH_S:
                self._checked = now
                try:
                    store = self.models()
                    info = store.info(self.name, alias="champion")
                    if info.ref.version != self.version:
                        self.model = store.load(self.name, version=info.ref.version)
                        self.version = info.ref.version
                except NotFound:
                    self.model, self.version = None, None
                # The store being down must not fail the asset: the signal is absent.
                except Exception as exc:  # noqa: BLE001
                    log.warning("anomaly model unavailable: %s", exc)
            return self.model, self.version

    def signal(self, properties: list[float]) -> Signal:
        model, version = self.current()
        if model is None:
            return Signal("anomaly", None, "absent: no anomaly model champion (train.anomaly)")
        value = float(model.signal([properties])[0])
        return Signal(
            "anomaly", value, f"{self.name}@{version}: unusual properties ({value:.2f} of 1)"
        )


def measure_images(
    blobs: BlobStore, refs: list[Mapping[str, Any]], limit: int
) -> list[dict[str, Any]]:
    """Resolution and sharpness of the first ``limit`` images; a bad one is skipped."""
    out: list[dict[str, Any]] = []
    for ref in refs[:limit]:
        try:
            out.append(measure_image(blobs.get(str(ref.get("sha256")))))
        # Corrupt or missing images are integrity's business, not a failure here.
        except Exception as exc:  # noqa: BLE001
            out.append({"error": f"{type(exc).__name__}: {exc}"[:200]})
    return out


class ScoresStep(Step):
    """Quality and risk scores with a breakdown of reasons; holds a high risk."""

    name = "scores"
    version = "1.0"
    after = ("integrity", "completeness", "moderation", "scan", "duplicates", "models3d")
    can_hold = True

    def __init__(
        self,
        settings: ScoreSettings,
        *,
        db: Callable[[], Database] | None = None,
        models: Callable[[], ModelStore] | None = None,
    ) -> None:
        """``db``: the catalog (seller trust and history; None: those signals are
        absent); ``models``: the model store holding the anomaly model."""
        self.settings = settings
        self.db = db
        self.anomaly = AnomalyChampion(models, settings.anomaly_model)

    @classmethod
    def from_services(cls, services: StepServices) -> Self:
        return cls(services.settings.scores, db=services.db, models=services.models)

    def run(self, ctx: StepContext) -> StepOutcome:
        results = ctx.upstream
        images = measure_images(
            ctx.blobs, list(ctx.asset.get("images") or []), self.settings.max_images
        )
        properties = asset_properties(ctx.asset, results, images)
        seller = None
        if self.db is not None:
            seller = seller_context(
                self.db(), ctx.asset.get("seller_id"), exclude=str(ctx.asset.get("id"))
            )
        quality = quality_score(results, images, self.settings.quality_weights)
        risk = risk_score(
            results, seller, self.anomaly.signal(properties), self.settings.risk_weights
        )
        output = {
            "quality": quality,
            "risk": risk,
            "images": images,
            "properties": dict(zip(PROPERTIES, properties, strict=True)),
            "inputs": sorted(results),
        }
        hold = risk["score"] >= self.settings.hold_risk_at
        reason = None
        if hold:
            top = "; ".join(line["reason"] for line in risk["breakdown"][:3])
            reason = f"risk {risk['score']:.2f}: {top}"
        return StepOutcome(output=output, confidence=risk["score"], hold=hold, reason=reason)
