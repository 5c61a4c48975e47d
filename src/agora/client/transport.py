"""Sending calls: the sync and the async loop, with the same retry policy."""

from __future__ import annotations

import asyncio
import time
from typing import TypeVar

import httpx

from agora.client.call import Call, RetryPolicy

T = TypeVar("T")


def send(http: httpx.Client, call: Call[T], policy: RetryPolicy) -> T:
    """Send ``call``, retrying what ``policy`` allows; parse the final answer."""
    attempt = 0
    while True:
        attempt += 1
        try:
            response = http.send(call.request(http))
        except httpx.TransportError:
            delay = policy.delay(attempt, None) if policy.retries_errors_of(call.method) else None
            if delay is None:
                raise
            time.sleep(delay)
            continue
        delay = policy.delay(attempt, response) if response.status_code >= 400 else None
        if delay is None:
            return call.parse(response)
        response.close()
        time.sleep(delay)


async def send_async(http: httpx.AsyncClient, call: Call[T], policy: RetryPolicy) -> T:
    """The async form of ``send``."""
    attempt = 0
    while True:
        attempt += 1
        try:
            response = await http.send(call.request(http))
        except httpx.TransportError:
            delay = policy.delay(attempt, None) if policy.retries_errors_of(call.method) else None
            if delay is None:
                raise
            await asyncio.sleep(delay)
            continue
        delay = policy.delay(attempt, response) if response.status_code >= 400 else None
        if delay is None:
            return call.parse(response)
        await response.aclose()
        await asyncio.sleep(delay)
