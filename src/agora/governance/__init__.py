"""Governance: the hash-chained audit log and the per-user consent registry.

Example:
    >>> audit = AuditLog(db)  # doctest: +SKIP
    >>> consent = ConsentRegistry(db, audit)  # doctest: +SKIP
    >>> consent.effective("u-1", {"allows_personalization": False})  # doctest: +SKIP
"""

from agora.governance.audit import (
    GENESIS_HASH,
    AuditDraft,
    AuditEntry,
    AuditLog,
    AuditPage,
    ChainReport,
)
from agora.governance.consent import (
    CONSENT_FIELDS,
    DEFAULT_CONSENT,
    ConsentChange,
    ConsentRecord,
    ConsentRegistry,
    apply_enterprise_policy,
    validate_flags,
)

__all__ = [
    "CONSENT_FIELDS",
    "DEFAULT_CONSENT",
    "GENESIS_HASH",
    "AuditDraft",
    "AuditEntry",
    "AuditLog",
    "AuditPage",
    "ChainReport",
    "ConsentChange",
    "ConsentRecord",
    "ConsentRegistry",
    "apply_enterprise_policy",
    "validate_flags",
]
