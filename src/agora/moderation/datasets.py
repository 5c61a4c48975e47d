"""The labelled corpora the text classifiers are trained on, with fixed splits.

* davidson (``hate-offensive-davidson/labeled_data.csv``): 24,783 tweets,
  class 0 hate speech, 1 offensive, 2 neither. Label ``offensive`` is class
  0 or 1 (hate speech is offensive too), label ``hate`` is class 0.
* SMS spam collection (``sms-spam-collection/SMSSpamCollection``): 5,574
  messages, ``ham`` or ``spam``.
* TweetEval (``tweeteval/{offensive,hate}/``): OLID offensive tweets
  (label 1 offensive) and HatEval hate speech (label 1 hate), each with its
  official train/val/test files; ``split`` keeps the official test file.
* SpamAssassin e-mail (``email-spam/spamassassin.csv``): 6,046 e-mails,
  ``spam`` or ``ham``, read as text (markup dropped, entities decoded), since
  a classifier that must also read SMS and listings cannot lean on HTML.

These corpora give the leave-one-corpus-out protocol of
``agora.moderation.generalisation`` its held-out sources.

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
import html
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from agora.errors import NotFound

DAVIDSON = Path("hate-offensive-davidson") / "labeled_data.csv"
SMS_SPAM = Path("sms-spam-collection") / "SMSSpamCollection"
TWEETEVAL = Path("tweeteval")
EMAIL_SPAM = Path("email-spam") / "spamassassin.csv"
TWEETEVAL_TASKS = ("offensive", "hate")
_TAG = re.compile(r"<(?:!--.*?--|[^<>]{0,2000})>", re.S)
_STYLE = re.compile(r"<(style|script)\b.*?</\1\s*>", re.S | re.I)
_SPACE = re.compile(r"[ \t\r\f\v]+|\n\s*\n\s*")
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
    # Rows of the corpus's own (official) test split; ``None``: a seeded split.
    test_rows: np.ndarray | None = None
    # Each row's source corpus (``combine``); ``None``: every row is ``name``'s.
    sources: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx: np.ndarray) -> Corpus:
        """The rows ``idx`` (an official test split is not carried over)."""
        return Corpus(
            self.name,
            [self.texts[i] for i in idx],
            self.labels[idx],
            self.label_names,
            None if self.classes is None else self.classes[idx],
            self.sha256,
            None,
            None if self.sources is None else self.sources[idx],
        )

    def row_sources(self) -> np.ndarray:
        """The source corpus of each row (the held-out groups of the training gate)."""
        if self.sources is not None:
            return self.sources
        return np.full(len(self.texts), self.name, dtype=object)

    def only(self, label: str) -> Corpus:
        """The same rows with one label column (``label``); the split is kept."""
        j = self.label_names.index(label)
        return Corpus(
            self.name,
            self.texts,
            self.labels[:, j : j + 1],
            (label,),
            self.classes,
            self.sha256,
            self.test_rows,
            self.sources,
        )

    def test_index(self) -> np.ndarray:
        """Sorted rows of the held-out test split: the official test split where
        the corpus has one, else seeded and stratified on the first label (or
        davidson's class)."""
        if self.test_rows is not None:
            return np.sort(np.asarray(self.test_rows, dtype=int))
        strat = self.classes if self.classes is not None else self.labels[:, 0]
        _, test = train_test_split(
            np.arange(len(self.texts)),
            test_size=TEST_SHARE,
            random_state=SPLIT_SEED,
            stratify=strat,
        )
        return np.sort(test)

    def split(self) -> tuple[Corpus, Corpus]:
        """(train, held-out test), see :meth:`test_index`."""
        test = np.zeros(len(self.texts), dtype=bool)
        test[self.test_index()] = True
        idx = np.arange(len(self.texts))
        return self.subset(idx[~test]), self.subset(idx[test])

    def sample(self, n: int, seed: int = 0) -> Corpus:
        """A stratified sample of ``n`` rows (all rows when ``n >= len``).

        The sample keeps the full corpus's split: its test rows are the sampled
        rows of :meth:`test_index`, so a model trained on a sample's training
        split never sees a row of the corpus's held-out test split.
        """
        if n >= len(self.texts):
            return self
        strat = self.classes if self.classes is not None else self.labels[:, 0]
        idx, _ = train_test_split(
            np.arange(len(self.texts)), train_size=n, random_state=seed, stratify=strat
        )
        idx = np.sort(idx)
        return replace(self.subset(idx), test_rows=np.flatnonzero(np.isin(idx, self.test_index())))


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


def load_tweeteval(data_dir: Path, task: str) -> Corpus:
    """TweetEval ``task`` (``offensive`` or ``hate``), label named after the task.

    Train and validation files form the training rows; the official test file
    is the test split (``Corpus.split``).
    """
    if task not in TWEETEVAL_TASKS:
        raise NotFound(f"unknown TweetEval task {task!r}; expected one of {TWEETEVAL_TASKS}")
    folder = Path(data_dir) / TWEETEVAL / task
    texts: list[str] = []
    labels: list[int] = []
    test_rows: list[int] = []
    digest = hashlib.sha256()
    for part in ("train", "val", "test"):
        text_file = _require(folder / f"{part}_text.txt")
        label_file = _require(folder / f"{part}_labels.txt")
        digest.update(text_file.read_bytes() + label_file.read_bytes())
        lines = text_file.read_text(encoding="utf-8").splitlines()
        values = [int(v) for v in label_file.read_text(encoding="utf-8").split()]
        if len(lines) != len(values):
            raise NotFound(f"{text_file} and {label_file} differ in length")
        if part == "test":
            test_rows.extend(range(len(texts), len(texts) + len(lines)))
        texts.extend(line.strip() for line in lines)
        labels.extend(values)
    y = np.array(labels, dtype=int).reshape(-1, 1)
    return Corpus(
        f"tweeteval-{task}", texts, y, (task,), None, digest.hexdigest(), np.array(test_rows)
    )


def markup_to_text(text: str) -> str:
    """Readable text of an e-mail body: style/script blocks and tags dropped,
    entities decoded, runs of blank space collapsed."""
    text = _STYLE.sub(" ", text)
    text = html.unescape(_TAG.sub(" ", text))
    return _SPACE.sub(lambda m: "\n" if "\n" in m.group() else " ", text).strip()


def load_email_spam(data_dir: Path) -> Corpus:
    """SpamAssassin e-mails (subject, blank line, body) as text, label ``spam``.

    Texts repeated within the corpus are kept once, so a seeded split never
    puts one copy in training and another in the test rows.
    """
    path = _require(Path(data_dir) / EMAIL_SPAM)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # e-mails exceed the 128 KiB default
    texts: list[str] = []
    labels: list[int] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = markup_to_text(row["text"])
            if row["label"] not in ("ham", "spam") or text in seen:
                continue
            seen.add(text)
            texts.append(text)
            labels.append(int(row["label"] == "spam"))
    y = np.array(labels, dtype=int).reshape(-1, 1)
    return Corpus("email-spam", texts, y, ("spam",), None, file_sha256(path))


def combine(name: str, parts: Sequence[Corpus], label_names: tuple[str, ...]) -> Corpus:
    """One corpus of several, labels aligned by name (-1 where a part does not
    label a column); each part's test split stays the combined test split."""
    texts: list[str] = []
    blocks: list[np.ndarray] = []
    test_rows: list[np.ndarray] = []
    sources: list[np.ndarray] = []
    digest = hashlib.sha256()
    for part in parts:
        sources.append(part.row_sources())
        block = np.full((len(part), len(label_names)), -1, dtype=int)
        for j, label in enumerate(label_names):
            if label in part.label_names:
                block[:, j] = part.labels[:, part.label_names.index(label)]
        test_rows.append(part.test_index() + len(texts))
        texts.extend(part.texts)
        blocks.append(block)
        digest.update(f"{part.name}:{part.sha256};".encode())
    return Corpus(
        name,
        texts,
        np.vstack(blocks) if blocks else np.zeros((0, len(label_names)), dtype=int),
        label_names,
        None,
        digest.hexdigest(),
        np.concatenate(test_rows) if test_rows else np.zeros(0, dtype=int),
        np.concatenate(sources) if sources else np.zeros(0, dtype=object),
    )


def toxicity_corpus(data_dir: Path) -> Corpus:
    """What the toxicity classifier learns from: davidson (``offensive``,
    ``hate``) plus, where present, TweetEval offensive and TweetEval hate."""
    parts = [load_davidson(data_dir)]
    for task in TWEETEVAL_TASKS:
        if (Path(data_dir) / TWEETEVAL / task / "test_text.txt").is_file():
            parts.append(load_tweeteval(data_dir, task))
    return combine("+".join(p.name for p in parts), parts, ("offensive", "hate"))


def spam_corpus(data_dir: Path) -> Corpus:
    """What the spam classifier learns from: SMS spam plus, where present, the e-mails."""
    parts = [load_sms_spam(data_dir)]
    if (Path(data_dir) / EMAIL_SPAM).is_file():
        parts.append(load_email_spam(data_dir))
    return combine("+".join(p.name for p in parts), parts, ("spam",))
