"""The labelled corpora the text classifiers are trained on, with fixed splits.

* davidson (``hate-offensive-davidson/labeled_data.csv``): 24,783 tweets,
  class 0 hate speech, 1 offensive, 2 neither. Label ``offensive`` is class
  0 or 1 (hate speech is offensive too), label ``hate`` is class 0.
* SMS spam collection (``sms-spam-collection/SMSSpamCollection``): 5,574
  messages, ``ham`` or ``spam``.

``split`` is deterministic (seeded, stratified), so the benchmark's held-out
test rows are never seen by ``agora moderation train``.

Example:
    >>> corpus = load_davidson(Path("../shared/data"))  # doctest: +SKIP
    >>> train, test = corpus.split()  # doctest: +SKIP
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from agora.errors import NotFound

DAVIDSON = Path("hate-offensive-davidson") / "labeled_data.csv"
SMS_SPAM = Path("sms-spam-collection") / "SMSSpamCollection"
TEST_SHARE = 0.2
SPLIT_SEED = 42


@dataclass(frozen=True)
class Corpus:
    """Texts with a 0/1 label matrix (one column per label)."""

    name: str
    texts: list[str]
    labels: np.ndarray
    label_names: tuple[str, ...]
    classes: np.ndarray | None = None  # davidson's 3-way class, kept for reports

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx: np.ndarray) -> Corpus:
        return Corpus(
            self.name,
            [self.texts[i] for i in idx],
            self.labels[idx],
            self.label_names,
            None if self.classes is None else self.classes[idx],
        )

    def split(self) -> tuple[Corpus, Corpus]:
        """(train, held-out test), stratified on the first label."""
        idx = np.arange(len(self.texts))
        strat = self.classes if self.classes is not None else self.labels[:, 0]
        train, test = train_test_split(
            idx, test_size=TEST_SHARE, random_state=SPLIT_SEED, stratify=strat
        )
        return self.subset(np.sort(train)), self.subset(np.sort(test))

    def sample(self, n: int, seed: int = 0) -> Corpus:
        """A stratified sample of ``n`` rows (all rows when ``n >= len``)."""
        if n >= len(self.texts):
            return self
        strat = self.classes if self.classes is not None else self.labels[:, 0]
        idx, _ = train_test_split(
            np.arange(len(self.texts)), train_size=n, random_state=seed, stratify=strat
        )
        return self.subset(np.sort(idx))


def _require(path: Path) -> Path:
    if not path.is_file():
        raise NotFound(f"training data not found: {path}")
    return path


def load_davidson(data_dir: Path) -> Corpus:
    """The davidson tweets with labels ``offensive`` and ``hate``."""
    with _require(Path(data_dir) / DAVIDSON).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    classes = np.array([int(r["class"]) for r in rows])
    labels = np.stack([classes <= 1, classes == 0], axis=1).astype(int)
    return Corpus("davidson", [r["tweet"] for r in rows], labels, ("offensive", "hate"), classes)


def load_sms_spam(data_dir: Path) -> Corpus:
    """The SMS spam collection with label ``spam``."""
    texts: list[str] = []
    labels: list[int] = []
    path = _require(Path(data_dir) / SMS_SPAM)
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        tag, sep, text = line.partition("\t")
        if sep and tag in ("ham", "spam"):
            texts.append(text)
            labels.append(int(tag == "spam"))
    return Corpus("sms-spam", texts, np.array(labels, dtype=int).reshape(-1, 1), ("spam",))
