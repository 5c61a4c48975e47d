# Generated from agora/client/_async by scripts/gen-sync-client: do not edit.
"""What every resource group shares: the client it sends through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from agora.client.call import Call

if TYPE_CHECKING:
    from agora.client._sync.client import Client

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class Resource:
    """A group of operations (``client.assets``, ``client.search``...)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _call(self, call: Call[T]) -> T:
        return self._client.call(call)


def body(model: type[M], value: M | Mapping[str, Any] | None, **fields: Any) -> dict[str, Any]:
    """A request body validated client-side against its schema (a typo fails
    before a round trip); only the fields that were set are sent."""
    if value is None:
        value = fields
    elif fields:
        raise TypeError("pass either a body or keyword fields, not both")
    validated = value if isinstance(value, model) else model.model_validate(value)
    dumped: dict[str, Any] = validated.model_dump(mode="json", exclude_unset=True, by_alias=True)
    return dumped
