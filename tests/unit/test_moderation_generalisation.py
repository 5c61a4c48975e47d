"""Leave-one-corpus-out protocol and the corpora it reads (TweetEval, SpamAssassin e-mail)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from agora.errors import InvalidInput
from agora.moderation.datasets import (
    Corpus,
    combine,
    load_davidson,
    load_email_spam,
    load_tweeteval,
    markup_to_text,
)
from agora.moderation.generalisation import (
    FittedViews,
    Source,
    choose_view,
    run_protocol,
)
from agora.moderation.text_models import ToxicityClassifier


def _tweeteval(root: Path, task: str) -> None:
    folder = root / "tweeteval" / task
    folder.mkdir(parents=True)
    for part, rows in {"train": ["a", "b", "c"], "val": ["d"], "test": ["e", "f"]}.items():
        (folder / f"{part}_text.txt").write_text("\n".join(f"{t} text" for t in rows) + "\n")
        labels = [str(i % 2) for i in range(len(rows))]
        (folder / f"{part}_labels.txt").write_text("\n".join(labels) + "\n")


def test_tweeteval_keeps_its_official_test_split(tmp_path: Path) -> None:
    _tweeteval(tmp_path, "hate")
    corpus = load_tweeteval(tmp_path, "hate")
    assert corpus.label_names == ("hate",) and len(corpus) == 6
    train, test = corpus.split()
    assert train.texts == ["a text", "b text", "c text", "d text"]
    assert test.texts == ["e text", "f text"]
    assert test.labels[:, 0].tolist() == [0, 1]


def test_tweeteval_refuses_an_unknown_task(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="unknown TweetEval task"):
        load_tweeteval(tmp_path, "irony")


def test_email_spam_reads_text_drops_markup_and_repeats(tmp_path: Path) -> None:
    path = tmp_path / "email-spam" / "spamassassin.csv"
    path.parent.mkdir()
    rows = [
        ("spam", "Win!\n\n<html><style>p{}</style><b>FREE</b> &amp; cheap</html>"),
        ("ham", "Meeting\n\nsee you at 10"),
        ("ham", "Meeting\n\nsee you at 10"),
        ("junk", "not a label"),
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["label", "text", "group", "file"])
        writer.writerows((label, text, "g", "f") for label, text in rows)
    corpus = load_email_spam(tmp_path)
    assert corpus.texts == ["Win!\nFREE & cheap", "Meeting\nsee you at 10"]
    assert corpus.labels[:, 0].tolist() == [1, 0]


def test_markup_to_text_keeps_words_only() -> None:
    assert markup_to_text("<p>Hello <!-- x --> <a href='u'>world</a></p>") == "Hello world"


def test_davidson_binary_views_keep_the_split(data_dir: Path) -> None:
    davidson = load_davidson(data_dir)
    hate = davidson.only("hate")
    assert hate.label_names == ("hate",)
    assert np.array_equal(hate.labels[:, 0], davidson.classes == 0)
    assert hate.split()[1].texts == davidson.split()[1].texts


def test_choose_view_falls_back_to_the_best_single_input() -> None:
    order = ["tfidf", "embedding", "stacked"]
    assert choose_view({"tfidf": 0.7, "embedding": 0.8, "stacked": 0.75}, order) == "embedding"
    assert choose_view({"tfidf": 0.7, "embedding": 0.8, "stacked": 0.8}, order) == "embedding"
    assert choose_view({"tfidf": 0.7, "embedding": 0.8, "stacked": 0.81}, order) == "stacked"
    with pytest.raises(InvalidInput):
        choose_view({}, order)


def _corpus(name: str, texts: list[str], labels: list[int]) -> Corpus:
    return Corpus(name, texts, np.array(labels).reshape(-1, 1), ("x",))


def test_protocol_scores_each_direction_and_chooses_on_training_rows() -> None:
    # Two sources; view "word" knows the word "bad", view "local" only the
    # training corpus's own marker ("a!" or "b!"), so it fails across corpora.
    def fit(train: Corpus) -> FittedViews:
        marker = "a!" if train.name == "a" else "b!"

        def predict(texts: Sequence[str]) -> dict[str, np.ndarray]:
            return {
                "local": np.array([float(marker in t) for t in texts]),
                "word": np.array([float("bad" in t) for t in texts]),
            }

        return FittedViews(predict, {"local": 0.5, "word": 0.5})

    def source(name: str, marker: str) -> Source:
        train = _corpus(name, [f"bad {marker}", "fine", f"bad {marker}", "fine"], [1, 0, 1, 0])
        return Source(name, train, _corpus(name, [f"bad {marker}", "fine z"], [1, 0]))

    report = run_protocol([source("a", "a!"), source("b", "b!")], fit, metric="roc_auc")
    views = report["views"]
    assert isinstance(views, dict)
    assert set(views["local"]["loco"]) == {"a->b", "b->a"}
    assert views["local"]["in_source_roc_auc"] == 1.0
    assert views["local"]["loco_roc_auc"] == 0.5
    assert views["word"]["loco_roc_auc"] == 1.0
    assert report["served_view"] == "word"
    assert report["loco_roc_auc"] == 1.0


def test_protocol_needs_two_corpora() -> None:
    with pytest.raises(InvalidInput):
        run_protocol([], lambda c: FittedViews(lambda t: {}, {}), metric="f1")


def test_combine_aligns_labels_by_name_and_keeps_each_test_split() -> None:
    a = Corpus("a", ["a1", "a2", "a3"], np.array([[1, 0], [0, 0], [1, 1]]), ("offensive", "hate"))
    a = Corpus(a.name, a.texts, a.labels, a.label_names, test_rows=np.array([2]))
    b = Corpus("b", ["b1", "b2"], np.array([[1], [0]]), ("hate",), test_rows=np.array([0]))
    both = combine("a+b", [a, b], ("offensive", "hate"))
    assert both.labels.tolist() == [[1, 0], [0, 0], [1, 1], [-1, 1], [-1, 0]]
    train, test = both.split()
    assert test.texts == ["a3", "b1"] and train.texts == ["a1", "a2", "b2"]


def test_each_label_is_learnt_from_the_rows_that_set_it() -> None:
    rude = ["you idiot {}", "shut up moron {}", "idiot moron {}"]
    kind = ["lovely day {}", "thanks friend {}", "nice work {}"]
    texts = [t.format(i) for i in range(8) for t in rude + kind]
    offensive = [1, 1, 1, 0, 0, 0] * 8
    # Half the rows do not label ``hate`` at all (-1): they must not count as "not hate".
    hate = [v if i % 12 < 6 else -1 for i, v in enumerate([1, 0, 1, 0, 0, 0] * 8)]
    clf = ToxicityClassifier(embeddings=False, calibration_folds=2)
    clf.fit(texts, np.c_[offensive, hate])
    assert clf.priors_["hate"] == pytest.approx(2 / 6)
    assert clf.priors_["offensive"] == pytest.approx(0.5)
    scores = clf.predict(["you idiot", "lovely day"])
    assert scores[0].scores["offensive"] > scores[1].scores["offensive"]
