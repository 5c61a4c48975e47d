"""Duplicates of an asset: what the ``duplicates`` pipeline step found."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agora.api.schemas.common import ResponseModel, UtcDatetime

__all__ = ["DuplicateMatch", "Duplicates", "ExactDuplicate"]


class ExactDuplicate(ResponseModel):
    """Another asset holding a byte-identical file or picture."""

    asset_id: str
    seller_id: str
    status: str = Field(description="The other asset's status when the check ran.")
    sha256: str = Field(description="Content hash of the shared file.")


class DuplicateMatch(ResponseModel):
    """Another asset this one copies: a transformed picture or the same mesh."""

    asset_id: str
    seller_id: str
    status: str = Field(description="The other asset's status when the check ran.")
    distance: float = Field(
        description="Pictures: pHash bits between the closest of the 8 orientations; "
        "meshes: fingerprint distance."
    )
    similarity: float | None = Field(
        description="Cosine of the image embeddings (meshes: 1 - distance); null when "
        "the image encoder was unavailable."
    )
    verified: bool = Field(description="ORB keypoints + RANSAC fitted the copy onto the original.")
    kind: Literal["flip", "rotate", "crop", "near", "mesh"]
    transform: str = Field(
        description="What was done: flip_h, flip_v, transpose, transverse, rotate90, "
        "rotate180, rotate270, rotate_small, crop, near (recoloured, recompressed, "
        "resized) or mesh."
    )
    image: int | None = Field(default=None, description="This asset's picture (index).")
    original_image: int | None = Field(default=None, description="The other asset's picture.")


class Duplicates(ResponseModel):
    """The latest duplicate check of an asset."""

    asset_id: str
    checked: bool = Field(description="False until the pipeline's duplicates step has run.")
    model: str | None = Field(default=None, description="name@version of the step.")
    checked_at: UtcDatetime | None = None
    exact: list[ExactDuplicate] = Field(default_factory=list)
    near: list[DuplicateMatch] = Field(default_factory=list)
    of_other_seller: bool = Field(
        default=False, description="It copies an active asset of another seller."
    )
    own_version_of: str | None = Field(
        default=None, description="The seller's own earlier asset this re-uploads (a version)."
    )
    held: bool = Field(default=False, description="Held for review as another seller's work.")
    original: str | None = Field(default=None, description="The original a held copy links to.")
    errors: list[str] = Field(
        default_factory=list, description="Pictures or meshes that could not be fingerprinted."
    )
