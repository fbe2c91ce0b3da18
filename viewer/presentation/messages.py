"""What the viewer says when a file cannot be opened, in plain words: the library's own message
without the path it repeats, an operating system error without its errno and quoted path, and
the pixel limit (viewer/state/limits.py) with what it would take to raise it."""
from __future__ import annotations

from pathlib import Path

from viewer.state.limits import OverPixelLimit

BYTES_PER_SHOWN_PIXEL = 6  # the picture's RGB array and the canvas's copy of it


def megapixels(pixels: int) -> str:
    """33554432 -> "33.6 megapixels"."""
    return f"{pixels / 1e6:.1f} megapixels"


def gigabytes(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def reason(error: BaseException, path: Path | None = None) -> str:
    """Why something failed, as the end of a sentence: a library message (a ValueError's text)
    as it is, less a leading "PATH: " the viewer already says; an OSError's description without
    its errno; running out of memory; an unexpected error by its kind only."""
    if isinstance(error, MemoryError):
        return "there is not enough memory for it"
    if isinstance(error, OSError):
        text = error.strerror or str(error)
        return text[:1].lower() + text[1:]
    if isinstance(error, ValueError):
        text = str(error)
        prefix = f"{path}: "
        return text[len(prefix):] if path is not None and text.startswith(prefix) else text
    return f"it could not be read (an unexpected {type(error).__name__})"


def open_failed(path: Path, error: BaseException) -> str:
    """"Could not open photo.png: no such file or directory."."""
    text = reason(error, path).rstrip(".")
    return f"Could not open {Path(path).name}: {text}."


def over_limit_question(error: OverPixelLimit) -> str:
    """Asks whether to open a picture over the pixel limit anyway (and raise the limit)."""
    return (f"{error.path.name} is {error.width}×{error.height} pixels ({megapixels(error.pixels)}), more than "
            f"the pixel limit of {megapixels(error.limit)}. Showing it takes about "
            f"{gigabytes(BYTES_PER_SHOWN_PIXEL * error.pixels)} of memory, and encoding it much more.\n\n"
            f"Open it anyway and raise the limit to {megapixels(error.pixels)}?")


def over_limit_refused(error: OverPixelLimit) -> str:
    """The picture was not opened: it is over the pixel limit, which File > Pixel Limit raises."""
    return (f"{error.path.name} was not opened: at {error.width}×{error.height} pixels "
            f"({megapixels(error.pixels)}) it is over the pixel limit of {megapixels(error.limit)} "
            f"(File > Pixel Limit… raises it).")
