"""Test helpers: small trained text models, cached once per process.

Training on the full corpora takes minutes; tests train once per session on
a stratified sample (enough for the verdict table's English insults and spam)
and reuse the fitted objects. Tests use the TF-IDF view alone by default:
encoding thousands of tweets with MiniLM would cost tens of seconds per
session; the stacked view is tested on its own small sample.

Example:
    >>> models = sample_models(Path("../shared/data"))  # doctest: +SKIP
    >>> models.complete  # doctest: +SKIP
    True
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from agora.moderation.datasets import load_davidson, load_sms_spam
from agora.moderation.text import TextModels
from agora.moderation.text_models import SpamClassifier, ToxicityClassifier


@cache
def sample_models(
    data_dir: Path,
    n_toxicity: int = 6000,
    n_spam: int = 3000,
    *,
    embeddings: bool = False,
    embedding_cache: Path | None = None,
) -> TextModels:
    """Both classifiers fitted on training-split samples (version ``sample``)."""
    tox_train, _ = load_davidson(data_dir).split()
    spam_train, _ = load_sms_spam(data_dir).split()
    tox = tox_train.sample(n_toxicity)
    spam = spam_train.sample(n_spam)
    toxicity = ToxicityClassifier(embeddings=embeddings).fit(
        tox.texts, tox.labels, embedding_cache=embedding_cache
    )
    spam_clf = SpamClassifier(embeddings=embeddings).fit(
        spam.texts, spam.labels, embedding_cache=embedding_cache
    )
    toxicity.version = spam_clf.version = "sample"
    return TextModels(toxicity=toxicity, spam=spam_clf)
