"""SellerTrust in [0, 1] with an auditable breakdown (seed 001 section 6, "Trust Score Audit").

The catalog's ``trust_score`` (set by moderators, default 0.5) is the base;
identity verification, account age and reports adjust it. Every adjustment is
a line of the breakdown, so "why is this seller trusted" has an answer.

Example:
    >>> value, lines = seller_trust({"trust_score": 0.6, "verified": True,
    ...                              "attributes": {"reports": 1}})
    >>> round(value, 2), lines[1:]
    (0.65, ['+0.10 verified ID', '-0.05 reported (1)'])
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

VERIFIED_BONUS = 0.10
TENURE_BONUS = 0.05  # account older than TENURE_DAYS
TENURE_DAYS = 90
REPORT_PENALTY = 0.05  # per report, at most MAX_REPORTS counted
MAX_REPORTS = 6


def seller_trust(
    seller: Mapping[str, Any], *, now: datetime | None = None
) -> tuple[float, list[str]]:
    """``(trust in [0, 1], breakdown lines)`` of a seller record (catalog columns)."""
    raw = seller.get("trust_score")
    base = float(raw) if raw is not None else 0.5
    lines = [f"{base:.2f} base trust score"]
    value = base
    if seller.get("verified"):
        value += VERIFIED_BONUS
        lines.append(f"+{VERIFIED_BONUS:.2f} verified ID")
    created = seller.get("created_at")
    if isinstance(created, datetime):
        created = created if created.tzinfo else created.replace(tzinfo=UTC)
        if ((now or datetime.now(UTC)) - created).days >= TENURE_DAYS:
            value += TENURE_BONUS
            lines.append(f"+{TENURE_BONUS:.2f} account older than {TENURE_DAYS} days")
    attrs = seller.get("attributes") or {}
    reports = int(attrs.get("reports", 0) or 0) if isinstance(attrs, Mapping) else 0
    if reports > 0:
        penalty = REPORT_PENALTY * min(reports, MAX_REPORTS)
        value -= penalty
        lines.append(f"-{penalty:.2f} reported ({reports})")
    if seller.get("banned"):
        lines.append("banned: never shown")
    return min(1.0, max(0.0, value)), lines
