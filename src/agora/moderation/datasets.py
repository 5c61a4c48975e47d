"""The labelled corpora the text classifiers are trained on, with fixed splits.

* davidson (``hate-offensive-davidson/labeled_data.csv``): 24,783 tweets,
  class 0 hate speech, 1 offensive, 2 neither. Label ``offensive`` is class
  0 or 1 (hate speech is offensive too), label ``hate`` is class 0.
* SMS spam collection (``sms-spam-collection/SMSSpamCollection``): 5,574
  messages, ``ham`` or ``spam``.

``split`` is deterministic (seeded, stratified), so the benchmark's held-out
test rows are never seen by ``agora moderation train``. Each corpus carries
the SHA-256 of the file it was read from (the training data's snapshot id).

The corpora are not shipped in the package (the davidson tweets carry the
Twitter/X terms, which the repository's MIT licence cannot clear), so
``find_training_data`` looks for them where a checkout keeps them.

Example:
    >>> corpus = load_davidson(Path("../shared/data"))  # doctest: +SKIP
    >>> train, test = corpus.split()  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
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
    sha256: str = ""  # of the source file

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx: np.ndarray) -> Corpus:
        return Corpus(
            self.name,
            [self.texts[i] for i in idx],
            self.labels[idx],
            self.label_names,
            None if self.classes is None else self.classes[idx],
            self.sha256,
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


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def holds_corpora(folder: Path) -> bool:
    """Whether ``folder`` has both training corpora in their expected places."""
    return (Path(folder) / DAVIDSON).is_file() and (Path(folder) / SMS_SPAM).is_file()


def default_data_dirs(cwd: Path | None = None) -> list[Path]:
    """Where ``agora moderation train`` looks without ``--data``: the ``shared/data``
    folder beside the working directory or beside this source checkout."""
    here = Path(cwd or Path.cwd())
    checkout = Path(__file__).resolve().parents[3]  # <checkout>/src/agora/moderation
    found: list[Path] = []
    for path in (here / "../shared/data", here / "shared/data", checkout / "../shared/data"):
        resolved = path.resolve()
        if resolved not in found:
            found.append(resolved)
    return found


def find_training_data(candidates: Iterable[Path]) -> Path | None:
    """The first candidate folder that holds both corpora."""
    return next((Path(c) for c in candidates if holds_corpora(Path(c))), None)


def load_davidson(data_dir: Path) -> Corpus:
    """The davidson tweets with labels ``offensive`` and ``hate``."""
    path = _require(Path(data_dir) / DAVIDSON)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    classes = np.array([int(r["class"]) for r in rows])
    labels = np.stack([classes <= 1, classes == 0], axis=1).astype(int)
    texts = [r["tweet"] for r in rows]
    return Corpus("davidson", texts, labels, ("offensive", "hate"), classes, file_sha256(path))


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
    y = np.array(labels, dtype=int).reshape(-1, 1)
    return Corpus("sms-spam", texts, y, ("spam",), None, file_sha256(path))
