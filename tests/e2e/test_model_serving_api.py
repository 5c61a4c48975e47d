"""``GET /models/{name}/serving`` and ``/drift`` answer for every registered model.

They answered 404 ("no champion") for ``reco-hybrid`` while recommendations
served it: recommenders (and ranking models) without a champion serve their
latest registered version. Serving must say what the capability really loads;
drift must give every registered model its state.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from agora.recommend.hybrid import HybridRecommender
from agora.recommend.jobs import train
from agora.recommend.tasks import job_services
from agora.recommend.testing import seed_catalog
from agora.runtime import Platform
from agora.testing.api import bearer

PROBLEM = "application/problem+json"


def _served(client: TestClient, h: dict[str, str], user: str) -> str:
    r = client.get(f"/api/v1/recommendations/{user}?algorithm=hybrid&n=3", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["fallback"] is False
    model: str = r.json()["model"]
    return model


def test_serving_names_the_version_recommendations_serve(
    platform: Platform, client: TestClient, tokens: dict[str, str]
) -> None:
    seed_catalog(platform.db, datetime.now(UTC))
    train(job_services(platform), tune=False)  # registers reco-* versions; no champion is named
    h, admin = bearer(tokens["read"]), bearer(tokens["admin"])
    url = "/api/v1/models/reco-hybrid/serving"

    r = client.get(f"{url}?user_id=u1", headers=h)
    assert r.status_code == 200, r.text
    latest = r.json()
    assert latest["role"] == "latest" and latest["served"] is True
    assert latest["served_by"] == "recommendations" and latest["champion"] is None
    assert latest["version"] == latest["latest_version"] == "1"
    assert latest["model"] == _served(client, h, "u1") == "reco-hybrid@1"

    # A newer version serves as soon as it is registered, while there is no champion.
    HybridRecommender.load(platform.models).save(platform.models)
    platform.recommendations.reload()
    assert client.get(f"{url}?user_id=u2", headers=h).json()["model"] == "reco-hybrid@2"
    assert _served(client, h, "u2") == "reco-hybrid@2"

    # A champion serves once named ...
    r = client.post(
        "/api/v1/models/reco-hybrid/promote", json={"version": "1", "reason": "pin"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["champion"] == "1"
    platform.recommendations.reload()  # this process's 5 s view of the deployment
    champion = client.get(f"{url}?user_id=u3", headers=h).json()
    assert (champion["role"], champion["version"], champion["latest_version"]) == (
        "champion",
        "1",
        "2",
    )
    assert _served(client, h, "u3") == champion["model"] == "reco-hybrid@1"

    # ... and a challenger serves its canary share.
    r = client.post(
        "/api/v1/models/reco-hybrid/challenger",
        json={"version": "2", "canary_share": 1.0},
        headers=admin,
    )
    assert r.status_code == 200
    platform.recommendations.reload()
    canary = client.get(f"{url}?user_id=u4", headers=h).json()
    assert (canary["role"], canary["challenger"], canary["canary_share"]) == (
        "challenger",
        "2",
        1.0,
    )
    assert _served(client, h, "u4") == canary["model"] == "reco-hybrid@2"
    anonymous = client.get(url, headers=h).json()
    assert anonymous["role"] == "champion" and "anonymous" in anonymous["detail"]

    drift = client.get("/api/v1/models/reco-hybrid/drift", headers=h)
    assert drift.status_code == 200, drift.text
    body = drift.json()
    assert body["state"] == "no_reference" and body["version"] == "1"
    assert body["drifted"] is None and body["features"] == []
    assert "interaction matrix" in body["detail"]
    page = client.get("/api/v1/models/reco-hybrid/drift/report", headers=h)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "no reference" in page.text and "interaction matrix" in page.text


def test_every_family_answers_and_only_unknown_models_are_404(
    platform: Platform, client: TestClient, tokens: dict[str, str]
) -> None:
    h, admin = bearer(tokens["read"]), bearer(tokens["admin"])
    for name in ("tag-heads", "moderation-toxicity", "ranking-pctr", "ranking-lambdamart", "mine"):
        platform.models.save(name, {"registered": name})

    def serving(name: str) -> dict[str, object]:
        r = client.get(f"/api/v1/models/{name}/serving?user_id=u1", headers=h)
        assert r.status_code == 200, r.text
        body: dict[str, object] = r.json()
        return body

    heads = serving("tag-heads")  # tagging loads the champion alias only
    assert (heads["served"], heads["served_by"], heads["role"]) == (False, "tagging", None)
    assert "zero-shot" in str(heads["detail"])
    toxicity = serving("moderation-toxicity")
    assert (toxicity["served"], toxicity["served_by"]) == (False, "moderation")
    pctr = serving("ranking-pctr")  # ranking serves the latest version
    assert (pctr["role"], pctr["version"], pctr["served_by"]) == ("latest", "1", "ranking")
    ranker = serving("ranking-lambdamart")  # the default scorer does not use it
    assert ranker["served"] is False and "ranking.scorer" in str(ranker["detail"])
    mine = serving("mine")
    assert (mine["served"], mine["served_by"]) == (False, None)

    r = client.post("/api/v1/models/tag-heads/promote", json={"version": "1"}, headers=admin)
    assert r.status_code == 200
    heads = serving("tag-heads")
    assert (heads["served"], heads["role"], heads["model"]) == (True, "champion", "tag-heads@1")

    for name in ("tag-heads", "moderation-toxicity", "ranking-pctr", "mine"):
        r = client.get(f"/api/v1/models/{name}/drift", headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "no_reference" and r.json()["detail"], name
    assert "train.ctr" in client.get("/api/v1/models/ranking-pctr/drift", headers=h).text

    for path in ("serving", "drift", "drift/report", "deployment"):
        r = client.get(f"/api/v1/models/nope/{path}", headers=h)
        if path == "deployment":  # a deployment of nothing: nothing deployed
            assert r.status_code == 200 and r.json()["revision"] == 0
            continue
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM, path
    r = client.get("/api/v1/models/bad name!/serving", headers=h)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    r = client.get("/api/v1/models/mine/serving?user_id=a%00b", headers=h)
    assert r.status_code == 422
