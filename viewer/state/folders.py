"""The folders the viewer works in, without Qt: the next or previous file of a folder, and
where encoded files go unless the user chose a folder."""
from __future__ import annotations

import os
import re
from pathlib import Path

from codec.resources import RESOURCES
from viewer.state.files import IMAGE_SUFFIXES

LAYERED_SUFFIX = ".strata"


def kind(path: Path) -> str | None:
    """"image" or "layered" by the file's name; None for anything else."""
    suffix = path.suffix.lower()
    if suffix == LAYERED_SUFFIX:
        return "layered"
    return "image" if suffix in IMAGE_SUFFIXES else None


def natural_key(path: Path) -> list:
    """Sort key that puts kodim2 before kodim10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def neighbour(path: Path, step: int) -> Path | None:
    """The file step places after path (before it for a negative step) among the files of its
    folder of the same kind (images, or layered files), in natural order; None past either
    end. Raises OSError when the folder cannot be read."""
    path, wanted = Path(path), kind(Path(path))
    siblings = sorted((p for p in path.parent.iterdir() if p.is_file() and kind(p) == wanted and p != path),
                      key=natural_key)
    keys = [natural_key(p) for p in siblings]
    before = sum(key < natural_key(path) for key in keys)  # where path sorts among the others
    index = before + step - 1 if step > 0 else before + step
    return siblings[index] if 0 <= index < len(siblings) else None


def writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK)


def encode_folder(image: Path, remembered: str | None, fallback: Path) -> Path:
    """Where the Encode dialog writes by default: the folder chosen last time while it exists;
    else the image's folder, unless it holds the shipped files (the bundled sample is there) or
    cannot be written; else fallback."""
    if remembered and Path(remembered).is_dir():
        return Path(remembered)
    folder = Path(image).resolve().parent
    if writable(folder) and folder != RESOURCES.resolve():
        return folder
    return fallback
