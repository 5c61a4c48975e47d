"""Stored model formats: every artefact class pickles its format version and
loads each supported version through that version's loader; an unknown version
is refused with a clear error.

Version 1 is the state pickled before versioning (no format key), in the
oldest shape each class still reads: the loaders fill in what those lacked.
Loading a state is what unpickling does: ``cls.__new__`` then ``__setstate__``.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pytest

from agora.config import Settings
from agora.mlops import create_model_store
from agora.mlops.artifact_state import STATE_KEY, ArtifactFormatError
from agora.moderation.embeddings import SentenceFeatures
from agora.moderation.shipped import ARTIFACTS, load_shipped
from agora.moderation.text_models import SpamClassifier, TextClassifier
from agora.ranking.models import CtrModel, LambdaRanker
from agora.recommend.base import InteractionMatrix
from agora.recommend.ease import EaseRecommender
from agora.recommend.ltr import BaggedRanker, LtrHybridRecommender
from agora.recommend.ltr_features import FeatureBuilder
from agora.recommend.mf import AlsRecommender
from agora.recommend.side_info import SideInfo
from agora.tagging.heads import TagHeads


def stored(obj: Any) -> dict[str, Any]:
    """The state ``obj`` pickles."""
    state: dict[str, Any] = obj.__getstate__()
    return state


def loaded(cls: type, state: dict[str, Any]) -> Any:
    """What unpickling ``state`` as a ``cls`` gives."""
    obj = cls.__new__(cls)
    obj.__setstate__(copy.deepcopy(state))
    return obj


def legacy(state: dict[str, Any], *drop: str) -> dict[str, Any]:
    """A version-1 state: no format key, without the attributes added since."""
    return {k: v for k, v in state.items() if k != STATE_KEY and k not in drop}


# -- fitted examples ------------------------------------------------------------------
def heads() -> tuple[TagHeads, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 24))
    x = np.vstack([c + 0.3 * rng.normal(size=(12, 24)) for c in centres]).astype(np.float32)
    labels = [{("object_type", name)} for name in ("tank", "tile", "alien") for _ in range(12)]
    return TagHeads(neighbours=5).fit(x, labels), x


def tree_model() -> tuple[CtrModel, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.5 * rng.normal(size=300) > 0).astype(int)
    return CtrModel(n_estimators=5).fit(x, y, feature_names=["a", "b", "c", "d"]), x


def interactions() -> InteractionMatrix:
    """Two taste groups: even users like a0-a9, odd users a10-a19."""
    rng = np.random.default_rng(0)
    triples = []
    for u in range(40):
        base = 0 if u % 2 == 0 else 10
        triples += [(f"u{u}", f"a{base + int(i)}", 1.0) for i in rng.choice(10, 4, replace=False)]
    return InteractionMatrix.from_triples(triples)


def ltr_hybrid() -> LtrHybridRecommender:
    rng = np.random.default_rng(0)
    triples = []
    for u in range(60):
        cat = "a" if u % 2 == 0 else "b"
        picks = rng.choice(np.arange(1, 15), 6, replace=False)
        triples += [(f"u{u}", f"{cat}{j}", 1.0) for j in [*picks, 0]]
    side = SideInfo({f"{c}{j}": [c.upper()] for c in "ab" for j in range(15)}, {})
    model = LtrHybridRecommender(
        {"ease": EaseRecommender(10.0)}, pool=20, folds=2, max_rounds=30, num_threads=1
    )
    return model.fit(InteractionMatrix.from_triples(triples), side)


# -- the current format ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "version"),
    [
        (lambda: heads()[0], 2),
        (lambda: tree_model()[0], 1),
        (lambda: SentenceFeatures("minilm"), 1),
        (lambda: SpamClassifier(embeddings=False), 3),
        (lambda: EaseRecommender(10.0).fit(interactions()), 2),
        (lambda: AlsRecommender(4, iterations=2, num_threads=1).fit(interactions()), 2),
    ],
)
def test_every_artifact_pickles_its_format_version(make: Any, version: int) -> None:
    obj = make()
    assert stored(obj)[STATE_KEY] == version == type(obj).FORMAT_VERSION
    again = pickle.loads(cloudpickle.dumps(obj))  # what the model store writes and reads
    assert type(again) is type(obj) and STATE_KEY not in again.__dict__


def test_tag_heads_load_both_versions_and_predict_alike() -> None:
    fitted, x = heads()
    want = fitted.predict_proba(x)
    current = loaded(TagHeads, stored(fitted))
    assert all(np.allclose(current.predict_proba(x)[k], p) for k, p in want.items())
    # Version 1 without the compiled bank: the loader compiles it.
    no_bank = loaded(TagHeads, legacy(stored(fitted), "bank"))
    assert no_bank.bank is not None
    assert all(np.allclose(no_bank.predict_proba(x)[k], p) for k, p in want.items())
    # The oldest version 1: no bank, no propagation, none of the later settings.
    oldest = loaded(
        TagHeads, legacy(stored(fitted), "bank", "spread", "propagation_weight", "max_reference")
    )
    assert oldest.spread is None and oldest.propagation_weight == TagHeads.propagation_weight
    probs = oldest.predict_proba(x)
    assert set(probs) == set(want)
    top = {k: float(np.mean(p[:12])) for k, p in probs.items()}  # the tank rows
    assert max(top, key=lambda k: top[k]) == ("object_type", "tank")


def test_tree_models_load_version_one_states() -> None:
    model, x = tree_model()
    want = model.predict(x)
    # States pickled before versioning had the same shape, without the key.
    old = loaded(CtrModel, legacy(stored(model)))
    assert np.allclose(old.predict(x), want) and old.feature_names == ["a", "b", "c", "d"]
    unfitted = loaded(LambdaRanker, legacy(stored(LambdaRanker())))
    assert unfitted.booster is None


def test_text_classifier_version_one_predates_the_embedding_view() -> None:
    clf, _ = load_shipped("moderation-spam")
    texts = ["WIN a free prize now, call 0800 123 4567", "see you at lunch tomorrow"]
    want = clf.predict_proba(texts)
    got = loaded(SpamClassifier, stored(clf)).predict_proba(texts)
    assert all(np.allclose(got[k], v) for k, v in want.items())
    # Version 1 states of the TF-IDF-only era lack seven attributes; it still scores.
    tfidf_only = SpamClassifier(embeddings=False).fit(
        ["win cash prize now"] * 15 + ["lunch at noon"] * 15, np.array([[1]] * 15 + [[0]] * 15)
    )
    seven = ("embeddings", "sentence_", "heads_", "meta_", "tfidf_", "platt_", "tfidf_thresholds_")
    state = legacy(stored(tfidf_only), *seven)
    state["models_"] = {}  # nothing flattened in this toy state; the loader must not need it
    old = loaded(SpamClassifier, state)
    assert old.embeddings is False and old.sentence_ is None and old.heads_ == {}
    assert old.tfidf_thresholds_ == old.thresholds_


def test_sentence_features_version_one() -> None:
    features = SentenceFeatures("minilm", max_chars=120)
    features.key = "minilm@x"
    old = loaded(SentenceFeatures, legacy(stored(features)))
    assert (old.profile, old.max_chars, old.key) == ("minilm", 120, "minilm@x")


def test_ltr_hybrid_loads_version_one_without_head_forest_or_publication_times() -> None:
    model = ltr_hybrid()
    assert model.ranker is not None and model.features is not None
    users = ["u0", "u1", "u2"]
    want = {u: [i.asset_id for i in model.recommend(u, 5)] for u in users}
    current = pickle.loads(cloudpickle.dumps(model))
    assert {u: [i.asset_id for i in current.recommend(u, 5)] for u in users} == want
    assert stored(model.ranker)[STATE_KEY] == 2 and stored(model.features)[STATE_KEY] == 2
    # Version 1 pieces: a ranker without its compiled forest gets one at load ...
    ranker = loaded(BaggedRanker, legacy(stored(model.ranker), "forest"))
    assert ranker.forest is not None
    rows = np.random.default_rng(0).normal(size=(7, ranker.boosters[0].num_feature()))
    assert np.allclose(ranker.predict(rows), model.ranker.predict(rows), atol=1e-5)
    # ... a hybrid without ``head`` ranks the whole pool, a builder without
    # ``published`` builds no publication columns.
    hybrid = loaded(LtrHybridRecommender, legacy(stored(model), "head"))
    assert hybrid.head is None
    builder = loaded(FeatureBuilder, legacy(stored(model.features), "published"))
    assert builder.published is None
    idx = np.arange(3)
    assert builder._published(idx, idx, None) == []


def test_ease_version_one_predates_dropout_and_serves_as_plain_ease() -> None:
    plain = EaseRecommender(10.0).fit(interactions())
    want = [i.asset_id for i in plain.recommend("u0", 5)]
    assert [i.asset_id for i in loaded(EaseRecommender, stored(plain)).recommend("u0", 5)] == want
    old = loaded(EaseRecommender, legacy(stored(plain), "dropout"))
    assert old.dropout == 0.0 and old.params()["dropout"] == 0.0
    assert [i.asset_id for i in old.recommend("u0", 5)] == want
    assert [i.asset_id for i in old.fit(interactions()).recommend("u0", 5)] == want  # refits


def test_als_version_one_gets_its_fold_in_gram_at_load() -> None:
    als = AlsRecommender(4, regularization=0.5, iterations=3, num_threads=1).fit(interactions())
    history = {"a11": 1.0, "a12": 2.0}
    want = als.recommend_history(history, 5)
    old = loaded(AlsRecommender, legacy(stored(als), "_gram"))
    np.testing.assert_allclose(old._gram, als._gram)
    before = set(old.__dict__)
    assert old.recommend_history(history, 5) == want
    assert set(old.__dict__) == before  # serving fills nothing in


@pytest.mark.parametrize(
    "make",
    [
        lambda: heads()[0],
        lambda: tree_model()[0],
        lambda: SentenceFeatures("minilm"),
        lambda: SpamClassifier(embeddings=False),
        lambda: EaseRecommender(10.0).fit(interactions()),
        lambda: AlsRecommender(4, iterations=2, num_threads=1).fit(interactions()),
    ],
)
def test_an_unknown_format_version_is_refused_clearly(make: Any) -> None:
    obj = make()
    for version in (99, "2"):
        state = stored(obj) | {STATE_KEY: version}
        with pytest.raises(ArtifactFormatError, match=rf"format version {version!r}; this Agora"):
            loaded(type(obj), state)
    assert ArtifactFormatError.status == 409


def test_the_model_store_refuses_an_artifact_of_a_newer_format(tmp_path: Path) -> None:
    store = create_model_store(Settings.load(data_dir=tmp_path))

    class FromTheFuture(TagHeads):
        FORMAT_VERSION = 3

    fitted, x = heads()
    ref = store.save("tag-heads", fitted)
    assert np.allclose(store.load("tag-heads", version=ref.version).predict_proba(x)[
        ("object_type", "tank")], fitted.predict_proba(x)[("object_type", "tank")])  # fmt: skip
    future = FromTheFuture(**{f: getattr(fitted, f) for f in fitted.__dataclass_fields__})
    newer = store.save("tag-heads", future)
    with pytest.raises(ArtifactFormatError, match="FromTheFuture artifact has format version 3"):
        store.load("tag-heads", version=newer.version)


def test_the_shipped_moderation_artifacts_still_load() -> None:
    for name in ("moderation-toxicity", "moderation-spam"):
        clf, entry = load_shipped(name, ARTIFACTS)
        assert isinstance(clf, TextClassifier) and entry["held_out"]
        again = loaded(type(clf), stored(clf))  # and round-trip through the store's format
        assert again.thresholds_ == clf.thresholds_
