"""JPEG 2000 files with quality layers and progressive JPEGs as layered files, from their bytes.

Pure Python on the bytes (no pixel is decoded, no Pillow, no torch), so the viewer's GUI process
reads these files as it reads `.strata` headers. A classic file is a sequence of layers whose
prefixes decode, like a `.strata` file:

- **JPEG 2000** (a raw codestream, `.j2k`/`.j2c`, or one inside a JP2 file, `.jp2`): layer i is
  quality layer i. Strata cuts codestreams of one tile-part in layer-first progression (LRCP)
  with the packet lengths in PLT segments, as Pillow writes them with `plt=True` (OpenJPEG's
  `-PLT`): the packets of a quality layer are then contiguous, and the PLT lengths say where
  they end. Layer i ends after its last packet; the last layer also holds the EOC marker. A
  decodable file of the first i + 1 layers is the main header, the tile-part header without
  its PLT segments (an index the decoder does not need) and with Psot fixed, the packets of
  layers 0..i and EOC (`decodable_prefix`): exactly what `codec/evaluation/anchors.py` measures.
- **Progressive JPEG** (SOF2, or SOF10 with arithmetic coding): layer i is scan i. A scan's
  entropy-coded data ends where the next marker begins; a reader knows that the scan is over
  when it has that marker's two bytes (0xFF and its code), so layer i ends after them (the last
  scan's marker is EOI: its layer ends with the file). The decodable file of the first i + 1
  scans is the bytes before that marker, closed with EOI.

Layer 0 holds everything before the first layer's data too (the headers), so layer_offset(0) is
0 and a file's layer lengths add up to the file. The layout of a file (`ClassicLayout`) has the
attributes of `codec.container.Header` that readers use (codec.layered.LayeredFile); these
formats record no PSNR, so every layer's is unknown.

What is not a layered file raises a ClassicFileError with a sentence for people: `NotLayered`
(a baseline JPEG, a codestream of one quality layer: an ordinary image), `UnsupportedLayout`
(layers that Strata cannot find: no PLT, several tiles or tile-parts, another progression
order, packed packet headers), `TruncatedFile` (nothing complete to show), `CorruptFile` (the
markers are broken). A file that ends inside a later layer or is damaged after some complete
layers keeps those layers, and the parse reports why it stops (`damage`, with the `layer` it
stops at); bytes after the end are `TrailingBytes`, not fatal.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from codec.container import MAX_PIXELS, MAX_SIDE, Chunk, ParsedFile

JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"  # the JPEG 2000 signature box, first in a .jp2
J2K_START = b"\xff\x4f\xff\x51"  # SOC then SIZ: a JPEG 2000 codestream
JPEG_START = b"\xff\xd8\xff"  # SOI then a marker
KINDS = {"jp2": JP2_SIGNATURE, "j2k": J2K_START, "jpeg": JPEG_START}
CODEC_OF = {"jp2": "jpeg2000", "j2k": "jpeg2000", "jpeg": "jpeg-progressive"}  # registry names
FORMAT_NAMES = {"jp2": "JPEG 2000 (JP2)", "j2k": "JPEG 2000 codestream", "jpeg": "progressive JPEG"}

_EOC = b"\xff\xd9"  # also JPEG's EOI
_MAX_SEGMENTS = 100_000  # markers in a file: far more than any real one has


class ClassicFileError(ValueError):
    """A JPEG 2000 or JPEG file that cannot be read as a layered file; the message is a sentence
    for people. `layer`: where a file with complete layers before it stops (else None)."""

    layer: int | None = None


class NotLayered(ClassicFileError):
    """An ordinary image: a baseline JPEG, a JPEG 2000 codestream of one quality layer."""


class UnsupportedLayout(ClassicFileError):
    """A layered file whose layers Strata cannot find in the byte stream."""


class TruncatedFile(ClassicFileError):
    """The file ends before its first layer is complete (or inside its headers)."""


class CorruptFile(ClassicFileError):
    """Broken marker structure."""


class EndsInsideLayer(ClassicFileError):
    """The file ends inside a layer whose end cannot be known (a progressive JPEG's scan)."""


class TrailingBytes(ClassicFileError):
    """Bytes after the end of the codestream or image; every layer is intact."""


def _stop(error: ClassicFileError, layer: int) -> ClassicFileError:
    error.layer = layer
    return error


class _More(Exception):
    """The bytes end before the structure being read does (a prefix, or a truncated file)."""


def _need(data, end: int) -> None:
    if len(data) < end:
        raise _More


def _u16(data, pos: int) -> int:
    _need(data, pos + 2)
    return int.from_bytes(data[pos:pos + 2], "big")


def _u32(data, pos: int) -> int:
    _need(data, pos + 4)
    return int.from_bytes(data[pos:pos + 4], "big")


def sniff(start) -> str | None:
    """"jp2", "j2k" or "jpeg" when the bytes start like such a file, else None (also while
    they are too few to tell: see could_be)."""
    start = bytes(start[:12])
    return next((kind for kind, magic in KINDS.items() if start.startswith(magic)), None)


def could_be(start) -> bool:
    """The bytes so far are the start of some classic file's signature (more may tell)."""
    start = bytes(start[:12])
    return any(magic.startswith(start) or start.startswith(magic) for magic in KINDS.values())


def _check_size(width: int, height: int, what: str) -> None:
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE and width * height <= MAX_PIXELS):
        raise CorruptFile(f"the {what} announces a {width}x{height} picture, outside the limits of "
                          f"1..{MAX_SIDE} pixels a side and {MAX_PIXELS:,} pixels")


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
    data_ends: tuple[int, ...]
    layer_ends: tuple[int, ...]
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

    @property
    def layer_lengths(self) -> tuple[int, ...]:
        return tuple(end - start for start, end in zip((0,) + self.layer_ends, self.layer_ends))

    @property
    def layer_psnr(self) -> tuple[None, ...]:
        return (None,) * self.num_layers

    @property
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
        return self.layer_ends[-1] if self.layer_ends else 0


# ---------------------------------------------------------------------------------------------
# JPEG 2000

_SOT, _SOD, _SIZ, _COD = 0xFF90, 0xFF93, 0xFF51, 0xFF52
_PLT, _PLM, _POC, _PPM, _PPT = 0xFF58, 0xFF57, 0xFF5F, 0xFF60, 0xFF61
_PROGRESSIONS = ("LRCP", "RLCP", "RPCL", "PCRL", "CPRL")


def _jp2_codestream(data) -> int:
    """Offset of the codestream inside a JP2 file: the content of its jp2c box."""
    pos = 0
    for _ in range(_MAX_SEGMENTS):
        _need(data, pos + 8)
        length, box, header = _u32(data, pos), bytes(data[pos + 4:pos + 8]), 8
        if length == 1:  # a 64-bit length follows
            _need(data, pos + 16)
            length, header = int.from_bytes(data[pos + 8:pos + 16], "big"), 16
        if box == b"jp2c":
            return pos + header
        if length == 0:
            raise CorruptFile("its JP2 boxes end (a box runs to the end of the file) before the codestream box")
        if length < header:
            raise CorruptFile(f"its JP2 box at byte {pos} announces {length} bytes, less than its own header")
        pos += length
    raise CorruptFile("too many JP2 boxes before the codestream")


def _segments(data, pos: int, stop: int):
    """(marker, position, segment end) of the marker segments from pos up to the marker stop."""
    for _ in range(_MAX_SEGMENTS):
        marker = _u16(data, pos)
        if marker == stop:
            return
        if marker >> 8 != 0xFF or marker < 0xFF30:
            raise CorruptFile(f"expected a JPEG 2000 marker at byte {pos}, found 0x{marker:04x}")
        length = _u16(data, pos + 2)
        if length < 2:
            raise CorruptFile(f"the JPEG 2000 marker segment at byte {pos} announces {length} bytes")
        _need(data, pos + 2 + length)
        yield marker, pos, pos + 2 + length
        pos += 2 + length
    raise CorruptFile("too many JPEG 2000 marker segments")


def _coding_style(data, pos: int) -> tuple[str, int]:
    """Progression order and number of quality layers of a COD segment at pos."""
    order, layers = data[pos + 5], _u16(data, pos + 6)
    return (_PROGRESSIONS[order] if order < len(_PROGRESSIONS) else f"order {order}"), layers


def _refuse_marker(marker: int) -> None:
    reasons = {_POC: "progression order changes (POC)", _PPM: "packed packet headers (PPM)",
               _PPT: "packed packet headers (PPT)"}
    if marker in reasons:
        raise UnsupportedLayout(f"its codestream has {reasons[marker]}, so its quality layers are not "
                                f"contiguous runs of packets that Strata can cut")


def _plt_lengths(segment) -> list[int]:
    """Packet lengths of a PLT segment's body (after Zplt): 7-bit groups, the high bit = more."""
    lengths, value = [], 0
    for byte in segment:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            lengths.append(value)
            value = 0
    if value:
        raise CorruptFile("a PLT packet length runs past its segment")
    return lengths


def _j2k_layout(data, kind: str) -> ClassicLayout:
    """The layout of a JPEG 2000 file from its headers (raises _More while they are incomplete)."""
    start = _jp2_codestream(data) if kind == "jp2" else 0
    _need(data, start + 4)
    if bytes(data[start:start + 4]) != J2K_START:
        raise CorruptFile(f"its codestream at byte {start} does not start with SOC and SIZ")
    width = height = components = None
    progression, layers = None, None
    sot = start + 2  # the first SOT follows the main header's segments
    for marker, pos, end in _segments(data, start + 2, _SOT):
        sot = end
        if marker == _SIZ:
            _need(data, pos + 40)
            xsiz, ysiz, xo, yo = (_u32(data, pos + 6 + 4 * k) for k in range(4))
            xt, yt, xto, yto = (_u32(data, pos + 22 + 4 * k) for k in range(4))
            components = _u16(data, pos + 38)
            width, height = xsiz - xo, ysiz - yo
            _check_size(width, height, "JPEG 2000 codestream")
            if xt <= 0 or yt <= 0 or -(-(xsiz - xto) // xt) * -(-(ysiz - yto) // yt) != 1:
                raise UnsupportedLayout("its codestream has several tiles; Strata streams codestreams of one tile")
        elif marker == _COD:
            _need(data, end)
            progression, layers = _coding_style(data, pos)
        elif marker == _PLM:
            raise UnsupportedLayout("its packet lengths are in the main header (PLM); Strata needs them in the "
                                    "tile-part header (PLT): encode with plt=True (OpenJPEG: -PLT)")
        _refuse_marker(marker)
    if width is None or layers is None:
        raise CorruptFile("its codestream's main header lacks SIZ or COD")
    psot = _u32(data, sot + 6)
    _need(data, sot + 12)
    if psot == 0:
        raise UnsupportedLayout("its tile-part length is not recorded (Psot = 0)")
    lengths, sod = [], sot + 12
    for marker, pos, end in _segments(data, sot + 12, _SOD):
        sod = end
        if marker == _PLT:
            lengths += _plt_lengths(data[pos + 5:end])
        elif marker == _COD:
            progression, layers = _coding_style(data, pos)
        _refuse_marker(marker)
    if layers < 2:
        raise NotLayered("it is a JPEG 2000 codestream of a single quality layer, so it has no "
                         "shorter prefix to stream")
    if progression != "LRCP":
        raise UnsupportedLayout(f"its progression order is {progression}, not layer-first (LRCP): its "
                                f"quality layers are not contiguous in the file")
    body = sot + psot - (sod + 2)
    if not lengths:
        raise UnsupportedLayout("its codestream has no packet lengths (PLT segments), which Strata needs to "
                                "find where each quality layer ends; encode with plt=True (OpenJPEG: -PLT)")
    if body < 0 or sum(lengths) != body or len(lengths) % layers:
        raise UnsupportedLayout("its PLT packet lengths do not describe its tile-part; encode with plt=True")
    per_layer = len(lengths) // layers
    ends, total = [], sod + 2
    for layer in range(layers):
        total += sum(lengths[layer * per_layer:(layer + 1) * per_layer])
        ends.append(total)
    if len(data) >= ends[-1] + 2 and bytes(data[ends[-1]:ends[-1] + 2]) != _EOC:
        raise UnsupportedLayout("its codestream has more than one tile-part; Strata streams one tile-part")
    mode = {1: "L", 3: "RGB"}.get(components, "other")
    return ClassicLayout(kind, width, height, mode, tuple(ends), tuple(ends[:-1]) + (ends[-1] + 2,), sod + 2,
                         start, sot, sod)


def _j2k_prefix(data, layout: ClassicLayout, layer: int) -> bytes:
    """A JPEG 2000 codestream of the first layer + 1 quality layers (see the module docstring)."""
    sot, sod = layout.sot, layout.sod
    tile_header = b"".join(bytes(data[pos:end]) for marker, pos, end in _segments(data, sot + 12, _SOD)
                           if marker != _PLT)
    tile_part = tile_header + b"\xff\x93" + bytes(data[sod + 2:layout.data_ends[layer]])
    psot = (12 + len(tile_part)).to_bytes(4, "big")  # the SOT segment (12 bytes) and the tile-part
    sot_segment = bytes(data[sot:sot + 6]) + psot + bytes(data[sot + 10:sot + 12])
    return bytes(data[layout.codestream:sot]) + sot_segment + tile_part + _EOC


# ---------------------------------------------------------------------------------------------
# JPEG

_SOF_PROGRESSIVE = {0xC2: "progressive", 0xCA: "progressive, arithmetic-coded"}
_SOF_OTHER = {0xC0: "baseline", 0xC1: "extended sequential", 0xC3: "lossless", 0xC5: "differential sequential",
              0xC6: "differential progressive", 0xC7: "differential lossless", 0xC9: "arithmetic sequential",
              0xCB: "arithmetic lossless", 0xCD: "differential arithmetic sequential",
              0xCE: "differential arithmetic progressive", 0xCF: "differential arithmetic lossless"}
_SOS, _EOI, _SOI = 0xDA, 0xD9, 0xD8
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length
_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")  # ends entropy-coded data (0xFF00 is stuffing, 0xFFD0-D7 restarts)


class _JpegParser:
    """Reads a JPEG's markers as far as the bytes go, and on from there when more arrive."""

    def __init__(self):
        self.pos = 2  # after SOI: the next marker to read
        self.frame: tuple[int, int, str] | None = None  # width, height, source mode
        self.header_bytes = 0
        self.data_ends: list[int] = []
        self.layer_ends: list[int] = []
        self.scan_data: int | None = None  # where the entropy-coded data of the scan being read starts
        self.end: int | None = None  # after EOI
        self.scans = 0  # scans begun

    def run(self, data) -> None:
        """Read on; raises ClassicFileError for a broken or non-progressive file. Stops quietly
        where the bytes end (a prefix)."""
        try:
            if self.pos == 2:
                _need(data, 3)
                if bytes(data[:3]) != JPEG_START:
                    raise CorruptFile("it does not start with a JPEG start-of-image marker")
            for _ in range(_MAX_SEGMENTS):
                if self.end is not None:
                    return
                if self.scan_data is not None:
                    self._scan_end(data)
                self._segment(data)
            raise CorruptFile("too many JPEG markers")
        except _More:
            return

    def _scan_end(self, data) -> None:
        """Find the marker that ends the scan being read."""
        found = _MARKER.search(data, self.scan_data)
        if found is None:
            self.scan_data = max(self.scan_data, len(data) - 1)  # a last 0xFF may begin the marker
            raise _More
        code = found.start() + 1
        while code < len(data) and data[code] == 0xFF:  # fill bytes before the marker
            code += 1
        _need(data, code + 1)
        self.data_ends.append(found.start())
        self.layer_ends.append(code + 1)
        self.scan_data, self.pos = None, found.start()

    def _segment(self, data) -> None:
        """Read the marker at pos and its segment."""
        pos = self.pos
        _need(data, pos + 2)
        if data[pos] != 0xFF:
            raise CorruptFile(f"expected a JPEG marker at byte {pos}, found 0x{data[pos]:02x}")
        code_at = pos + 1
        while True:
            _need(data, code_at + 1)
            if data[code_at] != 0xFF:
                break
            code_at += 1
        code = data[code_at]
        if code == _EOI:
            if not self.layer_ends:
                raise TruncatedFile("the image ends before its first scan")
            self.end = code_at + 1
            return
        if code == _SOI or code == 0x00:
            raise CorruptFile(f"unexpected JPEG marker 0xff{code:02x} at byte {pos}")
        if code in _STANDALONE:
            self.pos = code_at + 1
            return
        length = _u16(data, code_at + 1)
        if length < 2:
            raise CorruptFile(f"the JPEG marker segment at byte {pos} announces {length} bytes")
        end = code_at + 1 + length
        _need(data, end)
        if code in _SOF_PROGRESSIVE or code in _SOF_OTHER:
            self._frame(data, code, code_at)
        elif code == _SOS:
            if self.frame is None:
                raise CorruptFile("a scan begins before the frame header (SOF)")
            self.scans += 1
            self.header_bytes = self.header_bytes or end
            self.scan_data = end
        self.pos = end

    def _frame(self, data, code: int, code_at: int) -> None:
        if self.frame is not None:
            raise CorruptFile("it has two frame headers (SOF)")
        if code in _SOF_OTHER:
            raise NotLayered(f"it is a {_SOF_OTHER[code]} JPEG, not a progressive one: its picture arrives "
                             f"top to bottom in one pass, with no coarser picture to show first")
        height, width, components = _u16(data, code_at + 4), _u16(data, code_at + 6), data[code_at + 8]
        if height == 0:
            raise UnsupportedLayout("its height is given after the first scan (DNL marker)")
        _check_size(width, height, "JPEG frame header")
        self.frame = (width, height, {1: "L", 3: "RGB"}.get(components, "other"))

    def layout(self) -> ClassicLayout | None:
        """The scans complete so far (None before the frame header)."""
        if self.frame is None:
            return None
        layer_ends = list(self.layer_ends)
        if self.end is not None and layer_ends:
            layer_ends[-1] = self.end  # the last scan's marker is EOI itself
        return ClassicLayout("jpeg", *self.frame, tuple(self.data_ends), tuple(layer_ends), self.header_bytes)


# ---------------------------------------------------------------------------------------------
# Reading


def _kind(data) -> str:
    kind = sniff(data)
    if kind is None:
        raise CorruptFile("it is neither a JPEG 2000 nor a JPEG file")
    return kind


def parse(data) -> ParsedFile:
    """Layout and complete layers of a whole classic file or a prefix of it, as
    container.parse_container gives them for a `.strata` file (header: the ClassicLayout).

    Raises NotLayered, UnsupportedLayout, CorruptFile, or TruncatedFile when no layer is
    complete; a file that ends inside a later layer or breaks after complete layers keeps them
    (complete False, damage says why for a JPEG; a JPEG 2000 file's layout names every layer).
    """
    kind = _kind(data)
    damage = None
    if kind == "jpeg":
        parser = _JpegParser()
        try:
            parser.run(data)
        except ClassicFileError as error:
            if not parser.layer_ends or isinstance(error, NotLayered):
                raise
            damage = _stop(error, len(parser.layer_ends))
        layout = parser.layout()
        if layout is None or not layout.num_layers:
            raise TruncatedFile(f"the file ends after {len(data):,} bytes, before its first scan is complete: "
                                f"nothing can be shown")
        complete = parser.end is not None
        if damage is None and not complete:
            damage = _stop(EndsInsideLayer(
                f"the file ends after {len(data):,} bytes, inside scan {layout.num_layers + 1} (it has no "
                f"end-of-image marker): scans 1 to {layout.num_layers} can be shown"), layout.num_layers)
    else:
        try:
            layout = _j2k_layout(data, kind)
        except _More:
            raise TruncatedFile(f"the file ends after {len(data):,} bytes, inside its JPEG 2000 headers: nothing "
                                f"can be shown") from None
        complete = len(data) >= layout.file_size
    layers = [bytes(data[a:b]) for a, b in zip((0,) + layout.layer_ends, layout.layer_ends) if b <= len(data)]
    if not layers:
        raise TruncatedFile(f"the file ends after {len(data):,} bytes, before its first quality layer is complete "
                            f"({layout.layer_ends[0]:,} bytes): nothing can be shown")
    if complete and len(data) > layout.file_size:
        damage = _trailing(len(data) - layout.file_size)
    return ParsedFile(layout, layers, complete, damage)


def _trailing(extra: int) -> TrailingBytes:
    return TrailingBytes(f"{extra:,} bytes follow the end of the image; every layer is intact")


def decodable_prefix(data, layout: ClassicLayout, layer: int) -> bytes:
    """A standard file of the first layer + 1 layers of data (which holds at least them):
    a JPEG 2000 codestream (also for a JP2 file) or a JPEG closed with EOI."""
    if not 0 <= layer < layout.num_layers or len(data) < layout.data_ends[layer]:
        raise IndexError(f"layer {layer} is not in the data")
    if layout.kind == "jpeg":
        return bytes(data[:layout.data_ends[layer]]) + _EOC
    return _j2k_prefix(data, layout, layer)


def read_layout(data) -> ClassicLayout | None:
    """The layout of a file's first bytes as far as they go: None until it is known (a JPEG 2000
    file's headers, a JPEG's frame header); a JPEG's lists the scans complete so far."""
    kind = _kind(data)
    if kind == "jpeg":
        parser = _JpegParser()
        parser.run(data)
        return parser.layout()
    try:
        return _j2k_layout(data, kind)
    except _More:
        return None


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


class StreamingReader:
    """A classic file arriving in pieces: `feed` returns the layers each piece completes, as
    container.StreamingReader does for a `.strata` file (one chunk per layer; its payload is the
    layer's bytes, layer 0's with the headers).

    `header` is the layout once known (a JPEG's grows as its scans complete). A broken structure
    raises ClassicFileError before any layer is complete, and after one ends the layers with
    `damage` set; bytes after the end are TrailingBytes damage.
    """

    def __init__(self):
        self.header: ClassicLayout | None = None
        self.damage: ClassicFileError | None = None
        self.bytes_received = 0
        self._data = bytearray()
        self._kind: str | None = None
        self._jpeg = _JpegParser()
        self._given = 0  # layers returned
        self._error: ClassicFileError | None = None
        self._ended = False  # the last layer is known to be complete

    @property
    def done(self) -> bool:
        return self._ended and self._given == self.header.num_layers

    def feed(self, data: bytes) -> list[Chunk]:
        if self._error is not None:
            raise self._error
        self.bytes_received += len(data)
        if self.damage is not None:
            return []
        if self.done:
            if data:
                self.damage = _trailing(len(data))
            return []
        self._data += data
        try:
            self._read_layout()
        except ClassicFileError as error:
            complete = self._jpeg.layout() if self._kind == "jpeg" else None
            if complete is None or not complete.num_layers or isinstance(error, NotLayered):
                self._error = error
                raise
            self.header, self.damage = complete, _stop(error, complete.num_layers)
            return self._take_layers()
        if self.header is None:
            return []
        return self._take_layers()

    def _read_layout(self) -> None:
        if self._kind is None:
            if len(self._data) < 12 and could_be(self._data) and sniff(self._data) is None:
                return
            self._kind = _kind(self._data)
        if self._kind == "jpeg":
            self._jpeg.run(self._data)
            self.header = self._jpeg.layout()
            self._ended = self._jpeg.end is not None
        elif self.header is None:
            try:
                self.header = _j2k_layout(self._data, self._kind)
            except _More:
                return
            self._ended = True  # the headers announce every layer

    def _take_layers(self) -> list[Chunk]:
        layout, completed = self.header, []
        while self._given < layout.num_layers and layout.layer_ends[self._given] <= len(self._data):
            i = self._given
            completed.append(Chunk(i, 0, bytes(self._data[layout.layer_offset(i):layout.layer_ends[i]]), True))
            self._given += 1
        if self.done and len(self._data) > layout.file_size:
            self.damage = _trailing(len(self._data) - layout.file_size)
        return completed
