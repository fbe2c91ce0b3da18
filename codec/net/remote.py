"""A layered file at a URL, read header first, then range by range as far as asked.

    remote = RemoteFile("https://example.com/photo.strata")
    layout = remote.read_header()                 # a few small range requests
    for piece in remote.pieces(Want(layers=3)):   # exactly the bytes up to layer 3's end
        show(piece)
    for piece in remote.pieces(Want()):           # later: the rest of the file
        ...

    fetched = fetch(url, Want(layers=3))          # the same in one call: bytes, layout, cost

The bytes go through the same layered reader as a local file's (codec.layered.StreamingReader),
so a `.strata` header or a JPEG 2000 file's headers say exactly where each layer ends, and a
progressive JPEG's scans are found as they arrive (codec.net.plan). Memory holds only the bytes
asked for, at most `max_size` (plan.MAX_SIZE); nothing is written to disk.

A transfer that fails keeps the layers that arrived: `damage` is the error, its message saying
where the transfer stopped and which layers are missing, and `pieces` raises it.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Iterator

from codec import classic_files, container, layered
from codec.net import errors, plan
from codec.net.http import DEFAULT_TIMEOUT, RangeReader, Request
from codec.net.plan import Want

EXTRA_PROBE = 64 * 1024  # bytes read past a file's end to tell extra bytes from a lying Content-Length


@dataclass(frozen=True)
class Fetched:
    """What a fetch brought: the file's first bytes, their layout, the complete layers among
    them, why it stopped early (None: it got what was asked for), and what it cost."""

    url: str
    data: bytes
    layout: layered.LayeredFile
    layers: int
    damage: ValueError | None
    requests: tuple[Request, ...]
    seconds: float
    ignores_ranges: bool
    server_size: int | None  # the file's size as the server gave it

    @property
    def transferred(self) -> int:
        """Body bytes received over every request (skipped and dropped ones included)."""
        return sum(r.body_bytes for r in self.requests)

    def report(self) -> str:
        """What the transfer cost, for --verbose."""
        count = len(self.requests)
        text = (f"transferred {self.transferred:,} bytes in {count} request{'s' * (count != 1)} "
                f"({_request_list(self.requests)}) in {self.seconds:.2f} s: {self._kept()}")
        if self.ignores_ranges:
            text += ("; the server ignores range requests (200): its whole-file answer was read up to "
                     "the bytes needed and closed")
        return text

    def _kept(self) -> str:
        """The bytes and layers kept, of how many the file has."""
        if not plan.ends_known(self.layout):
            return f"{len(self.data):,} bytes of a progressive JPEG, {self.layers} complete scans"
        return (f"{len(self.data):,} of the file's {self.layout.file_size:,} bytes, {self.layers} of "
                f"{self.layout.num_layers} layers")


def _request_list(requests) -> str:
    return ", ".join(f"{r.range_text}: {r.status} {r.body_bytes:,} B" for r in requests)


class RemoteFile:
    """A layered file at a URL: `read_header()`, then `pieces(want)` as often as more is wanted.
    `data` holds every byte received (from the first), `layout` the file's layout once its
    header is in, `layers` the complete layers, `damage` why it stops early."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT, max_size: int = plan.MAX_SIZE, client=None):
        self.url = url
        self.reader = RangeReader(url, timeout, client)
        self.max_size = max_size
        self.data = bytearray()
        self.layers = 0  # complete layers received
        self.parts = 0  # complete chunks of the layer after them
        self.damage: ValueError | None = None
        self.started = time.perf_counter()
        self.arrivals: list[tuple[int, float]] = []  # (bytes received, seconds since started) per piece
        self._file = layered.StreamingReader()
        self._too_large: errors.TooLarge | None = None  # the file is cut to max_size

    @property
    def layout(self) -> layered.LayeredFile | None:
        return self._file.header

    @property
    def complete(self) -> bool:
        """Every layer of the file has arrived."""
        return self._file.done

    @property
    def seconds(self) -> float:
        """From the first request to the last byte received."""
        return self.arrivals[-1][1] if self.arrivals else 0.0

    def close(self) -> None:
        self.reader.close()

    def __enter__(self) -> "RemoteFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def result(self) -> Fetched:
        return Fetched(self.url, bytes(self.data), self.layout, self.layers, self.damage, tuple(self.reader.requests),
                       self.seconds, self.reader.ignores_ranges, self.reader.size)

    # ---- the header -----------------------------------------------------------------------

    def read_header(self) -> layered.LayeredFile:
        """Read up to the end of the header (a `.strata` file's exactly, a classic file's in
        growing windows); raises NotLayeredURL or another NetworkError when there is none."""
        try:
            self._take_all(self.reader.read(0, plan.HEAD_PROBE))
            while self.layout is None:
                self._take_all(self.reader.read(len(self.data), len(self.data) + self._head_more()))
        except errors.SizeMismatch:
            self._parse_error()  # the file ends inside its headers: say what the reader says of it
            raise
        return self.layout

    def _head_more(self) -> int:
        """How many more bytes the header needs (at least one)."""
        if self.reader.size is not None and len(self.data) >= self.reader.size:
            self._parse_error()
        if self._file.format == layered.STRATA:
            return max(1, plan.strata_header_size(self.data) - len(self.data))
        if len(self.data) >= plan.MAX_HEAD_BYTES:
            raise self._not_layered(f"its headers do not end within the first {plan.MAX_HEAD_BYTES:,} bytes")
        return plan.head_window(len(self.data))

    def _parse_error(self) -> None:
        """Raise what the layered reader says of the bytes so far (they end inside the headers)."""
        try:
            layered.parse(bytes(self.data))
        except ValueError as error:
            raise self._not_layered(str(error)) from error

    def _not_layered(self, reason: str) -> errors.NotLayeredURL:
        kind = self.reader.content_type.split(";")[0].strip()
        sent = f" (the server sent {kind})" if kind else ""
        return errors.NotLayeredURL(f"{self.url} is not a layered file{sent}: {reason}")

    # ---- the layers -----------------------------------------------------------------------

    def pieces(self, want: Want = Want()) -> Iterator[bytes]:
        """Read on from the bytes received until the want is met (the header first when it is
        not in), yielding each piece as it arrives. A failure becomes `damage` (saying which
        layers arrived and which are missing) and is raised."""
        if self.layout is None:
            self.read_header()
        self.damage = None
        try:
            yield from (self._known_pieces(want) if plan.ends_known(self.layout) else self._scan_pieces(want))
            self._check_end(want)
        except errors.NetworkError as error:
            self.damage = self._with_layers(error)
            raise self.damage from error

    def _known_pieces(self, want: Want) -> Iterator[bytes]:
        """Exactly the bytes up to where the want ends (the header says where)."""
        end = plan.prefix_end(self.layout, want)
        if end > self.max_size:
            end = plan.within(self.layout, self.max_size)
            self._too_large = errors.TooLarge(f"the file has {self.layout.file_size:,} bytes, more than the "
                                              f"{self.max_size:,} a fetch may hold")
        yield from self._take_range(end)

    def _scan_pieces(self, want: Want) -> Iterator[bytes]:
        """A progressive JPEG's bytes until its scans asked for (or the budget) are in: in
        growing windows, or for the whole file in one request."""
        limit = min(want.max_bytes or self.max_size, self.max_size)
        while not self._scans_in(want) and len(self.data) < min(limit, self.reader.size or limit):
            end = self._scan_end(want, limit)
            for piece in self._take_range(end):
                yield piece
                if self._scans_in(want):
                    return
            if end is None:
                return

    def _scan_end(self, want: Want, limit: int) -> int | None:
        """Where the next request for a JPEG's scans ends (None: at the end of the file)."""
        stop = min(limit, self.reader.size or limit)
        if want.whole:
            return stop if self.reader.size is not None else None
        return min(len(self.data) + plan.scan_window(len(self.data)), stop)

    def _scans_in(self, want: Want) -> bool:
        return self._file.done or self._file.damage is not None or \
            want.layers is not None and self.layers >= want.layers

    def _take_range(self, end: int | None) -> Iterator[bytes]:
        """The bytes from those received up to end, taken as they arrive; stops at damage."""
        if end is not None and len(self.data) >= end:
            return
        for piece in self.reader.read(len(self.data), end):
            self._take(piece)
            yield piece
            if self._file.damage is not None:
                return

    def _take_all(self, pieces) -> None:
        for piece in pieces:
            self._take(piece)

    def _take(self, piece: bytes) -> None:
        """Add a piece: to the bytes, and to the layered reader (which finds the layers)."""
        self.data += piece
        self.arrivals.append((len(self.data), time.perf_counter() - self.started))
        try:
            chunks = self._file.feed(piece)
        except ValueError as error:  # ContainerError, ClassicFileError: no layered file
            raise self._not_layered(str(error)) from error
        for chunk in chunks:
            self.layers, self.parts = (self.layers + 1, 0) if chunk.last else (self.layers, self.parts + 1)
        if len(self.data) > self.max_size:
            raise errors.TooLarge(f"the file is larger than the {self.max_size:,} bytes a fetch may hold")

    def _check_end(self, want: Want) -> None:
        """After the bytes asked for: the file's own damage, or a server whose file is longer
        than the file's header says (noted, not raised: every layer is intact)."""
        damage = self._file.damage
        if self._too_large is not None:
            raise self._too_large
        if isinstance(damage, (container.TrailingData, classic_files.TrailingBytes)):
            self.damage = errors.BodyTooLong(f"{self.url} sends more than the image: {damage}; the extra bytes "
                                             f"were dropped")
        elif damage is not None:
            self.damage = damage
        elif want.whole and self.complete and (self.reader.size or 0) > len(self.data):
            self.damage = self._extra_bytes()

    def _extra_bytes(self) -> errors.NetworkError:
        """The server's size is larger than the file's header says: bytes after the file
        (BodyTooLong), or a whole-file answer whose Content-Length lies (LengthMismatch, found by
        reading at most EXTRA_PROBE bytes more of it)."""
        size, end = self.reader.size, len(self.data)
        if not self.reader.open_at(end):
            return errors.BodyTooLong(f"the server's file has {size:,} bytes, {size - end:,} more than its header "
                                      f"announces; they were not read")
        try:
            extra = sum(map(len, self.reader.read(end, min(size, end + EXTRA_PROBE))))
        except (errors.LengthMismatch, errors.ConnectionLost) as error:
            return error
        return errors.BodyTooLong(f"{self.url} sends more than the {end:,} bytes its header announces (at least "
                                  f"{extra:,} more); they were dropped")

    def _with_layers(self, error: errors.NetworkError) -> errors.NetworkError:
        """The error, its message saying where the transfer stopped and which layers are missing."""
        if self.layout is None:
            return error
        worded = copy.copy(error)
        worded.args = (f"{error}; {self.arrived_text()}",)
        return worded

    def arrived_text(self) -> str:
        """"the transfer stopped after 12,345 bytes, inside layer 4 of 8: layers 1–3 arrived,
        layers 4–8 are missing"."""
        n, got = self.layout.num_layers, self.layers
        if not plan.ends_known(self.layout):
            arrived = f"scans 1–{got} arrived" if got else "no scan arrived"
            return f"the transfer stopped after {len(self.data):,} bytes: {arrived}, the rest is missing"
        inside = f", inside layer {got + 1} of {n}" if got < n else ""
        arrived = f"layers 1–{got} arrived" if got > 1 else "layer 1 arrived" if got else "no layer arrived"
        missing = f"layers {got + 1}–{n} are missing" if got + 1 < n else f"layer {n} is missing"
        return f"the transfer stopped after {len(self.data):,} bytes{inside}: {arrived}, {missing}"


def fetch_header(url: str, timeout: float = DEFAULT_TIMEOUT) -> Fetched:
    """The header of the layered file at url, read alone (a progressive JPEG's frame header:
    its scans are only known by reading them)."""
    with RemoteFile(url, timeout) as remote:
        remote.read_header()
        return remote.result()


def fetch(url: str, want: Want = Want(), timeout: float = DEFAULT_TIMEOUT, max_size: int = plan.MAX_SIZE) -> Fetched:
    """The bytes of the layered file at url that the want needs, and no more: its header in
    small range requests, then the range up to the end of the layers asked for. A transfer that
    breaks after complete layers keeps them (`damage` says what is missing); one that breaks
    before any raises its error."""
    with RemoteFile(url, timeout, max_size) as remote:
        try:
            for _ in remote.pieces(want):
                pass
        except errors.NetworkError:
            if not remote.layers and not remote.parts:
                raise
        return remote.result()
