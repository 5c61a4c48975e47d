"""eKYC request form and response models (``POST /api/v1/ekyc-match``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agora.api.schemas.common import ResponseModel


class FaceQuality(ResponseModel):
    """The quality checks of one photo's face."""

    face_box: list[int] = Field(description="`[x, y, width, height]` in the photo's pixels.")
    faces_found: int
    sharpness: float = Field(description="Variance of the Laplacian of the aligned face crop.")
    flags: list[str] = Field(description="`blurry`, `multiple_faces` (document photos only).")


class LivenessEvidence(ResponseModel):
    """The active challenge's measurements."""

    blink: float = Field(description="Blink evidence in [0, 1].")
    turn: float = Field(description="Head-turn evidence in [0, 1].")
    blink_depth: float = Field(description="1 - min eye aspect ratio / open eye aspect ratio.")
    turn_range: float = Field(description="Range of the yaw proxy over the frames.")
    open_ear: float


class Liveness(ResponseModel):
    """``liveness_prob`` and how it was reached."""

    liveness_prob: float | None = Field(description="Null when no challenge frames were sent.")
    method: str = Field(
        description="`active challenge (...)`, the operator's model name, or `none`."
    )
    calibrated: bool = Field(
        description="False for the challenge's fixed evidence ramps: no spoof data set "
        "exists here to calibrate a probability; true for an operator's model."
    )
    challenge: Literal["blink", "turn", "blink_and_turn"] | None = None
    frames: int | None = None
    same_person: bool | None = Field(
        default=None, description="The first and last frames show the selfie's person."
    )
    evidence: LivenessEvidence | None = None
    note: str | None = None


class EkycMatch(ResponseModel):
    """Seed 001's `{face_match_score, liveness_prob}` with the evidence behind them."""

    id: str = Field(description="The match record (keyed hashes and encrypted embeddings only).")
    kind: Literal["selfie_document", "selfie_selfie"]
    face_match_score: float = Field(
        description="P(same person) from the embedding distance; 0.5 at the threshold."
    )
    match: bool = Field(description="`distance <= threshold`.")
    distance: float = Field(description="Euclidean distance of the two 128-d dlib embeddings.")
    threshold: float
    liveness_prob: float | None
    liveness: Liveness
    quality: dict[str, FaceQuality] = Field(description="Per photo role.")
    flags: list[str]
    model: str
    originals_kept: bool = Field(
        description="The photos were kept, encrypted, until the retention job deletes them."
    )
    elapsed_ms: float
