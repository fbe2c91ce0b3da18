"""JPEG 2000 codestreams (raw, or the jp2c box of a JP2 file) as layered files.

Strata cuts codestreams of one tile-part in layer-first progression (LRCP) with the packet
lengths in PLT segments, as Pillow writes them with `plt=True` (OpenJPEG's `-PLT`): the packets
of a quality layer are then contiguous, and the PLT lengths say where they end. Layer i ends
after its last packet; the last layer also holds the EOC marker. A decodable file of the first
i + 1 layers is the main header, the tile-part header without its PLT segments (an index the
decoder does not need) and with Psot fixed, the packets of layers 0..i and EOC (`prefix`).

`J2kParser` reads the boxes and marker segments once each, as far as the bytes go, and goes on
from there when more arrive, so a stream fed in small pieces costs what one parse costs. Every
segment's length is checked against what is read from it before the read.
"""
from __future__ import annotations

from itertools import accumulate

from codec import classic_layout
from codec.classic_layout import (EOC, J2K_START, MAX_SEGMENTS, ClassicLayout,
                                  CorruptFile, FileTooLong, More, NotLayered, Resumable, UnsupportedLayout,
                                  check_size, max_file_bytes, need, too_long, too_many_layers, u16, u32)

_SOT, _SOD, _SIZ, _COD = 0xFF90, 0xFF93, 0xFF51, 0xFF52
_PLT, _PLM, _POC, _PPM, _PPT = 0xFF58, 0xFF57, 0xFF5F, 0xFF60, 0xFF61
_PROGRESSIONS = ("LRCP", "RLCP", "RPCL", "PCRL", "CPRL")
_COD_BYTES = 12  # Lcod of a COD segment without precinct sizes: what is read of one
_SIZ_BYTES = 38  # Lsiz without the 3 bytes per component
_MAX_LENGTH_DIGITS = 5  # a PLT packet length is under 2^32 (Psot): 5 groups of 7 bits
_REFUSED = {_POC: "progression order changes (POC)", _PPM: "packed packet headers (PPM)",
            _PPT: "packed packet headers (PPT)"}


class J2kParser(Resumable):
    """The layout of a JPEG 2000 file ("j2k" or "jp2") from its headers, read incrementally."""

    def __init__(self, kind: str):
        self.kind = kind
        self.step = "box" if kind == "jp2" else "soc"
        self.pos = 0  # the next box or marker to read
        self.segments = 0
        self.codestream = 0
        self.size: tuple[int, int, int] | None = None  # width, height, components
        self.coding: tuple[str, int] | None = None  # progression order, quality layers
        self.sot = self.psot = 0
        self.lengths: list[int] = []  # packet lengths, from the PLT segments
        self.result: ClassicLayout | None = None

    def run(self, data) -> ClassicLayout | None:
        """Read on from where the last run stopped: the layout once the headers are complete
        (None before). Raises a ClassicFileError for a file Strata cannot cut."""
        steps = {"box": self._box, "soc": self._soc, "main": self._main, "sot": self._sot, "tile": self._tile}
        try:
            while self.result is None:
                steps[self.step](data)
        except More:
            pass
        return self.result

    def layout(self) -> ClassicLayout | None:
        return self.result

    def limit(self) -> int:
        """The most bytes the file may take, as far as its headers tell."""
        return classic_layout.MAX_HEADER_BYTES if self.size is None else max_file_bytes(*self.size[:2])

    def _count(self, what: str) -> None:
        self.segments += 1
        if self.segments > MAX_SEGMENTS:
            raise CorruptFile(f"it has more than {MAX_SEGMENTS:,} {what}")

    def _box(self, data) -> None:
        """One JP2 box: the codestream box's content, or the box after this one."""
        pos = self.pos
        length, header = u32(data, pos), 8
        need(data, pos + 8)
        box = bytes(data[pos + 4:pos + 8])
        if length == 1:  # a 64-bit length follows
            length, header = int.from_bytes(_read(data, pos + 8, 8), "big"), 16
        if box == b"jp2c":
            self.codestream = self.pos = pos + header
            self.step = "soc"
            return
        if length == 0:
            raise CorruptFile("its JP2 boxes end (a box runs to the end of the file) before the codestream box")
        if length < header:
            raise CorruptFile(f"its JP2 box at byte {pos} announces {length} bytes, less than its own header")
        if pos + length > classic_layout.MAX_HEADER_BYTES:
            raise FileTooLong(f"its JP2 boxes before the codestream take more than "
                              f"{classic_layout.MAX_HEADER_BYTES >> 20} MiB")
        self._count("JP2 boxes")
        self.pos = pos + length

    def _soc(self, data) -> None:
        start = self.codestream
        if bytes(_read(data, start, 4)) != J2K_START:
            raise CorruptFile(f"its codestream at byte {start} does not start with SOC and SIZ")
        self.pos, self.step = start + 2, "main"

    def _segment(self, data, pos: int) -> tuple[int, int]:
        """(marker, end) of the marker segment at pos, complete in data."""
        marker = u16(data, pos)
        if marker >> 8 != 0xFF or marker < 0xFF30:
            raise CorruptFile(f"expected a JPEG 2000 marker at byte {pos}, found 0x{marker:04x}")
        length = u16(data, pos + 2)
        if length < 2:
            raise CorruptFile(f"the JPEG 2000 marker segment at byte {pos} announces {length} bytes")
        end = pos + 2 + length
        if end > classic_layout.MAX_HEADER_BYTES + self.codestream:
            raise FileTooLong(f"its JPEG 2000 headers take more than {classic_layout.MAX_HEADER_BYTES >> 20} MiB")
        need(data, end)
        self._count("JPEG 2000 marker segments")
        if marker in _REFUSED:
            raise UnsupportedLayout(f"its codestream has {_REFUSED[marker]}, so its quality layers are not "
                                    f"contiguous runs of packets that Strata can cut")
        return marker, end

    def _main(self, data) -> None:
        """One segment of the main header, or its end (the first SOT)."""
        pos = self.pos
        if u16(data, pos) == _SOT:
            self.sot, self.step = pos, "sot"
            return
        marker, end = self._segment(data, pos)
        if marker == _SIZ:
            self.size = _siz(data, pos, end)
        elif marker == _COD:
            self.coding = _cod(data, pos, end)
        elif marker == _PLM:
            raise UnsupportedLayout("its packet lengths are in the main header (PLM); Strata needs them in the "
                                    "tile-part header (PLT): encode with plt=True (OpenJPEG: -PLT)")
        self.pos = end

    def _sot(self, data) -> None:
        """The SOT segment that starts the tile-part."""
        sot = self.sot
        if self.size is None or self.coding is None:
            raise CorruptFile("its codestream's main header lacks SIZ or COD")
        length, psot = u16(data, sot + 2), u32(data, sot + 6)
        need(data, sot + 12)
        if length != 10:
            raise CorruptFile(f"its SOT segment at byte {sot} announces {length} bytes, not 10")
        if data[sot + 10] != 0 or data[sot + 11] > 1:  # TPsot, TNsot (0: not recorded)
            raise UnsupportedLayout("its codestream has more than one tile-part; Strata streams one tile-part")
        if psot == 0:
            raise UnsupportedLayout("its tile-part length is not recorded (Psot = 0)")
        if sot + psot + 2 > self.limit():
            raise too_long(sot + psot + 2, *self.size[:2], "its tile-part length (Psot) announces a file of")
        self.psot, self.pos, self.step = psot, sot + 12, "tile"

    def _tile(self, data) -> None:
        """One segment of the tile-part header, or its end (SOD): then the layout."""
        pos = self.pos
        if u16(data, pos) == _SOD:
            self.result = self._finish(data, pos)
            return
        marker, end = self._segment(data, pos)
        if marker == _PLT:
            self.lengths += _plt_lengths(data, pos, end)
        elif marker == _COD:
            self.coding = _cod(data, pos, end)
        self.pos = end

    def _finish(self, data, sod: int) -> ClassicLayout:
        """The layout from the complete headers."""
        (progression, layers), lengths = self.coding, self.lengths
        if layers < 2:
            raise NotLayered("it is a JPEG 2000 codestream of a single quality layer, so it has no "
                             "shorter prefix to stream")
        if progression != "LRCP":
            raise UnsupportedLayout(f"its progression order is {progression}, not layer-first (LRCP): its "
                                    f"quality layers are not contiguous in the file")
        if not lengths:
            raise UnsupportedLayout("its codestream has no packet lengths (PLT segments), which Strata needs to "
                                    "find where each quality layer ends; encode with plt=True (OpenJPEG: -PLT)")
        body = self.sot + self.psot - (sod + 2)
        if body < 0 or sum(lengths) != body or len(lengths) % layers:
            raise UnsupportedLayout("its PLT packet lengths do not describe its tile-part; encode with plt=True")
        per_layer, totals = len(lengths) // layers, list(accumulate(lengths))
        ends = [sod + 2 + totals[(k + 1) * per_layer - 1] for k in range(layers)]
        width, height, components = self.size
        mode = {1: "L", 3: "RGB"}.get(components, "other")
        return ClassicLayout(self.kind, width, height, mode, tuple(ends), tuple(ends[:-1]) + (ends[-1] + 2,),
                             sod + 2, self.codestream, self.sot, sod)


def _read(data, pos: int, size: int):
    need(data, pos + size)
    return data[pos:pos + size]


def _siz(data, pos: int, end: int) -> tuple[int, int, int]:
    """Width, height and components of a SIZ segment at pos (one tile only)."""
    length = end - pos - 2
    components = u16(data, pos + 38) if length >= _SIZ_BYTES else 0
    if components < 1 or length != _SIZ_BYTES + 3 * components:
        raise CorruptFile(f"its SIZ segment at byte {pos} announces {length} bytes, which do not hold "
                          f"{_SIZ_BYTES} and 3 per component")
    xsiz, ysiz, xo, yo, xt, yt, xto, yto = (u32(data, pos + 6 + 4 * k) for k in range(8))
    width, height = xsiz - xo, ysiz - yo
    check_size(width, height, "JPEG 2000 codestream")
    if xt <= 0 or yt <= 0 or -(-(xsiz - xto) // xt) * -(-(ysiz - yto) // yt) != 1:
        raise UnsupportedLayout("its codestream has several tiles; Strata streams codestreams of one tile")
    return width, height, components


def _cod(data, pos: int, end: int) -> tuple[str, int]:
    """Progression order and number of quality layers of a COD segment at pos."""
    length = end - pos - 2
    if length < _COD_BYTES:
        raise CorruptFile(f"its COD segment at byte {pos} announces {length} bytes, fewer than the "
                          f"{_COD_BYTES} of a coding style")
    order, layers = data[pos + 5], u16(data, pos + 6)
    if layers == 0:
        raise CorruptFile(f"its COD segment at byte {pos} announces 0 quality layers")
    if layers > classic_layout.MAX_LAYERS:
        raise too_many_layers(layers, "its codestream announces")
    return (_PROGRESSIONS[order] if order < len(_PROGRESSIONS) else f"order {order}"), layers


def _plt_lengths(data, pos: int, end: int) -> list[int]:
    """Packet lengths of the PLT segment at pos: after Zplt, 7-bit groups, the high bit = more."""
    if end - pos < 5:
        raise CorruptFile(f"its PLT segment at byte {pos} has no index (Zplt)")
    lengths, value, digits = [], 0, 0
    for byte in data[pos + 5:end]:
        value, digits = (value << 7) | (byte & 0x7F), digits + 1
        if not byte & 0x80:
            lengths.append(value)
            value = digits = 0
        elif digits == _MAX_LENGTH_DIGITS:
            raise CorruptFile(f"a packet length in the PLT segment at byte {pos} takes more than "
                              f"{_MAX_LENGTH_DIGITS} bytes")
    if digits:
        raise CorruptFile("a PLT packet length runs past its segment")
    return lengths


def check_end(data, end: int) -> None:
    """CorruptFile unless EOC follows the last packet at `end` (data holds it): the last layer
    is not where the headers say (a tile-part whose number was not recorded follows, or damage)."""
    if bytes(data[end:end + 2]) != EOC:
        raise CorruptFile(f"its last quality layer is not followed by the end of the codestream (EOC) at byte "
                          f"{end}: another tile-part follows, or the packet lengths are wrong")


def prefix(data, layout: ClassicLayout, layer: int) -> bytes:
    """A JPEG 2000 codestream of the first layer + 1 quality layers (see the module docstring)."""
    sot, sod = layout.sot, layout.sod
    kept, pos = [], sot + 12
    while pos < sod:  # the tile-part header's segments, read before: whole and well formed
        end = pos + 2 + u16(data, pos + 2)
        if u16(data, pos) != _PLT:
            kept.append(bytes(data[pos:end]))
        pos = end
    tile_part = b"".join(kept) + b"\xff\x93" + bytes(data[sod + 2:layout.data_ends[layer]])
    psot = (12 + len(tile_part)).to_bytes(4, "big")  # the SOT segment (12 bytes) and the tile-part
    sot_segment = bytes(data[sot:sot + 6]) + psot + bytes(data[sot + 10:sot + 12])
    return bytes(data[layout.codestream:sot]) + sot_segment + tile_part + EOC
