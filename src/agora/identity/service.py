"""eKYC face match (seed 001's ``POST /ekyc-match``): score, liveness, private storage.

Seed 001's privacy rule, as code: photos are decoded and processed in memory
only; the database keeps, per photo, the embedding's keyed hash (HMAC) and
the embedding encrypted with AES-GCM (``agora.identity.vault``), never the
embedding or the photo in clear. Originals are kept only when the operator
turns ``ekyc.keep_originals`` on, and then encrypted in the blob store, each
with an expiry ``ekyc.retention_days`` ahead that the ``ekyc_retention``
scheduled job (:meth:`EkycService.purge_expired`) enforces. Every match is
written to the audit log (no image, no embedding: ids, scores, flags).

The score: ``face_match_score = 1 / (1 + exp((distance - threshold) / scale))``,
0.5 at the threshold, with ``threshold`` and ``scale`` calibrated on
``face-pairs/master.csv`` (``benchmarks/ekyc.py`` fits them and reports the
figures on the other pair file).

Example:
    >>> svc.match(selfie, document, kind="selfie_document").to_dict()["face_match_score"]
    ...  # doctest: +SKIP
    0.97
"""

from __future__ import annotations

import io
import math
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, select

from agora.errors import AgoraError, InvalidInput, PayloadTooLarge
from agora.identity.faces import Face, FaceModels, FaceQualityError
from agora.identity.liveness import (
    MIN_FRAMES,
    Challenge,
    LivenessResult,
    OnnxLivenessModel,
    challenge_liveness,
    challenge_scores,
    frame_signals,
)
from agora.identity.tables import EkycMatchRow, EkycOriginalRow
from agora.identity.vault import Vault

if TYPE_CHECKING:
    from agora.blobs.base import BlobStore
    from agora.config import EkycSettings
    from agora.governance.audit import AuditLog
    from agora.storage.database import Database

MatchKind = Literal["selfie_document", "selfie_selfie"]
# Fitted on face-pairs/master.csv by benchmarks/ekyc.py (Platt scaling of the distance).
DEFAULT_SCALE = 0.042


class EkycDisabled(AgoraError):
    """eKYC needs ``ekyc.key`` (the HMAC and encryption secret)."""

    status = 503
    type_slug = "ekyc-disabled"
    title = "eKYC is not configured"


def match_score(distance: float, threshold: float, scale: float = DEFAULT_SCALE) -> float:
    """P(same person) from the embedding distance, 0.5 at the threshold.

    >>> round(match_score(0.6, 0.6), 2), match_score(0.2, 0.6) > 0.99
    (0.5, True)
    """
    z = (distance - threshold) / scale
    return 1.0 / (1.0 + math.exp(min(z, 60.0)))


def decode_photo(data: bytes, role: str, max_pixels: int) -> NDArray[np.uint8]:
    """RGB array of an encoded photo, in memory (EXIF orientation applied)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise InvalidInput(f"the {role} photo is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            if opened.width * opened.height > max_pixels:
                raise PayloadTooLarge(f"the {role} photo exceeds {max_pixels} pixels")
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"the {role} photo is not a decodable image: {exc}") from None
    return np.asarray(image, dtype=np.uint8)


@dataclass(frozen=True)
class MatchResult:
    """One eKYC match's answer."""

    id: str
    kind: MatchKind
    face_match_score: float
    distance: float
    threshold: float
    matched: bool
    liveness: LivenessResult
    quality: dict[str, Any]
    flags: list[str]
    model: str
    originals_kept: bool
    elapsed_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "face_match_score": round(self.face_match_score, 4),
            "match": self.matched,
            "distance": round(self.distance, 4),
            "threshold": self.threshold,
            "liveness_prob": self.liveness.to_dict()["liveness_prob"],
            "liveness": self.liveness.to_dict(),
            "quality": self.quality,
            "flags": self.flags,
            "model": self.model,
            "originals_kept": self.originals_kept,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


class EkycService:
    """Face match + liveness with keyed-hash / encrypted storage and an audit entry."""

    def __init__(
        self,
        settings: EkycSettings,
        db: Database,
        blobs: BlobStore,
        audit: AuditLog,
        faces: FaceModels | None = None,
        liveness_model: OnnxLivenessModel | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.blobs = blobs
        self.audit = audit
        self.faces = faces or FaceModels()
        self.liveness_model = liveness_model
        self._vault: Vault | None = Vault(settings.key) if settings.key else None

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            raise EkycDisabled("set ekyc.key (AGORA_EKYC__KEY, at least 32 characters)")
        return self._vault

    def _face(self, data: bytes, role: str, *, strict: bool) -> Face:
        s = self.settings
        rgb = decode_photo(data, role, s.max_image_pixels)
        return self.faces.face(
            rgb, role=role, min_face_px=s.min_face_px, min_sharpness=s.min_sharpness,
            strict_single=strict,
        )  # fmt: skip

    def liveness(
        self, frames: Sequence[bytes], reference: Face, challenge: Challenge
    ) -> LivenessResult:
        """The challenge's result over ``frames`` (each: one encoded frame)."""
        if not frames:
            return LivenessResult(None, "none", False, {"note": "no challenge frames were sent"})
        if len(frames) < MIN_FRAMES:
            raise InvalidInput(f"a liveness challenge needs at least {MIN_FRAMES} frames")
        ears, yaws, chips, same = [], [], [], True
        for i, data in enumerate(frames):
            role = f"frame {i + 1}"
            rgb = decode_photo(data, role, self.settings.max_image_pixels)
            boxes = self.faces.detect(rgb)
            if not boxes:
                raise FaceQualityError(f"no face found in challenge {role}")
            ear, yaw = frame_signals(self.faces.landmarks68(rgb, boxes[0]))
            ears.append(ear)
            yaws.append(yaw)
            chips.append(self.faces.chip(rgb, boxes[0]))
        # The challenge must be performed by the selfie's person: first and last frame.
        for chip in (chips[0], chips[-1]):
            distance = float(np.linalg.norm(self.faces.embed(chip) - reference.embedding))
            same = same and distance <= self.settings.match_threshold
        scores = challenge_scores(ears, yaws)
        details: dict[str, Any] = {
            "challenge": challenge,
            "frames": len(frames),
            "same_person": same,
            "evidence": scores,
        }
        if self.liveness_model is not None:
            prob = self.liveness_model.predict(chips) if same else 0.0
            return LivenessResult(prob, self.liveness_model.name, True, details)
        prob = challenge_liveness(scores, challenge) if same else 0.0
        return LivenessResult(
            prob, "active challenge (eye aspect ratio, landmark yaw)", False, details
        )

    def match(
        self,
        first: bytes,
        second: bytes,
        *,
        kind: MatchKind = "selfie_document",
        frames: Sequence[bytes] = (),
        challenge: Challenge = "blink_and_turn",
        subject_ref: str | None = None,
        actor: str = "api",
    ) -> MatchResult:
        """Match a selfie against a document photo (or a second selfie); store and audit."""
        import time

        started = time.perf_counter()
        vault = self.vault
        second_role = "document" if kind == "selfie_document" else "second selfie"
        a = self._face(first, "selfie", strict=True)
        b = self._face(second, second_role, strict=kind == "selfie_selfie")
        distance = float(np.linalg.norm(a.embedding - b.embedding))
        threshold = self.settings.match_threshold
        score = match_score(distance, threshold, self.settings.match_scale)
        live = self.liveness(frames, a, challenge)
        flags = [f"selfie_{f}" for f in a.flags] + [
            f"{second_role.replace(' ', '_')}_{f}" for f in b.flags
        ]
        match_id = uuid.uuid4().hex
        model = self.faces.model
        row = EkycMatchRow(
            id=match_id,
            subject_ref=subject_ref,
            kind=kind,
            hash_a=vault.keyed_hash(a.embedding.tobytes()),
            hash_b=vault.keyed_hash(b.embedding.tobytes()),
            embedding_a=vault.encrypt(
                a.embedding.tobytes(), purpose=f"ekyc-embedding:{match_id}:a"
            ),
            embedding_b=vault.encrypt(
                b.embedding.tobytes(), purpose=f"ekyc-embedding:{match_id}:b"
            ),
            key_id=vault.key_id,
            distance=distance,
            score=score,
            threshold=threshold,
            matched=distance <= threshold,
            liveness_prob=live.prob,
            flags=flags,
            model=model,
        )
        kept = self.settings.keep_originals
        with self.db.session() as s:
            s.add(row)
            if kept:
                self._keep_originals(s, match_id, {"selfie": first, second_role: second})
            self.audit.record(
                actor,
                "ekyc.match",
                "ekyc_match",
                match_id,
                model=model,
                details={
                    "kind": kind,
                    "subject_ref": subject_ref,
                    "score": round(score, 4),
                    "matched": distance <= threshold,
                    "liveness_prob": live.prob,
                    "liveness_method": live.method,
                    "flags": flags,
                    "originals_kept": kept,
                },
                session=s,
            )
        return MatchResult(
            match_id, kind, score, distance, threshold, distance <= threshold, live,
            {"selfie": a.quality(), second_role.replace(" ", "_"): b.quality()},
            flags, model, kept, (time.perf_counter() - started) * 1000.0,
        )  # fmt: skip

    def _keep_originals(self, session: Any, match_id: str, photos: dict[str, bytes]) -> None:
        expires = datetime.now(UTC) + timedelta(days=self.settings.retention_days)
        for role, data in photos.items():
            box = self.vault.encrypt(data, purpose=f"ekyc-original:{match_id}:{role}")
            ref = self.blobs.put(box, name=None, media_type="application/octet-stream", kind="ekyc")
            session.add(
                EkycOriginalRow(
                    blob_sha256=ref.sha256, match_id=match_id, role=role,
                    key_id=self.vault.key_id, expires_at=expires,
                )
            )  # fmt: skip

    def original(self, match_id: str, role: str) -> bytes:
        """A kept original, decrypted (for an authorised review); ``NotFound`` if gone."""
        from agora.errors import NotFound

        with self.db.session() as s:
            row = s.scalars(
                select(EkycOriginalRow).where(
                    EkycOriginalRow.match_id == match_id, EkycOriginalRow.role == role
                )
            ).first()
        if row is None:
            raise NotFound(f"no kept {role} photo for match {match_id}")
        box = self.blobs.get(row.blob_sha256)
        return self.vault.decrypt(box, purpose=f"ekyc-original:{match_id}:{role}")

    def purge_expired(self, now: datetime | None = None, actor: str = "ekyc_retention") -> int:
        """Delete every kept original past its expiry (blob and row); returns how many."""
        now = now or datetime.now(UTC)
        with self.db.session() as s:
            rows = list(s.scalars(select(EkycOriginalRow).where(EkycOriginalRow.expires_at <= now)))
            for row in rows:
                self.blobs.delete(row.blob_sha256)
            if rows:
                s.execute(
                    delete(EkycOriginalRow).where(
                        EkycOriginalRow.blob_sha256.in_([r.blob_sha256 for r in rows])
                    )
                )
                self.audit.record(
                    actor, "ekyc.originals_deleted", "ekyc_originals", now.isoformat(),
                    details={"deleted": len(rows), "matches": sorted({r.match_id for r in rows})},
                    session=s,
                )  # fmt: skip
        return len(rows)
