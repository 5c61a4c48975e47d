"""Auto-tagging (tagging ADR API): tag an asset, read its tags, give feedback, train."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Body
from starlette.concurrency import run_in_threadpool

from agora.api.deps import Admin, PlatformDep, Reader, Writer
from agora.api.schemas.tagging import (
    FeedbackRole,
    HeadsTrained,
    TagFeedbackRequest,
    TagFeedbackResult,
    TaggingResult,
    TagRequest,
)
from agora.domain import Scope
from agora.errors import Forbidden
from agora.security.keys import Principal

router = APIRouter(tags=["tagging"])
ROLE_SCOPES: dict[FeedbackRole, Scope] = {
    "creator": Scope.WRITE,
    "moderator": Scope.MODERATOR,
    "admin": Scope.ADMIN,
}


@router.post("/assets/{asset_id}/tags", response_model=TaggingResult)
async def tag_asset(
    asset_id: str,
    platform: PlatformDep,
    principal: Writer,
    body: Annotated[TagRequest, Body(default_factory=TagRequest)],
) -> dict[str, Any]:
    """Run the tagging flow for one asset now: local taggers first, the cloud
    fallback only when a trigger fires, the request asks for it and the owner
    consented. The request's ``consent`` can only narrow the owner's. No consent
    to AI processing: 403, audited. The tags are suggestions: confirm them
    through feedback to make them the asset's own."""
    options = body.processing_options
    consent = body.consent
    # Building the service loads encoders and the registry: never on the event loop.
    service = await run_in_threadpool(lambda: platform.tagging)
    return await run_in_threadpool(
        functools.partial(
            service.tag_asset,
            asset_id,
            processing_options=options.model_dump(exclude_none=True) if options else None,
            consent=consent.narrowing() if consent else None,
            actor=principal.actor,
        )
    )


@router.get("/assets/{asset_id}/tags", response_model=TaggingResult)
def get_tags(asset_id: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """The asset's last tagging result (404 until it was tagged)."""
    return platform.tagging.result(asset_id)


@router.post("/assets/{asset_id}/tags/feedback", response_model=TagFeedbackResult)
async def tag_feedback(
    asset_id: str, body: TagFeedbackRequest, platform: PlatformDep, principal: Writer
) -> dict[str, Any]:
    """Confirm or reject tags. A confirmed tag becomes one of the asset's ``tags``
    (spelled as its label with spaces; a tag the asset has already is not added
    twice), a rejected tag that feedback had added leaves them, and the search
    indexes follow; the creator's own tags are never removed. Confirmations train
    the next heads when the owner allows model training.

    ``role`` ``creator`` needs the ``write`` scope, ``moderator`` the ``moderator``
    scope, ``admin`` the ``admin`` scope; it defaults to the key's highest."""
    role = body.role or _default_role(principal)
    if not principal.has(ROLE_SCOPES[role].value):
        raise Forbidden(f"feedback as {role!r} needs the {ROLE_SCOPES[role].value!r} scope")
    service = await run_in_threadpool(lambda: platform.tagging)
    items = [item.model_dump() for item in body.items]
    return await run_in_threadpool(
        functools.partial(service.feedback, asset_id, items, role=role, actor=principal.actor)
    )


def _default_role(principal: Principal) -> FeedbackRole:
    highest = principal.highest
    if highest is Scope.ADMIN:
        return "admin"
    return "moderator" if highest is Scope.MODERATOR else "creator"


@router.post("/tagging/train", response_model=HeadsTrained)
async def train_heads(platform: PlatformDep, principal: Admin) -> dict[str, Any]:
    """Train new tag heads now through the gated pipeline (``train.tagger``): the
    first heads become champion, later ones challenger only if they beat the
    champion on the same holdout. Too few confirmed tags for a holdout: 422."""
    service = await run_in_threadpool(lambda: platform.tagging)
    out = await run_in_threadpool(
        functools.partial(service.train, actor=principal.actor, reason="api")
    )
    return {"model": out["model"], "promoted": out["decision"] == "champion",
            "decision": out["decision"], "reason": out["gate"]["reason"]}  # fmt: skip
