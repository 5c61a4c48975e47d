"""Top-k ranking metrics, defined as in Microsoft Recommenders' ``python_evaluation``.

For each user with at least one held-out item (``relevant``) and a
recommendation list ``top`` (first k kept), with ``hits`` the recommended
items that are relevant and ``rank`` 1-based:

- precision@k = |hits| / k
- recall@k    = |hits| / |relevant|
- ndcg@k      = sum_hits 1/log2(rank+1) / sum_{i=1..min(|relevant|,k)} 1/log2(i+1)
  (binary relevance, ``ndcg_at_k`` with ``relevancy_method="top_k"``)
- map@k       = sum_hits precision@rank / min(|relevant|, k)
  (``map_at_k``; the untruncated ``map`` divides by |relevant| instead)

Each is averaged over the users that appear in both the truth and the
predictions. Catalog coverage (``catalog_coverage``) is the number of distinct
recommended items over the number of distinct items in the training data.

Example:
    >>> m = ranking_metrics({"u": ["a", "b"]}, {"u": {"b"}}, k=2)
    >>> round(m["precision@2"], 3), round(m["ndcg@2"], 3), m["map@2"]
    (0.5, 0.631, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence


def ranking_metrics(
    predictions: Mapping[str, Sequence[str]],
    truth: Mapping[str, Collection[str]],
    *,
    k: int = 10,
) -> dict[str, float]:
    """precision@k, recall@k, ndcg@k and map@k averaged over common users."""
    users = [u for u in truth if u in predictions and truth[u]]
    if not users:
        return {f"{m}@{k}": 0.0 for m in ("precision", "recall", "ndcg", "map")}
    discounts = [1.0 / math.log2(i + 2) for i in range(k)]
    p = r = nd = ap = 0.0
    for u in users:
        relevant = set(truth[u])
        top = list(predictions[u])[:k]
        hits = 0
        dcg = 0.0
        prec_sum = 0.0
        for i, item in enumerate(top):
            if item in relevant:
                hits += 1
                dcg += discounts[i]
                prec_sum += hits / (i + 1)
        ideal = sum(discounts[: min(len(relevant), k)])
        p += hits / k
        r += hits / len(relevant)
        nd += dcg / ideal
        ap += prec_sum / min(len(relevant), k)
    n = len(users)
    return {f"precision@{k}": p / n, f"recall@{k}": r / n, f"ndcg@{k}": nd / n, f"map@{k}": ap / n}


def catalog_coverage(predictions: Mapping[str, Sequence[str]], n_train_items: int) -> float:
    """Distinct recommended items / distinct training items."""
    seen = {item for items in predictions.values() for item in items}
    return len(seen) / n_train_items if n_train_items else 0.0
