"""Typed domain vocabulary shared by every capability."""

from agora.domain.entities import (
    INTERACTION_TYPES,
    AssetStatus,
    ConsentFlags,
    InteractionType,
    JobStatus,
    ModelRef,
    Scope,
)

__all__ = [
    "INTERACTION_TYPES",
    "AssetStatus",
    "ConsentFlags",
    "InteractionType",
    "JobStatus",
    "ModelRef",
    "Scope",
]
