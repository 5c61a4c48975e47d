"""The Home Depot search benchmark: split, judgements, protocol pieces."""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import generalisation_search as gs


def test_split_is_the_committed_hash_rule() -> None:
    # The rule is the record of the split: crc32 of the UTF-8 query text, even = tuning.
    for query in ("angle bracket", "l bracket", "deck over", "1/2 in. pvc", "fuacet"):
        assert gs.is_tuning_query(query) == (zlib.crc32(query.encode("utf-8")) % 2 == 0)
    assert gs.is_tuning_query("angle bracket") is False
    assert gs.is_tuning_query("l bracket") is True


def test_split_keeps_each_query_in_one_part_and_drops_unrankable_ones() -> None:
    qrels = {
        "angle bracket": {"1": 2.0, "2": 0.0},  # test
        "l bracket": {"1": 1.5},  # tuning, one product
        "deck over": {"3": 0.0, "4": 0.0},  # no positive gain: no ideal ranking
    }
    tuning, test = gs.split_queries(qrels)
    assert tuning == {"l bracket": {"1": 1.5}}
    assert test == {"angle bracket": {"1": 2.0, "2": 0.0}}
    # Re-ranking needs two judged products.
    assert gs.rerank_judgements(tuning) == {}
    assert gs.rerank_judgements(test) == test


def test_judgements_read_gain_as_relevance_minus_one(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text(
        '"id","product_uid","product_title","search_term","relevance"\n'
        '2,100001,"Simpson Strong-Tie 12-Gauge Angle","angle bracket",3\n'
        '3,100001,"Simpson Strong-Tie 12-Gauge Angle","l bracket",2.5\n'
        '9,100002,"BEHR Premium Textured DeckOver","angle bracket",1\n',
        encoding="latin-1",
    )
    titles, qrels = gs.load_judgements(path)
    assert titles == {
        "100001": "Simpson Strong-Tie 12-Gauge Angle",
        "100002": "BEHR Premium Textured DeckOver",
    }
    assert qrels == {
        "angle bracket": {"100001": 2.0, "100002": 0.0},
        "l bracket": {"100001": 1.5},
    }


def test_unreturned_products_rank_last_in_id_order() -> None:
    ranked = gs.complete([("20", 3.0)], ["100", "20", "3"])
    assert [d for d, _ in ranked] == ["20", "3", "100"]


def test_ndcg_counts_unjudged_products_as_gain_zero() -> None:
    qrels = {"q": {"a": 2.0, "b": 1.0}}
    perfect = {"q": [("a", 2.0), ("b", 1.0)]}
    with_unjudged = {"q": [("x", 3.0), ("a", 2.0), ("b", 1.0)]}
    assert gs.ndcg(perfect, qrels) == pytest.approx(1.0)
    assert gs.ndcg(with_unjudged, qrels) < 1.0


def test_merge_keeps_the_other_sections(tmp_path: Path) -> None:
    path = tmp_path / "generalisation.json"
    path.write_text(json.dumps({"tagging": {"k5": 0.9}, "search": {"old": 1}}))
    gs.merge_section(path, "search", {"product": {"full": {}}})
    assert json.loads(path.read_text()) == {
        "tagging": {"k5": 0.9},
        "search": {"product": {"full": {}}},
    }
