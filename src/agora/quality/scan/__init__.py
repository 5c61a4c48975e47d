"""Malware scanning of uploads: ClamAV (clamd or clamscan) and YARA, the ``scan`` step.

Example:
    >>> from agora.quality.scan import verdict_of
    >>> verdict_of([], absent=["clamav"])
    <Verdict.UNSCANNED: 'unscanned'>
"""

from agora.quality.scan.base import Detection, Engine, EngineAbsent, Payload, Verdict, verdict_of
from agora.quality.scan.clamav import ClamdEngine, ClamscanEngine, shipped_databases
from agora.quality.scan.members import archive_members
from agora.quality.scan.step import ScanStep, build_engines
from agora.quality.scan.yara_rules import YaraEngine

__all__ = [
    "ClamdEngine",
    "ClamscanEngine",
    "Detection",
    "Engine",
    "EngineAbsent",
    "Payload",
    "ScanStep",
    "Verdict",
    "YaraEngine",
    "archive_members",
    "build_engines",
    "shipped_databases",
    "verdict_of",
]
