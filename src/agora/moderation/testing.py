"""Test helpers: small trained text models, cached once per process.

Training on the full corpora takes about a minute; tests train once per
session on a stratified sample (enough for the verdict table's English
insults and spam) and reuse the fitted objects.

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
def sample_models(data_dir: Path, n_toxicity: int = 6000, n_spam: int = 3000) -> TextModels:
    """Both classifiers fitted on training-split samples (version ``sample``)."""
    tox_train, _ = load_davidson(data_dir).split()
    spam_train, _ = load_sms_spam(data_dir).split()
    tox = tox_train.sample(n_toxicity)
    spam = spam_train.sample(n_spam)
    toxicity = ToxicityClassifier().fit(tox.texts, tox.labels)
    spam_clf = SpamClassifier().fit(spam.texts, spam.labels)
    toxicity.version = spam_clf.version = "sample"
    return TextModels(toxicity=toxicity, spam=spam_clf)
