"""Reads the key bindings file; values are Python literals like (1, 2)."""
import ast
import base64
import configparser
from pathlib import Path


def load_bindings(path: Path) -> dict:
    parser = configparser.ConfigParser()
    parser.read(path)
    bindings = {}
    for action, value in parser["bindings"].items():
        bindings[action] = ast.literal_eval(value)
    return bindings


def thumbnail_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
