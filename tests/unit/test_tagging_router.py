"""Router decisions: option validation, fallback triggers, cloud permission under consent."""

from __future__ import annotations

import json
from typing import get_args

import pytest
from pydantic import ValidationError

from agora.api.schemas.tagging import AccuracyMode, ConsentBlock
from agora.api.schemas.tagging import ProcessingOptions as ApiOptions
from agora.domain import ConsentFlags
from agora.errors import InvalidInput
from agora.governance.consent import CONSENT_FIELDS
from agora.tagging import ConsentRequired, ProcessingOptions, Tag
from agora.tagging.router import (
    ACCURACY_MODES,
    OPTION_FIELDS,
    cloud_permission,
    fallback_triggers,
    require_ai_consent,
    split_consent_block,
)


def opts(**kw: object) -> ProcessingOptions:
    return ProcessingOptions.parse(kw, default_threshold=0.75)


def tags(*confs: float) -> list[Tag]:
    return [Tag(f"t{i}", c, "object_type", "m@1") for i, c in enumerate(confs)]


@pytest.mark.parametrize(
    "raw",
    [
        {"accuracy_mode": "turbo"},
        {"min_confidence": 1.5},
        {"min_confidence": "0.8"},
        {"max_processing_time": 0},
        {"use_cloud_fallback": "yes"},
        {"min_tag_count": 2.5},
        {"surprise": True},
        ["not", "an", "object"],
    ],
)
def test_bad_options_are_refused(raw: object) -> None:
    with pytest.raises(InvalidInput):
        ProcessingOptions.parse(raw, default_threshold=0.75)  # type: ignore[arg-type]


def test_defaults_come_from_settings() -> None:
    o = ProcessingOptions.parse(
        None, default_threshold=0.6, default_min_tags=2, default_budget_ms=900
    )
    assert (o.min_confidence, o.min_tag_count, o.max_processing_time) == (0.6, 2, 900.0)
    assert not o.use_cloud_fallback and o.accuracy_mode == "balanced"


def test_no_trigger_when_the_local_result_is_confident() -> None:
    assert fallback_triggers(tags(0.9, 0.85, 0.8, 0.2), opts()) == []


def test_each_trigger_fires_on_its_condition_only() -> None:
    assert fallback_triggers(tags(0.9, 0.85, 0.7), opts()) == [
        "top-3 tag below 0.75",
        "fewer than 3 confident tags",
    ]
    # Four confident tags, and the fourth (weak) is outside the top 3: no trigger.
    assert fallback_triggers(tags(0.9, 0.85, 0.8, 0.1), opts(min_tag_count=3)) == []
    assert fallback_triggers(tags(0.9, 0.85), opts(min_tag_count=3)) == [
        "fewer than 3 confident tags"
    ]
    assert fallback_triggers(tags(0.9, 0.85, 0.8), opts(accuracy_mode="accurate")) == [
        "accuracy_mode accurate"
    ]
    assert fallback_triggers(tags(0.9, 0.85, 0.8), opts(force_cloud=True)) == ["explicit request"]
    # A request's own threshold replaces the default.
    assert fallback_triggers(tags(0.9, 0.85, 0.8), opts(min_confidence=0.82)) != []
    # Fast mode: confidence triggers off, an explicit request still counts.
    assert fallback_triggers(tags(0.1), opts(accuracy_mode="fast")) == []
    assert fallback_triggers(tags(0.1), opts(accuracy_mode="fast", force_cloud=True)) == [
        "explicit request"
    ]


YES = ConsentFlags(allows_cloud_processing=True, version=4)
NO = ConsentFlags(allows_cloud_processing=False, version=4)


def permission(flags: ConsentFlags, o: ProcessingOptions, **kw: bool) -> str | None:
    args = {"enterprise_forbid_cloud": False, "provider_configured": True, "has_image": True} | kw
    return cloud_permission(flags, o, **args)


def test_cloud_needs_consent_request_provider_image_and_no_enterprise_ban() -> None:
    ask = opts(use_cloud_fallback=True)
    assert permission(YES, ask) is None
    assert permission(NO, ask) == "no consent to cloud processing"
    assert permission(NO, opts(force_cloud=True)) == "no consent to cloud processing"
    assert permission(YES, ask, enterprise_forbid_cloud=True) == (
        "enterprise policy forbids cloud processing"
    )
    assert permission(YES, opts()) == "cloud fallback not requested"
    assert permission(YES, ask, provider_configured=False) == "no cloud provider configured"
    assert permission(YES, ask, has_image=False) == "no image to send"


def test_ai_consent_is_required() -> None:
    require_ai_consent(ConsentFlags())
    with pytest.raises(ConsentRequired) as err:
        require_ai_consent(ConsentFlags(allows_ai_processing=False, version=7))
    assert err.value.status == 403 and err.value.extra["consent_version"] == 7


def test_adr_consent_block_is_split_into_version_and_flags() -> None:
    version, flags = split_consent_block(
        {"version": "1.0", "allows_cloud_processing": True, "allows_model_training": False}
    )
    assert version == "1.0"
    assert flags == {"allows_cloud_processing": True, "allows_model_training": False}
    with pytest.raises(InvalidInput):
        split_consent_block({"version": ["x"]})


@pytest.mark.parametrize(
    "raw",
    [
        {"accuracy_mode": "turbo"},
        {"min_confidence": 1.5},
        {"min_confidence": "0.8"},
        {"max_processing_time": 0},
        {"use_cloud_fallback": "yes"},
        {"min_tag_count": 2.5},
        {"min_tag_count": "2"},
        {"surprise": True},
    ],
)
def test_the_api_model_refuses_what_the_router_refuses(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ApiOptions.model_validate_json(json.dumps(raw))


def test_the_api_models_carry_the_router_s_and_the_registry_s_fields() -> None:
    assert set(ApiOptions.model_fields) == set(OPTION_FIELDS)
    assert get_args(AccuracyMode) == ACCURACY_MODES
    assert set(ConsentBlock.model_fields) == {"version", *CONSENT_FIELDS}
    # What the route passes on parses to the same options as the raw ADR object.
    adr = {"use_cloud_fallback": True, "min_confidence": 0.8, "max_processing_time": 3000,
           "accuracy_mode": "balanced"}  # fmt: skip
    sent = ApiOptions.model_validate(adr).model_dump(exclude_none=True)
    assert ProcessingOptions.parse(sent, default_threshold=0.75) == opts(**adr)
    assert ProcessingOptions.parse(ApiOptions().model_dump(exclude_none=True),
                                   default_threshold=0.6) == ProcessingOptions.parse(
        {}, default_threshold=0.6)  # fmt: skip
    block = ConsentBlock.model_validate({"version": "1.0", "allows_cloud_processing": False})
    assert split_consent_block(block.narrowing()) == ("1.0", {"allows_cloud_processing": False})
