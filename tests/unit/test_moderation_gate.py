"""The training gate of the text classifiers' views, on small samples of real corpora.

A toxicity model trained on davidson + TweetEval offensive together is gated
by holding each corpus out in turn (training rows only): the view served per
label is the one with the best held-out figure, so a stack that loses to
one of its inputs on the corpus it did not see is not served.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agora.moderation.artifact import read_artifact, write_artifact
from agora.moderation.datasets import combine, load_davidson, load_tweeteval
from agora.moderation.gate import VIEWS, gate_sources, held_out_figures
from agora.moderation.generalisation import choose_view
from agora.moderation.stacking import LinearHead
from agora.moderation.text_models import ToxicityClassifier

# As the ``data_dir`` fixture (function-scoped; this fit is shared by the module).
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> ToxicityClassifier:
    """davidson + TweetEval offensive, 300 training rows each, fitted with the gate."""
    if not DATA.is_dir():
        pytest.skip(f"shared datasets not found at {DATA}")
    data_dir = DATA
    parts = [
        load_davidson(data_dir).split()[0].sample(300, seed=1),
        load_tweeteval(data_dir, "offensive").split()[0].sample(300, seed=1),
    ]
    corpus = combine("davidson+tweeteval-offensive", parts, ("offensive", "hate"))
    cache = tmp_path_factory.mktemp("emb")
    return ToxicityClassifier().fit(
        corpus.texts, corpus.labels, groups=corpus.row_sources(), embedding_cache=cache
    )


def test_a_stack_that_loses_on_a_held_out_corpus_is_not_served(
    gated: ToxicityClassifier,
) -> None:
    figures = gated.gate_["offensive"]
    assert set(figures) == set(VIEWS)  # profanity, TF-IDF, embedding, the stack
    best_single = max(v for k, v in figures.items() if k != "stacked")
    # On these two corpora the stack fitted on one travels worse to the other
    # than alt-profanity-check alone (as in the LOCO benchmark): the gate falls back.
    assert figures["stacked"] < best_single
    served = gated.served_["offensive"]
    assert served != "stacked" and figures[served] == best_single
    assert served == choose_view(figures, VIEWS)
    texts = ["you are a stupid bitch", "lovely weather for a picnic today"]
    probs = gated.predict_proba(texts)["offensive"]
    assert np.allclose(probs, gated.predict_proba(texts, view=served)["offensive"])
    assert gated.cuts()["offensive"] == gated.cuts(served)["offensive"]
    assert probs[0] > probs[1]
    # hate: davidson alone labels it, nothing to hold out: the stack is served.
    assert "hate" not in gated.gate_ and gated.served_["hate"] == "stacked"
    result = gated.predict(texts)[0]
    assert result.model == f"moderation-toxicity@unsaved:offensive={served},hate=stacked"


def test_the_served_views_survive_the_shipped_artefact(
    gated: ToxicityClassifier, tmp_path: Path
) -> None:
    back = read_artifact(write_artifact(gated, tmp_path / "tox.npz", provenance={}))
    assert back.served_ == gated.served_ and back.gate_ == gated.gate_
    assert back.stack_inputs_ == gated.stack_inputs_
    texts = ["you are a stupid bitch", "lovely weather for a picnic today", "go back home"]
    for view in ("served", *VIEWS):
        want, got = gated.predict_proba(texts, view=view), back.predict_proba(texts, view=view)
        labels = {"offensive"} if view == "profanity" else {"offensive", "hate"}
        assert set(got) == set(want) == labels
        for label in want:
            assert np.allclose(got[label], want[label]), (view, label)
    assert back.cuts() == pytest.approx(gated.cuts())


def test_held_out_figures_need_two_sources_with_both_classes() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 5))
    y = (x[:, 0] > 0).astype(int)
    one = np.array(["a"] * 240, dtype=object)
    fit = {"lin": lambda xs, ys: LinearHead.fit_logistic(xs, ys)}
    assert held_out_figures({"lin": x}, y, one, fit, metric="roc_auc") == {}
    two = np.array(["a"] * 120 + ["b"] * 120, dtype=object)
    y_b_one_class = y.copy()
    y_b_one_class[120:] = 0
    assert gate_sources(y_b_one_class, two) == ["a"]
    figures = held_out_figures({"tfidf": x}, y, two, {"tfidf": fit["lin"]}, metric="f1")
    assert set(figures) == {"tfidf", "stacked"} and figures["tfidf"] > 0.9


def test_a_sample_keeps_the_corpus_split() -> None:
    """Training on a sample (``agora moderation train --sample``) never sees a test row."""
    if not DATA.is_dir():
        pytest.skip(f"shared datasets not found at {DATA}")
    corpus = combine(
        "davidson+tweeteval-offensive",
        [load_davidson(DATA), load_tweeteval(DATA, "offensive")],
        ("offensive", "hate"),
    )
    sample = corpus.sample(2000)
    train, test = sample.split()
    held_out = {corpus.texts[i] for i in corpus.test_index()}
    assert test.texts and all(t in held_out for t in test.texts)
    assert set(train.row_sources().tolist()) == {"davidson", "tweeteval-offensive"}


def test_the_analyser_counts_profanity_once_and_holds_at_the_base_rate(
    gated: ToxicityClassifier,
) -> None:
    from agora.config import ModerationSettings
    from agora.moderation.base import Action
    from agora.moderation.text import TextAnalyzer, TextModels

    text = "you are a stupid fucking bitch"
    assert gated.reads_profanity()  # the served offensive view is (or stacks) profanity
    verdict = TextAnalyzer(ModerationSettings(), TextModels(toxicity=gated)).analyze(text)
    assert any(d.model.startswith("alt-profanity-check") for d in verdict.detectors)
    assert "profanity" not in [r.source for r in verdict.reasons]  # inside the classifier
    offensive = next(r for r in verdict.reasons if r.source == "offensive")
    # Held only where the probability at the marketplace's base rate reaches the bar.
    for bar, held in ((0.0, True), (1.0, False)):
        settings = ModerationSettings(hold_probability=bar)
        reason = next(
            r
            for r in TextAnalyzer(settings, TextModels(toxicity=gated)).analyze(text).reasons
            if r.source == "offensive"
        )
        assert (reason.severity is Action.REVIEW) is held
    assert offensive.score > 0
    tfidf_only = TextAnalyzer(ModerationSettings(text_embeddings=False), TextModels(gated))
    assert "profanity" in [r.source for r in tfidf_only.analyze(text).reasons]
