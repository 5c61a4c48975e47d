"""Save slots for a pygame roguelike, stored in the user's data folder."""
import json
import os
from pathlib import Path

SAVE_DIR = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "dungeon"


def save_slot(slot: int, state: dict) -> Path:
    SAVE_DIR.mkdir(parents=True, exist_ok=True)
    path = SAVE_DIR / f"slot{slot}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, path)
    return path


def load_slot(slot: int) -> dict:
    path = SAVE_DIR / f"slot{slot}.json"
    if not path.exists():
        return {"level": 1, "hp": 10, "inventory": []}
    return json.loads(path.read_text())
