"""Text classifiers: calibrated scores, the flattened scorer, training through the model store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from agora.config import Settings
from agora.moderation.datasets import load_davidson, load_sms_spam
from agora.moderation.linear import LinearCalibrated
from agora.moderation.provider import ModelProvider
from agora.moderation.testing import sample_models
from agora.moderation.text_models import SpamClassifier, TextClassifier
from agora.moderation.training import train_text_models


def test_flattened_scorer_equals_scikit_learn(data_dir: Path) -> None:
    corpus = load_sms_spam(data_dir).sample(800)
    x = TfidfVectorizer().fit_transform(corpus.texts)
    clf = CalibratedClassifierCV(LinearSVC(), cv=3, method="sigmoid").fit(x, corpus.labels[:, 0])
    fast = LinearCalibrated.from_sklearn(clf)
    assert np.allclose(fast.predict_proba(x[:50]), clf.predict_proba(x[:50])[:, 1], atol=1e-9)


def test_sample_models_separate_obvious_cases(data_dir: Path) -> None:
    models = sample_models(data_dir)
    assert models.toxicity is not None and models.spam is not None
    tox = models.toxicity.predict(["you stupid fucking bitch", "Low-poly tank for Unity"])
    assert tox[0].scores["offensive"] > 0.8 > tox[1].scores["offensive"]
    assert tox[0].model == "moderation-toxicity@sample"
    spam = models.spam.predict(
        ["WINNER!! Claim your £1000 prize now, call 09061701461", "see you at lunch tomorrow"]
    )
    assert spam[0].scores["spam"] > 0.8 > spam[1].scores["spam"]
    assert "spam" in spam[0].labels and not spam[1].labels


def test_save_and_load_round_trip(data_dir: Path, tmp_path: Path) -> None:
    models = sample_models(data_dir)
    assert models.spam is not None
    models.spam.save(tmp_path / "spam.joblib")
    back = SpamClassifier.load(tmp_path / "spam.joblib")
    text = ["Free entry in 2 a wkly comp to win FA Cup final tkts"]
    assert back.predict(text)[0].scores == models.spam.predict(text)[0].scores
    assert isinstance(TextClassifier.load(tmp_path / "spam.joblib"), SpamClassifier)
    with pytest.raises(Exception, match="does not hold"):
        SpamClassifier.load(_write_other(tmp_path))


def _write_other(tmp_path: Path) -> Path:
    import joblib

    path = tmp_path / "other.joblib"
    joblib.dump({"not": "a model"}, path)
    return path


def test_train_saves_champions_that_the_provider_loads(data_dir: Path, tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "agora")
    provider = ModelProvider(settings)
    assert provider.text_models().complete is False  # nothing trained, no data dir: absent
    refs = train_text_models(provider.store, data_dir, sample=1500)
    ref, metrics = refs["moderation-toxicity"]
    assert ref.version == "1" and 0.5 < metrics["offensive.roc_auc"] <= 1.0
    info = provider.store.info("moderation-spam", alias="champion")
    assert info.metrics["spam.f1"] > 0.5 and "sms-spam" in (info.data_snapshot or "")
    models = provider.text_models(force=True)
    assert models.complete and models.toxicity is not None
    assert models.toxicity.model == "moderation-toxicity@1"


def test_davidson_labels(data_dir: Path) -> None:
    corpus = load_davidson(data_dir)
    assert corpus.classes is not None
    # hate is a subset of offensive-or-hate
    assert np.all(corpus.labels[:, 1] <= corpus.labels[:, 0])
    train, test = corpus.split()
    assert len(train) + len(test) == len(corpus)
    assert corpus.split()[1].texts == test.texts  # deterministic, seeded


def test_best_threshold_maximises_f1_like_scikit_learn() -> None:
    from sklearn.metrics import f1_score

    from agora.moderation.text_models import _best_threshold

    rng = np.random.default_rng(7)
    grid = np.linspace(0.05, 0.95, 91)
    for _ in range(6):  # sklearn's f1_score is the slow reference: few, varied cases
        n = int(rng.integers(5, 300))
        y = (rng.random(n) < 0.3).astype(int)
        y[0] = 1
        p = np.round(np.clip(0.5 * y + rng.random(n) * 0.7, 0, 1), int(rng.integers(1, 4)))
        want = grid[int(np.argmax([f1_score(y, p >= t, zero_division=0) for t in grid]))]
        assert _best_threshold(y, p) == want
    assert _best_threshold(np.zeros(4), np.ones(4)) == 0.5
