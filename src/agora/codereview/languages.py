"""Which files are scripts, and in which language.

The five languages of game-asset stores (Python for Blender and pygame, Lua
for Roblox and LOVE, C# for Unity, JavaScript/TypeScript for web games,
GDScript for Godot), chosen by extension as the engines themselves do.

Example:
    >>> script_language("Assets/Scripts/Player.cs")
    'csharp'
    >>> script_language("textures/rock.png") is None
    True
"""

from __future__ import annotations

from pathlib import PurePosixPath

EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyw": "python",
    ".lua": "lua",
    ".luau": "lua",
    ".cs": "csharp",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".gd": "gdscript",
}
LANGUAGES = ("python", "lua", "csharp", "javascript", "typescript", "gdscript")
# The extension each language's file gets when written out for Semgrep.
SUFFIX: dict[str, str] = {
    "python": ".py",
    "lua": ".lua",
    "csharp": ".cs",
    "javascript": ".js",
    "typescript": ".ts",
    "gdscript": ".gd",
}


def script_language(name: str) -> str | None:
    """The script language of a file name, or None when it is not a script."""
    return EXTENSIONS.get(PurePosixPath(name.replace("\\", "/")).suffix.lower())
