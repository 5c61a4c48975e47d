"""The append-only, hash-chained audit log."""

from __future__ import annotations

from pydantic import Field

from agora.api.schemas.common import JSONObject, ResponseModel, UtcDatetime

__all__ = ["AuditEntry", "AuditPage", "ChainReport"]


class AuditEntry(ResponseModel):
    """One entry: who did what to which subject, with which model and consent."""

    seq: int = Field(description="Position in the chain (grows by one).")
    ts: UtcDatetime
    actor: str = Field(description="`key:<id>` for an API key, or a process (`pipeline`).")
    action: str = Field(description="e.g. `asset.created`, `consent.updated`.")
    subject_type: str
    subject_id: str
    model: str | None = Field(default=None, description="name@version of a model decision.")
    consent_version: int | None = None
    details: JSONObject
    prev_hash: str = Field(description="`hash` of the previous entry (64 zeros for the first).")
    hash: str = Field(description="SHA-256 over this entry and `prev_hash`.")


class AuditPage(ResponseModel):
    """Entries newest first."""

    entries: list[AuditEntry]
    next_cursor: str | None = Field(
        description="Pass back as `cursor` for the next page; null on the last page."
    )


class ChainReport(ResponseModel):
    """The result of walking the hash chain."""

    ok: bool = Field(description="False when an entry was changed, removed or reordered.")
    entries_checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None
