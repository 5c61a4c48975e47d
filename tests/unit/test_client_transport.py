"""The SDK's retries and error mapping, against scripted HTTP answers.

A scripted transport (``httpx.MockTransport``) is the only way to make a
server answer 429, then 503, then 200 on cue; the real-server behaviour is
covered by tests/e2e/test_client.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from agora import errors
from agora.client import (
    AsyncClient,
    Client,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServiceUnavailableError,
    ValidationFailedError,
)

FAST = RetryPolicy(max_retries=3, base_delay_s=0.001, max_delay_s=0.01)
SELLER = {
    "id": "s1",
    "name": "Pixel Forge",
    "trust_score": 0.5,
    "verified": False,
    "banned": False,
    "attributes": {},
    "created_at": "2026-12-01T10:00:00Z",
    "updated_at": "2026-12-01T10:00:00Z",
}


def _problem(status: int, **extra: object) -> httpx.Response:
    body = {"type": "https://agora.dev/problems/x", "title": "T", "status": status, "detail": "d"}
    return httpx.Response(
        status, json=body | extra, headers={"content-type": "application/problem+json"}
    )


def _scripted(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return httpx.MockTransport(handle)


def _client(answers: list[httpx.Response], seen: list[httpx.Request], **kw: object) -> Client:
    http = httpx.Client(base_url="http://agora.test", transport=_scripted(answers, seen))
    return Client(api_key="agora_k_s", http=http, retry=kw.get("retry", FAST))  # type: ignore[arg-type]


def test_429_and_503_are_retried_until_success() -> None:
    seen: list[httpx.Request] = []
    answers = [
        _problem(429, retry_after=0),
        _problem(503),
        httpx.Response(200, json=SELLER),
    ]
    seller = _client(answers, seen).sellers.get("s1")
    assert seller.name == "Pixel Forge" and len(seen) == 3
    assert all(r.headers["authorization"] == "Bearer agora_k_s" for r in seen)
    assert seen[0].url.path == "/api/v1/sellers/s1"


def test_retry_after_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("agora.client.transport.time.sleep", slept.append)
    seen: list[httpx.Request] = []
    rate_limited = _problem(429)
    rate_limited.headers["Retry-After"] = "7"
    policy = RetryPolicy(max_retries=2, base_delay_s=0.001, max_delay_s=30)
    _client([rate_limited, httpx.Response(200, json=SELLER)], seen, retry=policy).sellers.get("s1")
    assert slept == [7.0]


def test_giving_up_raises_the_typed_error() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ServiceUnavailableError) as caught:
        _client([_problem(503) for _ in range(4)], seen).sellers.get("s1")
    assert len(seen) == 4 and caught.value.status == 503
    assert isinstance(caught.value, errors.BackendUnavailable)
    seen.clear()
    limited = _problem(429)
    limited.headers["Retry-After"] = "0"
    with pytest.raises(RateLimitError) as rl:
        _client([limited], seen, retry=RetryPolicy(max_retries=0)).sellers.get("s1")
    assert rl.value.retry_after == 0.0


def test_errors_are_not_retried_and_carry_the_problem() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(NotFoundError) as nf:
        _client([_problem(404)], seen).sellers.get("nope")
    assert len(seen) == 1 and isinstance(nf.value, errors.NotFound)
    invalid = _problem(422, errors=[{"loc": ["body", "name"], "msg": "too long", "type": "x"}])
    with pytest.raises(ValidationFailedError) as bad:
        _client([invalid], seen).sellers.put("s1", name="x")
    assert bad.value.errors[0]["loc"] == ["body", "name"]


def test_a_typo_fails_before_any_request() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(Exception, match="nmae"):
        _client([], seen).sellers.put("s1", nmae="Pixel Forge")
    assert seen == []


def _connection_refused(seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=SELLER)

    return handle


def test_connection_errors_retry_idempotent_calls_only() -> None:
    seen: list[httpx.Request] = []
    http = httpx.Client(
        base_url="http://agora.test", transport=httpx.MockTransport(_connection_refused(seen))
    )
    assert Client(http=http, retry=FAST).sellers.get("s1").id == "s1"
    assert len(seen) == 2
    seen.clear()
    http = httpx.Client(
        base_url="http://agora.test", transport=httpx.MockTransport(_connection_refused(seen))
    )
    with pytest.raises(httpx.ConnectError):
        Client(http=http, retry=FAST).events.send(
            [{"user_id": "u", "asset_id": "a", "type": "view"}]
        )
    assert len(seen) == 1


def test_the_async_client_shares_the_policy() -> None:
    seen: list[httpx.Request] = []

    async def run() -> str:
        answers = [_problem(503), httpx.Response(200, json=SELLER)]

        async def handle(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return answers.pop(0)

        http = httpx.AsyncClient(
            base_url="http://agora.test", transport=httpx.MockTransport(handle)
        )
        async with AsyncClient(http=http, retry=FAST) as agora:
            return (await agora.sellers.get("s1")).id

    assert asyncio.run(run()) == "s1" and len(seen) == 2
