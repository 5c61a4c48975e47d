"""Loads community mods from the game's mods/ folder."""
import importlib.util
import logging
from pathlib import Path

log = logging.getLogger(__name__)
MODS = Path(__file__).parent / "mods"


def load_mods(game) -> list:
    loaded = []
    for path in sorted(MODS.glob("*/main.py")):
        spec = importlib.util.spec_from_file_location(f"mods.{path.parent.name}", path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
            module.setup(game)
            loaded.append(path.parent.name)
        except Exception:
            log.exception("mod %s failed to load", path.parent.name)
    return loaded
