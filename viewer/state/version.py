"""Strata's version: from the installed package's metadata, else from the checkout's
pyproject.toml (running from a clone without installing), else None."""
from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "strata"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def strata_version(pyproject: Path = PYPROJECT) -> str | None:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    except (OSError, ValueError, KeyError):  # tomllib.TOMLDecodeError is a ValueError
        return None
    return project.get("version") if project.get("name") == DISTRIBUTION else None
