"""The platform's standard entities and feature views (seed 001 section 2), as code.

Batch views are materialised from the offline store (which the catalog snapshot and
training jobs fill); stream views are kept by the ``interaction.recorded`` consumer
(:mod:`agora.features.stream`); request views are computed per request
(:func:`agora.features.context.request_features`).

Example:
    >>> reg = standard_registry()
    >>> sorted(reg.entities)
    ['asset', 'context', 'seller', 'user', 'user_asset']
"""

from __future__ import annotations

from datetime import timedelta

from agora.features.base import AFFINITY_ENTITY, AFFINITY_FEATURE, Entity, Feature, FeatureView
from agora.features.base import ValueType as T
from agora.features.registry import FeatureRegistry

USER = Entity("user", "user_id", "a marketplace buyer")
ASSET = Entity("asset", "asset_id", "a listing or digital asset in the catalog")
SELLER = Entity("seller", "seller_id", "a seller account")
# Context rows are keyed by what they describe: a calendar day ("2024-12-25") or a
# category ("category:3d-models"); request-time context has no stored row.
CONTEXT = Entity("context", "context_id", "the situation of a request: day, category, device")
USER_ASSET = Entity(AFFINITY_ENTITY, "user_asset_id", "a (user, asset) pair: 'user_id|asset_id'")

# Windows of the stream aggregates (name suffix, seconds).
WINDOWS: tuple[tuple[str, int], ...] = (("5m", 300), ("1h", 3600), ("24h", 86400))
DAY = timedelta(days=1)
OWNER = "features"


def _window_features(prefix: str) -> list[Feature]:
    out: list[Feature] = []
    for suffix, _ in WINDOWS:
        out += [
            Feature(f"impressions_{suffix}", T.INT, 0, f"impressions in the last {suffix}"),
            Feature(f"views_{suffix}", T.INT, 0, f"views in the last {suffix}"),
            Feature(f"clicks_{suffix}", T.INT, 0, f"clicks in the last {suffix}"),
            Feature(f"purchases_{suffix}", T.INT, 0, f"purchases in the last {suffix}"),
            Feature(f"events_{suffix}", T.INT, 0, f"all {prefix} events in the last {suffix}"),
            Feature(f"ctr_{suffix}", T.FLOAT, 0.0, f"clicks / impressions, last {suffix}"),
        ]
    out += [
        Feature("last_event_type", T.STRING, "", "type of the latest event"),
        Feature("last_event_value", T.FLOAT, None, "value of the latest event that had one"),
        Feature("last_event_ts", T.FLOAT, None, "epoch seconds of the latest event"),
    ]
    return out


def standard_views() -> list[FeatureView]:
    """Fresh copies of the standard views."""
    return [
        FeatureView(
            "user_batch",
            USER,
            [
                Feature("age_group", T.STRING, "", "age band the user declared"),
                Feature("lifetime_spend", T.FLOAT, 0.0, "sum of purchase values"),
                Feature("top_categories_30d", T.STRING, "", "comma-separated, most used first"),
            ],
            ttl=2 * DAY,
            owner=OWNER,
            description="daily user profile",
        ),
        FeatureView(
            "user_realtime",
            USER,
            [
                Feature("session_clicks_last_5m", T.INT, 0, "clicks in the current session, 5 min"),
                Feature("current_search_query", T.STRING, "", "latest search query"),
                Feature("last_viewed_category", T.STRING, "", "category of the last viewed asset"),
                *_window_features("user"),
            ],
            ttl=DAY,
            owner=OWNER,
            description="user activity from interaction.recorded, updated within a second",
            source="stream",
        ),
        FeatureView(
            "asset_batch",
            ASSET,
            [
                Feature("embedding_ref", T.STRING, "", "encoder key of the asset's vector"),
                Feature("asset_quality_score", T.FLOAT, None, "quality score 0-1 (scores step)"),
                Feature("asset_risk_score", T.FLOAT, None, "risk score 0-1 (scores step)"),
                Feature("condition_grade", T.STRING, "", "new, like_new, good, fair, poor"),
                Feature("seller_trust_score", T.FLOAT, 0.5, "seller trust 0-1"),
                Feature("price", T.FLOAT, None, "listed price"),
                Feature("category", T.STRING, "", "catalog category"),
                Feature("stock_status", T.STRING, "", "in_stock, out_of_stock, unlimited"),
            ],
            ttl=2 * DAY,
            owner=OWNER,
            description="asset attributes (catalog snapshot; the catalog is the source of truth)",
        ),
        FeatureView(
            "asset_realtime",
            ASSET,
            [
                Feature("views_last_hour", T.INT, 0, "views in the last hour"),
                Feature("ctr_last_hour", T.FLOAT, 0.0, "clicks / impressions in the last hour"),
                *_window_features("asset"),
            ],
            ttl=DAY,
            owner=OWNER,
            description="asset engagement from interaction.recorded, updated within a second",
            source="stream",
        ),
        FeatureView(
            "asset_request",
            ASSET,
            [Feature("is_boosted_now", T.BOOL, False, "an admin boost is in force")],
            owner=OWNER,
            description="computed at read time from the global overrides",
            source="request",
        ),
        FeatureView(
            "seller_batch",
            SELLER,
            [
                Feature("trust_score", T.FLOAT, 0.5, "seller trust 0-1"),
                Feature("verified", T.BOOL, False, "identity verified"),
                Feature("active_listings", T.INT, 0, "assets listed and active"),
            ],
            ttl=2 * DAY,
            owner=OWNER,
            description="daily seller profile",
        ),
        FeatureView(
            "calendar",
            CONTEXT,
            [
                Feature("is_holiday", T.BOOL, False, "public holiday on that day"),
                Feature("holiday_name", T.STRING, "", "which holiday"),
            ],
            owner=OWNER,
            description="holiday calendar, keyed by day 'YYYY-MM-DD'",
        ),
        FeatureView(
            "category_prices",
            CONTEXT,
            [
                Feature("avg_category_price_30d", T.FLOAT, None, "mean price, last 30 days"),
                Feature("avg_category_price_90d", T.FLOAT, None, "mean price, last 90 days"),
            ],
            ttl=2 * DAY,
            owner=OWNER,
            description="category price history, keyed by 'category:<name>'",
        ),
        FeatureView(
            "request_context",
            CONTEXT,
            [
                Feature("time_of_day", T.FLOAT, None, "hour of day 0-24 at the user"),
                Feature("day_of_week", T.INT, None, "0 = Monday"),
                Feature("device_type", T.STRING, "", "mobile, desktop, tablet, app"),
                Feature("user_geo_lat", T.FLOAT, None, "latitude of the request"),
                Feature("user_geo_lon", T.FLOAT, None, "longitude of the request"),
            ],
            owner=OWNER,
            description="computed from the request itself",
            source="request",
        ),
        FeatureView(
            "user_asset_affinity",
            USER_ASSET,
            [Feature(AFFINITY_FEATURE, T.FLOAT, None, "log decay-weighted affinity, see base")],
            owner=OWNER,
            description="decay-weighted user-item affinity from interaction.recorded",
            source="stream",
        ),
    ]


def standard_registry() -> FeatureRegistry:
    """A registry holding the standard views."""
    return FeatureRegistry(standard_views())
