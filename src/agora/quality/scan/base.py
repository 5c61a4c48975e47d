"""Malware scanning contract: engines, detections and the per-asset verdict.

An ``Engine`` scans named byte payloads (an uploaded file, or a member of an
archive) and returns its detections. Every engine says whether it can run
(``Engine.available``): an engine that is not installed, or whose daemon does
not answer, is *absent*, and the scan records it as such. A scan with an
absent engine is never reported clean (``Verdict.UNSCANNED``).

Example:
    >>> d = Detection("clamav", "Eicar-Signature", "critical", file="a.zip", member="x.com")
    >>> d.to_dict()["signature"], verdict_of([d], absent=[]).value
    ('Eicar-Signature', 'infected')
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

SEVERITIES = ("low", "medium", "high", "critical")


class Verdict(StrEnum):
    """A scan's outcome for one asset, worst first."""

    INFECTED = "infected"  # a signature engine matched: blocked
    REFUSED = "refused"  # an archive failed the bomb / traversal checks: not unpacked
    SUSPICIOUS = "suspicious"  # a YARA rule at or above the hold severity matched
    UNSCANNED = "unscanned"  # an engine is absent: never reported clean
    CLEAN = "clean"


@dataclass(frozen=True)
class Detection:
    """One engine match: which signature, on which file and archive member."""

    engine: str
    signature: str
    severity: str  # one of SEVERITIES; signature engines report "critical"
    file: str | None = None
    member: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Payload:
    """Bytes to scan: ``path`` on disk when the blob store has one (ClamAV reads it
    there), else ``data``; ``name`` is what rules match file patterns against."""

    name: str
    data: bytes | None = None
    path: str | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.path is None:
            raise ValueError(f"payload {self.name!r} has neither data nor a path")
        with open(self.path, "rb") as fh:
            return fh.read()


class EngineAbsent(Exception):
    """The engine cannot scan here (not installed, daemon down, no signatures)."""


class Engine(ABC):
    """A scanning engine over payloads."""

    name: str

    @abstractmethod
    def available(self) -> str | None:
        """None when the engine can scan; otherwise why it cannot (it is absent)."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Engine and signature versions, recorded with every scan."""

    @abstractmethod
    def scan(self, payloads: Sequence[Payload]) -> list[list[Detection]]:
        """One list of detections per payload, in order. Raises ``EngineAbsent``
        when the engine stopped answering meanwhile."""


def severity_rank(severity: str) -> int:
    """Position in ``SEVERITIES``; an unknown label ranks lowest."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def verdict_of(
    detections: Sequence[Detection],
    *,
    absent: Sequence[str],
    refused: bool = False,
    hold_severity: str = "high",
) -> Verdict:
    """The worst outcome: a critical match (every signature-engine hit is), a
    refused archive, a rule at or above ``hold_severity`` ("none": rules never
    hold), an absent engine, else clean."""
    if any(d.severity == "critical" for d in detections):
        return Verdict.INFECTED
    if refused:
        return Verdict.REFUSED
    if hold_severity in SEVERITIES:
        floor = SEVERITIES.index(hold_severity)
        if any(severity_rank(d.severity) >= floor for d in detections):
            return Verdict.SUSPICIOUS
    return Verdict.UNSCANNED if absent else Verdict.CLEAN
