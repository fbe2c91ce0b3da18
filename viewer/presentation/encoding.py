"""What the Encode dialog says: what each codec makes and what its qualities and effort levels
mean, the names it writes, and what is wrong with the folder typed; and how a running encode is
getting on."""
from __future__ import annotations

import os
from pathlib import Path

from codec import registry
from codec.effort import DEFAULT_EFFORT, EFFORTS


def codec_explanation(spec: registry.CodecSpec) -> str:
    """One line on what a codec of the table makes; a family's explains its quality range."""
    if spec.name == "jpeg2000":
        return (f"{spec.title}: a standard {spec.suffix} file of 12 quality layers (OpenJPEG), streamed from "
                f"its byte prefixes like the learned codecs: the classic progressive codec to compare them with.")
    if not spec.learned:
        return (f"{spec.title}: a standard {spec.suffix} file in 10 scans (libjpeg), each a finer picture of the "
                f"whole; streamed scan by scan.")
    if not spec.is_family:
        return (f"{spec.title}: one file in layers; its first layers alone already make a picture, "
                f"from a rough preview to full quality (pick the layer while viewing).")
    low, high = min(spec.model_ids), max(spec.model_ids)
    return (f"{spec.title}: one model per quality, {low} to {high}; quality {low} makes the smallest file and "
            f"the roughest picture, {high} the largest file and the best picture. Each file is in layers too.")


def quality_item(spec: registry.CodecSpec, quality: int) -> str:
    """A family's quality in its list: "quality 1 (smallest file)", "quality 4 (best picture)"."""
    ends = {min(spec.model_ids): " (smallest file)", max(spec.model_ids): " (best picture)"}
    return f"quality {quality}{ends.get(quality, '')}"


def folder_problem(text: str) -> str | None:
    """Why the folder typed cannot take the files, in words; None when it can (a folder that
    does not exist yet is made)."""
    if not text.strip():
        return "Choose a folder for the layered files."
    folder = Path(text).expanduser()
    if folder.exists() and not folder.is_dir():
        return f"{folder} is a file, not a folder."
    if folder.is_dir() and not os.access(folder, os.W_OK):
        return f"{folder} cannot be written to; choose another folder."
    return None


def same_size_text(name: str | None, size: int | None) -> str:
    """The Encode dialog's equal-bytes choice: a file at most as big as pane A's, beside it."""
    if name is None:
        return "Same size as pane A's file (open or encode a layered file first)"
    return f"Same size as pane A's file ({name}, {size:,} bytes), shown beside it in pane B"


TARGET_UNITS = ("bytes", "kB", "bpp")  # a target size's units; kB: 1000 bytes


def target_bytes(value: float, unit: str, size: tuple[int, int]) -> int:
    """A target size in bytes: value bytes, kB, or bits per pixel of a picture of size (width,
    height), rounded down as codec.api.byte_budget rounds max_bpp."""
    if unit == "bpp":
        return int(value * size[0] * size[1] / 8)
    return int(value * 1000) if unit == "kB" else int(value)


def target_text(nbytes: int, size: tuple[int, int] | None) -> str:
    """"At most 48,000 bytes (0.977 bpp) per file." (bpp when the picture's size is known), or
    why such a target cannot be met."""
    if nbytes < 1:
        return "A target size must be at least 1 byte."
    bpp = "" if size is None else f" ({8 * nbytes / (size[0] * size[1]):.3f} bpp)"
    return f"At most {nbytes:,} bytes{bpp} per file."


def writes_text(names: list[str], folder: Path) -> str:
    """"Writes photo.deephq.strata into /home/me/Pictures" (a new folder: said so)."""
    new = "" if folder.is_dir() else " (a new folder)"
    return f"Writes {', '.join(names)} into {folder}{new}"


def effort_text(level: int) -> str:
    """What an effort level does, for the Encode dialog."""
    if level == EFFORTS[0]:
        what = "fastest: the encoder codes its first guess"
    elif level == EFFORTS[-1]:
        what = "best: the longest search (minutes per photo on a CPU)"
    else:
        what = "searches for a better latent: smaller files or sharper pictures, slower"
    default = " (default)" if level == DEFAULT_EFFORT else ""
    return f"Effort {level}{default}: {what}. Learned codecs only; decoding is unchanged."


def progress_text(stage: str, fraction: float | None, elapsed_s: float) -> str:
    """"Encoding with DeepHQ… 42%, 12 s, about 17 s left" (no estimate before 2% or 1 s)."""
    if fraction is None:
        return f"{stage}… {elapsed_s:.0f} s"
    text = f"{stage}… {100 * fraction:.0f}%, {elapsed_s:.0f} s"
    if fraction >= 0.02 and elapsed_s >= 1 and fraction < 1:
        text += f", about {_duration(elapsed_s * (1 - fraction) / fraction)} left"
    return text


def _duration(seconds: float) -> str:
    """"45 s", "3 min 20 s"."""
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"
