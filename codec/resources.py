"""Where Strata's shipped files (weights, the sample picture, the icon) and its caches live.

The shipped files sit in the repository's top-level `resources/` folder and travel in three ways:
- a checkout (editable install or PYTHONPATH): `resources/` beside the `codec` package;
- the PyInstaller bundle: `_internal/resources/`, again beside `codec` (packaging/strata.spec);
- an installed wheel: `codec/_resources/`, the same files as package data (setup.py maps them).

Caches (classic-anchor measurements, decoded training pixels) go to the checkout's `.cache/`
when running from a checkout, else to `$XDG_CACHE_HOME/strata/` (default `~/.cache/strata/`).
"""
from __future__ import annotations

import os
from pathlib import Path

_CODEC = Path(__file__).resolve().parent
PACKAGED = "_resources"  # the folder's name inside the installed `codec` package


def checkout() -> Path | None:
    """The repository root when `codec` runs from a checkout (pyproject.toml beside it), else None."""
    root = _CODEC.parent
    return root if (root / "pyproject.toml").is_file() else None


def resources_folder() -> Path:
    """The shipped files' folder: the wheel's package data when installed, else the one beside `codec`."""
    packaged = _CODEC / PACKAGED
    return packaged if packaged.is_dir() else _CODEC.parent / "resources"


def cache_dir(name: str) -> Path:
    """The cache folder `name` (not created): in the checkout's .cache/, else the user's cache."""
    root = checkout()
    if root is not None:
        return root / ".cache" / name
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "strata" / name


RESOURCES = resources_folder()
