"""Copy the vendored front-end files from node_modules into the package.

Run by ``make vendor`` after ``npm ci``: every file named in ``vendor.json`` is
copied (flattened) to ``<static>/vendor/<package>/`` with the package's version
in that folder's ``VERSIONS.json``, so the served pages never load from a CDN
and an upgrade is one line in ``package.json``. ``<static>`` is the API's
static folder (``src/agora/api/static``) unless ``targets`` names another
package: ``"console"`` is ``src/agora/console/static`` (htmx, uPlot and
``<model-viewer>`` for the operator console). ``rewrites`` replaces the few
network URLs a bundle still holds (ReDoc's footer logo on cdn.redoc.ly, the
Draco/KTX2/Lottie decoders <model-viewer> would fetch from gstatic and
jsDelivr) with local data or local paths; a key ``target:path`` names a file
under a non-default target. tests/e2e/test_docs_browser.py and
tests/e2e/test_console_pages.py fail on any that remain.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent / "src" / "agora"
DEFAULT_TARGET = "api"


def _vendor_dir(target: str) -> Path:
    return PACKAGE / target / "static" / "vendor"


def main() -> None:
    spec = json.loads((HERE / "vendor.json").read_text())
    wanted: dict[str, list[str]] = spec["files"]
    targets: dict[str, str] = spec.get("targets", {})
    rewrites: dict[str, dict[str, str]] = spec.get("rewrites", {})
    versions: dict[str, dict[str, str]] = {}
    for package, files in sorted(wanted.items()):
        source = HERE / "node_modules" / package
        meta = json.loads((source / "package.json").read_text())
        target = targets.get(package, DEFAULT_TARGET)
        versions.setdefault(target, {})[package] = meta["version"]
        out = _vendor_dir(target) / package
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for name in files:
            shutil.copyfile(source / name, out / Path(name).name)
    for key, replacements in rewrites.items():
        target, _, name = key.rpartition(":")
        path = _vendor_dir(target or DEFAULT_TARGET) / name
        text = path.read_text(encoding="utf-8")
        for old, new in replacements.items():
            if old not in text:
                raise SystemExit(f"{key}: {old!r} not found (update vendor.json)")
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    for target, found in versions.items():
        listing = json.dumps(found, indent=2, sort_keys=True) + "\n"
        (_vendor_dir(target) / "VERSIONS.json").write_text(listing)
        print(f"vendored {', '.join(f'{p}@{v}' for p, v in sorted(found.items()))}")


if __name__ == "__main__":
    main()
