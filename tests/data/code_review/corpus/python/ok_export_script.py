"""Batch-exports every .blend in the assets folder to glTF with Blender."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
EXPORT = ROOT / "build" / "gltf"


def export_all() -> int:
    blender = shutil.which("blender")
    if blender is None:
        print("blender not found on PATH", file=sys.stderr)
        return 1
    EXPORT.mkdir(parents=True, exist_ok=True)
    for blend in sorted((ROOT / "assets").glob("*.blend")):
        out = EXPORT / (blend.stem + ".glb")
        subprocess.run(
            [blender, "--background", str(blend), "--python-expr",
             f"import bpy; bpy.ops.export_scene.gltf(filepath={str(out)!r})"],
            check=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(export_all())
