"""Retraining goes through the evaluation gate in every model family.

Whatever starts a retrain (a feedback request, the scheduler's task, the
retraining trigger's task), a candidate that loses to the champion on the same
holdout is registered and rejected: the champion keeps its alias and keeps
serving. A candidate that wins becomes the challenger (its canary starts).
The weak candidates come out of the real pipelines, from weaker training data
or settings; the stores are the real local ones (SQLite, the MLflow file store).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert

from agora.config import Settings
from agora.demo.simulator import Behaviour, SessionSimulator, SimAsset
from agora.errors import InvalidInput
from agora.mlops.registry import GATE_REJECTED
from agora.mlops.tasks import TaskContext, TaskRegistry, call_task
from agora.mlops.training import FAMILIES
from agora.ranking.traffic import FeedTraffic
from agora.runtime import Platform
from agora.storage.tables import AssetRow, SellerRow, UserRow
from agora.tagging.features import HEAD_DIM, TaggingFeatureExtractor
from agora.tagging.tables import TagEmbeddingRow, TagFeedbackRow
from agora.tagging.training import HEADS_MODEL

ENCODER = TaggingFeatureExtractor.info.key


def run_task(platform: Platform, name: str, **params: Any) -> dict[str, Any]:
    """Run a task the way the orchestrator does (scheduler, trigger, ``POST /pipelines``)."""
    return call_task(TaskRegistry().resolve(name), platform, TaskContext(), params)


def deployment(platform: Platform, name: str) -> tuple[str | None, str | None]:
    dep = platform.model_registry.deployment(name)
    return dep.champion, dep.challenger


# -- tagging ---------------------------------------------------------------------------
# Six separable clusters of stored head inputs, one object_type label each. A few
# assets per cluster carry confirmed tags (the holdout's truth). The others can carry
# creator tags naming three *wrong* labels: heads trained on them rank the right
# label fourth in its cluster, so their top-3 precision on the holdout collapses.
LABELS = ("character", "enemy", "alien", "vehicle", "tank", "spaceship")
PER_CLUSTER, CONFIRMED = 10, 3


@pytest.fixture
def tagging_platform(tmp_path: Path) -> Iterator[Platform]:
    settings = Settings.load(data_dir=tmp_path / "agora", tagging={"retrain_min_feedback": 3})
    p = Platform.build(settings)
    yield p
    p.close()


def _asset(k: int, i: int) -> str:
    return f"c{k}-{i:02d}"


def seed_tagging(platform: Platform, *, mislabelled: bool) -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(len(LABELS), HEAD_DIM))
    with platform.db.session() as s:
        s.add(SellerRow(id="s1", name="S", attributes={}))
        s.flush()
        for k in range(len(LABELS)):
            wrong = [LABELS[(k + j) % len(LABELS)] for j in (1, 2, 3)]
            for i in range(PER_CLUSTER):
                row = (centres[k] + 0.3 * rng.normal(size=HEAD_DIM)).astype(np.float32)
                creator = wrong if mislabelled and i >= CONFIRMED else []
                s.add(AssetRow(id=_asset(k, i), seller_id="s1", title="", description="",
                               creator_tags=creator))  # fmt: skip
                s.add(TagEmbeddingRow(asset_id=_asset(k, i), encoder=ENCODER, vector=row.tobytes()))
                if i < CONFIRMED:
                    s.add(TagFeedbackRow(
                        asset_id=_asset(k, i), owner_id="s1", category="object_type",
                        label=LABELS[k], verdict="confirm", role="creator", actor="seed",
                    ))  # fmt: skip
    platform.consent.put("s1", {"allows_model_training": True}, actor="t")


def test_feedback_triggered_retrain_cannot_replace_a_better_champion(
    tagging_platform: Platform,
) -> None:
    platform = tagging_platform
    seed_tagging(platform, mislabelled=False)
    first = run_task(platform, "tagging_retrain")  # the scheduler's job: due (18 new rows)
    assert first["due"] and first["trained"]["decision"] == "champion"
    assert first["trained"]["gate"]["candidate"]["precision@3"] == 1.0
    # Creators now bulk-tag the unconfirmed assets with three wrong labels each.
    with platform.db.session() as s:
        for k in range(len(LABELS)):
            for i in range(CONFIRMED, PER_CLUSTER):
                row = s.get(AssetRow, _asset(k, i))
                assert row is not None
                row.creator_tags = [LABELS[(k + j) % len(LABELS)] for j in (1, 2, 3)]
    service = platform.tagging
    out = {}
    for k in range(3):  # three reviews: enough new feedback, the last one starts a retrain
        items = [{"name": LABELS[k], "category": "object_type", "verdict": "confirm"}]
        out = service.feedback(_asset(k, 0), items, role="creator", actor="t")
    assert out["retrain_due"] and out["retrain_started"]
    assert service.retrainer.wait(120) and service.retrainer.last_error is None
    history = platform.model_registry.history(HEADS_MODEL)
    assert history[-1].action == GATE_REJECTED and history[-1].version == "2"
    figures = history[-1].metrics or {}
    assert figures["candidate"]["precision@3"] < figures["champion"]["precision@3"]
    assert deployment(platform, HEADS_MODEL) == ("1", None)
    assert service.heads.champion_version() == "1"  # the better heads keep serving
    # The rejected run saw that feedback: one more review does not retrain again.
    items = [{"name": LABELS[3], "category": "object_type", "verdict": "confirm"}]
    assert service.feedback(_asset(3, 0), items, role="creator", actor="t")["retrain_due"] is False


def test_scheduled_retrain_of_better_heads_passes_the_gate(tagging_platform: Platform) -> None:
    platform = tagging_platform
    seed_tagging(platform, mislabelled=True)
    first = run_task(platform, "tagging_retrain")
    # The first heads become champion even though they are poor: nothing to compare with.
    assert first["trained"]["decision"] == "champion"
    poor = first["trained"]["gate"]["candidate"]["precision@3"]
    assert poor < 0.5
    # Moderators reject the wrong creator tags and confirm the right ones.
    with platform.db.session() as s:
        for k in range(len(LABELS)):
            for i in range(CONFIRMED, PER_CLUSTER):
                for j in (1, 2, 3):
                    s.add(TagFeedbackRow(
                        asset_id=_asset(k, i), owner_id="s1", category="object_type",
                        label=LABELS[(k + j) % len(LABELS)], verdict="reject",
                        role="moderator", actor="t",
                    ))  # fmt: skip
                s.add(TagFeedbackRow(
                    asset_id=_asset(k, i), owner_id="s1", category="object_type",
                    label=LABELS[k], verdict="confirm", role="moderator", actor="t",
                ))  # fmt: skip
    second = run_task(platform, "tagging_retrain")["trained"]
    assert second["decision"] == "challenger", second["gate"]
    assert second["gate"]["candidate"]["precision@3"] > second["gate"]["champion"]["precision@3"]
    assert deployment(platform, HEADS_MODEL) == ("1", "2")  # the canary decides the rest


# -- ranking and recommendations -------------------------------------------------------
# A simulated marketplace (as in the MLOps training tests): 40 assets, 120 users.
CATEGORIES = ["tiles", "items", "enemies", "sprites"]
USERS = [f"u{i:03d}" for i in range(120)]
ASSETS = [SimAsset(f"a{i:02d}", CATEGORIES[i % 4], 1.0 + i % 7) for i in range(40)]


@pytest.fixture
def market(tmp_path: Path) -> Iterator[Platform]:
    built = Platform.build(
        Settings.load(data_dir=tmp_path, ranking={"deadline_ms": 5000, "scorer": "lambdamart"})
    )
    with built.db.session() as s:
        s.execute(insert(SellerRow), [{"id": f"s{j}"} for j in range(5)])
        s.execute(insert(UserRow), [{"id": u} for u in USERS])
        s.execute(
            insert(AssetRow),
            [
                {"id": a.asset_id, "seller_id": f"s{i % 5}", "title": a.asset_id,
                 "category": a.category, "price": Decimal(str(a.price)), "status": "active"}
                for i, a in enumerate(ASSETS)
            ],
        )  # fmt: skip
    yield built
    built.close()


def serve_feeds(platform: Platform, now: datetime) -> None:
    """200 feed visits over two days, clicked by simulated users (the served-list log)."""
    sim = SessionSimulator(ASSETS, USERS, seed=7, end=now, behaviour=Behaviour(click_scale=0.9))
    rng = np.random.default_rng(1)
    hours = np.sort(rng.uniform(1.0, 48.0, 200))[::-1]
    visits = [
        (USERS[int(rng.integers(len(USERS)))], now - timedelta(hours=float(h))) for h in hours
    ]
    FeedTraffic(platform.ranking, platform.event_ingest, sim, n=10).run(visits)


def record_sessions(platform: Platform, now: datetime) -> None:
    """600 simulated sessions over four days (the recommenders' interactions)."""
    sim = SessionSimulator(ASSETS, USERS, seed=11, end=now, span=timedelta(days=4))
    platform.event_ingest.record([e for s in sim.sessions(600) for e in s], actor="sim")


def test_trigger_retrain_of_ranking_models_is_gated(market: Platform) -> None:
    from agora.ranking.models import PCTR_MODEL, RANKER_MODEL
    from agora.ranking.training import train_from_log

    platform = market
    serve_feeds(platform, datetime.now(UTC))
    reason = "trigger: psi 0.4 on price"  # what trigger_check passes to the task it submits
    # A one-tree pCTR champion, then a 60-tree one: the gate decides on the same
    # holdout (usually a win; the served lists, and so the data, depend on how
    # loaded the machine was), and either way the champion is not replaced.
    weak = run_task(platform, FAMILIES["ctr"], n_estimators=1, reason=reason)
    assert weak["decision"] == "champion"  # the first model, however poor
    strong = run_task(platform, FAMILIES["ctr"], n_estimators=60, reason=reason)
    won = strong["gate"]["candidate"]["auc"] > strong["gate"]["champion"]["auc"]
    assert strong["decision"] == ("challenger" if won else "rejected"), strong["gate"]
    assert deployment(platform, PCTR_MODEL) == ("1", "2" if won else None)
    # The ranker: a champion, then the same retrain on the same log. Training is
    # deterministic (one thread, fixed seed), so the candidate only ties on the
    # holdout, and a tie is not a win. (A weaker setting, such as one tree, is not
    # reliably worse on a log whose clicks depend on machine load.)
    assert run_task(platform, FAMILIES["ranker"], reason=reason)["decision"] == "champion"
    loser = run_task(platform, FAMILIES["ranker"], reason=reason)
    gate = loser["gate"]
    assert loser["decision"] == "rejected", gate
    assert gate["candidate"]["ndcg@20"] == gate["champion"]["ndcg@20"]
    assert "needs a gain" in gate["reason"]
    assert deployment(platform, RANKER_MODEL) == ("1", None)
    assert platform.model_registry.history(RANKER_MODEL)[-1].action == GATE_REJECTED
    # The ungated local fit cannot replace a champion either.
    with pytest.raises(InvalidInput, match="already has a champion"):
        train_from_log(platform.db, platform.models, min_rows=20)


def test_trigger_retrain_of_recommenders_is_gated(market: Platform) -> None:
    from agora.recommend.jobs import train as train_ungated
    from agora.recommend.tasks import job_services

    platform = market
    now = datetime.now(UTC)
    record_sessions(platform, now)
    end = now.isoformat()
    # Champions from the whole window, then candidates from its last 1.3 days only
    # (7 hours before the holdout cut): less data, scored on the same holdout.
    first = run_task(platform, FAMILIES["recommender"], end=end, tune=False)["models"]
    assert all(m["decision"] == "champion" for m in first.values())
    second = run_task(platform, FAMILIES["recommender"], end=end, days=1.3, tune=False)["models"]
    for name, out in second.items():
        gate = out["gate"]
        won = gate["candidate"]["ndcg@10"] > gate["champion"]["ndcg@10"]
        assert out["decision"] == ("challenger" if won else "rejected"), (name, gate)
        assert deployment(platform, f"reco-{name}")[0] == "1"  # no retrain replaced a champion
    for name in ("ease", "item_knn", "hybrid"):  # deterministic: clearly worse on less data
        assert second[name]["decision"] == "rejected", second[name]["gate"]
    assert platform.recommendations.model("ease").model_key == "reco-ease@1"
    with pytest.raises(InvalidInput, match="already has a champion"):
        train_ungated(job_services(platform), tune=False)


def test_recommenders_trained_on_more_data_pass_the_gate(market: Platform) -> None:
    from agora.recommend.tasks import train

    platform = market
    now = datetime.now(UTC)
    record_sessions(platform, now)
    end = now.isoformat()
    # The scheduler's entry point of the recommend package runs the same pipeline.
    poor = run_task(platform, "train.recommender", end=end, days=1.3, tune=False)["models"]
    assert poor["ease"]["decision"] == "champion"
    better = train(platform, end=end, tune=False)["models"]
    for name in ("ease", "item_knn", "hybrid"):
        assert better[name]["decision"] == "challenger", better[name]["gate"]
        assert deployment(platform, f"reco-{name}") == ("1", "2")


# -- moderation ------------------------------------------------------------------------
def test_moderation_retrain_on_mislabelled_examples_is_rejected(
    tmp_path: Path, data_dir: Path
) -> None:
    """Moderator examples feed every retrain; a bulk of wrong ones makes a worse
    toxicity classifier, which the gate keeps out (TF-IDF only, to stay quick)."""
    from agora.moderation.datasets import load_davidson
    from agora.moderation.tables import ModerationExampleRow

    platform = Platform.build(Settings.load(data_dir=tmp_path / "agora"))
    params = {"data_dir": str(data_dir), "sample": 1200, "embeddings": False}
    toxic = "moderation-toxicity"
    train_split, _ = load_davidson(data_dir).sample(1200).split()
    offensive = [t for t, y in zip(train_split.texts, train_split.labels[:, 0], strict=True) if y]

    def clear_offensive(copies: int) -> None:
        """Moderators 'clear' the offensive training texts: labelled clean."""
        with platform.db.session() as s:
            s.add_all(
                ModerationExampleRow(
                    item_id="bulk", asset_id="a", text=text, labels={"offensive": 0, "hate": 0},
                    decision="approved", consent_version=1, created_by="t",
                )
                for text in offensive
                for _ in range(copies)
            )  # fmt: skip

    def forget_examples() -> None:
        with platform.db.session() as s:
            s.query(ModerationExampleRow).delete()

    try:
        clear_offensive(copies=3)
        poor = run_task(platform, FAMILIES["classifier"], **params)["models"][toxic]
        assert poor["decision"] == "champion"  # the first model, however poor
        forget_examples()  # the wrong decisions are reverted
        good = run_task(platform, FAMILIES["classifier"], **params)["models"][toxic]
        assert good["decision"] == "challenger", good["gate"]
        assert good["gate"]["candidate"]["f1"] > good["gate"]["champion"]["f1"]
        # The canary judge promotes it; then the bad examples come back.
        platform.model_registry.promote(toxic, good["version"], actor="t", reason="canary ok")
        clear_offensive(copies=3)
        worse = run_task(platform, FAMILIES["classifier"], **params)["models"][toxic]
        assert worse["decision"] == "rejected", worse["gate"]
        assert worse["gate"]["candidate"]["f1"] < worse["gate"]["champion"]["f1"]
        assert deployment(platform, toxic) == (good["version"], None)
    finally:
        platform.close()


def test_scheduled_retrain_with_too_few_confirmed_tags_is_skipped(
    tagging_platform: Platform,
) -> None:
    platform = tagging_platform
    seed_tagging(platform, mislabelled=False)
    with platform.db.session() as s:  # three confirmations of one tag: due, nothing to learn
        for row in s.query(TagFeedbackRow).order_by(TagFeedbackRow.id).offset(3):
            s.delete(row)
    out = run_task(platform, "tagging_retrain")
    assert out["due"] is True and out["trained"] is None
    assert "needs at least 5" in out["skipped"]
    assert platform.model_registry.deployment(HEADS_MODEL).champion is None


def test_first_heads_from_one_example_per_tag_are_in_sample_then_gated(
    tagging_platform: Platform,
) -> None:
    """k = 1: nothing can be held out. With no champion the first heads still train (on
    every example, figures marked in-sample); once a champion serves, a candidate must
    be measured on a holdout, so the same data is refused."""
    platform = tagging_platform
    seed_tagging(platform, mislabelled=False)
    with platform.db.session() as s:  # one confirmed asset per label
        for row in s.query(TagFeedbackRow).filter(~TagFeedbackRow.asset_id.like("%-00")):
            s.delete(row)
    first = run_task(platform, "tagging_retrain")["trained"]
    assert first["decision"] == "champion", first
    figures = first["gate"]["candidate"]
    assert figures["holdout_assets"] == 0 and figures["in_sample"] == 1
    assert figures["examples"] >= len(LABELS)
    # The heads learnt from six examples: the other, unconfirmed assets of each cluster
    # are ranked by them (separable clusters: the right label first).
    heads = platform.models.load(HEADS_MODEL, alias="champion")
    with platform.db.session() as s:
        rows = {
            r.asset_id: np.frombuffer(r.vector, dtype=np.float32)
            for r in s.query(TagEmbeddingRow).filter(TagEmbeddingRow.asset_id.like("%-05"))
        }
    probs = heads.predict_proba(np.stack(list(rows.values())))
    for j, asset in enumerate(rows):
        k = int(asset[1])
        best = max(probs, key=lambda key: float(probs[key][j]))
        assert best == ("object_type", LABELS[k]), (asset, best)
    with pytest.raises(InvalidInput, match="single example"):
        run_task(platform, FAMILIES["tagger"])
    assert deployment(platform, HEADS_MODEL) == ("1", None)
