"""Files on disk: telling `.strata` files from images, reading both, writing atomically."""
from __future__ import annotations

import os  # noqa: F401 - tests patch files.os.replace, the os.replace that write_atomic calls
from pathlib import Path

from codec import container, images, registry
from codec.atomic import write_atomic
from viewer.state.session import Original, Session, Stream

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".ppm",
                  ".pgm", ".pnm", ".tga")
OPEN_FILTER = ("Images and layered files (*.strata " + " ".join(f"*{s}" for s in IMAGE_SUFFIXES)
               + ");;Layered files (*.strata);;All files (*)")


def is_layered(path: Path) -> bool:
    """A `.strata` file: by its first bytes, or by its name when it is too short to tell."""
    with open(path, "rb") as f:
        start = f.read(len(container.MAGIC))
    return start == container.MAGIC or path.suffix.lower() == ".strata"


def read_layered(path: Path) -> Stream:
    """Raises ContainerError when the header is unusable, OSError when unreadable."""
    return Stream.from_bytes(path, Path(path).read_bytes())


def read_image(path: Path) -> Original:
    """Raises ImageInputError for anything that is not a usable image."""
    rgb, mode = images.open_image(path)
    return Original(Path(path), rgb, mode)


def read_any(path: Path) -> Original | Stream:
    """The file as an Original or a Stream; raises ValueError (bad content) or OSError."""
    path = Path(path)
    if path.is_dir():
        raise images.ImageInputError(f"{path.name} is a folder, not a file")
    return read_layered(path) if is_layered(path) else read_image(path)


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside path, then rename it over path (codec.atomic)."""
    write_atomic(path, data)


def encoded_name(image: Path, codec: str, quality: int | None) -> Path:
    """Default output beside the image: photo.deephq.strata, photo.hc-q2.strata."""
    return image.with_name(f"{image.stem}.{registry.spec(codec).tag(quality)}.strata")


def export_name(session: Session, pane: int) -> Path:
    """Default name for a pane's picture as PNG: photo.original.png, photo.deephq.layer3.png."""
    if session.shows_original(pane):
        path = session.original.path
        return path.with_name(f"{path.stem}.original.png")
    stream = session.streams[pane]
    return stream.path.with_name(f"{stream.path.stem}.layer{stream.shown + 1}.png")


def table_name(session: Session) -> Path:
    """Default name of the layer table as CSV, beside pane A's file: photo.deephq.layers.csv."""
    stream = next(s for s in session.streams if s is not None)
    return stream.path.with_name(f"{stream.path.stem}.layers.csv")
