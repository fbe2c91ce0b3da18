"""What every classic file reader shares: the layout of a file (`ClassicLayout`), its errors, the
limits a hostile file meets, and reading integers from bytes that may still be arriving.

codec/classic_files.py is the public face (parse, the streaming reader, reading from files);
codec/classic_j2k.py and codec/classic_jpeg.py read the markers of each format.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

from codec.container import MAX_PIXELS, MAX_SIDE

JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"  # the JPEG 2000 signature box, first in a .jp2
J2K_START = b"\xff\x4f\xff\x51"  # SOC then SIZ: a JPEG 2000 codestream
JPEG_START = b"\xff\xd8\xff"  # SOI then a marker
KINDS = {"jp2": JP2_SIGNATURE, "j2k": J2K_START, "jpeg": JPEG_START}
CODEC_OF = {"jp2": "jpeg2000", "j2k": "jpeg2000", "jpeg": "jpeg-progressive"}  # registry names
FORMAT_NAMES = {"jp2": "JPEG 2000 (JP2)", "j2k": "JPEG 2000 codestream", "jpeg": "progressive JPEG"}
EOC = b"\xff\xd9"  # also JPEG's EOI

# Limits on what a file may announce or hold (docs/FORMAT.md, "Classic files"). Real files have
# 10 to 50 layers; a JPEG 2000 codestream may announce 65,535, and a JPEG may repeat a scan
# without end, each layer costing a decode of the whole prefix. Raise MAX_LAYERS to read more.
MAX_LAYERS = 1000
MAX_SEGMENTS = 100_000  # boxes and markers in a file: far more than any real one has
MAX_HEADER_BYTES = 64 << 20  # metadata before and between the layers (ICC profiles, XMP, comments)
MAX_BYTES_PER_PIXEL = 16  # a JPEG of noise at quality 100 takes under 10, lossless JPEG 2000 about 3


def max_file_bytes(width: int, height: int) -> int:
    """The most bytes a classic file of a width x height picture may take."""
    return MAX_HEADER_BYTES + MAX_BYTES_PER_PIXEL * width * height


class ClassicFileError(ValueError):
    """A JPEG 2000 or JPEG file that cannot be read as a layered file; the message is a sentence
    for people. `layer`: where a file with complete layers before it stops (else None)."""

    layer: int | None = None


class NotLayered(ClassicFileError):
    """An ordinary image: a baseline JPEG, a JPEG 2000 codestream of one quality layer."""


class UnsupportedLayout(ClassicFileError):
    """A layered file whose layers Strata cannot find in the byte stream."""


class TooManyLayers(UnsupportedLayout):
    """More layers than MAX_LAYERS announced (JPEG 2000) or begun (a JPEG's scans)."""


class TruncatedFile(ClassicFileError):
    """The file ends before its first layer is complete (or inside its headers)."""


class CorruptFile(ClassicFileError):
    """Broken marker structure."""


class FileTooLong(CorruptFile):
    """More bytes than max_file_bytes allows for the picture (announced, or arriving)."""


class EndsInsideLayer(ClassicFileError):
    """The file ends inside a layer whose end cannot be known (a progressive JPEG's scan)."""


class TrailingBytes(ClassicFileError):
    """Bytes after the end of the codestream or image; every layer is intact."""


def stop(error: ClassicFileError, layer: int) -> ClassicFileError:
    """The error, as the reason a file with `layer` complete layers stops."""
    error.layer = layer
    return error


def too_many_layers(count: int, what: str) -> TooManyLayers:
    return TooManyLayers(f"{what} {count:,} layers, more than the {MAX_LAYERS:,} Strata reads "
                         f"(codec.classic_layout.MAX_LAYERS)")


def too_long(size: int, width: int, height: int, what: str) -> FileTooLong:
    return FileTooLong(f"{what} {size:,} bytes, more than a {width}x{height} picture can take "
                       f"({max_file_bytes(width, height):,}: {MAX_BYTES_PER_PIXEL} bytes a pixel and "
                       f"{MAX_HEADER_BYTES >> 20} MiB of headers)")


class More(Exception):
    """The bytes end before the structure being read does (a prefix, or a truncated file)."""


def need(data, end: int) -> None:
    if len(data) < end:
        raise More


def u16(data, pos: int) -> int:
    need(data, pos + 2)
    return int.from_bytes(data[pos:pos + 2], "big")


def u32(data, pos: int) -> int:
    need(data, pos + 4)
    return int.from_bytes(data[pos:pos + 4], "big")


def check_size(width: int, height: int, what: str) -> None:
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE and width * height <= MAX_PIXELS):
        raise CorruptFile(f"the {what} announces a {width}x{height} picture, outside the limits of "
                          f"1..{MAX_SIDE} pixels a side and {MAX_PIXELS:,} pixels")


class Resumable:
    """A parser whose state is plain values and lists that only grow: mark() and restore(mark)
    undo what a run over bytes that turned out wrong did (a layer decoder given a bad chunk)."""

    def mark(self) -> dict:
        return {key: len(value) if isinstance(value, list) else value for key, value in vars(self).items()}

    def restore(self, mark: dict) -> None:
        for key, value in mark.items():
            current = getattr(self, key)
            if isinstance(current, list):
                del current[value:]
            else:
                setattr(self, key, value)


class Ends(Sequence[int]):
    """The first n offsets of a list that only grows: a JPEG's layout read so far shares its
    parser's list, so making one costs nothing however many scans came before."""

    __slots__ = ("_items", "_count")

    def __init__(self, items: list[int], count: int | None = None):
        self._items = items
        self._count = len(items) if count is None else count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self._items[:self._count][index])
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(f"offset {index} out of range 0..{self._count - 1}")
        return self._items[index]

    def __iter__(self):
        return iter(self._items[:self._count])

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and len(other) == self._count and all(a == b for a, b in zip(self, other))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


@dataclass(frozen=True)
class ClassicLayout:
    """Where the layers of a JPEG 2000 or progressive JPEG file end, and its picture.

    layer_ends[i]: the offset after which a reader has layer i (data_ends[i] plus, for a JPEG,
    the marker that ends the scan; for a JPEG 2000 file's last layer, EOC). data_ends[i]: where
    layer i's decodable data ends. For JPEG 2000 also the codestream's offset in the file (the
    JP2 box's content), its SOT and SOD markers' offsets.
    """

    kind: str  # "jp2", "j2k" or "jpeg"
    width: int
    height: int
    source_mode: str  # "RGB", "L" or "other" (as container.SOURCE_MODES)
    data_ends: Sequence[int]
    layer_ends: Sequence[int]
    header_bytes: int  # the headers before the first layer's data
    codestream: int = 0
    sot: int = 0
    sod: int = 0
    model_id: int = 0
    weights_digest: bytes = b""
    params: bytes = b""
    version: None = None  # no container version

    @property
    def codec(self) -> str:
        return CODEC_OF[self.kind]

    @property
    def format_name(self) -> str:
        return FORMAT_NAMES[self.kind]

    @property
    def num_layers(self) -> int:
        return len(self.layer_ends)

    @cached_property
    def layer_lengths(self) -> tuple[int, ...]:
        ends = tuple(self.layer_ends)
        return tuple(end - start for start, end in zip((0,) + ends, ends))

    @cached_property
    def layer_psnr(self) -> tuple[None, ...]:
        return (None,) * self.num_layers

    @cached_property
    def chunks(self) -> tuple[tuple[int, ...], ...]:
        """One chunk per layer."""
        return tuple((n,) for n in self.layer_lengths)

    def layer_offset(self, i: int) -> int:
        """File offset where layer i starts (i may equal num_layers: the end of the last)."""
        if not 0 <= i <= self.num_layers:
            raise IndexError(f"layer {i} out of range 0..{self.num_layers}")
        return self.layer_ends[i - 1] if i else 0

    def chunk_end(self, i: int, part: int) -> int:
        if part != 0:
            raise IndexError(f"layer {i} has chunk 0 only, not {part}")
        return self.layer_offset(i + 1)

    @property
    def file_size(self) -> int:
        """Bytes up to the end of the last layer (the whole file when nothing trails)."""
        return self.layer_ends[-1] if self.num_layers else 0
