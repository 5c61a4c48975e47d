"""ClamAV, Debian's signature engine: ``clamd`` over its socket, or ``clamscan``.

``ClamdEngine`` streams each payload to a running daemon with the documented
``INSTREAM`` command (a 4-byte big-endian length before each chunk, a zero
length at the end); the daemon's own ``DatabaseDirectory`` holds the
signatures, so an operator who runs clamd copies Agora's shipped database
(``shipped_databases()``) beside the official ones. The protocol is four
messages; the PyPI clients for it (``clamd``, ``pyclamd``) are unmaintained
since 2014-2017, so it is spoken here directly.

``ClamscanEngine`` runs the command-line scanner once per batch with every
database given by ``-d`` (the operator's, plus Agora's shipped ones), so
archives, packed executables, PDF and OLE documents are unpacked by ClamAV
itself and the signatures match the payloads inside.

Both report ``critical`` detections; a payload ClamAV could not read is an
error line, recorded as a detail, never a pass.

Example:
    >>> engine = ClamscanEngine(databases=shipped_databases())  # doctest: +SKIP
    >>> engine.scan([Payload("eicar.com", data=eicar_bytes)])[0][0].signature  # doctest: +SKIP
    'Agora.Test.EICAR.UNOFFICIAL'
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import tempfile
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from agora.quality.scan.base import Detection, Engine, EngineAbsent, Payload

SIGNATURE_DIR = Path(__file__).parent / "signatures"
DATABASE_SUFFIXES = (".cvd", ".cld", ".cud", ".ndb", ".hdb", ".hsb", ".ldb", ".mdb", ".msb")
LIMIT_PREFIX = "Heuristics.Limits.Exceeded"
_CHUNK = 1 << 16


def shipped_databases() -> list[str]:
    """Agora's own signature files (EICAR and the ClamAV test payloads)."""
    return sorted(str(p) for p in SIGNATURE_DIR.iterdir() if p.suffix in DATABASE_SUFFIXES)


def usable_databases(paths: Sequence[str]) -> list[str]:
    """The configured databases that exist: files with a database suffix, and
    folders holding at least one (freshclam's folder stays empty offline)."""
    out: list[str] = []
    for raw in paths:
        path = Path(raw)
        if (path.is_file() and path.suffix in DATABASE_SUFFIXES) or (
            path.is_dir() and any(p.suffix in DATABASE_SUFFIXES for p in path.iterdir())
        ):
            out.append(str(path))
    return out


def _parse_line(line: str) -> tuple[str, str, str] | None:
    """``(subject, status, signature)`` of ``name: Sig FOUND`` / ``name: OK`` /
    ``name: message ERROR``; None for other lines."""
    subject, sep, rest = line.rpartition(": ")
    if not sep:
        return None
    if rest.endswith(" FOUND"):
        signature = rest[: -len(" FOUND")]
        if signature.startswith(LIMIT_PREFIX):  # not a finding: the scan stopped short
            return subject, "ERROR", f"ClamAV limit exceeded ({signature}): not fully scanned"
        return subject, "FOUND", rest[: -len(" FOUND")]
    if rest == "OK":
        return subject, "OK", ""
    if rest.endswith(" ERROR"):
        return subject, "ERROR", rest[: -len(" ERROR")]
    return None


class ClamscanEngine(Engine):
    """``clamscan`` with explicit databases, one process per batch."""

    name = "clamav"

    def __init__(
        self,
        *,
        databases: Sequence[str],
        binary: str = "clamscan",
        timeout_s: float = 300.0,
        max_file_bytes: int = 50 * 1024 * 1024,
        max_scan_bytes: int = 1024 * 1024 * 1024,
        options: Sequence[str] = (),
    ) -> None:
        """``databases``: signature files or folders (only those that exist are used);
        the size limits are ClamAV's ``--max-filesize`` and ``--max-scansize``;
        ``options``: more clamscan flags (e.g. ``--scan-archive=no``)."""
        self.databases = usable_databases(databases)
        self.binary = binary
        self.timeout_s = timeout_s
        # A payload past a limit (size, nesting depth, file count) is reported, so it
        # becomes "not fully scanned" rather than silently clean.
        self.limits = [
            f"--max-filesize={max_file_bytes}",
            f"--max-scansize={max_scan_bytes}",
            "--alert-exceeds-max=yes",
        ]
        self.limits += list(options)

    @cached_property
    def _path(self) -> str | None:
        return shutil.which(self.binary)

    def available(self) -> str | None:
        if self._path is None:
            return f"{self.binary} is not installed (Debian: apt-get install clamav)"
        if not self.databases:
            return "no ClamAV signature database found"
        return None

    @cached_property
    def version(self) -> str:
        if self._path is None:
            return "absent"
        out = subprocess.run(
            [self._path, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        return out.stdout.strip() or out.stderr.strip()

    def describe(self) -> dict[str, Any]:
        return {
            "engine": "clamscan",
            "version": self.version,
            "databases": [Path(d).name for d in self.databases],
        }

    def scan(self, payloads: Sequence[Payload]) -> list[list[Detection]]:
        if self._path is None or not self.databases:
            raise EngineAbsent(self.available() or "clamscan unavailable")
        results: list[list[Detection]] = [[] for _ in payloads]
        with tempfile.TemporaryDirectory(prefix="agora-scan-") as tmp:
            paths: list[str] = []
            for i, payload in enumerate(payloads):
                if payload.path is not None:
                    paths.append(os.path.abspath(payload.path))
                    continue
                path = os.path.join(tmp, f"{i:06d}")
                with open(path, "wb") as fh:
                    fh.write(payload.read())
                paths.append(path)
            index = {p: i for i, p in enumerate(paths)}
            argv = [self._path, "--no-summary", "--stdout", *self.limits]
            argv += [arg for db in self.databases for arg in ("-d", db)]
            proc = subprocess.run(
                [*argv, "--", *paths],
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                check=False,
            )
            # 0: clean, 1: found, 2: some error (reported per file on stdout).
            if proc.returncode not in (0, 1, 2):
                raise EngineAbsent(f"clamscan exited {proc.returncode}: {proc.stderr[-300:]}")
            if proc.returncode == 2 and not proc.stdout.strip():
                raise EngineAbsent(f"clamscan failed: {proc.stderr.strip()[-300:]}")
            for line in proc.stdout.splitlines():
                parsed = _parse_line(line)
                if parsed is None or parsed[0] not in index:
                    continue
                subject, status, signature = parsed
                payload = payloads[index[subject]]
                if status == "FOUND":
                    results[index[subject]].append(
                        Detection("clamav", signature, "critical", file=payload.name)
                    )
                elif status == "ERROR":
                    results[index[subject]].append(
                        Detection(
                            "clamav", "Agora.ScanError", "low", file=payload.name, detail=signature
                        )
                    )
        return results


class ClamdEngine(Engine):
    """A running ``clamd``, at ``unix:///path/clamd.ctl`` or ``tcp://host:3310``."""

    name = "clamav"

    def __init__(self, url: str, *, timeout_s: float = 60.0) -> None:
        self.url = url
        self.timeout_s = timeout_s

    def _connect(self) -> socket.socket:
        parsed = urlparse(self.url)
        if parsed.scheme == "unix" or self.url.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout_s)
            sock.connect(parsed.path if parsed.scheme else self.url)
            return sock
        if parsed.scheme == "tcp" and parsed.hostname:
            return socket.create_connection(
                (parsed.hostname, parsed.port or 3310), timeout=self.timeout_s
            )
        raise EngineAbsent(f"clamd url {self.url!r} must be unix:///path or tcp://host:port")

    def _command(self, command: bytes, body: bytes | None = None) -> str:
        try:
            with self._connect() as sock:
                sock.sendall(b"z" + command + b"\0")
                if body is not None:
                    for start in range(0, len(body), _CHUNK):
                        chunk = body[start : start + _CHUNK]
                        sock.sendall(struct.pack("!L", len(chunk)) + chunk)
                    sock.sendall(struct.pack("!L", 0))
                reply = b""
                while not reply.endswith(b"\0"):
                    part = sock.recv(4096)
                    if not part:
                        break
                    reply += part
        except OSError as exc:
            raise EngineAbsent(f"clamd at {self.url} does not answer: {exc}") from None
        return reply.rstrip(b"\0").decode("utf-8", "replace").strip()

    def available(self) -> str | None:
        try:
            pong = self._command(b"PING")
        except EngineAbsent as exc:
            return str(exc)
        return None if pong == "PONG" else f"clamd answered {pong!r} to PING"

    @cached_property
    def version(self) -> str:
        try:
            return self._command(b"VERSION")
        except EngineAbsent:
            return "absent"

    def describe(self) -> dict[str, Any]:
        return {"engine": "clamd", "version": self.version, "url": self.url}

    def scan(self, payloads: Sequence[Payload]) -> list[list[Detection]]:
        results: list[list[Detection]] = []
        for payload in payloads:
            reply = self._command(b"INSTREAM", payload.read())
            parsed = _parse_line(reply)
            found: list[Detection] = []
            if parsed is None:
                found.append(
                    Detection("clamav", "Agora.ScanError", "low", file=payload.name, detail=reply)
                )
            elif parsed[1] == "FOUND":
                found.append(Detection("clamav", parsed[2], "critical", file=payload.name))
            elif parsed[1] == "ERROR":
                found.append(
                    Detection(
                        "clamav", "Agora.ScanError", "low", file=payload.name, detail=parsed[2]
                    )
                )
            results.append(found)
        return results
