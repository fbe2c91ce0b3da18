"""A layered file arriving from an http(s) URL, without Qt: what the viewer knows of the transfer.

The bytes themselves go into the Stream (viewer.state.session) like a local file's; this says
where they come from, when they arrived from the network (measured, in seconds since the first
request), how far the fetch is asked to go (the toolbar's limit, or the slider), whether it is
still under way, and why it stopped early. The simulated link can still throttle on top: a
layer reaches the decoder when both the network and the simulated link have brought it.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from codec.net import plan
from codec.net.plan import Want
from codec.net.urls import file_name, host


@dataclass(frozen=True)
class FetchStarted:
    """The header arrived: the file's first bytes, its layout, its complete layers (seconds: since
    the first request)."""

    data: bytes
    layout: object  # codec.layered.LayeredFile
    layers: int
    seconds: float
    origin: float  # time.perf_counter() of the first request


@dataclass(frozen=True)
class FetchPiece:
    """More bytes arrived, and what the file's layout and complete layers are with them."""

    data: bytes
    layout: object
    layers: int
    seconds: float
    transferred: int
    requests: int


@dataclass(frozen=True)
class FetchPaused:
    """What was asked for is in, or the transfer stopped early (damage: why, in words)."""

    damage: str | None
    broken: bool  # the transfer failed (not just a note such as bytes after the file)
    report: str


@dataclass(frozen=True)
class FetchFailed:
    """Nothing usable arrived: the message says why."""

    message: str


@dataclass
class RemoteState:
    """The network side of a stream opened from a URL."""

    url: str
    want: Want = Want()  # how far the fetch is asked to go
    origin: float = 0.0  # time.perf_counter() of the first request
    header_seconds: float = 0.0  # when the header was in (the first run's simulated clock starts then)
    arrivals: list[tuple[int, float]] = field(default_factory=list)  # (bytes received, seconds) per piece
    pending: int = 1  # requests asked for and not done (the first: at the open)
    damage: str | None = None  # why the transfer stopped early, in words
    broken: bool = False  # it failed (a NetworkError), not just a note
    transferred: int = 0  # body bytes over every request
    requests: int = 0
    run_start: float = 0.0  # seconds since the first request when this run of the stream began
    clock_start: float = 0.0  # ... and when its simulated clock began

    @property
    def name(self) -> str:
        return file_name(self.url)

    @property
    def host(self) -> str:
        return host(self.url)

    @property
    def fetching(self) -> bool:
        """A request is under way."""
        return self.pending > 0

    def asked(self, want: Want) -> None:
        """A request for more was sent (want: how far the fetch now goes)."""
        self.want, self.pending = want, self.pending + 1

    def paused(self, event: FetchPaused) -> None:
        """A request is done or broke off."""
        self.pending = max(0, self.pending - 1)
        self.damage, self.broken = event.damage, event.broken

    @property
    def received(self) -> int:
        return self.arrivals[-1][0] if self.arrivals else 0

    @property
    def seconds(self) -> float:
        """From the first request to the last byte received."""
        return self.arrivals[-1][1] if self.arrivals else 0.0

    def network_time(self, nbytes: int) -> float | None:
        """When the first nbytes had arrived from the network (seconds since the first request)."""
        at = bisect.bisect_left(self.arrivals, (nbytes, float("-inf")))
        return None if at == len(self.arrivals) else self.arrivals[at][1]

    def arrival(self, nbytes: int, simulated: float) -> float:
        """When the viewer had the first nbytes in this run, in seconds since it began: once the
        network brought them, and the simulated link too (simulated: its clock's time for them)."""
        network = self.network_time(nbytes) or 0.0
        return max(network, self.clock_start + simulated) - self.run_start

    def rate(self) -> float | None:
        """Measured throughput in bit/s over the bytes received after the header."""
        if len(self.arrivals) < 2 or self.seconds <= self.header_seconds:
            return None
        first = next(n for n, t in self.arrivals if t >= self.header_seconds)
        return 8 * (self.received - first) / (self.seconds - self.header_seconds) if self.received > first else None

    def restart(self, wall: float) -> None:
        """A new run (R) from wall (time.perf_counter()): its clock starts at once."""
        self.run_start = self.clock_start = wall - self.origin

    def covers(self, layout, want: Want) -> bool:
        """The fetch is asked to go at least as far as want needs (the whole file covers all)."""
        if self.want.whole:
            return True
        if want.whole:
            return False
        mine, theirs = plan.prefix_end(layout, self.want), plan.prefix_end(layout, want)
        if mine is None or theirs is None:  # a progressive JPEG's scans: compare the numbers asked for
            return (self.want.layers or 0) >= (want.layers or 0) and (self.want.max_bytes or 0) >= (want.max_bytes or 0)
        return mine >= theirs
