"""Progressive JPEGs (SOF2, or SOF10 with arithmetic coding) as layered files: layer i is scan i.

A scan's entropy-coded data ends where the next marker begins; a reader knows that the scan is
over when it has that marker's two bytes (0xFF and its code), so layer i ends after them (the
last scan's marker is EOI: its layer ends with the file). The decodable file of the first i + 1
scans is the bytes before that marker, closed with EOI.

`JpegParser` reads the markers once each, as far as the bytes go, and goes on from there when
more arrive; every segment's length is checked against what is read from it before the read.
"""
from __future__ import annotations

import re

from codec import classic_layout
from codec.classic_layout import (JPEG_START, MAX_SEGMENTS, ClassicLayout, CorruptFile,
                                  Ends, FileTooLong, More, NotLayered, Resumable, TruncatedFile, UnsupportedLayout,
                                  check_size, max_file_bytes, need, too_long, too_many_layers, u16)

_SOF_PROGRESSIVE = {0xC2: "progressive", 0xCA: "progressive, arithmetic-coded"}
_SOF_OTHER = {0xC0: "baseline", 0xC1: "extended sequential", 0xC3: "lossless", 0xC5: "differential sequential",
              0xC6: "differential progressive", 0xC7: "differential lossless", 0xC9: "arithmetic sequential",
              0xCB: "arithmetic lossless", 0xCD: "differential arithmetic sequential",
              0xCE: "differential arithmetic progressive", 0xCF: "differential arithmetic lossless"}
_SOS, _EOI, _SOI = 0xDA, 0xD9, 0xD8
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length
_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")  # ends entropy-coded data (0xFF00 is stuffing, 0xFFD0-D7 restarts)
_SOF_BYTES = 8  # Lf without the 3 bytes per component


class JpegParser(Resumable):
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
        self.segments = 0

    def run(self, data) -> ClassicLayout | None:
        """Read on; the scans complete so far (None before the frame header). Raises a
        ClassicFileError for a broken or non-progressive file; stops quietly where the bytes
        end (a prefix)."""
        try:
            if self.pos == 2 and bytes(data[:3]) != JPEG_START[:len(data)]:
                raise CorruptFile("it does not start with a JPEG start-of-image marker")
            need(data, 3)
            while self.end is None:
                if self.scan_data is not None:
                    self._scan_end(data)
                self._segment(data)
        except More:
            pass
        return self.layout()

    def limit(self) -> int:
        """The most bytes the file may take, as far as its headers tell."""
        return classic_layout.MAX_HEADER_BYTES if self.frame is None else max_file_bytes(*self.frame[:2])

    def _scan_end(self, data) -> None:
        """Find the marker that ends the scan being read."""
        found = _MARKER.search(data, self.scan_data)
        if found is None:
            self._within(len(data), "scan")
            self.scan_data = max(self.scan_data, len(data) - 1)  # a last 0xFF may begin the marker
            raise More
        code = found.start() + 1
        while code < len(data) and data[code] == 0xFF:  # fill bytes before the marker
            code += 1
        need(data, code + 1)
        self._within(code + 1, "scan")
        self.data_ends.append(found.start())
        self.layer_ends.append(code + 1)
        self.scan_data, self.pos = None, found.start()

    def _within(self, end: int, what: str) -> None:
        """FileTooLong when the file goes on past what its picture allows."""
        if end > self.limit():
            if self.frame is None:
                raise FileTooLong(f"its headers take more than {classic_layout.MAX_HEADER_BYTES >> 20} MiB before "
                                  f"the frame header")
            raise too_long(end, *self.frame[:2], f"its {what} at byte {self.pos} runs past")

    def _segment(self, data) -> None:
        """Read the marker at pos and its segment."""
        pos = self.pos
        need(data, pos + 2)
        if data[pos] != 0xFF:
            raise CorruptFile(f"expected a JPEG marker at byte {pos}, found 0x{data[pos]:02x}")
        code_at = pos + 1
        while True:
            need(data, code_at + 1)
            if data[code_at] != 0xFF:
                break
            code_at += 1
        self._count()
        code = data[code_at]
        if code == _EOI:
            if not self.layer_ends:
                raise TruncatedFile("the image ends before its first scan")
            self.end = code_at + 1
            self.layer_ends[-1] = self.end  # the last scan's layer ends with the file
            return
        if code == _SOI or code == 0x00:
            raise CorruptFile(f"unexpected JPEG marker 0xff{code:02x} at byte {pos}")
        if code in _STANDALONE:
            self.pos = code_at + 1
            return
        length = u16(data, code_at + 1)
        if length < 2:
            raise CorruptFile(f"the JPEG marker segment at byte {pos} announces {length} bytes")
        end = code_at + 1 + length
        self._within(end, "marker segment")
        need(data, end)
        if code in _SOF_PROGRESSIVE or code in _SOF_OTHER:
            self._frame(data, code, code_at, length)
        elif code == _SOS:
            self._scan(end)
        self.pos = end

    def _count(self) -> None:
        self.segments += 1
        if self.segments > MAX_SEGMENTS:
            raise CorruptFile(f"it has more than {MAX_SEGMENTS:,} JPEG markers")

    def _scan(self, end: int) -> None:
        """A scan begins after the SOS segment that ends at `end`."""
        if self.frame is None:
            raise CorruptFile("a scan begins before the frame header (SOF)")
        if self.scans == classic_layout.MAX_LAYERS:
            raise too_many_layers(self.scans + 1, "it begins scan")
        self.scans += 1
        self.header_bytes = self.header_bytes or end
        self.scan_data = end

    def _frame(self, data, code: int, code_at: int, length: int) -> None:
        if self.frame is not None:
            raise CorruptFile("it has two frame headers (SOF)")
        if code in _SOF_OTHER:
            raise NotLayered(f"it is a {_SOF_OTHER[code]} JPEG, not a progressive one: its picture arrives "
                             f"top to bottom in one pass, with no coarser picture to show first")
        components = data[code_at + 8] if length >= _SOF_BYTES else 0
        if components < 1 or length != _SOF_BYTES + 3 * components:
            raise CorruptFile(f"its frame header (SOF) announces {length} bytes, which do not hold "
                              f"{_SOF_BYTES} and 3 per component")
        height, width = u16(data, code_at + 4), u16(data, code_at + 6)
        if height == 0:
            raise UnsupportedLayout("its height is given after the first scan (DNL marker)")
        check_size(width, height, "JPEG frame header")
        self.frame = (width, height, {1: "L", 3: "RGB"}.get(components, "other"))

    def layout(self) -> ClassicLayout | None:
        """The scans complete so far (None before the frame header)."""
        if self.frame is None:
            return None
        return ClassicLayout("jpeg", *self.frame, Ends(self.data_ends), Ends(self.layer_ends), self.header_bytes)
