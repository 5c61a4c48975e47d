"""An image's item category from the trained tag heads (when a champion exists).

``analyze-image`` answers ``item_category`` from the ``tag-heads`` champion's
``object_type`` tags when the heads have been trained on confirmed tags, and
falls back to the zero-shot ImageNet mapping (``agora.moderation.category``)
otherwise; the answer's ``method`` says which.

Example:
    >>> HeadsCategory(heads, extractor).categorize(image)  # doctest: +SKIP
    {'label': 'vehicle', 'confidence': 0.82, 'method': 'trained tag heads (object_type)', ...}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agora.tagging.features import TaggingFeatureExtractor
    from agora.tagging.heads_tagger import HeadsTagger

CATEGORY_FACET = "object_type"


class HeadsCategory:
    """The top ``facet`` tag of the serving heads for one image (None: no trained heads)."""

    def __init__(
        self, heads: HeadsTagger, extractor: TaggingFeatureExtractor, facet: str = CATEGORY_FACET
    ) -> None:
        self.heads = heads
        self.extractor = extractor
        self.facet = facet

    def categorize(self, image: Any) -> dict[str, Any] | None:
        """The category answer, or None when no heads champion serves or none covers ``facet``."""
        from agora.tagging.features import head_rows

        if self.heads.champion_version() is None:
            return None
        if not any(category == self.facet for category, _ in self.heads.covered()):
            return None
        features, _, extra = self.extractor.extract([image])
        tags = [
            t
            for t in self.heads.predict_row(head_rows(features, extra)[0])
            if t.category == self.facet
        ]
        if not tags:
            return {
                "label": "unknown",
                "confidence": 0.0,
                "models": [self.extractor.info.key],
                "method": f"trained tag heads ({self.facet}): no tag above its threshold",
            }
        best = max(tags, key=lambda t: t.confidence)
        return {
            "label": best.name,
            "confidence": round(best.confidence, 4),
            "scores": {t.name: round(t.confidence, 4) for t in tags},
            "models": [best.source_model, self.extractor.info.key],
            "method": f"trained tag heads ({self.facet})",
        }
