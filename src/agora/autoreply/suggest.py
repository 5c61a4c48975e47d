"""Smart chat replies (seed 001's ``POST /auto-reply``): retrieve, fill, check, moderate.

For the buyer's last message the service reads its language, chat intent and
emotion (the ``agora.language`` heads over one encoding), then ranks every
candidate: the operator's templates of that language and the seller's own
past replies. A candidate's score is the cosine similarity of the buyer's
message to what the candidate answers (a template's own text, a past reply's
buyer message), plus the intent head's probability of the candidate's intent
(``INTENT_WEIGHT``) and, for candidates meant for some emotions (an apology
for anger), the emotion head's probability of those (``EMOTION_WEIGHT``); a
seller's own reply gets a small bonus (it is in the seller's voice).

Best first, each candidate is filled with the listing's facts
(``agora.autoreply.facts``): one that needs a fact the listing lacks, or
states a price or stock count not traced to the listing, is dropped; then
moderation analyses the filled text and only an ``approve`` with no rule hit
is offered. The answer says how many were dropped and why. Without a trained
head the ranking is similarity alone, and the answer says so.

Example:
    >>> service.suggest("s-1", [Turn("buyer", "is it still available?")],
    ...                 ListingFacts(stock=2))["suggestions"][0]["text"]  # doctest: +SKIP
    'Yes, 2 left. Happy to ship today.'
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from agora.autoreply.facts import ListingFacts, fill, untraced_claims
from agora.errors import InvalidInput
from agora.moderation.base import Action

if TYPE_CHECKING:
    from agora.autoreply.store import ReplyStore
    from agora.config import LanguageSettings
    from agora.language.service import TextUnderstanding

INTENT_WEIGHT = 0.5
EMOTION_WEIGHT = 0.3
HISTORY_BONUS = 0.1
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class Turn:
    """One message of the conversation."""

    role: str  # buyer | seller
    text: str


def _probability(scores: dict[str, float] | None, labels: list[str] | str | None) -> float:
    if not scores or not labels:
        return 0.0
    wanted = [labels] if isinstance(labels, str) else labels
    return float(sum(scores.get(label, 0.0) for label in wanted))


class AutoReply:
    """Suggest replies for a seller from templates and the seller's past replies."""

    def __init__(
        self, store: ReplyStore, understanding: TextUnderstanding, settings: LanguageSettings
    ) -> None:
        self.store = store
        self.understanding = understanding
        self.settings = settings

    def read(self, text: str, language: str | None = None) -> dict[str, Any]:
        """Language, chat intent and emotion of one buyer message (heads may be absent)."""
        moderation = self.understanding.moderation
        guess = moderation.language.detect(text)
        try:
            heads = self.understanding.provider.heads()
        # The store is down: suggestions still come, ranked by similarity alone.
        except Exception:  # noqa: BLE001
            heads = {}
        vector = self.understanding.encode([text])
        out: dict[str, Any] = {
            "language": language or guess.language or FALLBACK_LANGUAGE,
            "vector": vector[0],
            "intent": None,
            "emotion": None,
            "models": [moderation.language.model],
        }
        for field, name in (("intent", "language-chat-intent"), ("emotion", "language-emotion")):
            head = heads.get(name)
            if head is not None:
                result = head.predict([text], vector)[0]
                out[field] = result
                out["models"].append(result.model)
        return out

    def _candidates(self, seller_id: str, language: str) -> list[dict[str, Any]]:
        found = [
            {
                "source": "template",
                "source_id": f"template:{t['id']}",
                "text": t["text"],
                "context": t["text"],
                "intent": t["intent"],
                "emotions": t["emotions"],
            }
            for t in self.store.templates(language=language)
        ]
        for r in self.store.past_replies(seller_id, self.settings.auto_reply_past_replies):
            if r["language"] not in (None, language):
                continue
            found.append(
                {
                    "source": "history",
                    "source_id": f"history:{r['id']}",
                    "text": r["reply"],
                    "context": r["buyer_message"],
                    "intent": r["intent"],
                    "emotions": [r["emotion"]] if r["emotion"] else None,
                }
            )
        return found

    def suggest(
        self,
        seller_id: str,
        conversation: list[Turn],
        facts: ListingFacts,
        *,
        language: str | None = None,
    ) -> dict[str, Any]:
        """Up to ``language.auto_reply_suggestions`` replies, best first."""
        buyer = [t.text for t in conversation if t.role == "buyer" and t.text.strip()]
        if not buyer:
            raise InvalidInput("the conversation has no buyer message to answer")
        message = buyer[-1]
        reading = self.read(message, language)
        lang = reading["language"]
        intent, emotion = reading["intent"], reading["emotion"]
        candidates = self._candidates(seller_id, lang)
        similarity = np.zeros(0, dtype=np.float32)
        if candidates:
            contexts = self.understanding.encode([c["context"] for c in candidates])
            similarity = contexts @ np.asarray(reading["vector"], dtype=np.float32)
        for c, sim in zip(candidates, similarity.tolist(), strict=True):
            c["score"] = (
                float(sim)
                + INTENT_WEIGHT * _probability(intent.scores if intent else None, c["intent"])
                + EMOTION_WEIGHT * _probability(emotion.scores if emotion else None, c["emotions"])
                + (HISTORY_BONUS if c["source"] == "history" else 0.0)
            )
        candidates.sort(key=lambda c: -c["score"])
        offered: list[dict[str, Any]] = []
        skipped: Counter[str] = Counter()
        seen: set[str] = set()
        moderation = self.understanding.moderation
        for c in candidates:
            if len(offered) >= self.settings.auto_reply_suggestions:
                break
            filled = fill(c["text"], facts)
            if filled is None:
                skipped["missing_fact"] += 1
                continue
            traced = [t.value for t in filled.traces]
            if untraced_claims(filled.text, traced, any_number=c["source"] == "history"):
                skipped["untraced_fact"] += 1
                continue
            if filled.text in seen:
                continue
            verdict = moderation.analyze_text(filled.text)
            if verdict.action is not Action.APPROVE or verdict.matches:
                skipped["moderation"] += 1
                continue
            seen.add(filled.text)
            offered.append(
                {
                    "text": filled.text,
                    "source": c["source"],
                    "source_id": c["source_id"],
                    "intent": c["intent"],
                    "score": round(c["score"], 4),
                    "facts": [
                        {"slot": t.slot, "value": t.value, "field": t.field} for t in filled.traces
                    ],
                    "moderation": {
                        "action": verdict.action.value,
                        "safety": round(verdict.safety, 4),
                    },
                }
            )
        return {
            "suggestions": offered,
            "language": lang,
            "intent": intent.to_dict() if intent else None,
            "emotion": emotion.to_dict() if emotion else None,
            "candidates": len(candidates),
            "skipped": dict(skipped),
            "models": reading["models"],
        }
