"""The labelled corpora the language heads are trained and measured on, with their
official splits (see ``shared/data/SOURCES.md`` for origins and licences).

* XLM-T / UMSAB sentiment (``xlmt-sentiment/<language>/``): tweets in 8
  languages, 1,839 train / 324 val / 870 test each, labels 0 negative,
  1 neutral, 2 positive.
* TweetEval sentiment (``tweeteval/sentiment/``, English, SemEval-2017): val
  and test only here; used as another source for the sentiment head.
* MELD (``meld-emotion/{train,dev,test}_sent_emo.csv``): utterances from the
  TV series Friends with exactly the 7 emotions of seed 003.
* TweetEval emotion (``tweeteval/emotion/``): anger, joy, optimism, sadness;
  the classes MELD shares (anger, joy, sadness) measure the emotion head on
  another source.
* CLINC150 (``clinc150-intent/data_full.json``): 150 intents plus ``oos``.
* The marketplace chat set written for Agora (``agora/language/data/chat_intents.csv``,
  shipped): buyer and seller turns in English, Indonesian and Spanish labelled
  with the seed's 6 chat intents.

No corpus but the chat set is shipped in the package; ``default_data_dirs``
(shared with moderation) finds ``shared/data`` beside a checkout.

Example:
    >>> split = xlmt_sentiment(Path("../shared/data"), "english", "train")  # doctest: +SKIP
    >>> len(split.texts), split.classes  # doctest: +SKIP
    (1839, ('negative', 'neutral', 'positive'))
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from agora.errors import NotFound

XLMT = Path("xlmt-sentiment")
XLMT_LANGUAGES = {
    "arabic": "ar",
    "english": "en",
    "french": "fr",
    "german": "de",
    "hindi": "hi",
    "italian": "it",
    "portuguese": "pt",
    "spanish": "es",
}
SENTIMENT_CLASSES = ("negative", "neutral", "positive")
EMOTION_CLASSES = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
TWEETEVAL_EMOTION = ("anger", "joy", "optimism", "sadness")
CHAT_INTENTS = ("question", "statement", "command", "complaint", "praise", "request")
OOS = "oos"
CHAT_FILE = Path(__file__).parent / "data" / "chat_intents.csv"
MELD_SPLITS = {"train": "train", "val": "dev", "test": "test"}


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with one class label each (``labels`` index ``classes``)."""

    name: str
    texts: list[str]
    labels: list[int]
    classes: tuple[str, ...]
    sha256: str = ""
    groups: list[str] = field(default_factory=list)  # e.g. each row's language

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, rows: list[int]) -> LabelledTexts:
        """The rows ``rows``, in that order."""
        return LabelledTexts(
            self.name,
            [self.texts[i] for i in rows],
            [self.labels[i] for i in rows],
            self.classes,
            self.sha256,
            [self.groups[i] for i in rows] if self.groups else [],
        )

    def __add__(self, other: LabelledTexts) -> LabelledTexts:
        if other.classes != self.classes:
            raise ValueError("cannot join corpora with different classes")
        groups = (self.groups or [self.name] * len(self)) + (
            other.groups or [other.name] * len(other)
        )
        digest = hashlib.sha256((self.sha256 + other.sha256).encode()).hexdigest()
        return LabelledTexts(
            f"{self.name}+{other.name}",
            self.texts + other.texts,
            self.labels + other.labels,
            self.classes,
            digest,
            groups,
        )


def _require(path: Path) -> Path:
    if not path.is_file():
        raise NotFound(f"dataset file {path} not found (see shared/data/SOURCES.md)")
    return path


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


def _tweeteval_layout(folder: Path, split: str) -> tuple[list[str], list[int], str]:
    texts_path = _require(folder / f"{split}_text.txt")
    labels_path = _require(folder / f"{split}_labels.txt")
    texts = texts_path.read_text(encoding="utf-8").split("\n")
    labels = [int(x) for x in labels_path.read_text(encoding="utf-8").split()]
    texts = texts[: len(labels)]  # a trailing newline leaves one empty line
    if len(texts) != len(labels):
        raise NotFound(f"{folder}: {split} texts and labels differ in length")
    return [t.strip() for t in texts], labels, _digest(texts_path, labels_path)


def xlmt_sentiment(data_dir: Path, language: str, split: str) -> LabelledTexts:
    """One language's split (``train``, ``val``, ``test``) of XLM-T sentiment."""
    if language not in XLMT_LANGUAGES:
        raise NotFound(f"XLM-T has no language {language!r}: {sorted(XLMT_LANGUAGES)}")
    texts, labels, sha = _tweeteval_layout(Path(data_dir) / XLMT / language, split)
    code = XLMT_LANGUAGES[language]
    return LabelledTexts(f"xlmt-{code}", texts, labels, SENTIMENT_CLASSES, sha, [code] * len(texts))


def xlmt_all(data_dir: Path, split: str, languages: list[str] | None = None) -> LabelledTexts:
    """The split of every language (or of ``languages``), joined."""
    parts = [xlmt_sentiment(data_dir, lang, split) for lang in languages or list(XLMT_LANGUAGES)]
    out = parts[0]
    for part in parts[1:]:
        out = out + part
    return LabelledTexts("xlmt", out.texts, out.labels, out.classes, out.sha256, out.groups)


def tweeteval_sentiment(data_dir: Path, split: str = "test") -> LabelledTexts:
    """TweetEval sentiment (English SemEval-2017; val and test here)."""
    folder = Path(data_dir) / "tweeteval" / "sentiment"
    texts, labels, sha = _tweeteval_layout(folder, split)
    return LabelledTexts("tweeteval-sentiment", texts, labels, SENTIMENT_CLASSES, sha)


def meld_emotion(data_dir: Path, split: str) -> LabelledTexts:
    """MELD utterances (``train``, ``val``, ``test``) with their 7 emotions."""
    path = _require(Path(data_dir) / "meld-emotion" / f"{MELD_SPLITS[split]}_sent_emo.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # The transcripts use curly quotes and a few mis-decoded dashes; the text is kept.
    texts = [r["Utterance"].replace("\x92", "'").strip() for r in rows]
    labels = [EMOTION_CLASSES.index(r["Emotion"].strip()) for r in rows]
    return LabelledTexts(f"meld-{split}", texts, labels, EMOTION_CLASSES, _digest(path))


def tweeteval_emotion(data_dir: Path, split: str = "test") -> LabelledTexts:
    """TweetEval emotion with its own 4 classes (anger, joy, optimism, sadness)."""
    folder = Path(data_dir) / "tweeteval" / "emotion"
    texts, labels, sha = _tweeteval_layout(folder, split)
    return LabelledTexts("tweeteval-emotion", texts, labels, TWEETEVAL_EMOTION, sha)


def clinc150(data_dir: Path, split: str) -> LabelledTexts:
    """CLINC150 ``train``/``val``/``test`` with its out-of-scope rows (class ``oos``)."""
    path = _require(Path(data_dir) / "clinc150-intent" / "data_full.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = data[split] + data[f"oos_{split}"]
    classes = (*tuple(sorted({intent for _, intent in data["train"]})), OOS)
    index = {c: i for i, c in enumerate(classes)}
    return LabelledTexts(
        f"clinc150-{split}",
        [t for t, _ in rows],
        [index[i] for _, i in rows],
        classes,
        _digest(path),
    )


def chat_intents(path: Path = CHAT_FILE) -> LabelledTexts:
    """The marketplace chat set: ``text, intent, role, language`` rows; ``groups``
    holds each row's language (the held-out-language figure splits on it)."""
    with _require(Path(path)).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return LabelledTexts(
        "agora-chat-intents",
        [r["text"] for r in rows],
        [CHAT_INTENTS.index(r["intent"]) for r in rows],
        CHAT_INTENTS,
        _digest(Path(path)),
        [r["language"] for r in rows],
    )
