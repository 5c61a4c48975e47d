"""Search playground: one query in every mode side by side (keyword, semantic,
hybrid, visual through ConSE), each hit with its per-retriever scores, ranks
and fusion contributions; or an uploaded image, searched by picture."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from agora.console.auth import CheckedDep, Operator, Reader
from agora.console.render import page
from agora.errors import AgoraError, PayloadTooLarge
from agora.search.base import SearchFilters, SearchQuery, SearchResult, VisualQuery
from agora.search.render import decode_image

router = APIRouter()
log = logging.getLogger(__name__)
LIMIT = 10
TEXT_MODES = ("keyword", "semantic", "hybrid")


@dataclass(frozen=True)
class Column:
    """One mode's answer (or why it has none)."""

    mode: str
    result: SearchResult | None
    error: str | None = None


def _run(mode: str, op: Operator, q: str, filters: SearchFilters) -> Column:
    try:
        if mode == "visual":
            result = op.platform.search.visual(VisualQuery(text=q, filters=filters, limit=LIMIT))
        else:
            query = SearchQuery(q, filters, mode, 0, LIMIT)  # type: ignore[arg-type]
            result = op.platform.search.search(query)
    except AgoraError as exc:  # e.g. no image index yet: the column says so
        return Column(mode, None, str(exc))
    return Column(mode, result)


def _render(
    request: Request, op: Operator, q: str, category: str, columns: list[Column], **extra: Any
) -> HTMLResponse:
    settings = op.platform.settings.search
    return page(
        request,
        "search.html",
        op,
        "search",
        title="Search playground",
        q=q,
        category=category,
        columns=columns,
        fusion=settings.fusion,
        weights=settings.fusion_weights,
        rrf_k=settings.rrf_k,
        **extra,
    )


@router.get("/search", response_class=HTMLResponse)
def playground(
    request: Request,
    op: Reader,
    q: Annotated[str, Query(max_length=512)] = "",
    category: Annotated[str, Query(max_length=128)] = "",
) -> HTMLResponse:
    """Every mode for one query."""
    filters = SearchFilters(category=category or None)
    columns = (
        [_run(mode, op, q.strip(), filters) for mode in (*TEXT_MODES, "visual")]
        if q.strip()
        else []
    )
    return _render(request, op, q, category, columns)


@router.post("/search/image", response_class=HTMLResponse)
async def by_image(
    request: Request,
    op: Reader,
    _: CheckedDep,
    image: Annotated[UploadFile, File()],
    category: Annotated[str, Form(max_length=128)] = "",
) -> HTMLResponse:
    """Search by an uploaded picture."""
    limits = op.platform.settings.uploads
    data = await image.read(limits.max_file_bytes + 1)
    if len(data) > limits.max_file_bytes:
        raise PayloadTooLarge(f"image exceeds the {limits.max_file_bytes}-byte limit")
    filters = SearchFilters(category=category or None)
    try:
        picture = decode_image(data, limits.max_image_pixels)
        result = op.platform.search.visual(VisualQuery(image=picture, filters=filters, limit=LIMIT))
        column = Column("visual (uploaded image)", result)
    except AgoraError as exc:
        column = Column("visual (uploaded image)", None, str(exc))
    return _render(request, op, "", category, [column], uploaded=image.filename or "image")
