"""Auto-tagging (tagging ADR API): tag an asset, read its tags, give feedback.

- ``POST /assets/{asset_id}/tags`` (write scope): body ``{"processing_options": {...},
  "consent": {"version", "allows_cloud_processing", "allows_model_training"}}``;
  answers the ADR response. 403 when the owner did not allow AI processing.
- ``GET /assets/{asset_id}/tags`` (read scope): the stored last result.
- ``POST /assets/{asset_id}/tags/feedback``: ``{"items": [{"name", "category"?,
  "verdict": "confirm"|"reject"}], "role"?}``; ``creator`` needs write scope,
  ``moderator`` the moderator scope, ``admin`` the admin scope.
- ``POST /tagging/train`` (admin): fit and promote new heads from feedback now.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from agora.api.bodies import read_json_object
from agora.api.deps import Admin, PlatformDep, Reader, Writer, authenticate
from agora.domain import Scope
from agora.errors import Forbidden, InvalidInput, NotFound
from agora.security.keys import Principal
from agora.tagging.factory import service_for_platform

router = APIRouter(tags=["tagging"])
ROLE_SCOPES = {"creator": Scope.WRITE, "moderator": Scope.MODERATOR, "admin": Scope.ADMIN}


@router.post("/assets/{asset_id}/tags")
async def tag_asset(
    asset_id: str, request: Request, platform: PlatformDep, principal: Writer
) -> dict[str, Any]:
    """Run the tagging flow for one asset now (local first, cloud only with consent)."""
    body = await read_json_object(request)
    unknown = sorted(set(body) - {"processing_options", "consent"})
    if unknown:
        raise InvalidInput(f"unknown fields {unknown}; allowed: processing_options, consent")
    # Building the service loads encoders and the registry: never on the event loop.
    service = await run_in_threadpool(service_for_platform, platform)
    return await run_in_threadpool(
        functools.partial(
            service.tag_asset,
            asset_id,
            processing_options=body.get("processing_options"),
            consent=body.get("consent"),
            actor=principal.actor,
        )
    )


@router.get("/assets/{asset_id}/tags")
def get_tags(asset_id: str, platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """The asset's last tagging result."""
    return service_for_platform(platform).result(asset_id)


@router.post("/assets/{asset_id}/tags/feedback")
async def tag_feedback(
    asset_id: str,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(authenticate)],
) -> dict[str, Any]:
    """Confirm or reject tags; confirmed tags train the next heads when the owner allows."""
    body = await read_json_object(request)
    role = body.get("role") or _default_role(principal)
    if role not in ROLE_SCOPES:
        raise InvalidInput(f"role must be one of {list(ROLE_SCOPES)}")
    if not principal.has(ROLE_SCOPES[role].value):
        raise Forbidden(f"feedback as {role!r} needs the {ROLE_SCOPES[role].value!r} scope")
    service = await run_in_threadpool(service_for_platform, platform)
    return await run_in_threadpool(
        functools.partial(
            service.feedback, asset_id, body.get("items"), role=role, actor=principal.actor
        )
    )


def _default_role(principal: Principal) -> str:
    for role in ("admin", "moderator", "creator"):
        if ROLE_SCOPES[role].value in principal.scopes:
            return role
    raise Forbidden("feedback needs the 'write', 'moderator' or 'admin' scope")


@router.post("/tagging/train")
def train_heads(platform: PlatformDep, principal: Admin) -> dict[str, Any]:
    """Fit new heads from the feedback now and make them the champion."""
    result = service_for_platform(platform).train(actor=principal.actor)
    if result is None:
        raise NotFound("no consented feedback to learn from yet")
    return result
