"""The taxonomy as versioned state in the catalog database.

Every change (a label created, updated or deleted through the API) writes a
new row of ``tag_taxonomy_versions`` with the whole document and what
changed; the newest version serves. Version 1 is seeded on first use from
the operator's file (``tagging.taxonomy_path``) or the shipped YAML; after
that the database is the source of truth and the file is not read again.

Readers ask :meth:`TaxonomyStore.current` per request: one primary-key
``max(version)`` query, and the parsed ``Taxonomy`` is rebuilt only when the
version moved, so every process (API workers, the pipeline's worker) serves
a change on its next request, without a restart.

Example:
    >>> store = TaxonomyStore(platform.db, seed_document(""))  # doctest: +SKIP
    >>> store.put_label("object_type", "zeppelin", synonyms=["airship"],
    ...                 descriptions={"en": "a rigid airship"}, actor="key:ab12")  # doctest: +SKIP
    LabelChange(version=2, created=True, changed=True)
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from agora.errors import Conflict, InvalidInput, NotFound
from agora.tagging.tables import TagTaxonomyVersionRow
from agora.tagging.taxonomy import Taxonomy

if TYPE_CHECKING:
    from agora.governance.audit import AuditLog
    from agora.storage.database import Database

#: Names of categories and labels created through the API (the shipped ones follow it).
NAME_PATTERN = r"^[a-z0-9][a-z0-9_]*$"
_NAME = re.compile(NAME_PATTERN)
_ATTEMPTS = 5  # concurrent writers race for the next version number; the loser retries


@dataclass(frozen=True)
class StoredTaxonomy:
    """One version of the taxonomy: its number, the parsed form and the document."""

    version: int
    taxonomy: Taxonomy
    document: Mapping[str, Any]
    updated_at: datetime
    actor: str


@dataclass(frozen=True)
class LabelChange:
    """The version after a change; ``changed`` False: the label was already so."""

    version: int
    created: bool
    changed: bool


def canonical(data: Any) -> dict[str, Any]:
    """The taxonomy document in the stored shape (JSON types, string keys), validated.

    >>> canonical({"categories": {"kind": {"labels": {"cat": {"synonyms": ["kitty"]}}}}})
    {'version': '1', 'categories': {'kind': {'labels': {'cat': {'synonyms': ['kitty'], \
'descriptions': {}}}}}, 'cloud_mappings': {}}
    """
    Taxonomy.from_dict(data)  # InvalidInput for anything malformed
    categories: dict[str, Any] = {}
    for cat, body in data["categories"].items():
        entry: dict[str, Any] = {}
        if (body or {}).get("description"):
            entry["description"] = str(body["description"])
        entry["labels"] = {
            str(name): {
                "synonyms": [str(s) for s in (spec or {}).get("synonyms") or ()],
                "descriptions": {
                    str(k): str(v) for k, v in ((spec or {}).get("descriptions") or {}).items()
                },
            }
            for name, spec in body["labels"].items()
        }
        categories[str(cat)] = entry
    mappings = {
        str(provider): {
            str(external): {"category": str(t["category"]), "label": str(t["label"])}
            for external, t in (rules or {}).items()
        }
        for provider, rules in (data.get("cloud_mappings") or {}).items()
    }
    return {"version": str(data.get("version", "1")), "categories": categories,
            "cloud_mappings": mappings}  # fmt: skip


def seed_document(path: str | Path = "") -> dict[str, Any]:
    """The document that seeds version 1: the operator's YAML file, or the shipped one."""
    try:
        if path:
            text = Path(path).read_text(encoding="utf-8")
        else:
            text = resources.files("agora.tagging").joinpath("taxonomy.yaml").read_text("utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"cannot read taxonomy {path or 'taxonomy.yaml'}: {exc}") from exc
    return canonical(data)


def check_name(kind: str, name: str) -> str:
    """A category or label name as the API accepts it (``InvalidInput`` otherwise).

    >>> check_name("label", "sprite_sheet")
    'sprite_sheet'
    """
    if not _NAME.match(name) or len(name) > 64:
        raise InvalidInput(
            f"{kind} name {name!r} must be 1-64 lower-case letters, digits and underscores"
        )
    return name


class TaxonomyStore:
    """Reads and changes the stored taxonomy; thread-safe, one per process and database."""

    def __init__(self, db: Database, seed: Mapping[str, Any] | Callable[[], Mapping[str, Any]]):
        self.db = db
        self._seed = seed
        self._lock = threading.Lock()
        self._cached: StoredTaxonomy | None = None

    def version(self) -> int:
        """The newest stored version (seeds version 1 when there is none)."""
        with self.db.session() as s:
            newest = s.execute(select(func.max(TagTaxonomyVersionRow.version))).scalar()
        return int(newest) if newest is not None else self._seed_now().version

    def current(self) -> StoredTaxonomy:
        """The newest version; parsed again only when the stored version moved."""
        newest = self.version()
        cached = self._cached
        if cached is not None and cached.version == newest:
            return cached
        with self._lock:
            cached = self._cached
            if cached is None or cached.version < newest:
                cached = self._cached = self._read(newest)
            return cached

    def _read(self, version: int) -> StoredTaxonomy:
        with self.db.session() as s:
            row = s.get(TagTaxonomyVersionRow, version)
            if row is None:
                raise NotFound(f"taxonomy version {version} not found")
            return _stored(row)

    def _seed_now(self) -> StoredTaxonomy:
        seed = self._seed() if callable(self._seed) else self._seed
        document = canonical(seed)
        try:
            with self.db.session() as s:
                s.add(TagTaxonomyVersionRow(
                    version=1, document=document, actor="system:seed",
                    change={"action": "seeded", "source_version": document["version"]},
                    created_at=datetime.now(UTC),
                ))  # fmt: skip
        except IntegrityError:
            pass  # another process seeded it first: theirs serves
        return self._read(1)

    # --- changes ------------------------------------------------------------

    def put_label(
        self,
        category: str,
        name: str,
        *,
        synonyms: Sequence[str] = (),
        descriptions: Mapping[str, str] | None = None,
        actor: str,
        audit: AuditLog | None = None,
    ) -> LabelChange:
        """Create or replace a label (a new category is created with its first label)."""
        check_name("category", category)
        check_name("label", name)
        spec = {"synonyms": list(synonyms), "descriptions": dict(descriptions or {})}

        def change(doc: dict[str, Any]) -> dict[str, Any] | None:
            labels = doc["categories"].setdefault(category, {"labels": {}})["labels"]
            before = labels.get(name)
            if before == spec:
                return None
            labels[name] = spec
            action = "label_created" if before is None else "label_updated"
            return {"action": action, "category": category, "label": name,
                    "before": before, "after": spec}  # fmt: skip

        version, details = self._apply(change, actor, audit)
        created = details is not None and details["action"] == "label_created"
        return LabelChange(version, created, details is not None)

    def delete_label(
        self, category: str, name: str, *, actor: str, audit: AuditLog | None = None
    ) -> int:
        """Remove a label (and its category when it was the last one, and the cloud
        mappings onto it); the new version. ``NotFound`` for an unknown label."""

        def change(doc: dict[str, Any]) -> dict[str, Any]:
            labels = doc["categories"].get(category, {}).get("labels", {})
            if name not in labels:
                raise NotFound(f"tag {category}/{name} is not in the taxonomy")
            before = labels.pop(name)
            if not labels:
                del doc["categories"][category]
            for rules in doc["cloud_mappings"].values():
                for external in [e for e, t in rules.items()
                                 if (t["category"], t["label"]) == (category, name)]:  # fmt: skip
                    del rules[external]
            return {"action": "label_deleted", "category": category, "label": name,
                    "before": before, "after": None}  # fmt: skip

        version, _ = self._apply(change, actor, audit)
        return version

    def _apply(
        self,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
        actor: str,
        audit: AuditLog | None,
    ) -> tuple[int, dict[str, Any] | None]:
        """Write ``change`` of the newest document as the next version, audited in the
        same transaction; (version, what changed), nothing written for no change."""
        for _ in range(_ATTEMPTS):
            stored = self.current()
            document = copy.deepcopy(dict(stored.document))
            details = change(document)
            if details is None:
                return stored.version, None
            document = canonical(document)  # the whole new version must be valid
            version = stored.version + 1
            details["version"] = version
            try:
                with self.db.session() as s:
                    s.add(TagTaxonomyVersionRow(
                        version=version, document=document, change=details,
                        actor=actor[:128], created_at=datetime.now(UTC),
                    ))  # fmt: skip
                    s.flush()  # the version race is lost here, before the audit entry
                    if audit is not None:
                        audit.record(actor, "tagging.taxonomy_changed", "taxonomy",
                                     str(version), details=details, session=s)  # fmt: skip
            except IntegrityError:
                continue  # another writer took this version number: apply to theirs
            return version, details
        raise Conflict("the taxonomy is changing under heavy concurrency; retry")


def _stored(row: TagTaxonomyVersionRow) -> StoredTaxonomy:
    # The served Taxonomy carries the stored version number (the heads record it).
    taxonomy = Taxonomy.from_dict({**row.document, "version": str(row.version)})
    at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return StoredTaxonomy(row.version, taxonomy, row.document, at, row.actor)
