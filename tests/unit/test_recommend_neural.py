"""The PyTorch recommenders beyond the shared contract: order, sessions, cold items, formats.

(The Recommender contract itself is ``tests/contract/test_recommender_contract.py``.)
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from agora.mlops.artifact_state import STATE_KEY, ArtifactFormatError
from agora.recommend.base import InteractionMatrix
from agora.recommend.lightgcn import GraphRecommender
from agora.recommend.ncf import NeuralCfRecommender
from agora.recommend.sasrec import TransformerRecommender
from agora.recommend.sequences import ordered_histories

N_ITEMS = 24


def _cycles() -> tuple[InteractionMatrix, dict[str, list[str]]]:
    """Users walking a cycle of items: the next item is always the following one."""
    rng = np.random.default_rng(0)
    seqs = {
        f"u{k}": [f"a{(int(start) + j) % N_ITEMS}" for j in range(12)]
        for k, start in enumerate(rng.integers(0, N_ITEMS, 120))
    }
    data = InteractionMatrix.from_triples((u, a, 1.0) for u, s in seqs.items() for a in s)
    return data, seqs


@pytest.fixture(scope="module")
def transformer() -> TransformerRecommender:
    data, seqs = _cycles()
    model = TransformerRecommender(16, max_len=8, heads=1, dropout=0.0, epochs=12, batch_size=16)
    return model.fit(data, sequences=seqs)


def _next(model: TransformerRecommender, history: list[str]) -> str:
    return model.recommend_history(dict.fromkeys(history, 1.0), 1)[0].asset_id


def test_the_transformer_follows_a_session_event_by_event_without_a_retrain(
    transformer: TransformerRecommender,
) -> None:
    before = pickle.dumps(transformer)
    session = ["a3", "a4", "a5"]
    assert _next(transformer, session) == "a6"
    session.append("a6")  # a new event: the next list moves on, same weights
    assert _next(transformer, session) == "a7"
    assert pickle.dumps(transformer) == before


def test_the_transformer_reads_a_history_in_its_order(transformer: TransformerRecommender) -> None:
    assert _next(transformer, ["a10", "a11", "a12"]) == "a13"
    assert _next(transformer, ["a12", "a11", "a10"]) != "a13"


def test_batched_lists_equal_one_user_at_a_time(transformer: TransformerRecommender) -> None:
    users = ["u0", "u1", "u7", "no-such-user"]
    batched = transformer.recommend_batch(users, 5, batch=2)
    assert set(batched) == {"u0", "u1", "u7"}
    for user, items in batched.items():
        one = transformer.recommend(user, 5)
        assert [i.asset_id for i in items] == [i.asset_id for i in one]
        np.testing.assert_allclose([i.score for i in items], [i.score for i in one], rtol=1e-5)


def test_an_item_with_a_content_vector_and_no_interaction_is_not_cold() -> None:
    data, seqs = _cycles()
    # Content: each item's position on the cycle; "new" sits where a5 is.
    angle = {f"a{j}": 2 * np.pi * j / N_ITEMS for j in range(N_ITEMS)}
    emb = {a: np.array([np.cos(t), np.sin(t), 1.0]) for a, t in angle.items()}
    emb["new"] = emb["a5"].copy()
    model = TransformerRecommender(16, max_len=8, heads=1, epochs=2, batch_size=32)
    model.fit(data, sequences=seqs, embeddings=emb)
    assert model.data is not None and "new" in model.data.item_ids
    similar = [i.asset_id for i in model.similar_items("new", N_ITEMS)]
    assert similar and "new" not in similar
    anywhere = model.recommend_history({"a1": 1.0, "a2": 1.0}, N_ITEMS + 1)
    assert "new" in [i.asset_id for i in anywhere]  # it is scored with the catalog


@pytest.mark.parametrize(
    "model",
    [
        TransformerRecommender(8, max_len=4, heads=1, epochs=1),
        NeuralCfRecommender(4, layers=(8, 4), epochs=1),
        GraphRecommender(8, epochs=2),
    ],
    ids=lambda m: m.name,
)
def test_artifacts_carry_a_format_version_and_an_unknown_one_is_refused(model: object) -> None:
    data, seqs = _cycles()
    if isinstance(model, TransformerRecommender):
        model.fit(data, sequences=seqs)
    else:
        assert isinstance(model, NeuralCfRecommender | GraphRecommender)
        model.fit(data)
    state = model.__getstate__()
    assert state[STATE_KEY] == 1
    assert "_net" not in state  # torch modules are rebuilt at load, not pickled
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded.recommend("u0", 5) == model.recommend("u0", 5)  # type: ignore[attr-defined]
    blank = type(model).__new__(type(model))  # type: ignore[call-overload]
    with pytest.raises(ArtifactFormatError):
        blank.__setstate__({**state, STATE_KEY: 99})


def test_graph_folds_in_a_new_user_from_their_history() -> None:
    data, _ = _cycles()
    model = GraphRecommender(16, epochs=60).fit(data)
    row = data.matrix[data.user_index["u3"]]
    history = {data.item_ids[j]: 1.0 for j in row.indices}
    trained = {i.asset_id for i in model.recommend("u3", 5)}
    folded = {i.asset_id for i in model.recommend_history(history, 5)}
    assert folded and not folded & set(history)
    assert len(trained & folded) >= 2  # the fold-in lands near the trained user


def test_neural_cf_answers_known_users_only() -> None:
    data, _ = _cycles()
    model = NeuralCfRecommender(4, layers=(8, 4), epochs=2).fit(data)
    assert model.recommend("u1", 3) and model.recommend("new-user", 3) == []
    history = {"a1": 1.0, "a2": 1.0}
    assert model.recommend_history(history, 3) == []  # no fold-in (module docstring)
    from_user = model.recommend_history(history, 3, user="u1")
    assert from_user and not {"a1", "a2"} & {i.asset_id for i in from_user}


def test_histories_are_ordered_by_time_then_asset_id() -> None:
    events = [("u", "b", 2.0), ("u", "a", 2.0), ("u", "c", 1.0), ("u", "c", 3.0), ("v", "x", 0)]
    assert ordered_histories(events) == {"u": ["a", "b", "c"], "v": ["x"]}
