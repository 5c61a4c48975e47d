"""Identity checks (seed 001's eKYC): face match, liveness, private storage, retention.

- ``faces``: dlib detection, alignment, quality checks, 128-d embedding;
- ``liveness``: the active challenge (blink, head turn) and the ONNX model interface;
- ``vault``: HMAC and AES-GCM under keys derived from ``ekyc.key``;
- ``service``: the match, its storage and audit, the retention purge.
"""

from __future__ import annotations

from agora.identity.service import EkycDisabled, EkycService, MatchResult, match_score

__all__ = ["EkycDisabled", "EkycService", "MatchResult", "match_score"]
