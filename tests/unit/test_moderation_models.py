"""Text classifiers: calibrated scores, the flattened scorer, the stacked embedding view,
training through the gated MLOps pipeline."""

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
from agora.runtime import Platform


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


# Several model fits (the gate scores every view on a held-out corpus): minutes
# on a loaded 2-core machine.
@pytest.mark.timeout(900)
def test_training_is_gated_first_champion_then_challenger_or_rejected(
    data_dir: Path, tmp_path: Path
) -> None:
    from agora.mlops.registry import ModelRegistry
    from agora.mlops.training.tasks import train_classifier

    # Without the shipped classifiers: this test starts from an empty store.
    settings = Settings.load(data_dir=tmp_path / "agora", moderation={"shipped_models": False})
    platform = Platform.build(settings)
    try:
        provider = ModelProvider(
            settings, lambda: platform.models, platform.db, encoders=platform.encoders
        )
        assert provider.text_models().complete is False  # nothing trained, no data dir: absent

        def train(sample: int) -> dict[str, str]:
            out = train_classifier(
                platform, data_dir=str(data_dir), sample=sample, embeddings=False
            )
            return {name: o["decision"] for name, o in out["models"].items()}

        # No champion: the first version is promoted (gate: "no champion yet").
        assert train(100) == {"moderation-toxicity": "champion", "moderation-spam": "champion"}
        info = provider.store.info("moderation-spam", alias="champion")
        assert info.ref.version == "1" and "sms-spam" in (info.data_snapshot or "")
        assert 0.0 < info.metrics["spam.f1"] <= 1.0
        # Ten times the data beats the champion's F1 on the new holdout: challenger only.
        assert set(train(1000).values()) == {"challenger"}
        registry = ModelRegistry(platform.models, platform.db)
        deployment = registry.deployment("moderation-spam")
        assert deployment.champion == "1" and deployment.challenger == "2"
        _challenger_serves_its_canary_share(settings, platform)
        # The same data again does not beat the (new holdout's) champion by the margin.
        registry.promote("moderation-spam", "2", actor="test", reason="canary healthy")
        registry.promote("moderation-toxicity", "2", actor="test", reason="canary healthy")
        assert set(train(1000).values()) == {"rejected"}
        assert registry.deployment("moderation-spam").champion == "2"
        models = provider.text_models(force=True)
        assert models.complete and models.toxicity is not None
        assert models.toxicity.model == "moderation-toxicity@2"
    finally:
        platform.close()


def test_stacked_embedding_view(data_dir: Path, tmp_path: Path) -> None:
    """MiniLM embeddings stacked on TF-IDF: both views served, cached, saved, loaded."""
    from agora.moderation.embeddings import SentenceFeatures

    corpus = load_sms_spam(data_dir).sample(400)
    cache = tmp_path / "emb"
    steps: list[tuple[float, str]] = []
    clf = SpamClassifier().fit(
        corpus.texts,
        corpus.labels,
        embedding_cache=cache,
        progress=lambda f, m: steps.append((f, m)),
    )
    # Progress inside each long step: every embedding batch, every fold.
    fractions, messages = [f for f, _ in steps], [m for _, m in steps]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert any(m.startswith("sentence embeddings 256/") for m in messages)
    assert "spam: TF-IDF SVM fold 1/4" in messages
    assert "spam: embedding logistic fold 4/4, then on all rows" in messages
    assert clf.sentence_ is not None and clf.sentence_.key == "minilm@l6-v2-int8-1.0.0"
    assert clf.feature_names[-1] == "sentence-embedding:minilm@l6-v2-int8-1.0.0"
    assert list(cache.glob("embeddings-*.npz"))  # the corpus is encoded once, then read
    texts = ["WINNER!! Claim your 1000 cash prize now, call 09061701461", "see you at lunch"]
    stacked = clf.predict_proba(texts)["spam"]
    tfidf = clf.predict_proba(texts, view="tfidf")["spam"]
    assert stacked[0] > 0.5 > stacked[1]
    assert not np.allclose(stacked, tfidf)  # the embedding view changes the probability
    meta = clf.meta_["spam"]
    assert meta.coef.shape == (2,) and meta.coef[1] > 0  # the embedding score counts
    # Bulk (cached corpus) and single-text (query cache) paths give the same vectors.
    bulk = SentenceFeatures().transform(corpus.texts[:6], cache_dir=cache)
    single = np.vstack([SentenceFeatures().transform([t]) for t in corpus.texts[:6]])
    assert np.allclose(bulk, single, atol=1e-5)
    clf.save(tmp_path / "spam.joblib")
    back = SpamClassifier.load(tmp_path / "spam.joblib")
    assert np.allclose(back.predict_proba(texts)["spam"], stacked)
    with pytest.raises(Exception, match="view"):
        clf.predict_proba(texts, view="other")
    # The analyser serves the stack, or the TF-IDF view alone when configured so.
    from agora.config import ModerationSettings
    from agora.moderation.text import TextAnalyzer, TextModels

    for embeddings, model, p in (
        (True, "moderation-spam@unsaved", stacked),
        (False, "moderation-spam@unsaved:tfidf", tfidf),
    ):
        analyzer = TextAnalyzer(
            ModerationSettings(text_embeddings=embeddings), TextModels(spam=clf)
        )
        found = next(d for d in analyzer.analyze(texts[0]).detectors if "spam" in d.scores)
        assert found.model == model and found.scores["spam"] == pytest.approx(p[0])


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


def test_first_use_training_goes_through_the_gate(data_dir: Path, tmp_path: Path) -> None:
    """No champion, no shipped classifiers and a data folder: the provider trains once,
    via train.classifier."""
    import csv

    from agora.mlops.registry import ModelRegistry
    from agora.moderation.datasets import DAVIDSON, SMS_SPAM

    folder = tmp_path / "data"
    (folder / DAVIDSON).parent.mkdir(parents=True)
    (folder / SMS_SPAM).parent.mkdir(parents=True)
    tweets = load_davidson(data_dir).sample(150)
    assert tweets.classes is not None
    with (folder / DAVIDSON).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["class", "tweet"])
        writer.writerows(zip(tweets.classes.tolist(), tweets.texts, strict=True))
    sms = load_sms_spam(data_dir).sample(150)
    lines = [
        f"{'spam' if y else 'ham'}\t{t}" for t, y in zip(sms.texts, sms.labels[:, 0], strict=True)
    ]
    (folder / SMS_SPAM).write_text("\n".join(lines), encoding="utf-8")

    settings = Settings.load(
        data_dir=tmp_path / "agora",
        moderation={"train_data_dir": str(folder), "shipped_models": False},
    )
    platform = Platform.build(settings)
    try:
        models = platform.moderation_models.text_models()
        assert models.complete and models.spam is not None
        assert models.spam.model == "moderation-spam@1" and models.spam.sentence_ is not None
        history = ModelRegistry(platform.models, platform.db).history("moderation-spam")
        assert [h.action for h in history] == ["registered", "promote"]
        assert history[-1].reason.startswith("first champion")
    finally:
        platform.close()


def _challenger_serves_its_canary_share(settings: Settings, platform: Platform) -> None:
    """With the catalog, the spam challenger classifies its share of subjects, reported."""
    from agora.mlops.canary_judge import version_stats
    from agora.moderation.service import ModerationService

    settings.mlops.canary_share = 0.5
    provider = ModelProvider(
        settings, lambda: platform.models, platform.db, encoders=platform.encoders
    )
    spam = [provider.text_models(subject_id=f"asset-{i}").spam for i in range(40)]
    versions = [m.version for m in spam if m is not None]
    assert len(versions) == 40 and set(versions) == {"1", "2"}
    assert provider.text_models().spam.version == "1"  # type: ignore[union-attr]
    service = ModerationService(settings, provider, platform.encoders)
    texts = [f"WINNER!! claim prize {i} now, call 0906170146{i}" for i in range(10)]
    for i, text in enumerate(texts):
        service.analyze_text(text, subject_id=f"asset-{i}")
    provider._monitor.flush()  # type: ignore[union-attr]
    served = [versions[i] for i in range(10)]
    for version in ("1", "2"):
        stats = version_stats(platform.db, "moderation-spam", version, None)
        assert stats.requests == served.count(version) and not stats.errors
