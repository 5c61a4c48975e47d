"""Landing page at ``/``: platform status and a catalog grid, self-contained HTML.

No CDN, no script: the page must work on an offline machine. It shows the
version, the backends (URL schemes only, never credentials), a link to the
operator console (``/console/``, where each asset's card leads: it asks for a
key), catalog counts by
status, the pipeline queue depth, recent jobs, the models that serve (name,
version and alias from the registry workflow: champion, challenger in canary)
and the newest active assets with thumbnails served from ``/media/{sha256}``.
The page is public, so it shows only what search would show anyone: a
pending, flagged or banned asset (one moderation has not cleared) is counted,
never pictured. ``/media`` serves only images of active assets, so the page
never becomes a way to download other stored blobs. Both routes answer 404
when ``security.public_landing_page`` is off.

Example:
    >>> client.get("/").headers["content-type"]  # doctest: +SKIP
    'text/html; charset=utf-8'
"""

from __future__ import annotations

import logging
import re
from html import escape
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from agora import __version__
from agora.api.deps import PlatformDep
from agora.bus.base import Topics
from agora.catalog.showcase import Showcase
from agora.errors import NotFound
from agora.mlops.registry import CHALLENGER, CHAMPION, Deployment, ModelRegistry
from agora.pipeline.runner import PIPELINE_GROUP
from agora.runtime import Platform
from agora.storage.tables import AssetRow

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

GRID_SIZE = 48
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Raster formats only: an SVG can carry script, and this route is public.
_SERVABLE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

_CSS = """
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:14px 24px;display:flex;gap:24px;align-items:center}
header a{color:#9fd3ff;margin-right:14px}main{padding:18px 24px}
h1{font-size:20px;margin:0}h2{font-size:16px;margin:18px 0 8px}
.panels{display:flex;flex-wrap:wrap;gap:14px}
.panel{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 2px #0002}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px 3px 0;text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}
.card{background:#fff;border-radius:8px;padding:10px;box-shadow:0 1px 2px #0002;font-size:13px}
.thumb{height:110px;display:flex;align-items:center;justify-content:center;background:#eef1f5;
border-radius:6px;margin-bottom:6px;color:#5a6477;font-weight:600}
.thumb img{max-width:100%;max-height:100%;object-fit:contain}
.title{font-weight:600}.price{float:right;font-weight:600}
.muted{color:#5a6477}header .muted{color:#b8c0cc}
.st{display:inline-block;border-radius:4px;padding:0 5px;font-size:11px;background:#e3e7ee}
.st-active{background:#d6f5dd}.st-champion{background:#d6f5dd}.st-challenger{background:#fff1c9}
"""


def _public(platform: Platform) -> None:
    if not platform.settings.security.public_landing_page:
        raise NotFound("no landing page on this deployment")


def _scheme(url: str) -> str:
    # Only the scheme: a URL may carry a password.
    return url.split(":", 1)[0] if ":" in url else url


def _status(platform: Platform) -> dict[str, Any]:
    s = platform.settings
    try:
        depth: int | str = platform.bus.depth(Topics.ASSET_UPLOADED, PIPELINE_GROUP)
    except Exception:  # a status page shows "n/a" rather than failing
        log.warning("queue depth unavailable for the landing page", exc_info=True)
        depth = "n/a"
    return {
        "backends": {
            "catalog": _scheme(s.catalog.url),
            "bus": _scheme(s.bus.url),
            "blobs": _scheme(s.blobs.url),
            "registry": _scheme(s.registry.tracking_uri),
        },
        "counts": platform.assets.count_by_status(),
        "depth": depth,
        "jobs": platform.jobs.list(limit=8),
    }


def _serving(platform: Platform) -> list[Deployment] | None:
    """Models with a champion or challenger (None: the registry could not be read)."""
    try:
        deployments = ModelRegistry(platform.models, platform.db).deployments()
    except Exception:  # a status page shows "n/a" rather than failing
        log.warning("model deployments unavailable for the landing page", exc_info=True)
        return None
    return [d for d in deployments if d.champion is not None or d.challenger is not None]


def _model_rows(deployments: list[Deployment] | None) -> str:
    if deployments is None:
        return "<tr><td>n/a</td></tr>"
    if not deployments:
        return (
            "<tr><td class=muted>no trained model serves yet: run <code>agora demo</code> "
            "or <code>agora train</code></td></tr>"
        )
    rows = []
    for d in deployments:
        for alias, version in ((CHAMPION, d.champion), (CHALLENGER, d.challenger)):
            if version is None:
                continue
            share = f" ({d.canary_share:.0%})" if alias == CHALLENGER and d.canary_share else ""
            rows.append(
                f"<tr><td>{escape(d.model_name)}</td><td>{escape(version)}</td>"
                f'<td><span class="st st-{alias}">{alias}</span>{escape(share)}</td></tr>'
            )
    return "".join(rows)


def _price(asset: AssetRow) -> str:
    if asset.price is None:
        return ""
    return "free" if asset.price == 0 else f"{asset.price:.2f} {asset.currency or ''}".strip()


def _card(asset: AssetRow, seller: str | None) -> str:
    images = [i for i in asset.images or [] if i.get("media_type") in _SERVABLE]
    thumb = (
        f'<img src="/media/{escape(images[0]["sha256"])}" alt="" loading="lazy">'
        if images
        else escape((asset.format or "file").upper())
    )
    return (
        f'<div class="card"><div class="thumb">{thumb}</div>'
        f'<span class="price">{escape(_price(asset))}</span>'
        f'<a class="title" href="/console/assets/{escape(asset.id)}">{escape(asset.title)}</a>'
        f'<div class="muted">{escape(seller or asset.seller_id)} · '
        f"{escape(asset.category or 'uncategorized')}</div>"
        f'<span class="st st-{escape(asset.status)}">{escape(asset.status)}</span></div>'
    )


def render_landing(platform: Platform) -> str:
    """The whole page as one HTML string."""
    st = _status(platform)
    counts = st["counts"]
    count_rows = (
        "".join(f"<tr><td>{escape(k)}</td><td>{v}</td></tr>" for k, v in sorted(counts.items()))
        or "<tr><td>no assets yet</td></tr>"
    )
    backend_rows = "".join(
        f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in st["backends"].items()
    )
    job_rows = (
        "".join(
            f"<tr><td>{escape(j['kind'])}</td><td>{escape(j['status'])}</td>"
            f"<td>{j['percent']}%</td><td>{escape(str(j['subject_id'] or ''))}</td>"
            f"<td class=muted>{escape(j['created_at'][:19])}</td></tr>"
            for j in st["jobs"]
        )
        or "<tr><td>no jobs yet</td></tr>"
    )
    cards = "".join(_card(a, s) for a, s in Showcase(platform.db).newest(GRID_SIZE))
    models = _model_rows(_serving(platform))
    empty = (
        "<p class=muted>No active assets yet: run <code>agora demo</code> to load the "
        "demo marketplace, or POST to /api/v1/assets (uploads appear here once processed "
        "and cleared by moderation).</p>"
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Agora</title><style>{_CSS}</style></head><body>
<header><h1>Agora <span class="muted">{escape(__version__)}</span></h1>
<nav><a href="/console/">Operator console</a><a href="/docs">API docs</a>
<a href="/api/v1/assets">JSON API</a>
<a href="/readyz">readiness</a><a href="/metrics">metrics</a></nav></header><main>
<div class="panels">
<div class="panel"><h2>Backends</h2><table>{backend_rows}</table></div>
<div class="panel"><h2>Catalog</h2><table>{count_rows}
<tr><th>total</th><th>{sum(counts.values())}</th></tr></table></div>
<div class="panel"><h2>Pipeline queue</h2><table>
<tr><td>asset.uploaded waiting</td><td>{escape(str(st["depth"]))}</td></tr></table></div>
<div class="panel"><h2>Recent jobs</h2><table>{job_rows}</table></div>
<div class="panel"><h2>Models serving</h2><table>
<tr><th>model</th><th>version</th><th>alias</th></tr>{models}</table></div>
</div>
<h2>Catalog (newest active assets)</h2>
{f'<div class="grid">{cards}</div>' if cards else empty}
</main></body></html>"""


@router.get("/", response_class=HTMLResponse)
def landing(platform: PlatformDep) -> HTMLResponse:
    """Platform status and catalog grid."""
    _public(platform)
    return HTMLResponse(render_landing(platform), headers={"Cache-Control": "no-store"})


@router.get("/media/{sha256}")
def media(sha256: str, platform: PlatformDep) -> Response:
    """An image of an active asset, by content hash (for the landing grid)."""
    _public(platform)
    if not _SHA256.fullmatch(sha256):
        raise NotFound("unknown media")
    # The hash is validated hex, so the LIKE pattern it goes into cannot carry wildcards.
    ref = Showcase(platform.db).image(sha256)
    if ref is None or ref.get("media_type") not in _SERVABLE:
        raise NotFound("unknown media")
    return Response(
        platform.blobs.get(sha256),
        media_type=ref["media_type"],
        headers={
            # Content-addressed: the bytes behind a hash never change.
            "Cache-Control": "public, max-age=86400, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )
