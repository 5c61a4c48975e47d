"""The moderation service: analyse texts, images and whole assets.

One instance per process (``Platform.moderation``): it owns the rules, the
language detector, the image models and the provider of trained text models.

Example:
    >>> svc = platform.moderation  # doctest: +SKIP
    >>> svc.analyze_text("call me 081 234 5678").action.value  # doctest: +SKIP
    'review'
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from agora.errors import InvalidInput, NotFound, PayloadTooLarge
from agora.moderation.category import ItemCategorizer
from agora.moderation.image import ImageSafety, ImageVerdict, decode_source
from agora.moderation.image_extras import ImageExtras
from agora.moderation.language import LanguageDetector
from agora.moderation.metrics import IMAGE_ERRORS, TEXT_ANALYSIS_DOWN
from agora.moderation.profanity import ProfanitySignal
from agora.moderation.provider import ModelProvider
from agora.moderation.rules import RuleSet
from agora.moderation.score import SafetyAssessment, assess
from agora.moderation.text import PrimedPredictions, TextAnalyzer, TextVerdict, listing_text
from agora.ops.fallbacks import count_fallback

if TYPE_CHECKING:
    from agora.blobs.base import BlobStore
    from agora.config import Settings
    from agora.encoders.factory import Encoders
    from agora.tagging.heads_category import HeadsCategory
    from agora.vision.detector import OnnxDetector

log = logging.getLogger("agora.moderation")


class ModerationService:
    """Text, image and asset analysis with the current models."""

    def __init__(
        self,
        settings: Settings,
        provider: ModelProvider,
        encoders: Encoders,
        *,
        heads_category: Callable[[], HeadsCategory | None] | None = None,
        detector: Callable[[], OnnxDetector | None] | None = None,
    ) -> None:
        """``encoders``: the process's, for the item categorizer (the text models
        have theirs from ``provider``); ``heads_category`` opens the trained tag
        heads' category, ``detector`` the operator's ONNX detector (each None
        when there is none)."""
        from agora.vision.condition import ConditionGrader

        self.settings = settings
        m = settings.moderation
        self.provider = provider
        self.rules = RuleSet.packaged(m.extra_rules_dir or None)
        self.language = LanguageDetector(m.language_min_confidence)
        self.profanity = ProfanitySignal()
        self.images = ImageSafety(max_pixels=settings.uploads.max_image_pixels)
        # Class-name embeddings cached beside ConSE's (same text encoder, same file).
        self.categorizer = ItemCategorizer(encoders, cache_dir=settings.data_dir / "encoders")
        # The condition model is read from the same model store as the text models.
        self.condition = ConditionGrader(lambda: provider.store)
        self.extras = ImageExtras(self.categorizer, self.condition, heads_category, detector)
        self._category_pool: ThreadPoolExecutor | None = None
        # Classifier results of a pipeline batch, predicted in one call (``prime``).
        self.primed = PrimedPredictions()
        self._pool_lock = threading.Lock()

    def analyzer(self, subject_id: str | None = None) -> TextAnalyzer:
        """A text analyser over the models serving ``subject_id`` (may be degraded)."""
        models = self.provider.text_models(subject_id=subject_id)
        return TextAnalyzer(
            self.settings.moderation, models, self.rules, self.language, self.profanity,
            primed=self.primed,
        )  # fmt: skip

    def analyze_text(self, text: str, subject_id: str | None = None) -> TextVerdict:
        """Analyse one text; degraded (classifiers absent) is counted as a fallback.

        ``subject_id`` places the text in a classifier's canary (default: the
        text's digest, so the same text always meets the same version).
        """
        if len(text) > self.settings.moderation.max_text_chars:
            raise PayloadTooLarge(
                f"text exceeds {self.settings.moderation.max_text_chars} characters"
            )
        subject = subject_id or hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
        verdict = self._analyze(self.analyzer(subject), text)
        if verdict.degraded:
            count_fallback("moderation_classifiers_absent")
        return verdict

    def _analyze(self, analyzer: TextAnalyzer, text: str) -> TextVerdict:
        """``analyzer.analyze(text)``, reported per classifier version for the canary."""
        started = time.perf_counter()
        try:
            verdict = analyzer.analyze(text)
        except Exception:
            self.provider.report(analyzer.models, time.perf_counter() - started, error=True)
            raise
        self.provider.report(analyzer.models, time.perf_counter() - started)
        return verdict

    def analyze_image(self, data: bytes, *, item_category: bool = True) -> ImageVerdict:
        """Safety, item category, condition and objects of one encoded image;
        ``InvalidInput`` if undecodable."""
        with self._pool_lock:
            if self._category_pool is None:
                self._category_pool = ThreadPoolExecutor(2, thread_name_prefix="item-category")
        return self.images.analyze(
            data, self.extras, self._category_pool, item_category=item_category
        )

    def prime(self, assets: Sequence[dict[str, Any]], blobs: BlobStore) -> None:
        """Run the batch's shared encoder calls once: every listing text in one text
        encoder call, every image's item category in one image encoder call. Then
        ``assess_asset`` of each asset reads its vectors from the caches. Best
        effort: a failure here leaves each asset to encode (or fail) on its own."""
        self.prime_texts(assets)
        pictures = []
        for asset in assets:
            for ref in list(asset.get("images") or [])[: self.settings.moderation.max_images]:
                try:
                    data = blobs.get(str(ref.get("sha256")))
                    pictures.append(decode_source(data, self.images.max_pixels).convert("RGB"))
                # A bad image is analysed (and reported) by assess_asset itself.
                except Exception:  # noqa: BLE001
                    continue
        if pictures:
            try:
                self.categorizer.encoders.image().encode_images(pictures)
            except Exception as exc:  # noqa: BLE001
                log.info("moderation: batch image priming skipped: %s", exc)

    def prime_texts(self, assets: Sequence[dict[str, Any]]) -> None:
        """Embed the listing texts of a batch of assets in one encoder call, so
        ``assess_asset`` of each reads its vector from the query cache. Best effort:
        a failure here leaves each asset to encode (or fail) on its own."""
        try:
            models = self.provider.text_models()
            texts = [listing_text(a) for a in assets]
            texts = [t for t in texts if len(t) <= self.settings.moderation.max_text_chars]
            view = "stacked" if self.settings.moderation.text_embeddings else "tfidf"
            for clf in (models.toxicity, models.spam):
                sentence = getattr(clf, "sentence_", None)
                if sentence is not None and view == "stacked":
                    sentence.prime(texts)
                if clf is not None:
                    # TF-IDF and the stacked heads over the whole batch at once.
                    self.primed.prime(clf, texts, view)
        # Priming only saves time: assess_asset handles (and reports) any failure itself.
        except Exception as exc:  # noqa: BLE001
            log.info("moderation: batch text priming skipped: %s", exc)

    def assess_asset(self, asset: dict[str, Any], blobs: BlobStore) -> SafetyAssessment:
        """SafetyScore for an asset's text and every image; never raises on bad content."""
        text_down: str | None = None
        text: TextVerdict | None = None
        try:
            subject = str(asset.get("id") or "") or None
            text = self._analyze(self.analyzer(subject), listing_text(asset))
            if text.degraded:
                text_down = "models_absent"
        # Any failure of text analysis: accept and queue; moderation must always answer.
        except Exception as exc:  # noqa: BLE001
            log.warning("text analysis down for asset %s: %s", asset.get("id"), exc)
            text_down = "error"
        if text_down:
            TEXT_ANALYSIS_DOWN.labels(text_down).inc()
            count_fallback("moderation_text_down")
        images: list[tuple[str, ImageVerdict | str]] = []
        refs = list(asset.get("images") or [])[: self.settings.moderation.max_images]
        for ref in refs:
            sha = str(ref.get("sha256"))
            try:
                images.append((sha, self.images.analyze(blobs.get(sha))))
            except (InvalidInput, PayloadTooLarge, NotFound) as exc:
                IMAGE_ERRORS.inc()
                images.append((sha, exc.detail))
            # Decoders raise anything on hostile bytes; one image must not fail the listing.
            except Exception as exc:  # noqa: BLE001
                IMAGE_ERRORS.inc()
                images.append((sha, f"{type(exc).__name__}: {exc}"[:300]))
        return assess(text, images, self.settings.moderation, text_down=text_down)

    def close(self) -> None:
        """Stop the item-category threads (queued work finishes on its own)."""
        with self._pool_lock:
            pool, self._category_pool = self._category_pool, None
        if pool is not None:
            pool.shutdown(wait=False)
