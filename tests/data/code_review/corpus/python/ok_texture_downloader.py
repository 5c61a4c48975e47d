"""Fetches the optional HD texture pack into the project and verifies it."""
import hashlib
import urllib.request
import zipfile
from pathlib import Path

PACK_URL = "https://cdn.example-games.com/packs/hd-textures-1.2.zip"
PACK_SHA256 = "4f2a9c0d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f"
DEST = Path(__file__).parent / "textures" / "hd"


def fetch_pack() -> Path:
    archive = DEST.parent / "hd.zip"
    DEST.mkdir(parents=True, exist_ok=True)
    urllib.request.urlretrieve(PACK_URL, archive)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != PACK_SHA256:
        archive.unlink()
        raise RuntimeError("texture pack checksum mismatch")
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            if name.startswith("/") or ".." in name:
                raise RuntimeError(f"unsafe path in pack: {name}")
        zf.extractall(DEST)
    archive.unlink()
    return DEST
