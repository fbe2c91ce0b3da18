"""Files on disk: telling layered files from images, reading both, writing atomically.

Which files stream, and which open as an image (the original, to encode):

- a `.strata` file always streams;
- a JPEG 2000 file (.jp2, .j2k) with quality layers Strata can cut (one tile-part in layer-first
  order with PLT packet lengths, as Strata and `opj_compress -PLT` write them) streams wherever it
  is opened; one it cannot cut (a single quality layer, no PLT, several tiles, another
  progression order) opens as an image in pane A and is refused, with the reason, in pane B;
- a JPEG opens as an image in pane A (File > Open), progressive or not, since most photos are
  JPEGs and many are progressive; in pane B (Open for Comparison, `--compare`, the second file
  dropped) a progressive JPEG streams and a baseline one is refused with the reason.
"""
from __future__ import annotations

import os  # noqa: F401 - tests patch files.os.replace, the os.replace that write_atomic calls
from pathlib import Path

from codec import classic_files, container, images, layered, registry
from codec.atomic import write_atomic
from viewer.state import limits
from viewer.state.limits import DEFAULT_MAX_PIXELS
from viewer.state.session import Original, Session, Stream

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".ppm",
                  ".pgm", ".pnm", ".tga", ".jp2", ".j2k")
STREAM_SUFFIXES = (".strata", ".jp2", ".j2k", ".jpg", ".jpeg")  # what Open for Comparison offers
OPEN_FILTER = ("Images and layered files (*.strata " + " ".join(f"*{s}" for s in IMAGE_SUFFIXES)
               + ");;Layered files (*.strata *.jp2 *.j2k);;All files (*)")
COMPARE_FILTER = ("Layered files (" + " ".join(f"*{s}" for s in STREAM_SUFFIXES) + ");;All files (*)")
PANE_B = 1


def file_kind(path: Path) -> str | None:
    """"strata", "jp2", "j2k" or "jpeg" by the first bytes (a `.strata` name counts when the
    file is too short to tell); None for anything else."""
    with open(path, "rb") as f:
        start = f.read(12)
    kind = layered.kind(start)
    if kind == layered.STRATA and start[:len(container.MAGIC)] != container.MAGIC:
        kind = None
    return kind or (layered.STRATA if Path(path).suffix.lower() == ".strata" else None)


def is_layered(path: Path) -> bool:
    """A `.strata` file: by its first bytes, or by its name when it is too short to tell."""
    return file_kind(path) == layered.STRATA


def read_layered(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Stream:
    """Raises ContainerError (ClassicFileError for a classic file) when the file is unusable,
    OverPixelLimit when it announces a picture over max_pixels, OSError when unreadable."""
    stream = Stream.from_bytes(path, Path(path).read_bytes())
    limits.check(path, *stream.size, max_pixels)
    return stream


def read_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Original:
    """Raises ImageInputError for anything that is not a usable image, OverPixelLimit (before
    any pixel is decoded) for one over max_pixels."""
    with limits.pillow_check_off():
        loaded = images.load_image(path, lambda width, height: limits.check(path, width, height, max_pixels))
    return Original(Path(path), loaded.rgb, loaded.source_mode, loaded.notes)


class NotStreamable(ValueError):
    """A JPEG or JPEG 2000 file opened to stream (pane B) that has no layers Strata can stream."""


def read_any(path: Path, pane: int = 0, max_pixels: int = DEFAULT_MAX_PIXELS) -> Original | Stream:
    """The file as an Original or a Stream, for pane A (0) or B (1) (see the module docstring);
    raises ValueError (bad content, NotStreamable, OverPixelLimit: a picture over max_pixels)
    or OSError."""
    path = Path(path)
    if path.is_dir():
        raise images.ImageInputError(f"{path.name} is a folder, not a file")
    kind = file_kind(path)
    if kind == layered.STRATA:
        return read_layered(path, max_pixels)
    if kind in ("jp2", "j2k") or kind == "jpeg" and pane == PANE_B:
        try:
            return read_layered(path, max_pixels)
        except (classic_files.NotLayered, classic_files.UnsupportedLayout) as error:
            if pane == PANE_B:
                raise NotStreamable(f"it cannot be streamed: {error}. File > Open opens it as an image "
                                    f"to encode") from error
    return read_image(path, max_pixels)


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside path, then rename it over path (codec.atomic)."""
    write_atomic(path, data)


def encoded_name(image: Path, codec: str, quality: int | None, max_bytes: int | None = None) -> Path:
    """Default output beside the image, in the codec's format: photo.deephq.strata,
    photo.hc-q2.strata, photo.jpeg2000.jp2; with a byte budget photo.jpeg2000.50000-bytes.jp2."""
    spec = registry.spec(codec)
    budget = "" if max_bytes is None else f".{max_bytes}-bytes"
    return image.with_name(f"{image.stem}.{spec.tag(quality)}{budget}{spec.suffix}")


def received_name(stream: Stream) -> Path:
    """Default name of the layers received of a stream: photo.layers1-3.strata (a JPEG 2000
    file's as a codestream, .j2k)."""
    count = stream.intact_layers
    return stream.path.with_name(f"{stream.path.stem}.layers1-{count}{layered.prefix_suffix(stream.header)}")


def received_file(stream: Stream) -> bytes:
    """The complete layers received of a stream as a file of its own (codec.layered.prefix_file);
    raises ValueError when none is complete."""
    if not stream.intact_layers:
        raise ValueError(f"no layer of {stream.path.name} is complete")
    return layered.prefix_file(stream.data, stream.header, stream.intact_layers)


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
