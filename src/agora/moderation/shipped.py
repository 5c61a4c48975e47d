"""The text classifiers shipped in the package, and how they become champions.

``agora/moderation/artifacts/`` holds one artefact per classifier
(``agora.moderation.artifact``: arrays and JSON, no pickle) and
``MANIFEST.json`` (training command, data sources, licences and checksums,
held-out figures, artefact checksums). ``register_shipped`` puts a shipped
classifier into the model store through the registry workflow (registered,
then promoted to champion, both in the promotion history), so a fresh install
serves trained classifiers and ``GET /api/v1/models/{name}/serving`` names
them. A later ``agora moderation train`` is gated against them like against
any champion.

``export_shipped`` writes the serving champions as artefacts plus the
manifest: how the shipped files were made.

Example:
    >>> register_shipped(platform.models, registry, ["moderation-spam"])  # doctest: +SKIP
    {'moderation-spam': ModelRef(name='moderation-spam', version='1')}
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agora import __version__
from agora.errors import NotFound
from agora.moderation.artifact import FORMAT, FORMAT_VERSION, read_artifact, write_artifact

if TYPE_CHECKING:
    from agora.domain import ModelRef
    from agora.mlops.base import ModelStore
    from agora.mlops.registry import ModelRegistry
    from agora.moderation.text_models import TextClassifier

log = logging.getLogger("agora.moderation")
ARTIFACTS = Path(__file__).parent / "artifacts"
MANIFEST = "MANIFEST.json"
ACTOR = "agora:shipped-artifacts"
# Where each classifier's training data came from (see shared/data/SOURCES.md).
SOURCES: dict[str, dict[str, str]] = {
    "moderation-toxicity": {
        "corpus": "davidson (hate-offensive-davidson/labeled_data.csv) + TweetEval offensive "
        "and hate (tweeteval/{offensive,hate}/, train and val files)",
        "origin": "t-davidson/hate-speech-and-offensive-language @ cb50f7e9, "
        "data/labeled_data.csv; cardiffnlp/tweeteval @ 4fbd22cd, datasets/{offensive,hate}/",
        "licence": "MIT (davidson repository); TweetEval: no restrictions of its own, each "
        "task keeps its source's terms (OffensEval-2019/OLID, HatEval-2019); the tweets "
        "carry the Twitter/X terms",
        "paper": "Davidson et al. 2017, Automated Hate Speech Detection and the Problem "
        "of Offensive Language (ICWSM); Barbieri et al. 2020, TweetEval (Findings of EMNLP)",
    },
    "moderation-spam": {
        "corpus": "SMS Spam Collection (sms-spam-collection/SMSSpamCollection)",
        "origin": "UCI SMS Spam Collection, mirror hamzaaacodes/sms-spam-collection @ f3e73e1e",
        "licence": "CC BY 4.0 (UCI Machine Learning Repository)",
        "paper": "Almeida, Gomez Hidalgo, Yamakami 2011, Contributions to the Study of "
        "SMS Spam Filtering (DocEng)",
        # SpamAssassin (email-spam/) is cleared for evaluation only (SOURCES.md: the
        # senders keep the copyright), so the shipped vocabulary never comes from it.
        "not_trained_on": "SpamAssassin e-mail (evaluation only, see shared/data/SOURCES.md)",
    },
}


def artifact_file(name: str, folder: Path = ARTIFACTS) -> Path:
    """The shipped artefact of classifier ``name``."""
    return Path(folder) / f"{name}.npz"


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_manifest(folder: Path = ARTIFACTS) -> dict[str, Any]:
    """The shipped manifest (``NotFound`` when the package has none)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise NotFound(f"no shipped moderation classifiers at {folder}")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def load_shipped(name: str, folder: Path = ARTIFACTS) -> tuple[TextClassifier, dict[str, Any]]:
    """A shipped classifier and its manifest entry; the file's checksum is verified."""
    entry = read_manifest(folder).get("models", {}).get(name)
    path = artifact_file(name, folder)
    if entry is None or not path.is_file():
        raise NotFound(f"classifier {name!r} is not shipped")
    if file_digest(path) != entry["sha256"]:
        raise NotFound(f"shipped {path.name} does not match its manifest checksum")
    return read_artifact(path), entry


def register_shipped(
    store: ModelStore, registry: ModelRegistry, names: list[str], folder: Path = ARTIFACTS
) -> dict[str, ModelRef]:
    """Save each shipped classifier of ``names`` as a version and promote it to champion.

    Only models without a champion are touched (the caller holds a lock so
    processes do not race); returns the versions registered.
    """
    from agora.mlops.registry import REGISTERED

    out: dict[str, ModelRef] = {}
    for name in names:
        if registry.deployment(name).champion is not None:
            continue
        clf, entry = load_shipped(name, folder)
        snapshot = f"shipped {artifact_file(name).name} sha256:{entry['sha256']}; {entry['data']}"
        ref = store.save(
            name,
            clf,
            params=entry["params"] | {"source": "shipped", "agora": entry["agora_version"]},
            metrics=entry["held_out"],
            data_snapshot=snapshot,
            features=clf.feature_names,
        )
        registry.record(name, REGISTERED, ref.version, actor=ACTOR, reason=snapshot)
        registry.promote(
            name,
            ref.version,
            actor=ACTOR,
            reason=f"shipped with the package (trained {entry['trained_at']})",
            metrics={"candidate": entry["held_out"]},
        )
        log.info("registered the shipped %s as champion", ref)
        out[name] = ref
    return out


def export_shipped(
    store: ModelStore, names: list[str], out: Path, *, command: str
) -> dict[str, Any]:
    """Write the champions of ``names`` as artefacts plus ``MANIFEST.json`` into ``out``."""
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "command": command,
        "models": {},
    }
    for name in names:
        info = store.info(name, alias="champion")
        clf: TextClassifier = store.load(name, version=info.ref.version)
        trained_at = datetime.fromtimestamp(info.created_at or 0, UTC).isoformat()
        held_out = {k: v for k, v in info.metrics.items() if not k.startswith("threshold.")}
        entry: dict[str, Any] = {
            "source_version": str(info.ref),
            "trained_at": trained_at,
            "agora_version": __version__,
            "params": info.params,
            "data": info.data_snapshot or "",
            "sources": SOURCES.get(name, {}),
            "held_out": held_out,
            "thresholds": clf.thresholds_,
            "features": clf.feature_names,
        }
        path = write_artifact(
            clf, artifact_file(name, out), provenance={k: entry[k] for k in ("data", "sources")}
        )
        entry |= {"file": path.name, "bytes": path.stat().st_size, "sha256": file_digest(path)}
        manifest["models"][name] = entry
    (Path(out) / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
