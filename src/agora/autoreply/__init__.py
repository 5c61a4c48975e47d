"""Auto-reply (seed 001's ``POST /auto-reply``): reply suggestions for sellers from
operator-approved templates and the seller's own past replies, conditioned on
the buyer message's intent and emotion, filled only with traced listing facts
and passed through moderation.

- ``facts``: slots, filling, the untraced-claim check, delexicalisation;
- ``store``: templates and past replies (tables in ``tables``);
- ``suggest``: retrieval, ranking, filling, checking, moderation.
"""

from agora.autoreply.facts import ListingFacts
from agora.autoreply.store import ReplyStore
from agora.autoreply.suggest import AutoReply, Turn

__all__ = ["AutoReply", "ListingFacts", "ReplyStore", "Turn"]
