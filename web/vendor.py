"""Copy the vendored front-end files from node_modules into the package.

Run by ``make vendor`` after ``npm ci``: every file named in ``vendor.json`` is
copied to ``src/agora/api/static/vendor/<package>/`` (flattened) with the
package's version in ``VERSIONS.json``, so the served pages never load from a
CDN and an upgrade is one line in ``package.json``. ``rewrites`` replaces the
few network URLs a bundle still holds (ReDoc's footer logo on cdn.redoc.ly)
with local data; tests/e2e/test_docs_browser.py fails on any that remain.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE.parent / "src" / "agora" / "api" / "static" / "vendor"


def main() -> None:
    spec = json.loads((HERE / "vendor.json").read_text())
    wanted: dict[str, list[str]] = spec["files"]
    rewrites: dict[str, dict[str, str]] = spec.get("rewrites", {})
    versions: dict[str, str] = {}
    for package, files in sorted(wanted.items()):
        source = HERE / "node_modules" / package
        meta = json.loads((source / "package.json").read_text())
        versions[package] = meta["version"]
        out = TARGET / package
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for name in files:
            shutil.copyfile(source / name, out / Path(name).name)
    for target, replacements in rewrites.items():
        path = TARGET / target
        text = path.read_text(encoding="utf-8")
        for old, new in replacements.items():
            if old not in text:
                raise SystemExit(f"{target}: {old!r} not found (update vendor.json)")
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    (TARGET / "VERSIONS.json").write_text(json.dumps(versions, indent=2, sort_keys=True) + "\n")
    print(f"vendored {', '.join(f'{p}@{v}' for p, v in sorted(versions.items()))} into {TARGET}")


if __name__ == "__main__":
    main()
