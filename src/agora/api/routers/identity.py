"""eKYC (seed 001's Visual Intelligence Service): ``POST /ekyc-match``."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from agora.api.deps import PlatformDep, Writer
from agora.api.memory_form import read_memory_form
from agora.api.schemas.identity import EkycMatch
from agora.errors import InvalidInput
from agora.identity.liveness import Challenge
from agora.identity.service import MatchKind

router = APIRouter(tags=["identity"])
CHALLENGES = ("blink", "turn", "blink_and_turn")
MAX_FRAMES = 30

_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["selfie"],
                    "properties": {
                        "selfie": {
                            "type": "string",
                            "format": "binary",
                            "description": "A photo of the person's face (JPEG, PNG, WebP).",
                            "examples": ["selfie.jpg (binary)"],
                        },
                        "document": {
                            "type": "string",
                            "format": "binary",
                            "description": "The ID document's photo (or send second_selfie).",
                        },
                        "second_selfie": {"type": "string", "format": "binary"},
                        "frames": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": f"3-{MAX_FRAMES} frames of the liveness challenge.",
                        },
                        "challenge": {"type": "string", "enum": list(CHALLENGES)},
                        "subject_ref": {"type": "string", "maxLength": 128},
                    },
                }
            }
        },
    }
}


def _one(form: dict[str, list[bytes]], name: str) -> bytes | None:
    values = form.get(name) or []
    if len(values) > 1:
        raise InvalidInput(f"send one {name!r} part, not {len(values)}")
    return values[0] if values else None


@router.post("/ekyc-match", response_model=EkycMatch, openapi_extra=_FORM)
async def ekyc_match(request: Request, platform: PlatformDep, principal: Writer) -> dict[str, Any]:
    """Match a selfie against an ID document photo (``document``) or a second selfie
    (``second_selfie``): dlib face detection, alignment and 128-d embeddings, the
    distance turned into ``face_match_score`` at the calibrated threshold; with
    ``frames`` (an active challenge: blink and turn the head), ``liveness_prob``.
    Photos are parsed and processed in memory; only keyed hashes and encrypted
    embeddings are stored, and the match is audited. No face, several faces in a
    selfie, or a face too small: 422 saying which; ``ekyc.key`` unset: 503.

        curl -H "Authorization: Bearer $KEY" -F selfie=@me.jpg -F document=@id.jpg \\
             -F frames=@f1.jpg -F frames=@f2.jpg -F frames=@f3.jpg \\
             http://localhost:8000/api/v1/ekyc-match
    """
    limits = platform.settings.uploads
    form = await read_memory_form(request, limits.max_file_bytes * 4)
    selfie = _one(form, "selfie")
    document = _one(form, "document")
    second = _one(form, "second_selfie")
    if selfie is None:
        raise InvalidInput("a 'selfie' photo is required")
    if (document is None) == (second is None):
        raise InvalidInput("send exactly one of 'document' and 'second_selfie'")
    frames = form.get("frames") or []
    if len(frames) > MAX_FRAMES:
        raise InvalidInput(f"at most {MAX_FRAMES} challenge frames")
    challenge = (_one(form, "challenge") or b"blink_and_turn").decode(errors="replace")
    if challenge not in CHALLENGES:
        raise InvalidInput(f"challenge must be one of {', '.join(CHALLENGES)}")
    ref = _one(form, "subject_ref")
    subject_ref = ref.decode(errors="replace")[:128] if ref else None
    kind: MatchKind = "selfie_document" if document is not None else "selfie_selfie"
    other = cast(bytes, document if document is not None else second)
    result = await run_in_threadpool(
        lambda: platform.ekyc.match(
            selfie, other, kind=kind, frames=frames, challenge=cast(Challenge, challenge),
            subject_ref=subject_ref, actor=principal.actor,
        )
    )  # fmt: skip
    return result.to_dict()
