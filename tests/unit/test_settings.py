"""Strict settings: unknown keys and invalid values stop start-up with a message
that names the setting, the valid choices and the closest one to a typo."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from agora.config import (
    EVENT_TYPES,
    MODERATION_LABELS,
    RETRIEVERS,
    Settings,
    SettingsError,
)
from agora.config_checks import closest


def load(tmp_path: Path, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    return Settings.load(data_dir=tmp_path / "agora", environ=environ or {}, **overrides)


def refused(tmp_path: Path, **overrides: object) -> str:
    with pytest.raises(SettingsError) as info:
        load(tmp_path, **overrides)
    return str(info.value)


def test_every_default_validates_and_every_section_forbids_unknown_keys(tmp_path: Path) -> None:
    settings = load(tmp_path)
    for name in Settings.model_fields:
        section = getattr(settings, name)
        if isinstance(section, BaseModel):
            assert type(section).model_config.get("extra") == "forbid", name
            # The defaults are valid input of their own section.
            type(section).model_validate(type(section)().model_dump())
    assert Settings.model_config.get("extra") == "forbid"


def test_every_field_has_a_description() -> None:
    def walk(model: type[BaseModel], prefix: str) -> typing.Iterator[str]:
        for name, info in model.model_fields.items():
            sub = info.annotation
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                yield from walk(sub, f"{prefix}{name}.")
            elif not info.description:
                yield prefix + name

    assert list(walk(Settings, "")) == []


def test_a_typo_in_a_key_is_refused_with_the_closest_key(tmp_path: Path) -> None:
    message = refused(tmp_path, search={"fusoin": "rrf"})
    assert "search.fusoin (AGORA_SEARCH__FUSOIN): unknown setting" in message
    assert "did you mean 'fusion'?" in message
    assert "rrf_k" in message  # the valid keys are listed
    message = refused(tmp_path, serch={"fusion": "rrf"})
    assert "serch: unknown setting; did you mean 'search'?" in message


@pytest.mark.parametrize(
    ("section", "key", "bad", "meant", "choices"),
    [
        ("ranking", "scorer", "lambdamrt", "lambdamart", ["final_score", "lambdamart"]),
        ("ranking", "fraud_action", "demoet", "demote", ["remove", "demote"]),
        ("search", "fusion", "rff", "rrf", ["rrf", "convex"]),
        ("search", "text_profile", "minilmm", "minilm", ["minilm", "e5"]),
        ("recommend", "hybrid_reranker", "blnd", "blend", ["blend", "ltr"]),
        ("tagging", "cloud_provider", "rekognitoin", "rekognition", ["generic", "rekognition"]),
    ],
)
def test_a_bad_choice_is_refused_listing_the_choices(
    tmp_path: Path, section: str, key: str, bad: str, meant: str, choices: list[str]
) -> None:
    message = refused(tmp_path, **{section: {key: bad}})
    env = f"AGORA_{section.upper()}__{key.upper()}"
    assert f"{section}.{key} ({env}): {bad!r} is not a valid choice" in message
    assert f"did you mean {meant!r}?" in message
    for choice in choices:
        assert repr(choice) in message


def test_the_demote_typo_no_longer_behaves_as_remove(tmp_path: Path) -> None:
    assert load(tmp_path, ranking={"fraud_action": "demote"}).ranking.fraud_action == "demote"
    refused(tmp_path, ranking={"fraud_action": "demoet"})


def test_environment_typos_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_SEARCH__FUSOIN", "rrf")
    with pytest.raises(SettingsError, match=r"AGORA_SEARCH__FUSOIN.*did you mean 'fusion'"):
        Settings.load(data_dir=tmp_path)
    monkeypatch.delenv("AGORA_SEARCH__FUSOIN")
    monkeypatch.setenv("AGORA_RANKING__SCORER", "lambdamrt")
    with pytest.raises(SettingsError, match=r"AGORA_RANKING__SCORER.*'lambdamart'"):
        Settings.load(data_dir=tmp_path)
    monkeypatch.delenv("AGORA_RANKING__SCORER")
    # A whole section misspelt is invisible to the environment source; load() names it.
    message = refused(tmp_path, environ={"AGORA_RANKNG__SCORER": "final_score"})
    assert "AGORA_RANKNG__SCORER: unknown settings section 'rankng'; did you mean 'ranking'?" in (
        message
    )
    # One underscore where nesting needs two, and a near-miss of a top-level key.
    message = refused(tmp_path, environ={"AGORA_SEARCH_FUSION": "rrf"})
    assert "AGORA_SEARCH_FUSION: nested settings use '__'; did you mean AGORA_SEARCH__FUSION?" in (
        message
    )
    message = refused(tmp_path, environ={"AGORA_DATA_DRI": "/tmp/x"})
    assert "AGORA_DATA_DRI: unknown setting; did you mean AGORA_DATA_DIR?" in message
    # Variables that are not settings (the CLI's AGORA_URL, tests' AGORA_TEST_PG) pass.
    others = ["AGORA_URL", "AGORA_KEY", "AGORA_TEST_PG", "AGORA_TEST_REDIS", "AGORA_SLACK_WEBHOOK"]
    load(tmp_path, environ=dict.fromkeys(others, "x") | {"AGORA_DATA_DIR": str(tmp_path)})


def test_toml_typos_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "agora.toml").write_text('[ranking]\nscorer = "lambdamart"\nfraud_acton = "x"\n')
    with pytest.raises(SettingsError, match=r"ranking.fraud_acton.*did you mean 'fraud_action'"):
        Settings.load(data_dir=tmp_path / "agora")
    (tmp_path / "agora.toml").write_text('[ranking]\nscorer = "lambdamart"\n')
    assert Settings.load(data_dir=tmp_path / "agora").ranking.scorer == "lambdamart"


def test_valid_settings_from_every_source_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGORA_SEARCH__FUSION", "rrf")
    monkeypatch.setenv("AGORA_SERVER__LOG_LEVEL", "debug")
    settings = Settings.load(
        data_dir=tmp_path,
        ranking={"scorer": "lambdamart", "fraud_action": "demote"},
        search={"fusion_weights": {"keyword": 1.0, "text": 0.5}},
        tagging={"cloud_provider": "generic", "cloud_url": "http://tagger:9000/tag"},
        moderation={"language_thresholds": {"th": {"offensive": 0.9}}},
        mlops={"tasks": {"nightly": "mypkg.jobs:nightly"}},
    )
    assert settings.search.fusion == "rrf"
    assert settings.server.log_level == "DEBUG"  # case-insensitive, normalised
    assert settings.ranking.fraud_action == "demote"
    assert settings.search.fusion_weights == {"keyword": 1.0, "text": 0.5}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"search": {"fusion_weights": {"keywrod": 1.0}}},
            "unknown retriever 'keywrod'; did you mean 'keyword'?",
        ),
        ({"search": {"fusion_weights": {"text": -1.0}}}, "search.fusion_weights"),
        (
            {"search": {"vector_url": "mysql://db"}},
            "search.vector_url (AGORA_SEARCH__VECTOR_URL): 'mysql://db' is not supported",
        ),
        ({"recommend": {"cache_url": "memcached://x"}}, "recommend.cache_url"),
        (
            {"features": {"affinity_weights": {"veiw": 1.0}}},
            "unknown event type 'veiw'; did you mean 'view'?",
        ),
        (
            {"moderation": {"advisory_labels": ["spma"]}},
            "unknown label 'spma'; did you mean 'spam'?",
        ),
        (
            {"moderation": {"flag_below": 0.8, "approve_at": 0.5}},
            "flag_below (0.8) must not exceed approve_at (0.5)",
        ),
        ({"moderation": {"label_priors": {"hate": 1.5}}}, "moderation.label_priors"),
        (
            {"bus": {"backoff_base_s": 90.0}},
            "backoff_base_s (90.0) must not exceed backoff_max_s (60.0)",
        ),
        ({"server": {"port": 70000}}, "server.port (AGORA_SERVER__PORT)"),
        ({"server": {"log_level": "verbose"}}, "'VERBOSE' is not a valid choice"),
        ({"ranking": {"fraud_threshold": 1.5}}, "ranking.fraud_threshold"),
        (
            {"ranking": {"sponsored_slots": [0, 4]}},
            "ranking.sponsored_slots (AGORA_RANKING__SPONSORED_SLOTS): 0 is not a 1-based",
        ),
        ({"mlops": {"canary_max_p95_ms": 900.0}}, "canary_max_p95_ms (900.0) must not exceed"),
        ({"mlops": {"alert_slack_url": "hooks.slack.com/x"}}, "is not an http(s) URL"),
        ({"mlops": {"tasks": {"x": "no_colon"}}}, "is not an import path"),
        (
            {"pipeline": {"extra_steps": ["pkg.Step"]}},
            "pipeline.extra_steps (AGORA_PIPELINE__EXTRA_STEPS): 'pkg.Step' is not",
        ),
        (
            {"tagging": {"cloud_provider": "generic"}},
            "cloud_provider 'generic' needs tagging.cloud_url",
        ),
    ],
)
def test_invalid_values_are_refused_with_a_named_message(
    tmp_path: Path, overrides: dict[str, object], expected: str
) -> None:
    assert expected in refused(tmp_path, **overrides)


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    message = refused(
        tmp_path,
        environ={"AGORA_SERCH__FUSION": "rrf"},
        ranking={"scorer": "x"},
        tagging={"text_profle": "e5"},
    )
    assert message.count("\n") == 3, message


def test_closed_choices_match_the_code_that_consumes_them() -> None:
    from agora.domain.entities import INTERACTION_TYPES
    from agora.encoders.factory import TEXT_PROFILES
    from agora.moderation.decisions import LABELS
    from agora.search.fusion import fuse

    hints = typing.get_type_hints(Settings.model_fields["search"].annotation)
    assert set(typing.get_args(hints["text_profile"])) == set(TEXT_PROFILES)
    assert set(EVENT_TYPES) == INTERACTION_TYPES
    assert set(LABELS) < set(MODERATION_LABELS)
    assert set(RETRIEVERS) == {"keyword", "text", "conse", "image"}
    assert fuse is not None
    assert closest("lambdamrt", ["final_score", "lambdamart"]) == "lambdamart"
    assert closest("zzz", ["final_score", "lambdamart"]) is None
