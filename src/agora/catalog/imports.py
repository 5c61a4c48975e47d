"""Bulk import of assets from JSON Lines: one ``AssetMetadata`` object per line.

Every line is tried and answered on its own (a bad line never stops the
rest), and the import as a whole is one batch job: its counters say how many
lines were accepted or rejected and how many accepted assets have been through
the pipeline, so a client polls one job (``GET /api/v1/jobs/{id}``).

Example:
    >>> reader = JsonLinesReader(max_lines=10, max_line_bytes=100)
    >>> reader.feed(b'{"title": "Tank", "seller_id": "s1"}\\n\\n{"tit')
    >>> reader.feed(b'le": "Coin"}')
    >>> [(line.number, line.data) for line in reader.close()]
    [(1, b'{"title": "Tank", "seller_id": "s1"}'), (3, b'{"title": "Coin"}')]
    >>> report = platform.asset_import().run(reader.close(), actor="key:ab12")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agora.catalog.asset_batch import create_many
from agora.catalog.assets import AssetService, validation_detail
from agora.catalog.schemas import AssetMetadata
from agora.errors import AgoraError, InvalidInput, PayloadTooLarge

if TYPE_CHECKING:
    from agora.storage.jobs import JobStore

IMPORT_JOB = "import"
WRITE_CHUNK = 256  # lines written per transaction


@dataclass(frozen=True)
class JsonLine:
    """A non-blank line and its 1-based number in the file; ``data`` is None
    when the line was longer than allowed (its bytes were never held)."""

    number: int
    data: bytes | None


class JsonLinesReader:
    """Splits a byte stream into numbered lines as it arrives, skipping blank
    lines, refusing more than ``max_lines`` (413) and never holding more than
    ``max_line_bytes`` of one line."""

    def __init__(self, *, max_lines: int | None, max_line_bytes: int) -> None:
        self.max_lines, self.max_line_bytes = max_lines, max_line_bytes
        self.lines: list[JsonLine] = []
        self.count = 0  # lines read in all, taken or not
        self._number = 0
        self._current = bytearray()
        self._too_long = False

    def feed(self, chunk: bytes) -> None:
        """Take the next bytes of the stream."""
        *ended, rest = chunk.split(b"\n")
        for piece in ended:
            self._append(piece)
            self._end_line()
        self._append(rest)

    def take(self) -> list[JsonLine]:
        """The lines read since the last ``take`` (a streamed import hands them
        on in chunks, so memory holds one chunk, never the whole body)."""
        taken, self.lines = self.lines, []
        return taken

    def close(self) -> list[JsonLine]:
        """End the stream; the lines read."""
        if self._current or self._too_long:
            self._end_line()
        return self.lines

    def _append(self, piece: bytes) -> None:
        if self._too_long:
            return
        self._current += piece
        if len(self._current) > self.max_line_bytes:
            self._too_long = True
            self._current = bytearray()

    def _end_line(self) -> None:
        self._number += 1
        if self._too_long or self._current.strip():
            if self.max_lines is not None and self.count >= self.max_lines:
                raise PayloadTooLarge(
                    f"more than {self.max_lines} lines; split the import or send an import_id"
                )
            data = None if self._too_long else bytes(self._current)
            self.lines.append(JsonLine(self._number, data))
            self.count += 1
        self._current = bytearray()
        self._too_long = False


@dataclass(frozen=True)
class ImportReport:
    """The import's job id and one result per line, in input order."""

    job_id: str
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        """Lines that became assets."""
        return sum(1 for r in self.results if r["accepted"])


def _rejected(line: int, status: int, error: str, **extra: Any) -> dict[str, Any]:
    return {"line": line, "accepted": False, "status": status, "error": error, **extra}


def parse_line(line: JsonLine, max_bytes: int) -> AssetMetadata | dict[str, Any]:
    """The line's metadata, or its rejection (400 bad JSON, 413 too long,
    422 invalid metadata with each error)."""
    if line.data is None:
        return _rejected(line.number, 413, f"line exceeds {max_bytes} bytes")
    try:
        return AssetMetadata.model_validate_json(line.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        if any(e["type"] == "json_invalid" for e in errors):
            return _rejected(line.number, 400, f"bad JSON: {errors[0]['msg']}")
        fields = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
        detail = f"invalid metadata: {validation_detail(exc)}"
        return _rejected(line.number, 422, detail, errors=fields)


class AssetImport:
    """Creates one asset per valid line, as a batch job of kind ``import``."""

    def __init__(self, jobs: JobStore, assets: AssetService, *, max_metadata_bytes: int) -> None:
        """The batch job lives in ``jobs``; each line is created through ``assets``."""
        self.jobs, self.assets, self.max_metadata_bytes = jobs, assets, max_metadata_bytes

    def run(self, lines: Sequence[JsonLine], actor: str) -> ImportReport:
        """Try every line; answer per line; the returned job tracks the pipelines."""
        if not lines:
            raise InvalidInput("empty body: send one JSON object per line")
        jobs = self.jobs
        max_bytes = self.max_metadata_bytes
        report = ImportReport(jobs.create_batch(IMPORT_JOB, total=len(lines), created_by=actor))
        assets = self.assets
        try:
            for start in range(0, len(lines), WRITE_CHUNK):
                chunk = lines[start : start + WRITE_CHUNK]
                report.results.extend(self._chunk(assets, chunk, max_bytes, actor, report.job_id))
        except BaseException as exc:
            # A failure of the platform itself (not of a line): the job must not
            # stay running for ever. Assets created so far are kept.
            jobs.finish(report.job_id, error=f"import stopped: {type(exc).__name__}: {exc}")
            raise
        accepted = report.accepted
        jobs.submitted(report.job_id, accepted=accepted, rejected=len(lines) - accepted)
        return report

    @staticmethod
    def _chunk(
        assets: AssetService, lines: Sequence[JsonLine], max_bytes: int, actor: str, job_id: str
    ) -> list[dict[str, Any]]:
        # One transaction for the chunk's valid lines (``create_many``); each
        # line is still accepted or refused on its own.
        parsed = [parse_line(line, max_bytes) for line in lines]
        valid = [(i, meta) for i, meta in enumerate(parsed) if isinstance(meta, AssetMetadata)]
        outcomes = create_many(assets, [(meta, []) for _, meta in valid], actor, batch_job=job_id)
        results: list[dict[str, Any]] = [p for p in parsed if isinstance(p, dict)]
        by_index: dict[int, dict[str, Any]] = {}
        for (i, _), outcome in zip(valid, outcomes, strict=True):
            number = lines[i].number
            if isinstance(outcome, AgoraError):
                by_index[i] = _rejected(number, outcome.status, outcome.detail)
            else:
                by_index[i] = {
                    "line": number,
                    "accepted": True,
                    "id": outcome.asset_id,
                    "job_id": outcome.job_id,
                }
        rejected = iter(results)
        return [by_index[i] if i in by_index else next(rejected) for i in range(len(lines))]
