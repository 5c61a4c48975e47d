"""Self-contained HTML drift report: no scripts, no CDN, inline CSS and SVG.

Example:
    >>> import numpy as np
    >>> from agora.mlops.drift import DriftReference
    >>> rng = np.random.default_rng(0)
    >>> ref = DriftReference.fit(rng.normal(size=(1000, 1)), ["price"])
    >>> html = render_html(ref.compare(rng.normal(size=(1000, 1)) + 1.0))
    >>> "price" in html and "<svg" in html
    True
"""

from __future__ import annotations

from html import escape
from itertools import pairwise

from agora.mlops.drift import DriftReport, FeatureDrift

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin-bottom:2rem}
th,td{padding:.3rem .7rem;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}
tr.drifted{background:#fde2e1}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem}
figure{display:inline-block;margin:0 1.5rem 1.5rem 0}
"""
_REF_COLOUR = "#4c78a8"
_CUR_COLOUR = "#f58518"


def _fmt(value: float, digits: int = 4) -> str:
    return "n/a" if value != value else f"{value:.{digits}g}"


def _bin_labels(edges: tuple[float, ...]) -> list[str]:
    if not edges:
        return ["all"]
    labels = [f"\u2264{edges[0]:.3g}"]
    labels += [f"{lo:.3g}\u2013{hi:.3g}" for lo, hi in pairwise(edges)]
    return [*labels, f">{edges[-1]:.3g}"]


def _bar_chart(feature: FeatureDrift, width: int = 420, height: int = 180) -> str:
    """Grouped bars: reference vs current share of each reference quantile bin."""
    ref, cur = feature.reference_proportions, feature.current_proportions
    n = len(ref)
    top = max([*ref, *cur, 1e-9])
    plot_h = height - 40
    slot = (width - 20) / n
    bar = slot * 0.38
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="bin proportions of {escape(feature.name)}">'
    ]
    for i, (r, c) in enumerate(zip(ref, cur, strict=True)):
        x = 10 + i * slot
        for offset, share, colour in ((0.0, r, _REF_COLOUR), (bar, c, _CUR_COLOUR)):
            share = 0.0 if share != share else share
            h = plot_h * share / top
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{10 + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{share:.3%}</title></rect>'
            )
    for i, label in enumerate(_bin_labels(feature.edges)):
        x = 10 + i * slot + bar
        parts.append(
            f'<text x="{x:.1f}" y="{height - 16}" font-size="8" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: DriftReport, title: str = "Drift report", top: int = 12) -> str:
    """One HTML page: a table sorted by PSI (drifted rows highlighted) and a bar
    chart of bin proportions for the ``top`` features with the largest PSI."""
    ranked = report.by_psi()
    rows = []
    for f in ranked:
        rows.append(
            f'<tr class="{"drifted" if f.drifted else ""}"><td>{escape(f.name)}</td>'
            f"<td>{_fmt(f.psi)}</td><td>{_fmt(f.ks_statistic)}</td><td>{_fmt(f.ks_pvalue, 3)}</td>"
            f"<td>{f.reference_missing_rate:.2%}</td><td>{f.current_missing_rate:.2%}</td>"
            f"<td>{'yes' if f.drifted else 'no'}</td></tr>"
        )
    charts = [
        f"<figure>{_bar_chart(f)}<figcaption>{escape(f.name)} "
        f"(PSI {_fmt(f.psi, 3)})</figcaption></figure>"
        for f in ranked[:top]
    ]
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p>{report.n_reference:,} reference rows, {report.n_current:,} current rows; "
        f"{len(report.drifted)} of {len(report.features)} features drifted "
        f"(PSI &gt; {report.psi_threshold:g} or KS p-value &lt; {report.ks_alpha:g}).</p>"
        "<table><thead><tr><th>feature</th><th>PSI</th><th>KS D</th><th>KS p-value</th>"
        "<th>missing (ref)</th><th>missing (cur)</th><th>drifted</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        f'<p class="legend"><span style="background:{_REF_COLOUR}"></span>reference'
        f'<span style="background:{_CUR_COLOUR}"></span>current</p>'
        + "".join(charts)
        + "</body></html>"
    )


def render_unmeasured(title: str, state: str, detail: str) -> str:
    """One HTML page saying why there is no drift to show (no reference, no recent data)."""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p><strong>{escape(state.replace('_', ' '))}</strong>: {escape(detail)}</p>"
        "</body></html>"
    )
