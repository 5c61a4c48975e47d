"""Serving end to end on a small embedded catalog: training through the model store,
cold start, consent opt-out, catalog filters, fallback when the artifact is missing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from agora.config import Settings
from agora.errors import NotFound
from agora.recommend.base import Recommendations
from agora.recommend.jobs import precompute, refresh_trending, side_info, train, training_matrix
from agora.recommend.tasks import job_services
from agora.recommend.testing import seed_catalog
from agora.runtime import Platform
from agora.storage.tables import AssetRow, InteractionRow, SellerRow

NOW = datetime.now(UTC)


def _catalog(platform: Platform) -> None:
    seed_catalog(platform.db, NOW)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("reco") / "agora")
    platform = Platform.build(settings)
    _catalog(platform)
    refs = train(job_services(platform))
    assert {"als", "bpr", "ease", "item_knn", "hybrid", "transformer", "neural_cf", "graph"} <= set(
        refs
    )
    refresh_trending(job_services(platform))
    yield platform
    platform.close()


def test_side_information_carries_categories_and_listing_times(trained: Platform) -> None:
    """The re-ranker's side information: each asset's category and listing time, in UTC."""
    settings = trained.settings
    consented_only = settings.recommend.train_requires_consent
    data = training_matrix(trained.db, settings.features, consented_only=consented_only)
    side = side_info(trained.db, settings.features.affinity_weights, data)
    with trained.db.session() as s:
        assets = {a.id: a for a in s.scalars(select(AssetRow))}
    listed = [a for a in data.item_ids if a in assets]
    assert listed and set(side.item_times) == set(listed)
    for asset_id in listed:
        created = assets[asset_id].created_at
        expected = (created if created.tzinfo else created.replace(tzinfo=UTC)).timestamp()
        assert side.item_times[asset_id] == expected
        assert side.item_categories.get(asset_id) == [assets[asset_id].category]
    assert side.times is not None and side.times.nnz > 0


def _purchased(platform: Platform, user: str) -> set[str]:
    with platform.db.session() as s:
        return set(
            s.scalars(
                InteractionRow.__table__.select()
                .with_only_columns(InteractionRow.asset_id)
                .where(InteractionRow.user_id == user, InteractionRow.type == "purchase")
            )
        )


@pytest.mark.parametrize(
    "algorithm", ["als", "bpr", "ease", "item_knn", "hybrid", "trending", "smart"]
)
def test_every_algorithm_serves_with_its_model_version(trained: Platform, algorithm: str) -> None:
    recs = trained.recommendations.recommend("u1", 5, algorithm=algorithm, use_cache=False)
    assert len(recs.items) == 5
    assert "@" in recs.model and not recs.fallback
    assert len({i.asset_id for i in recs.items}) == 5
    if algorithm not in ("trending", "smart"):
        assert recs.algorithm == algorithm and recs.model.startswith(f"reco-{algorithm}@")


def test_personal_lists_follow_the_users_taste(trained: Platform) -> None:
    recs = trained.recommendations.recommend("u4", 4, algorithm="ease", use_cache=False)
    # u4 only ever touched category index 1 ("textures"): so should the top of the list.
    cats = {int(i.asset_id[1:]) % 3 for i in recs.items}
    assert cats == {1}


def test_never_recommends_purchased_banned_or_out_of_stock(trained: Platform) -> None:
    service = trained.recommendations
    before = service.recommend("u2", 6, algorithm="hybrid", use_cache=False)
    victim_asset, victim_seller = before.items[0].asset_id, None
    with trained.db.session() as s, s.begin():
        victim_seller = s.get(AssetRow, before.items[1].asset_id).seller_id  # type: ignore[union-attr]
        s.execute(update(AssetRow).where(AssetRow.id == victim_asset).values(stock=0))
        s.execute(update(SellerRow).where(SellerRow.id == victim_seller).values(banned=True))
    try:
        for cached in (False, True):
            recs = service.recommend("u2", 6, algorithm="hybrid", use_cache=cached)
            ids = {i.asset_id for i in recs.items}
            assert victim_asset not in ids
            with trained.db.session() as s:
                sellers = {s.get(AssetRow, a).seller_id for a in ids}  # type: ignore[union-attr]
            assert victim_seller not in sellers
            assert not ids & _purchased(trained, "u2")
    finally:
        with trained.db.session() as s, s.begin():
            s.execute(update(AssetRow).where(AssetRow.id == victim_asset).values(stock=None))
            s.execute(update(SellerRow).where(SellerRow.id == victim_seller).values(banned=False))


def test_cache_hits_never_serve_what_became_banned_sold_out_or_purchased(
    trained: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = trained.recommendations
    service.cache.clear()
    first = service.recommend("u8", 5, algorithm="ease")
    hit = service.recommend("u8", 5, algorithm="ease")
    ids = [i.asset_id for i in first.items]
    assert not first.cached and hit.cached and [i.asset_id for i in hit.items] == ids
    service.gate.refresh()  # fresh regardless of how slow this machine is right now
    fast = service.cached("u8", 5, algorithm="ease")  # the API's no-thread-hop path
    assert fast is not None and fast.cached and [i.asset_id for i in fast.items] == ids
    with trained.db.session() as s, s.begin():
        seller = s.get(AssetRow, ids[1]).seller_id  # type: ignore[union-attr]
        s.execute(update(AssetRow).where(AssetRow.id == ids[0]).values(stock=0))
        s.execute(update(SellerRow).where(SellerRow.id == seller).values(banned=True))
        s.add(
            InteractionRow(
                event_id="gate-p1", user_id="u8", asset_id=ids[2], type="purchase", ts=NOW
            )
        )
    try:
        # No explicit refresh: the gate reads the catalog's changes on its own
        # once its snapshot is older than the recheck interval.
        monkeypatch.setattr(service.gate, "refresh_s", 0.01)
        time.sleep(0.05)
        assert (
            service.cached("u8", 5, algorithm="ease") is None
        )  # stale gate: never on the fast path
        recs = service.recommend("u8", 5, algorithm="ease")
        assert not recs.cached and len(recs.items) == 5
        served = {i.asset_id for i in recs.items}
        assert not served & {ids[0], ids[2]}
        with trained.db.session() as s:
            assert seller not in {s.get(AssetRow, a).seller_id for a in served}  # type: ignore[union-attr]
        assert service.recommend("u8", 5, algorithm="ease").cached  # the fresh list is cached
    finally:
        with trained.db.session() as s, s.begin():
            s.execute(update(AssetRow).where(AssetRow.id == ids[0]).values(stock=None))
            s.execute(update(SellerRow).where(SellerRow.id == seller).values(banned=False))
            s.execute(delete(InteractionRow).where(InteractionRow.event_id == "gate-p1"))
        service.cache.clear()


def test_category_filter_is_strict(trained: Platform) -> None:
    recs = trained.recommendations.recommend(
        "u1", 5, algorithm="als", category="audio", use_cache=False
    )
    assert recs.items
    with trained.db.session() as s:
        assert {s.get(AssetRow, i.asset_id).category for i in recs.items} == {"audio"}  # type: ignore[union-attr]


def test_an_empty_list_is_cached_for_seconds_only(
    trained: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing eligible (here: an unknown category) is recomputed soon, so new stock shows."""
    import agora.recommend.list_cache as list_cache

    monkeypatch.setattr(list_cache, "EMPTY_LIST_TTL_S", 0.2)
    service = trained.recommendations
    first = service.recommend("u1", 5, algorithm="ease", category="no-such-category")
    again = service.recommend("u1", 5, algorithm="ease", category="no-such-category")
    assert first.items == [] and again.items == [] and again.cached
    time.sleep(0.25)
    assert not service.recommend("u1", 5, algorithm="ease", category="no-such-category").cached
    listed = service.recommend("u1", 5, algorithm="ease")
    assert listed.items and service.recommend("u1", 5, algorithm="ease").cached


def test_cold_start_new_user_gets_trending(trained: Platform) -> None:
    recs = trained.recommendations.recommend("brand-new", 5, algorithm="als", use_cache=False)
    assert recs.algorithm == "cold_start" and not recs.personalized and not recs.fallback
    assert recs.model.startswith("reco-trending@")
    top = trained.recommendations.trending().recommend(None, 5)
    assert [i.asset_id for i in recs.items][:2] == [i.asset_id for i in top][:2]


def test_opt_out_gets_non_personal_results(trained: Platform) -> None:
    trained.consent.put("u5", {"allows_personalization": False}, actor="test")
    recs = trained.recommendations.recommend("u5", 5, algorithm="ease", use_cache=False)
    assert recs.algorithm == "trending" and not recs.personalized
    other = trained.recommendations.recommend("u7", 5, algorithm="ease", use_cache=False)
    assert other.personalized and other.algorithm == "ease"


def test_an_opt_out_turns_a_cached_personal_list_into_a_miss(trained: Platform) -> None:
    service = trained.recommendations
    service.cache.clear()
    assert service.recommend("u9", 5, algorithm="ease").personalized
    service.gate.refresh()
    assert service.cached("u9", 5, algorithm="ease") is not None
    trained.consent.put("u9", {"allows_personalization": False}, actor="test")
    try:
        service.gate.refresh()  # what the gate's next delta read (<= 1 s) sees
        assert service.cached("u9", 5, algorithm="ease") is None
        recs = service.recommend("u9", 5, algorithm="ease")
        assert not recs.cached and not recs.personalized and recs.algorithm == "trending"
    finally:
        trained.consent.put("u9", {"allows_personalization": True}, actor="test")
        service.gate.refresh()
        service.cache.clear()
    assert service.recommend("u9", 5, algorithm="ease").personalized


def test_missing_model_artifact_falls_back_to_trending(tmp_path: Path) -> None:
    platform = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    try:
        _catalog(platform)
        refresh_trending(job_services(platform))
        from agora.ops.metrics import FALLBACKS

        before = FALLBACKS.labels(kind="recommend_model_unavailable")._value.get()
        recs = platform.recommendations.recommend("u1", 5, algorithm="ease")
        assert recs.fallback and recs.algorithm == "trending"
        assert "model_unavailable" in (recs.fallback_reason or "")
        assert len(recs.items) == 5
        assert FALLBACKS.labels(kind="recommend_model_unavailable")._value.get() == before + 1
    finally:
        platform.close()


def test_precomputed_lists_are_served(trained: Platform) -> None:
    out = precompute(job_services(trained), now=NOW)
    assert out["users"] > 0 and out["lists"] >= out["users"]
    recs = trained.recommendations.recommend("u3", 5, algorithm="ease", use_cache=False)
    assert len(recs.items) == 5 and recs.algorithm == "ease"


def test_similar_by_behaviour_and_unknown_asset(trained: Platform) -> None:
    from agora.errors import NotFound

    recs = trained.recommendations.similar_by_behaviour("a0", 4)
    assert recs.items and recs.algorithm in ("item_knn", "ease")
    assert "a0" not in {i.asset_id for i in recs.items}
    with pytest.raises(NotFound):
        trained.recommendations.similar_by_behaviour("nope", 4)


def test_cold_start_session_views_and_new_item_use_content(trained: Platform) -> None:
    import numpy as np

    from agora.recommend.base import InteractionMatrix
    from agora.recommend.content import ContentRecommender

    with trained.db.session() as s, s.begin():
        s.add(
            AssetRow(id="a99", seller_id="s1", title="new prop", category="props", status="active")
        )
    # Embeddings as the search index would hold them: one direction per category.
    rng = np.random.default_rng(0)
    emb = {f"a{j}": np.eye(3)[j % 3] + rng.normal(0, 0.05, 3) for j in range(36)}
    emb["a99"] = np.eye(3)[0]
    ContentRecommender().fit(InteractionMatrix.from_triples([]), embeddings=emb).save(
        trained.models
    )
    trained.recommendations.reload()
    # algorithm=content: with smart or transformer, the transformer scores the session.
    recs = trained.recommendations.recommend(
        "newbie", 4, algorithm="content", session_views=["a2", "a5"]
    )
    assert recs.algorithm == "cold_start" and recs.personalized
    assert recs.model.startswith("reco-content@")
    assert {int(i.asset_id[1:]) % 3 for i in recs.items} == {2}  # the session's category (audio)
    similar = trained.recommendations.similar_by_behaviour("a99", 3)
    assert similar.algorithm == "content" and not similar.fallback
    assert {int(i.asset_id[1:]) % 3 for i in similar.items} == {0}


def _listed(recs: Recommendations) -> list[tuple[str, float]]:
    return [(i.asset_id, i.score) for i in recs.items]


def test_a_session_feeds_the_transformer_and_each_view_moves_the_list(trained: Platform) -> None:
    service = trained.recommendations
    first = service.recommend("visitor", 5, algorithm="transformer", session_views=["a2"])
    assert first.algorithm == "cold_start" and first.personalized
    assert first.model.startswith("reco-transformer@")
    assert first.items[0].source == "transformer"
    more = service.recommend("visitor", 5, algorithm="transformer", session_views=["a2", "a5"])
    assert more.model == first.model  # the same version: no retrain in between
    assert _listed(more) != _listed(first)
    assert not {"a2", "a5"} & {i.asset_id for i in more.items}
    # The bandit's cold start reads the session the same way.
    smart = service.recommend("visitor", 5, session_views=["a2", "a5"])
    assert smart.model == more.model and _listed(smart) == _listed(more)
    # A known user: the long-term history and the session are one sequence.
    alone = service.recommend("u1", 5, algorithm="transformer", use_cache=False)
    assert alone.algorithm == "transformer" and alone.items
    viewed = next(i.asset_id for i in alone.items)
    live = service.recommend("u1", 5, algorithm="transformer", session_views=[viewed])
    assert live.algorithm == "transformer" and not live.cached
    assert viewed not in {i.asset_id for i in live.items}
    assert _listed(live) != _listed(alone)


def test_a_served_model_is_reloaded_only_when_the_store_has_a_new_version(
    trained: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copy

    from agora.recommend.served import ServedModels

    served = ServedModels(
        trained.db, trained.models, trained.serving, trained.settings.recommend,
        trained.settings.features.affinity_weights,
    )  # fmt: skip
    first = served.model("item_knn")  # the canary test deploys ease
    key = "item_knn@latest"
    age = served._models[key][0] - 120.0  # past the minute a loaded model is trusted
    served._models[key] = (age, first, "")
    assert served.model("item_knn") is first  # served at once; the store is asked aside
    served.join_refreshes()
    assert served._models[key][0] > age  # same version in the store: not unpickled again
    assert served._models[key][1] is first
    ref = copy.deepcopy(first).save(trained.models)  # the same model as a new version
    served._models[key] = (age, first, "")
    assert served.model("item_knn") is first  # the old one serves while the new one loads
    served.join_refreshes()
    newer = served.model("item_knn")
    assert newer is not first and newer.model_key == str(ref)
    # A newer version whose artifact does not load leaves the loaded one serving.
    copy.deepcopy(first).save(trained.models)
    served._models[key] = (age, newer, "")
    monkeypatch.setattr(served, "_load", lambda *_: (None, "corrupt artifact"))
    assert served.model("item_knn") is newer
    served.join_refreshes()
    assert served._models[key][1] is newer and served._models[key][0] > age

    # A version deleted from the store is dropped: the next request loads or falls back.
    def deleted(*_: object, **__: object) -> None:
        raise NotFound("no such version")

    monkeypatch.setattr(trained.models, "info", deleted)
    served._models[key] = (age, newer, "")
    served.model("item_knn")
    served.join_refreshes()
    assert key not in served._models
    monkeypatch.undo()
    served._models[key] = (age, newer, "")
    served.reload()  # a check begun before a reload does not bring its model back
    served._refresh(key, type(newer), None, newer, generation=0)
    assert key not in served._models


def test_a_canary_challenger_serves_its_share_and_the_judge_sees_it(trained: Platform) -> None:
    import copy

    from agora.mlops.canary_judge import version_stats

    service, registry = trained.recommendations, trained.serving.registry
    first = service.model("ease")
    assert first.model_ref is not None
    if registry.deployment("reco-ease").champion is None:
        registry.promote("reco-ease", first.model_ref.version, actor="test", reason="test")
    champion = registry.deployment("reco-ease").champion
    challenger = copy.deepcopy(first).save(trained.models)
    registry.challenge("reco-ease", challenger.version, actor="test", reason="t", canary_share=0.5)
    service.served.reload()  # the deployment row is otherwise re-read within 5 s
    trained.canary_monitor.flush()
    try:
        served = [
            service.recommend(f"u{k}", 5, algorithm="ease", use_cache=False) for k in range(40)
        ]
        models = [r.model for r in served if r.algorithm == "ease"]  # not the opted-out
        assert set(models) == {f"reco-ease@{champion}", str(challenger)}
        trained.canary_monitor.flush()
        seen = version_stats(trained.db, "reco-ease", challenger.version, None)
        assert seen.requests == models.count(str(challenger)) and seen.errors == 0
        assert seen.p95_ms is not None
    finally:
        registry.abort_canary("reco-ease", actor="test", reason="test over")
        service.served.reload()


def test_a_version_that_fails_to_score_answers_trending_and_counts_an_error(
    trained: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agora.mlops.canary_judge import version_stats
    from agora.recommend.ease import EaseRecommender

    service = trained.recommendations
    model = service.model("ease")
    assert model.model_ref is not None
    trained.canary_monitor.flush()

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("corrupt weights")

    monkeypatch.setattr(EaseRecommender, "recommend_history", broken)
    monkeypatch.setattr(service.served, "precomputed", lambda *_, **__: None)  # score, not read
    recs = service.recommend("u4", 5, algorithm="ease", use_cache=False)
    assert recs.fallback and recs.algorithm == "trending" and len(recs.items) == 5
    assert recs.fallback_reason and recs.fallback_reason.startswith("model_error")
    trained.canary_monitor.flush()
    stats = version_stats(trained.db, "reco-ease", model.model_ref.version, None)
    assert stats.errors >= 1


def test_lists_of_versions_in_canary_report_their_online_ctr(trained: Platform) -> None:
    """Lists returned to the canary's comparison groups are logged (a cached repeat of
    the same list once); settled after the window, the engaged assets are each
    version's clicks over its impressions. (Last in the module: it adds click events.)"""
    import copy
    from datetime import timedelta

    from sqlalchemy import func, select

    from agora.mlops.canary_judge import version_stats
    from agora.recommend.attribution import ATTRIBUTION_WINDOW
    from agora.recommend.canary_log import settle_canary_servings
    from agora.recommend.tables import CanaryServingRow

    service, registry = trained.recommendations, trained.serving.registry
    first = service.model("ease")
    assert first.model_ref is not None
    if registry.deployment("reco-ease").champion is None:
        registry.promote("reco-ease", first.model_ref.version, actor="test", reason="test")
    champion = f"reco-ease@{registry.deployment('reco-ease').champion}"
    challenger = copy.deepcopy(first).save(trained.models)
    registry.challenge("reco-ease", challenger.version, actor="test", reason="t", canary_share=0.3)
    service.reload()
    start = datetime.now(UTC)
    try:
        dep = registry.deployment("reco-ease")
        groups = {f"u{k}" for k in range(40) if trained.serving.compared(dep, f"u{k}")}
        assert 0 < len(groups) < 40
        inside = sorted(groups)[0]
        service.recommend(inside, 5, algorithm="ease", use_cache=False)  # internal use
        assert service.canary_log.flush() == 0  # not returned by the API: not logged
        lists = []
        for _ in range(2):  # the second round: cache hits, the same lists again
            for k in range(40):
                recs = service.recommend(f"u{k}", 5, algorithm="ease")
                service.canary_log.served(recs)  # what the API does with what it returns
                lists.append(recs)
        assert any(r.cached for r in lists)
        expected = {(r.user_id, r.model) for r in lists if r.personalized and r.user_id in groups}
        service.canary_log.flush()
        with trained.db.session() as s:
            rows = s.scalars(select(CanaryServingRow).where(CanaryServingRow.served_at >= start))
            rows = list(rows)
        assert sorted((r.user_id, r.model) for r in rows) == sorted(expected)  # each once
        assert {r.model for r in rows} == {champion, str(challenger)}
        # Lists served before this test are settled first (ours are within their window).
        earlier = settle_canary_servings(
            trained.db, now=start + ATTRIBUTION_WINDOW - timedelta(milliseconds=1)
        )
        assert earlier["clicks"] == 0
        # The challenger's users click each list's first asset; the champion's do not.
        ours = [r for r in rows if r.model == str(challenger)]
        with trained.db.session() as s, s.begin():
            for r in ours:
                at = r.served_at if r.served_at.tzinfo else r.served_at.replace(tzinfo=UTC)
                s.add(
                    InteractionRow(
                        event_id=f"ctr-{r.id}",
                        user_id=r.user_id,
                        asset_id=r.items[0],
                        type="click",
                        ts=at + timedelta(minutes=5),
                    )
                )
        assert settle_canary_servings(trained.db, now=start)["lists"] == 0  # window still open
        settled = settle_canary_servings(trained.db, now=datetime.now(UTC) + ATTRIBUTION_WINDOW)
        assert settled == {"lists": len(rows), "clicks": len(ours), "purged": 0}
        stats = version_stats(trained.db, "reco-ease", challenger.version, None)
        shown = sum(len(r.items) for r in ours)  # the model's assets (padding is not logged)
        assert stats.impressions == shown and stats.clicks == len(ours)
        assert stats.ctr == pytest.approx(len(ours) / shown)
        champ = version_stats(trained.db, "reco-ease", champion.partition("@")[2], None)
        theirs = sum(len(r.items) for r in rows if r.model == champion)
        assert champ.impressions >= theirs > 0 and champ.clicks == 0
        later = settle_canary_servings(trained.db, now=datetime.now(UTC) + timedelta(hours=2))
        assert later == {"lists": 0, "clicks": 0, "purged": 0}  # each list is settled once
        week = settle_canary_servings(trained.db, now=datetime.now(UTC) + timedelta(days=8))
        assert week["lists"] == 0 and week["purged"] >= len(rows)  # settled, then deleted
        with trained.db.session() as s:
            assert s.scalar(select(func.count()).select_from(CanaryServingRow)) == 0
    finally:
        registry.abort_canary("reco-ease", actor="test", reason="test over")
        service.reload()
        with trained.db.session() as s, s.begin():
            s.execute(delete(InteractionRow).where(InteractionRow.event_id.like("ctr-%")))
