"""False-positive budget of text moderation on legitimate product text, and its recall.

Legitimate text: the 54,667 unique product titles of the Home Depot search
relevance set (``../shared/data/homedepot-search-relevance/train.csv``,
latin-1; evaluation use only, nothing is copied into the repository). The set
has titles only, no descriptions. Every title is a real product on sale, so
any title moderation flags, holds or blocks is a false positive.

* ``rules.*``: the rules layer (``RuleSet.packaged()``) over every title; a
  title with any rule hit (review or block) is held.
* ``full.*``: the whole text analysis as served (language, rules, profanity,
  the shipped toxicity and spam classifiers with the stacked TF-IDF + MiniLM
  view) and the decision of ``assess``. At ~65 ms a title on 2 cores the
  whole set would take an hour, so it runs on a seeded sample
  (``--full-sample``, 3,000 titles by default); ``full.product_false_flag_rate``
  counts ``flag`` and ``block`` (held), ``full.product_watch_rate`` the
  titles queued for a look but left live (advisory labels).
* ``rules.product_false_flag_rate``: the rules layer's rate over all the
  titles, with its ten most common reasons (rule ids).
* ``moderation.product_false_flag_rate`` (goal < 0.002): the full analysis's
  rate (``full.product_false_flag_rate``); the rules' rate with
  ``--full-sample 0``. The full analysis samples the fixed test half of the
  titles (every second title in product id order, :func:`held_out_titles`).

Recall, so that the budget is not met by switching rules off: the share of
the spam messages of the SMS Spam Collection (747) and of SpamAssassin
(1,896 e-mails, cut to their first ``EMAIL_CHARS`` characters, a long
listing description; at the analyser's 20,000 characters the e-mail part did
not finish in 15 minutes on a loaded 2-core machine, old and new rules alike) that
the rules hold. Spam is not what the rules are for (they look for contact
diversion, off-platform payment and prohibited items), so these are lower
bounds that show the rules still fire on real abusive text; most spam holds
come from phone numbers, links and e-mail addresses. The ham messages' hold
rates are reported for information: a private message with a phone number is
legitimate mail but would be contact diversion in a listing.

Run: ``.venv/bin/python benchmarks/moderation_product_text.py`` (about 5
minutes on 2 busy cores; ``--full-sample 0`` skips the full analysis,
``--quick`` runs it on 300 titles).
``--data`` names the shared data folder (default: ``../shared/data`` beside
the checkout); ``--out`` writes elsewhere (e.g. to measure another checkout's rules with
``PYTHONPATH=<checkout>/src``). Writes
``benchmarks/results/moderation_product_text.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from collections import Counter
from pathlib import Path

from agora.config import ModerationSettings
from agora.moderation.datasets import load_sms_spam
from agora.moderation.rules import RuleSet

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HOMEDEPOT = Path("homedepot-search-relevance") / "train.csv"
EMAIL_SPAM = Path("email-spam") / "spamassassin.csv"
OUT = Path(__file__).resolve().parent / "results" / "moderation_product_text.json"
GOAL = 0.002
EMAIL_CHARS = 2000


def product_titles(data: Path) -> list[str]:
    """The unique product titles, in product id order."""
    titles: dict[str, str] = {}
    with (data / HOMEDEPOT).open(encoding="latin-1", newline="") as fh:
        for row in csv.DictReader(fh):
            titles[row["product_uid"]] = row["product_title"]
    return [titles[k] for k in sorted(titles, key=int)]


def email_corpus(data: Path, max_chars: int) -> tuple[list[str], list[str]]:
    """(spam, ham) texts of SpamAssassin, each cut at ``max_chars``."""
    spam: list[str] = []
    ham: list[str] = []
    csv.field_size_limit(1 << 26)
    with (data / EMAIL_SPAM).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            (spam if row["label"] == "spam" else ham).append(row["text"][:max_chars])
    return spam, ham


def held_share(rules: RuleSet, texts: list[str]) -> tuple[float, Counter[str]]:
    """Share of ``texts`` with any rule hit, and the hits per rule id."""
    reasons: Counter[str] = Counter()
    held = 0
    for text in texts:
        matches = rules.match(text)
        held += bool(matches)
        reasons.update(m.rule_id for m in matches)
    return held / max(len(texts), 1), reasons


def held_out_titles(titles: list[str]) -> list[str]:
    """The fixed test half of the titles: every second one in product id order.

    The other half is the tuning part; nothing in the served analysis is
    chosen on either (the hold rule is the Bayes decision at the configured
    base rates, ``moderation.hold_probability``), so the tuning part is unused.
    """
    return titles[1::2]


def full_analysis(titles: list[str], n: int, seed: int) -> dict[str, float | str]:
    """The served text analysis on a seeded sample of ``n`` titles of the test part."""
    from agora.moderation.score import assess
    from agora.moderation.shipped import load_shipped
    from agora.moderation.text import TextAnalyzer, TextModels

    settings = ModerationSettings()
    models = TextModels(load_shipped("moderation-toxicity")[0], load_shipped("moderation-spam")[0])
    analyzer = TextAnalyzer(settings, models=models)
    test = held_out_titles(titles)
    sample = random.Random(seed).sample(test, min(n, len(test)))
    decisions: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    t0 = time.perf_counter()
    for title in sample:
        verdict = analyzer.analyze(title)
        decision = assess(verdict, [], settings).decision
        decisions[decision] += 1
        if decision in ("flag", "block"):
            reasons.update(
                r.detail.split(":")[0] if r.source == "rule" else r.source
                for r in verdict.reasons
                if r.severity.value != "approve" or r.source not in settings.advisory_labels
            )
    seconds = time.perf_counter() - t0
    size = len(sample)
    out: dict[str, float | str] = {
        "full.sample": float(size),
        "full.view": analyzer.view,
        "full.served_views": ", ".join(
            f"{lb}={clf.served_view(lb, analyzer.view)}"
            for clf in (models.toxicity, models.spam)
            if clf is not None
            for lb in clf.label_names
        ),
        "full.test_part_titles": float(len(test)),
        "full.product_false_flag_rate": (decisions["flag"] + decisions["block"]) / size,
        "full.product_block_rate": decisions["block"] / size,
        "full.product_watch_rate": decisions["watch"] / size,
        # One-sided 95 % upper bound when nothing is flagged (rule of three).
        "full.false_flag_rate_upper95_if_zero": 3.0 / size,
        "full.ms_per_title": 1000 * seconds / size,
    }
    for i, (reason, count) in enumerate(reasons.most_common(10), 1):
        out[f"full.top_reason.{i:02d}"] = f"{reason} ({count})"
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full-sample", type=int, default=3000)
    parser.add_argument("--quick", action="store_true", help="full analysis on 300 titles")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    args = parser.parse_args()
    if args.quick:
        args.full_sample = min(args.full_sample, 300)
    rules = RuleSet.packaged()
    results: dict[str, float | str] = {"rules.version": rules.model}

    titles = product_titles(args.data)
    t0 = time.perf_counter()
    rate, reasons = held_share(rules, titles)
    results["rules.ms_per_title"] = 1000 * (time.perf_counter() - t0) / len(titles)
    results["products.titles"] = float(len(titles))
    results["rules.product_false_flag_rate"] = rate
    results["rules.product_false_flags"] = round(rate * len(titles))
    results["moderation.product_false_flag_goal"] = GOAL
    for i, (rule_id, count) in enumerate(reasons.most_common(10), 1):
        results[f"rules.product_top_reason.{i:02d}"] = f"{rule_id} ({count})"
    print(f"titles: {rate:.5f} of {len(titles)} held", flush=True)

    sms = load_sms_spam(args.data)
    sms_spam = [t for t, y in zip(sms.texts, sms.labels[:, 0], strict=True) if y == 1]
    sms_ham = [t for t, y in zip(sms.texts, sms.labels[:, 0], strict=True) if y == 0]
    email_spam, email_ham = email_corpus(args.data, EMAIL_CHARS)
    for name, texts in (
        ("sms_spam", sms_spam),
        ("email_spam", email_spam),
        ("sms_ham", sms_ham),
        ("email_ham", email_ham),
    ):
        share, hits = held_share(rules, texts)
        print(f"{name}: {share:.4f} of {len(texts)} held", flush=True)
        kind = "recall" if name.endswith("spam") else "held_rate"
        results[f"rules.{name}.texts"] = float(len(texts))
        results[f"rules.{name}.{kind}"] = share
        top = ", ".join(f"{r} {c}" for r, c in hits.most_common(3))
        results[f"rules.{name}.top_rules"] = top

    if args.full_sample > 0:
        results |= full_analysis(titles, args.full_sample, args.seed)
        # The headline is the whole analysis as served (rules and classifiers).
        results["moderation.product_false_flag_rate"] = results["full.product_false_flag_rate"]
        results["moderation.product_false_flag_scope"] = (
            f"full analysis, {int(results['full.sample'])} titles of the test half"
        )
    else:
        results["moderation.product_false_flag_rate"] = rate
        results["moderation.product_false_flag_scope"] = "rules only, every title"

    print(f"{'figure':45s} value")
    for key, value in results.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"{key:45s} {shown}")
    verdict = "met" if results["moderation.product_false_flag_rate"] < GOAL else "NOT met"
    print(f"goal: product false flag rate < {GOAL} ({verdict})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rounded = {k: round(v, 5) if isinstance(v, float) else v for k, v in results.items()}
    args.out.write_text(json.dumps(rounded, indent=2) + "\n")


if __name__ == "__main__":
    main()
