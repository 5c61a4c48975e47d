"""Feedback loop: confirmed tags (and creator tags) -> trained heads in the model store.

The training set is rebuilt from the catalog every time, so consent is read
at training time: an owner who withdrew ``allows_model_training`` drops out
of the next head even if their feedback was given while it was allowed.

- positives: the latest verdict per (asset, tag) is ``confirm``, or a creator
  tag names the taxonomy label;
- negatives: everything else (one-vs-rest), including explicit rejections;
- inputs: the head input vectors stored at tagging time, for the current
  encoder key only (vectors of another encoder never mix in).

Heads are fitted, evaluated and registered by the one gated path,
``agora.tagging.pipeline`` (first model -> champion, a better one ->
challenger, a worse one -> rejected); every caller goes through it.

Example:
    >>> data = build_training_set(db, consent, taxonomy, encoder_key)  # doctest: +SKIP
    >>> len(data.asset_ids)  # doctest: +SKIP
    36
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from agora.errors import NotFound
from agora.governance.consent import ConsentRegistry
from agora.mlops.base import ModelStore
from agora.storage.database import Database
from agora.storage.tables import AssetRow
from agora.tagging.heads import TagKey
from agora.tagging.tables import TagEmbeddingRow, TagFeedbackRow
from agora.tagging.taxonomy import Taxonomy

HEADS_MODEL = "tag-heads"


@dataclass
class TrainingSet:
    asset_ids: list[str]
    x: np.ndarray
    labels: list[set[TagKey]]
    last_feedback_id: int
    # Every stored head input of this encoder (the catalog statistics).
    catalog: np.ndarray
    # Per row: the tags confirmed through feedback (creator tags excluded).
    confirmed: list[set[TagKey]]


def build_training_set(
    db: Database, consent: ConsentRegistry, taxonomy: Taxonomy, encoder_key: str
) -> TrainingSet:
    """Rows of every asset with a stored head input, feedback or creator tags, and consent."""
    with db.session() as s:
        feedback = s.execute(
            select(TagFeedbackRow).order_by(TagFeedbackRow.id)
        ).scalars().all()  # fmt: skip
        last_id = max((f.id for f in feedback), default=0)
        verdicts: dict[str, dict[TagKey, str]] = {}
        owners: dict[str, str] = {}
        for f in feedback:  # ordered by id: the latest verdict wins
            verdicts.setdefault(f.asset_id, {})[(f.category, f.label)] = f.verdict
            owners[f.asset_id] = f.owner_id
        embedded = {
            r.asset_id: r.vector
            for r in s.execute(
                select(TagEmbeddingRow).where(TagEmbeddingRow.encoder == encoder_key)
            ).scalars()
        }
        assets = {
            a.id: (a.seller_id, list(a.creator_tags or []))
            for a in s.execute(select(AssetRow).where(AssetRow.id.in_(list(embedded)))).scalars()
        }
    allowed: dict[str, bool] = {}
    ids, rows, labels, confirmed = [], [], [], []
    for asset_id, vector in embedded.items():
        owner = owners.get(asset_id) or (assets.get(asset_id, (None, []))[0])
        if owner is None:
            continue
        if owner not in allowed:
            allowed[owner] = consent.get(owner).allows_model_training
        if not allowed[owner]:
            continue
        positives = {k for k, v in verdicts.get(asset_id, {}).items() if v == "confirm"}
        from_feedback = set(positives)
        for tag in assets.get(asset_id, (None, []))[1]:
            hit = taxonomy.resolve(str(tag)) if isinstance(tag, str) else None
            if hit and verdicts.get(asset_id, {}).get(hit) != "reject":
                positives.add(hit)
        if not positives and asset_id not in verdicts:
            continue  # an asset nobody labelled teaches nothing
        confirmed.append(from_feedback)
        ids.append(asset_id)
        rows.append(np.frombuffer(vector, dtype=np.float32))
        labels.append(positives)
    matrix = np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
    catalog = (
        np.stack([np.frombuffer(v, dtype=np.float32) for v in embedded.values()])
        if embedded
        else matrix
    )
    return TrainingSet(ids, matrix, labels, last_id, catalog, confirmed)


def feedback_since(db: Database, after_id: int, consent: ConsentRegistry | None = None) -> int:
    """Feedback rows newer than ``after_id`` (the retraining trigger); with ``consent``,
    only rows of owners who allow model training (the others cannot change a head)."""
    with db.session() as s:
        counts = s.execute(
            select(TagFeedbackRow.owner_id, func.count())
            .where(TagFeedbackRow.id > after_id)
            .group_by(TagFeedbackRow.owner_id)
        ).all()
    return sum(
        int(n) for owner, n in counts if consent is None or consent.get(owner).allows_model_training
    )


def last_trained_feedback(models: ModelStore) -> int:
    """Last feedback id the newest registered heads were trained on (0: none yet).

    The retraining trigger counts from here, not from the champion: a retrain
    the gate rejected has seen that feedback, and must not run again at every
    following feedback request.
    """
    try:
        snapshot = models.info(HEADS_MODEL).data_snapshot or ""
    except NotFound:
        return 0
    match = re.search(r"tag_feedback<=(\d+)", snapshot)
    return int(match.group(1)) if match else 0
