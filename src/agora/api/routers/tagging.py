"""Auto-tagging (tagging ADR API): tag an asset, read its tags, give feedback, train;
manage the taxonomy, reset a category."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from starlette.concurrency import run_in_threadpool

from agora.api.deps import Admin, PlatformDep, Reader, Writer
from agora.api.schemas.tagging import (
    BatchFeedbackRequest,
    BatchFeedbackResult,
    FeedbackRole,
    HeadsTrained,
    LabelBody,
    LabelChanged,
    ResetRequest,
    ResetResult,
    TagFeedbackRequest,
    TagFeedbackResult,
    TaggingResult,
    TagRequest,
    TaxonomyView,
)
from agora.domain import Scope
from agora.errors import Forbidden
from agora.security.keys import Principal
from agora.tagging.taxonomy_store import NAME_PATTERN, StoredTaxonomy

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
    role = _role(body.role, principal)
    service = await run_in_threadpool(lambda: platform.tagging)
    items = [item.model_dump() for item in body.items]
    return await run_in_threadpool(
        functools.partial(service.feedback, asset_id, items, role=role, actor=principal.actor)
    )


def _role(asked: FeedbackRole | None, principal: Principal) -> FeedbackRole:
    """The feedback's role: the one asked for if the key has its scope, else 403."""
    role = asked or _default_role(principal)
    if not principal.has(ROLE_SCOPES[role].value):
        raise Forbidden(f"feedback as {role!r} needs the {ROLE_SCOPES[role].value!r} scope")
    return role


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


@router.post("/tagging/feedback", response_model=BatchFeedbackResult)
def batch_feedback(
    body: BatchFeedbackRequest, platform: PlatformDep, principal: Writer
) -> dict[str, Any]:
    """Confirm or reject tags on many assets at once (up to 1000 items), as
    ``POST /assets/{asset_id}/tags/feedback`` does for one. All or nothing: an
    unknown asset or tag is a 422 naming the item, and nothing is recorded. One
    transaction, and at most one retrain for the whole batch. ``role`` as there."""
    role = _role(body.role, principal)
    items = [item.model_dump() for item in body.items]
    return platform.tagging.feedback_batch(items, role=role, actor=principal.actor)


@router.post("/tagging/reset", response_model=ResetResult)
def reset(body: ResetRequest, platform: PlatformDep, principal: Admin) -> dict[str, Any]:
    """Delete the feedback of one category (or of all, ``{"all": true}``) and retire
    the tag heads registered so far for it: zero-shot tags it again until heads
    trained afterwards pass the gate. Tags feedback wrote into assets stay. Audited
    (``tagging.reset``); 409 while another process trains heads."""
    return platform.tagging.reset(body.category, actor=principal.actor)


CategoryPath = Annotated[str, Path(pattern=NAME_PATTERN, max_length=64)]
LabelPath = Annotated[str, Path(pattern=NAME_PATTERN, max_length=64)]


@router.get("/tagging/taxonomy", response_model=TaxonomyView)
def get_taxonomy(platform: PlatformDep, _: Reader) -> dict[str, Any]:
    """The taxonomy in use: the stored newest version, with every category's labels,
    synonyms and descriptions. Version 1 is the operator's file
    (``tagging.taxonomy_path``) or the shipped one; each change adds a version."""
    return _taxonomy(platform.tagging.taxonomies.current())


@router.put("/tagging/taxonomy/labels/{category}/{name}", response_model=LabelChanged)
def put_label(
    category: CategoryPath,
    name: LabelPath,
    body: LabelBody,
    platform: PlatformDep,
    principal: Admin,
    response: Response,
) -> dict[str, Any]:
    """Create a label (201; a new category with its first label) or replace its
    synonyms and descriptions (200). Each change is a new taxonomy version, audited
    (``tagging.taxonomy_changed``) and served at the next request of every process:
    zero-shot suggests the label and feedback accepts it, without a restart. The
    same content again changes nothing. A name another category has: 422."""
    service = platform.tagging
    out = service.taxonomies.put_label(
        category, name, synonyms=body.synonyms, descriptions=body.descriptions,
        actor=principal.actor, audit=platform.audit,
    )  # fmt: skip
    if out.created:
        response.status_code = 201
    label = service.taxonomy.label(category, name)
    return {"version": out.version, "category": category, "created": out.created,
            "changed": out.changed, "label": _label(label.name, label.synonyms,
                                                    label.descriptions)}  # fmt: skip


@router.delete("/tagging/taxonomy/labels/{category}/{name}", response_model=LabelChanged)
def delete_label(
    category: CategoryPath, name: LabelPath, platform: PlatformDep, principal: Admin
) -> dict[str, Any]:
    """Remove a label (its category too when it was the last one): a new, audited
    taxonomy version. Its tags are no longer suggested and feedback naming it is a
    422; feedback already given stays (reset the category to delete it). 404 for
    an unknown label."""
    version = platform.tagging.taxonomies.delete_label(
        category, name, actor=principal.actor, audit=platform.audit
    )
    return {"version": version, "category": category, "label": None, "changed": True}


def _label(name: str, synonyms: Any, descriptions: Any) -> dict[str, Any]:
    return {"name": name, "synonyms": list(synonyms), "descriptions": dict(descriptions)}


def _taxonomy(stored: StoredTaxonomy) -> dict[str, Any]:
    categories = [
        {"name": cat, "description": body.get("description"),
         "labels": [_label(n, spec["synonyms"], spec["descriptions"])
                    for n, spec in body["labels"].items()]}
        for cat, body in stored.document["categories"].items()
    ]  # fmt: skip
    return {"version": stored.version, "updated_at": stored.updated_at,
            "updated_by": stored.actor, "categories": categories}  # fmt: skip
