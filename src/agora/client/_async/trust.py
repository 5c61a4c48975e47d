"""Moderation: text and image analysis, the review queue, decisions, appeals."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agora.api.schemas.codereview import CodeReviewResult
from agora.api.schemas.identity import EkycMatch
from agora.api.schemas.language import TextAnalysis, TextBatchRequest, TextBatchResponse
from agora.api.schemas.moderation import (
    AppealRequest,
    DecisionRequest,
    ImageVerdict,
    ModerationItem,
    ModerationQueuePage,
    TextAnalysisRequest,
)
from agora.client._async.base import AsyncResource, body
from agora.client.call import Call


class AsyncModeration(AsyncResource):
    """``/analyze-text``, ``/analyze-image`` and ``/moderation``."""

    async def analyze_text(self, text: str | None = None, **listing: Any) -> TextAnalysis:
        """Labels, scores, matched rules and a recommended action for a text (or a
        listing's ``title``, ``description`` and ``tags``), with its sentiment,
        emotion and intents."""
        fields = {"text": text, **listing} if text is not None else listing
        payload = body(TextAnalysisRequest, fields)
        return await self._call(Call("POST", "analyze-text", TextAnalysis, json=payload))

    async def analyze_texts(self, texts: list[str]) -> TextBatchResponse:
        """``analyze_text`` for many texts (comments, reviews) in one request."""
        payload = body(TextBatchRequest, {"texts": texts})
        return await self._call(Call("POST", "analyze-text:batch", TextBatchResponse, json=payload))

    async def analyze_image(
        self, image: str | Path | bytes, *, item_category: bool = False
    ) -> ImageVerdict:
        """Safety category, NSFW probability and detections of a picture, its
        ``condition_score`` and the operator's object detections."""
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        params = {"item_category": item_category}
        files = [("image", ("image", data, "application/octet-stream"))]
        return await self._call(
            Call("POST", "analyze-image", ImageVerdict, params=params, files=files)
        )

    async def queue(
        self,
        *,
        state: str | None = None,
        kind: str | None = None,
        seller_id: str | None = None,
        min_risk: float | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> ModerationQueuePage:
        """The review queue, highest priority first (moderator)."""
        params = {
            "state": state,
            "kind": kind,
            "seller_id": seller_id,
            "min_risk": min_risk,
            "limit": limit,
            "offset": offset,
        }
        return await self._call(Call("GET", "moderation/queue", ModerationQueuePage, params=params))

    async def item(self, item_id: str) -> ModerationItem:
        """One queue item with its reasons and scores."""
        return await self._call(Call("GET", f"moderation/items/{item_id}", ModerationItem))

    async def decide(
        self,
        item_id: str,
        decision: str,
        *,
        note: str | None = None,
        labels: list[str] | None = None,
    ) -> ModerationItem:
        """approve, reject or escalate an item (moderator)."""
        payload = body(DecisionRequest, {"decision": decision, "note": note, "labels": labels})
        return await self._call(
            Call("POST", f"moderation/items/{item_id}/decision", ModerationItem, json=payload)
        )

    async def appeal(self, item_id: str, *, seller_id: str, message: str) -> ModerationItem:
        """The seller's appeal of a rejection."""
        payload = body(AppealRequest, {"seller_id": seller_id, "message": message})
        return await self._call(
            Call("POST", f"moderation/items/{item_id}/appeal", ModerationItem, json=payload)
        )


def _photo(image: str | Path | bytes) -> bytes:
    return image if isinstance(image, bytes) else Path(image).read_bytes()


class AsyncIdentity(AsyncResource):
    """``/ekyc-match``: face match and liveness (seed 001's eKYC)."""

    async def ekyc_match(
        self,
        selfie: str | Path | bytes,
        *,
        document: str | Path | bytes | None = None,
        second_selfie: str | Path | bytes | None = None,
        frames: Sequence[str | Path | bytes] = (),
        challenge: str = "blink_and_turn",
        subject_ref: str | None = None,
    ) -> EkycMatch:
        """``face_match_score`` of a selfie against a document photo or a second
        selfie; ``liveness_prob`` from the challenge ``frames`` (blink, head turn)."""
        files = [("selfie", ("selfie", _photo(selfie), "application/octet-stream"))]
        if document is not None:
            files.append(("document", ("document", _photo(document), "application/octet-stream")))
        if second_selfie is not None:
            files.append(
                (
                    "second_selfie",
                    ("second_selfie", _photo(second_selfie), "application/octet-stream"),
                )
            )
        files += [
            ("frames", (f"frame{i}", _photo(f), "application/octet-stream"))
            for i, f in enumerate(frames)
        ]
        data = {"challenge": challenge} | ({"subject_ref": subject_ref} if subject_ref else {})
        return await self._call(Call("POST", "ekyc-match", EkycMatch, data=data, files=files))


class AsyncCodeReview(AsyncResource):
    """``/code-review``: review scripts before uploading them."""

    async def review(
        self, file: str | Path | bytes, *, name: str | None = None
    ) -> CodeReviewResult:
        """Findings and verdicts of a script, a scene or an archive of them (``name``
        gives the file name when ``file`` is bytes: its extension picks the language)."""
        data = file if isinstance(file, bytes) else Path(file).read_bytes()
        filename = name or (Path(file).name if not isinstance(file, bytes) else "upload")
        files = [("file", (filename, data, "application/octet-stream"))]
        return await self._call(Call("POST", "code-review", CodeReviewResult, files=files))
