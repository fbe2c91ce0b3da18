"""JPEG 2000 files with quality layers and progressive JPEGs as layered files, from their bytes.

Pure Python on the bytes (no pixel is decoded, no Pillow, no torch), so the viewer's GUI process
reads these files as it reads `.strata` headers. A classic file is a sequence of layers whose
prefixes decode, like a `.strata` file:

- **JPEG 2000** (a raw codestream, `.j2k`/`.j2c`, or one inside a JP2 file, `.jp2`): layer i is
  quality layer i, found from the PLT packet lengths of a one-tile LRCP codestream
  (codec/classic_j2k.py).
- **Progressive JPEG** (SOF2, or SOF10 with arithmetic coding): layer i is scan i, which ends
  with the marker after its entropy-coded data (codec/classic_jpeg.py).

Layer 0 holds everything before the first layer's data too (the headers), so layer_offset(0) is
0 and a file's layer lengths add up to the file. The layout of a file (`ClassicLayout`,
codec/classic_layout.py) has the attributes of `codec.container.Header` that readers use
(codec.layered.LayeredFile); these formats record no PSNR, so every layer's is unknown.

What is not a layered file raises a ClassicFileError with a sentence for people: `NotLayered`
(a baseline JPEG, a codestream of one quality layer: an ordinary image), `UnsupportedLayout`
(layers that Strata cannot find: no PLT, several tiles or tile-parts, another progression
order, packed packet headers; `TooManyLayers`: more than `classic_layout.MAX_LAYERS`),
`TruncatedFile` (nothing complete to show), `CorruptFile` (the markers are broken;
`FileTooLong`: more bytes than the picture can take, `classic_layout.max_file_bytes`). A file
that ends inside a later layer or is damaged after some complete layers keeps those layers, and
the parse reports why it stops (`damage`, with the `layer` it stops at); bytes after the end
are `TrailingBytes`, not fatal.

Every reader reads each marker once (`J2kParser`, `JpegParser` go on where they stopped), so
parsing, streaming in pieces and decoding all cost time linear in the file.
"""
from __future__ import annotations

import os
import stat

from codec.classic_j2k import J2kParser, check_end, prefix as j2k_prefix
from codec.classic_jpeg import JpegParser
from codec.classic_layout import (EOC, J2K_START, JP2_SIGNATURE, JPEG_START, KINDS, ClassicFileError,  # noqa: F401
                                  ClassicLayout, CorruptFile, EndsInsideLayer, FileTooLong, NotLayered,
                                  TooManyLayers, TrailingBytes, TruncatedFile, UnsupportedLayout, stop)
from codec.container import Chunk, ParsedFile

READ_CHUNK = 1 << 20  # bytes read from a file or pipe at a time


def sniff(start) -> str | None:
    """"jp2", "j2k" or "jpeg" when the bytes start like such a file, else None (also while
    they are too few to tell: see could_be)."""
    start = bytes(start[:12])
    return next((kind for kind, magic in KINDS.items() if start.startswith(magic)), None)


def could_be(start) -> bool:
    """The bytes so far are the start of some classic file's signature (more may tell)."""
    start = bytes(start[:12])
    return any(magic.startswith(start) or start.startswith(magic) for magic in KINDS.values())


def _kind(data) -> str:
    kind = sniff(data)
    if kind is None:
        raise CorruptFile("it is neither a JPEG 2000 nor a JPEG file")
    return kind


def parser_for(kind: str) -> J2kParser | JpegParser:
    """The incremental marker parser of a kind of file (sniff)."""
    return JpegParser() if kind == "jpeg" else J2kParser(kind)


def parse(data) -> ParsedFile:
    """Layout and complete layers of a whole classic file or a prefix of it, as
    container.parse_container gives them for a `.strata` file (header: the ClassicLayout).

    Raises NotLayered, UnsupportedLayout, CorruptFile, or TruncatedFile when no layer is
    complete; a file that ends inside a later layer or breaks after complete layers keeps them
    (complete False, damage says why for a JPEG; a JPEG 2000 file's layout names every layer).
    """
    kind = _kind(data)
    parser = parser_for(kind)
    damage = None
    try:
        layout = parser.run(data)
    except ClassicFileError as error:
        layout = parser.layout()
        if kind != "jpeg" or layout is None or not layout.num_layers or isinstance(error, NotLayered):
            raise
        damage = stop(error, layout.num_layers)
    if kind == "jpeg":
        complete, damage = _jpeg_ending(parser, layout, len(data), damage)
    elif layout is None:
        raise TruncatedFile(f"the file ends after {len(data):,} bytes, inside its JPEG 2000 headers: nothing "
                            f"can be shown")
    else:
        complete, damage = _j2k_ending(data, layout)
    ends = tuple(layout.layer_ends)[:layout.num_layers - (damage is not None and kind != "jpeg")]
    layers = [bytes(data[a:b]) for a, b in zip((0,) + ends, ends) if b <= len(data)]
    if not layers:
        raise TruncatedFile(f"the file ends after {len(data):,} bytes, before its first quality layer is complete "
                            f"({ends[0]:,} bytes): nothing can be shown")
    if complete and len(data) > layout.file_size:
        damage = trailing_bytes(len(data) - layout.file_size)
    return ParsedFile(layout, layers, complete, damage)


def _jpeg_ending(parser: JpegParser, layout: ClassicLayout | None, size: int, damage):
    """(complete, damage) of a JPEG read to its end or to `size` bytes; TruncatedFile when not
    one scan is complete."""
    if layout is None or not layout.num_layers:
        raise TruncatedFile(f"the file ends after {size:,} bytes, before its first scan is complete: "
                            f"nothing can be shown")
    complete = parser.end is not None
    if damage is None and not complete:
        damage = stop(EndsInsideLayer(
            f"the file ends after {size:,} bytes, inside scan {layout.num_layers + 1} (it has no "
            f"end-of-image marker): scans 1 to {layout.num_layers} can be shown"), layout.num_layers)
    return complete, damage


def _j2k_ending(data, layout: ClassicLayout):
    """(complete, damage) of a JPEG 2000 file read to `len(data)` bytes: its last layer must be
    followed by EOC, or it stops before it."""
    if len(data) < layout.file_size:
        return False, None
    try:
        check_end(data, layout.data_ends[-1])
    except ClassicFileError as error:
        return False, stop(error, layout.num_layers - 1)
    return True, None


def trailing_bytes(extra: int | None) -> TrailingBytes:
    """The damage of `extra` bytes (None: an uncounted number) after the end of a file."""
    count = "Some" if extra is None else f"{extra:,}"
    return TrailingBytes(f"{count} bytes follow the end of the image; every layer is intact")


def decodable_prefix(data, layout: ClassicLayout, layer: int) -> bytes:
    """A standard file of the first layer + 1 layers of data (which holds at least them):
    a JPEG 2000 codestream (also for a JP2 file) or a JPEG closed with EOI."""
    if not 0 <= layer < layout.num_layers or len(data) < layout.data_ends[layer]:
        raise IndexError(f"layer {layer} is not in the data")
    if layout.kind == "jpeg":
        return bytes(data[:layout.data_ends[layer]]) + EOC
    return j2k_prefix(data, layout, layer)


def read_layout(data) -> ClassicLayout | None:
    """The layout of a file's first bytes as far as they go: None until it is known (a JPEG 2000
    file's headers, a JPEG's frame header); a JPEG's lists the scans complete so far."""
    return parser_for(_kind(data)).run(data)


def layer_prefixes(data) -> list[bytes]:
    """Every layer's decodable file of a complete classic file, first layer first."""
    parsed = parse(data)
    if not parsed.complete:
        raise ValueError(str(parsed.damage) if parsed.damage else "the file is incomplete")
    return [decodable_prefix(data, parsed.header, i) for i in range(parsed.header.num_layers)]


def j2k_layer_prefixes(data: bytes) -> list[bytes]:
    """A one-tile JPEG 2000 codestream (LRCP, encoded with PLT) cut after each quality layer:
    valid codestreams that decode to exactly the first 1, 2, ... layers (the anchors' cut)."""
    if sniff(data) not in ("j2k", "jp2"):
        raise ValueError("not a JPEG 2000 codestream")
    return layer_prefixes(data)


def jpeg_scan_prefixes(data: bytes) -> list[bytes]:
    """A progressive JPEG cut after each scan, each prefix closed with EOI: decodable files
    (the anchors' cut)."""
    if sniff(data) != "jpeg":
        raise ValueError("not a JPEG file")
    return layer_prefixes(data)


def ended(parser: J2kParser | JpegParser) -> bool:
    """The parser knows where the file's last layer ends."""
    return parser.layout() is not None if isinstance(parser, J2kParser) else parser.end is not None


class StreamingReader:
    """A classic file arriving in pieces: `feed` returns the layers each piece completes, as
    container.StreamingReader does for a `.strata` file (one chunk per layer; its payload is the
    layer's bytes, layer 0's with the headers).

    `header` is the layout once known (a JPEG's grows as its scans complete). A broken structure
    raises ClassicFileError before any layer is complete, and after one ends the layers with
    `damage` set; bytes after the end are TrailingBytes damage. The markers are read once each,
    and no more bytes are kept than the picture's file may take (FileTooLong).
    """

    def __init__(self):
        self.header: ClassicLayout | None = None
        self.damage: ClassicFileError | None = None
        self.bytes_received = 0
        self._data = bytearray()
        self._parser: J2kParser | JpegParser | None = None
        self._given = 0  # layers returned
        self._error: ClassicFileError | None = None

    @property
    def done(self) -> bool:
        return self._parser is not None and ended(self._parser) and self._given == self.header.num_layers

    def feed(self, data: bytes) -> list[Chunk]:
        if self._error is not None:
            raise self._error
        self.bytes_received += len(data)
        if self.damage is not None:
            return []
        if self.done:
            if data:
                self.damage = trailing_bytes(len(data))
            return []
        self._data += data
        try:
            self._read_layout()
        except ClassicFileError as error:
            return self._stop(error)
        return [] if self.header is None else self._take_layers()

    def _read_layout(self) -> None:
        if self._parser is None:
            if len(self._data) < 12 and could_be(self._data) and sniff(self._data) is None:
                return
            self._parser = parser_for(_kind(self._data))
        self.header = self._parser.run(self._data)

    def _stop(self, error: ClassicFileError) -> list[Chunk]:
        """A broken structure: raised while no layer is complete, else the layers before it."""
        layout = self._parser.layout() if isinstance(self._parser, JpegParser) else None
        if layout is None or not layout.num_layers or isinstance(error, NotLayered):
            self._error = error
            raise error
        self.header, self.damage = layout, stop(error, layout.num_layers)
        return self._take_layers()

    def _take_layers(self) -> list[Chunk]:
        layout, completed = self.header, []
        while self._given < layout.num_layers and layout.layer_ends[self._given] <= len(self._data):
            i = self._given
            if i == layout.num_layers - 1 and layout.kind != "jpeg":
                try:
                    check_end(self._data, layout.data_ends[i])
                except ClassicFileError as error:
                    self.damage = stop(error, i)
                    return completed
            completed.append(Chunk(i, 0, bytes(self._data[layout.layer_offset(i):layout.layer_ends[i]]), True))
            self._given += 1
        if self.done and len(self._data) > layout.file_size:
            self.damage = trailing_bytes(len(self._data) - layout.file_size)
            del self._data[layout.file_size:]
        return completed


# ---------------------------------------------------------------------------------------------
# Reading from a file or a pipe: no further than the layers asked for, bounded


def read_from(stream, layers: int | None = None, start: bytes = b"", check=None) -> tuple[bytes, int | None]:
    """The bytes of a classic file up to the end of its first `layers` layers (default: all) read
    from a binary stream (after `start`, bytes already read from it), as far as it has them, and
    how many bytes follow them (None: some, uncounted).

    Reads in READ_CHUNK pieces and stops as soon as the layers asked for are in, where the
    structure breaks (the parse of the bytes says how), or where the file outgrows what its
    picture can take (classic_layout.max_file_bytes), so a pipe is never read without limit.
    check(size), when given, runs before each piece with the bytes to be held (a memory check).
    """
    data, parser = bytearray(start), None
    while True:
        if parser is None and (len(data) >= 12 or not could_be(data)):
            parser = parser_for(_kind(data))
        needed = _needed(parser, data, layers)
        if needed is not None:
            return bytes(data[:needed]), _after(stream, len(data) - needed)
        if check is not None:
            check(len(data) + READ_CHUNK)
        piece = stream.read(READ_CHUNK)
        if not piece:
            return bytes(data), 0
        data += piece


def _needed(parser, data: bytearray, layers: int | None) -> int | None:
    """How many bytes of data the layers asked for take; len(data) when reading must stop
    there (a broken or overlong file); None while more are needed."""
    if parser is None:
        return None
    try:
        layout = parser.run(data)
    except ClassicFileError:
        return len(data)
    if len(data) > parser.limit():
        return len(data)
    if layout is None:
        return None
    if ended(parser) and (layers is None or layers >= layout.num_layers):
        end = layout.file_size
    elif layers is not None and layout.num_layers >= max(layers, 1):
        end = layout.layer_ends[max(layers, 1) - 1]
    else:
        return None
    return end if end <= len(data) else None


def _after(stream, buffered: int) -> int | None:
    """Bytes after the position of a stream, plus `buffered` read beyond the end already:
    counted for a regular file; otherwise 0, or None when some follow."""
    try:
        info = os.fstat(stream.fileno())
    except (OSError, AttributeError, ValueError):  # no file descriptor (io.UnsupportedOperation)
        info = None
    if info is not None and stat.S_ISREG(info.st_mode):
        return buffered + max(info.st_size - stream.tell(), 0)
    return None if buffered or stream.read(1) else 0
