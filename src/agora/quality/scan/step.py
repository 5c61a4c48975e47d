"""Pipeline step ``scan``: ClamAV and YARA over every file and archive member.

For a batch of assets, every uploaded file goes to ClamAV in one call (clamd,
or one ``clamscan`` process), which unpacks archives, packed executables, PDF
and OLE documents itself; every file *and* every archive member (read only
after ``agora.uploads.archives.inspect_archive`` passed the archive: see
``members``) goes through the YARA rules. The verdict per asset:

* ``infected``: a signature matched: held with ``block`` (the asset settles
  ``banned``) and an operator alert is sent (``mlops.alert_*`` targets); the
  ``asset.processed`` event's status is ``banned`` and the webhook worker
  turns it into ``asset.flagged`` for subscribers as well;
* ``refused``: an archive failed the bomb / traversal checks or is corrupt:
  held for review, nothing of it unpacked;
* ``suspicious``: a YARA rule at or above ``scan.yara_hold_severity``: held;
* ``unscanned``: an engine is absent: the result names it, the asset is held
  or accepted per ``scan.when_absent``, and ``agora_scan_engine_absent_total``
  counts it. Never reported clean;
* ``clean``.

The step is idempotent (it reads blobs, returns a result; the runner records it
once per job) and versioned: ``scan@1.0`` plus the engine and signature
versions in every result, so a rescan after a signature update is traceable.

Example:
    >>> ScanStep.from_settings(Settings()).model  # doctest: +SKIP
    'scan@1.0'
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from agora.blobs.base import BlobStore
from agora.errors import AgoraError, NotFound
from agora.pipeline.base import Step, StepContext, StepOutcome, StepServices
from agora.quality.scan.base import Detection, Engine, EngineAbsent, Payload, verdict_of
from agora.quality.scan.clamav import ClamdEngine, ClamscanEngine, shipped_databases
from agora.quality.scan.members import archive_members
from agora.quality.scan.metrics import SCAN_DETECTIONS, SCAN_ENGINE_ABSENT, SCAN_VERDICTS
from agora.quality.scan.yara_rules import YaraEngine
from agora.uploads.sniff import SNIFF_BYTES, sniff

if TYPE_CHECKING:
    from agora.config import ScanSettings, Settings, UploadSettings
    from agora.mlops.alerts import AlertNotifier

log = logging.getLogger(__name__)
SCAN_ERROR = "Agora.ScanError"


def build_engines(settings: Settings) -> list[Engine]:
    """ClamAV (clamd when ``scan.clamd_url`` is set, else clamscan) and YARA."""
    scan = settings.scan
    clamav: Engine
    if scan.clamd_url:
        clamav = ClamdEngine(scan.clamd_url, timeout_s=scan.timeout_s)
    else:
        databases = list(scan.databases)
        databases += shipped_databases() if scan.shipped_signatures else []
        clamav = ClamscanEngine(
            databases=databases,
            binary=scan.clamscan_path,
            timeout_s=scan.timeout_s,
            max_file_bytes=settings.uploads.max_file_bytes,
            max_scan_bytes=settings.uploads.max_archive_uncompressed_bytes,
        )
    yara = YaraEngine(scan.yara_dirs, shipped=scan.shipped_signatures)
    return [clamav, yara]


@dataclass
class _Asset:
    """One asset's files, members and findings while its batch is scanned."""

    ctx: StepContext
    files: list[Payload] = field(default_factory=list)
    members: list[tuple[str, Payload]] = field(default_factory=list)  # (file, member)
    detections: list[Detection] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    scanned_bytes: int = 0


class ScanStep(Step):
    """Malware scan of the asset's files; holds (and blocks) on a hit."""

    name = "scan"
    version = "1.0"
    can_hold = True

    def __init__(
        self,
        settings: ScanSettings,
        uploads: UploadSettings,
        engines: Sequence[Engine],
        alerts: AlertNotifier | None = None,
    ) -> None:
        """``engines`` scan (ClamAV first); ``alerts`` tells operators about a hit."""
        self.settings, self.uploads = settings, uploads
        self.engines = list(engines)
        self.alerts = alerts

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The step with the configured engines and the operators' alert targets."""
        from agora.mlops.alerts import AlertNotifier

        notifier = AlertNotifier(settings.mlops)
        return cls(
            settings.scan,
            settings.uploads,
            build_engines(settings),
            alerts=notifier if notifier.targets() else None,
        )

    @classmethod
    def from_services(cls, services: StepServices) -> Self:
        return cls.from_settings(services.settings)

    def run(self, ctx: StepContext) -> StepOutcome:
        result = self.run_batch([ctx])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def run_batch(self, ctxs: Sequence[StepContext]) -> list[StepOutcome | Exception]:
        """Gather every asset's files and members, one engine call per batch,
        then each asset's verdict on its own."""
        assets = [self._gather(ctx) for ctx in ctxs]
        absent: dict[str, str] = {}
        engines: dict[str, dict[str, Any]] = {}
        for engine in self.engines:
            why = engine.available()
            if why is not None:
                absent[engine.name] = why
                continue
            try:
                engines[engine.name] = engine.describe()
                self._scan_with(engine, assets)
            except EngineAbsent as exc:  # stopped answering mid-batch
                absent[engine.name] = str(exc)
                engines.pop(engine.name, None)
                for a in assets:
                    a.detections = [d for d in a.detections if d.engine != engine.name]
        return [self._outcome(a, engines, absent) for a in assets]

    # -- gathering -----------------------------------------------------------

    def _gather(self, ctx: StepContext) -> _Asset:
        asset = _Asset(ctx)
        for field_name in ("files", "images"):
            for ref in ctx.asset.get(field_name) or []:
                self._add_file(asset, ctx.blobs, ref)
        return asset

    def _add_file(self, asset: _Asset, blobs: BlobStore, ref: dict[str, Any]) -> None:
        sha = str(ref.get("sha256"))
        name = str(ref.get("name") or sha[:12])
        try:
            path = blobs.path_for(sha)
            data = None if path is not None else blobs.get(sha)
        except NotFound:
            asset.errors.append({"file": name, "error": "blob is missing from the blob store"})
            return
        payload = Payload(name, data=data, path=path)
        content = payload.read()
        asset.scanned_bytes += len(content)
        try:
            kind = sniff(content[:SNIFF_BYTES], name=name, size=len(content))
        except AgoraError:
            kind = None  # unknown content is still scanned, as bytes
        if kind is not None and kind.kind == "archive":
            try:
                members = list(archive_members(content, kind.format, self.uploads))
            # Bombs, traversal, corrupt or encrypted archives: refused, never unpacked.
            except AgoraError as exc:
                asset.refused.append({"file": name, "reason": str(exc)})
                return
            # Any other decoder failure on hostile bytes: refused too, never raised.
            except Exception as exc:  # noqa: BLE001
                asset.refused.append({"file": name, "reason": f"{type(exc).__name__}: {exc}"})
                return
            asset.members += [(name, m) for m in members]
            asset.scanned_bytes += sum(len(m.data or b"") for m in members)
        asset.files.append(payload)

    # -- scanning ------------------------------------------------------------

    def _scan_with(self, engine: Engine, assets: list[_Asset]) -> None:
        # ClamAV unpacks containers itself: it sees the files. YARA sees the
        # files and, since it cannot unpack, every member as well.
        owners: list[tuple[_Asset, str, str | None]] = []
        payloads: list[Payload] = []
        for a in assets:
            for p in a.files:
                owners.append((a, p.name, None))
                payloads.append(p)
            if engine.name == "yara":
                for file_name, m in a.members:
                    owners.append((a, file_name, m.name))
                    payloads.append(m)
        if not payloads:
            return
        for (a, file_name, member), found in zip(owners, engine.scan(payloads), strict=True):
            for d in found:
                located = Detection(
                    d.engine,
                    d.signature,
                    d.severity,
                    file=file_name,
                    member=member,
                    detail=d.detail,
                )
                if d.signature == SCAN_ERROR:
                    where = f"{file_name}!{member}" if member else file_name
                    a.errors.append({"file": where, "engine": d.engine, "error": d.detail or ""})
                else:
                    a.detections.append(located)
                    SCAN_DETECTIONS.labels(d.engine).inc()

    # -- verdict -------------------------------------------------------------

    def _outcome(
        self, a: _Asset, engines: dict[str, dict[str, Any]], absent: dict[str, str]
    ) -> StepOutcome:
        unscanned = dict(absent)
        if a.errors and any("engine" in e for e in a.errors):
            unscanned.setdefault("errors", f"{len(a.errors)} payloads could not be scanned")
        verdict = verdict_of(
            a.detections,
            absent=list(unscanned),
            refused=bool(a.refused),
            hold_severity=self.settings.yara_hold_severity,
        )
        SCAN_VERDICTS.labels(verdict.value).inc()
        hold_absent = self.settings.when_absent == "hold"
        for engine in absent:
            SCAN_ENGINE_ABSENT.labels(engine, "held" if hold_absent else "accepted").inc()
        output: dict[str, Any] = {
            "verdict": verdict.value,
            "detections": [d.to_dict() for d in a.detections],
            "engines": engines,
            "absent": absent,
            "refused": a.refused,
            "errors": a.errors,
            "files_scanned": len(a.files),
            "members_scanned": len(a.members),
            "bytes_scanned": a.scanned_bytes,
        }
        hold, reason = False, None
        if verdict.value == "infected":
            hits = sorted({d.signature for d in a.detections if d.severity == "critical"})
            output["block"] = True
            hold, reason = True, f"malware detected: {', '.join(hits[:5])}"
            self._alert(a, hits)
        elif verdict.value == "refused":
            hold = True
            reason = f"archive refused by the scan: {a.refused[0]['reason']}"
        elif verdict.value == "suspicious":
            rules = sorted({d.signature for d in a.detections})
            hold, reason = True, f"suspicious code: {', '.join(rules[:5])}"
        elif verdict.value == "unscanned":
            hold = hold_absent
            missing = "; ".join(f"{k}: {v}" for k, v in unscanned.items())
            reason = f"not fully scanned ({missing})" if hold else None
            output["note"] = f"not fully scanned, {'held' if hold else 'accepted'}: {missing}"
        return StepOutcome(output=output, confidence=1.0, hold=hold, reason=reason)

    def _alert(self, a: _Asset, hits: list[str]) -> None:
        if self.alerts is None:
            return
        asset_id = str(a.ctx.asset.get("id"))
        details = {
            "asset_id": asset_id,
            "seller_id": a.ctx.asset.get("seller_id"),
            "signatures": ", ".join(hits[:10]),
            "files": ", ".join(sorted({str(d.file) for d in a.detections})[:10]),
        }
        # An alert receiver that is down must never fail the scan (send logs it).
        try:
            self.alerts.send(
                "malware",
                f"malware in asset {asset_id}",
                details,
                severity="critical",
                key=asset_id,
            )
        except Exception as exc:  # noqa: BLE001
            log.error("malware alert for %s failed: %s", asset_id, exc)
