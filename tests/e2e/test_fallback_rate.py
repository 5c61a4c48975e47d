"""The fallback rate is per request: requests that fell back over model-serving
requests of the same surface, never above 100%.

It read 125% five minutes after start: every fallback was divided by the HTTP
requests of some routes, while one request can take several fallbacks and
background jobs (cache warming, the upload pipeline) take them with no request.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agora.api.app import create_app
from agora.config import Settings
from agora.mlops.alerts import FallbackRate
from agora.mlops.monitoring.tasks import alert_check
from agora.ranking.base import FALLBACK_NO_MODEL
from agora.ranking.versions import FALLBACK_MODEL_REFUSED
from agora.recommend.tasks import warm_cache
from agora.recommend.testing import seed_catalog
from agora.runtime import Platform
from agora.testing.api import bearer

REQUESTS = 20


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    # A generous deadline: the feed must take its model fallbacks, not the deadline's.
    settings = Settings.load(data_dir=tmp_path / "agora", ranking={"deadline_ms": 120_000})
    built = Platform.build(settings)
    seed_catalog(built.db, datetime.now(UTC))
    # A pCTR artifact ranking refuses (not a model): each feed request falls back twice,
    # refused model and then no model (popularity weights).
    built.models.save("ranking-pctr", {"weights": "not a CtrModel"})
    yield built
    built.close()


def test_a_request_with_several_fallbacks_counts_once(platform: Platform) -> None:
    reader = FallbackRate()
    alert_check(platform)  # the check's own reader starts from here
    reader.read()
    with TestClient(create_app(platform, start_background=False)) as client:
        h = bearer(platform.keys.create(["read"]).token)
        for i in range(REQUESTS):
            r = client.get(f"/api/v1/feed/u{i}", headers=h)
            assert r.status_code == 200, r.text
            assert set(r.json()["fallbacks"]) == {FALLBACK_MODEL_REFUSED, FALLBACK_NO_MODEL}
        assert client.get("/api/v1/feed/u1?n=0", headers=h).status_code == 422  # not served
    # A background job falls back too (no recommender trained: trending for every user).
    assert warm_cache(platform)["users"] > 0

    reading = reader.read()
    assert reading.requests == {"ranking": REQUESTS}
    assert reading.fell_back == {"ranking": REQUESTS}
    assert reading.kinds[FALLBACK_MODEL_REFUSED] == REQUESTS
    assert reading.kinds[FALLBACK_NO_MODEL] == REQUESTS
    fallbacks = sum(reading.kinds.values())
    assert fallbacks > 2 * REQUESTS  # what the old rate divided by the requests
    assert reading.rate == reading.rate_of("ranking") == 1.0

    checked = alert_check(platform)
    assert checked["requests"] == REQUESTS and checked["fallback_rate"] == 1.0
    assert checked["by_surface"] == {"ranking": 1.0} and checked["alerted"] == ["ranking"]
    # Stored too: one open critical alert on the ranking surface, at 100% over the limit.
    (alert,) = platform.alerts.page(kind="fallback_rate", state="open").items
    assert checked["alerts"]["fallback_rate"]["opened"] == [alert.id]
    assert (alert.subject, alert.severity, alert.value) == ("ranking", "critical", 1.0)
    assert alert.threshold == platform.settings.mlops.alert_fallback_rate
    # No request since: nothing judged, the alert stays open (not resolved by silence).
    assert alert_check(platform)["alerts"]["fallback_rate"]["resolved"] == []
    assert platform.alerts.get(alert.id).open


def test_the_metrics_and_the_rules_name_the_per_request_counters(
    platform: Platform, tmp_path: Path
) -> None:
    import yaml

    with TestClient(create_app(platform, start_background=False)) as client:
        h = bearer(platform.keys.create(["read"]).token)
        assert client.get("/api/v1/feed/u1", headers=h).status_code == 200
        text = client.get("/metrics").text
    assert 'agora_served_requests_total{surface="ranking"}' in text
    assert 'agora_fallback_requests_total{surface="ranking"}' in text
    rules = yaml.safe_load((Path(__file__).parents[2] / "deploy/prometheus-rules.yml").read_text())
    exprs = {r.get("record") or r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    rate = exprs["agora:fallback_rate:rate10m"]
    assert "agora_fallback_requests_total" in rate and "agora_served_requests_total" in rate
    assert "agora_fallbacks_total" not in rate and "clamp_max" in rate
    assert "agora:fallback_rate:rate10m" in exprs["AgoraFallbackRateHigh"]
