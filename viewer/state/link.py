"""The simulated network's arithmetic, without Qt: the bandwidth presets and the LinkClock.

LinkClock says how many bytes have arrived t seconds after the start (and the inverse); the
NetworkSimulator (viewer.control.streaming) plays it on a Qt timer.
"""
from __future__ import annotations

from dataclasses import dataclass

STOPPED, PLAYING, PAUSED = "stopped", "playing", "paused"  # the simulator's states
UNLIMITED = 1e12  # bit/s: "no limit", the simulated link never holds a byte back (a URL's real network alone)
PRESETS = (56e3, 256e3, 1e6, 4e6, 10e6, 25e6, 100e6, UNLIMITED)  # bit/s, the bandwidth menu
DEFAULT_BANDWIDTH = 256e3


class LinkClock:
    """Bytes delivered t seconds after the start: none during the latency, then bandwidth / 8
    per second. A bandwidth change applies from the moment it is made."""

    def __init__(self, bandwidth: float, latency: float = 0.0):
        if bandwidth <= 0:
            raise ValueError(f"bandwidth must be positive, got {bandwidth}")
        self.bandwidth = bandwidth
        self.latency = latency
        self._origin = (0.0, 0.0)  # (t, bytes) where the current bandwidth took effect

    def budget(self, t: float) -> float:
        """Bytes delivered by time t."""
        origin_t, origin_bytes = self._origin
        return origin_bytes + max(0.0, t - max(origin_t, self.latency)) * self.bandwidth / 8

    def time_of(self, nbytes: float) -> float:
        """When the first nbytes have arrived (for nbytes past the last bandwidth change)."""
        origin_t, origin_bytes = self._origin
        return max(origin_t, self.latency) + max(0.0, nbytes - origin_bytes) * 8 / self.bandwidth

    def set_bandwidth(self, bandwidth: float, t: float) -> None:
        if bandwidth <= 0:
            raise ValueError(f"bandwidth must be positive, got {bandwidth}")
        self._origin = (t, self.budget(t))
        self.bandwidth = bandwidth


@dataclass(frozen=True)
class Playback:
    """The simulated network at a moment, for what the viewer says about it: its state
    (STOPPED, PLAYING, PAUSED), its rate, its clock and the simulated time."""

    state: str = STOPPED
    bandwidth: float = DEFAULT_BANDWIDTH
    clock: LinkClock | None = None
    now: float = 0.0

    @property
    def active(self) -> bool:
        """Playing or paused: a run is under way."""
        return self.state != STOPPED

    def seconds_until(self, nbytes: float) -> float:
        """How long until the first nbytes have arrived, at the current rate."""
        clock = self.clock or LinkClock(self.bandwidth)
        return max(0.0, clock.time_of(nbytes) - self.now)
