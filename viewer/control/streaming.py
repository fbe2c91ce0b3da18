"""The simulated network: after a latency, bytes arrive at a chosen bandwidth, in real time.

NetworkSimulator plays a LinkClock (viewer.state.link) on a timer with pause, resume and restart.
Every stream gets a link of its own at the same bandwidth, so two files are compared at the same
moment and byte budget.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from viewer.state import link
from viewer.state.link import DEFAULT_BANDWIDTH, LinkClock, Playback

TICK_MS = 15


class NetworkSimulator(QObject):
    """Plays a LinkClock: while playing, `ticked` gives the simulated time every TICK_MS."""

    STOPPED, PLAYING, PAUSED = link.STOPPED, link.PLAYING, link.PAUSED
    ticked = Signal(float)
    stateChanged = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.bandwidth = DEFAULT_BANDWIDTH
        self.latency = 0.0  # seconds before the first byte; set_latency
        self.clock = LinkClock(self.bandwidth)
        self.state = self.STOPPED
        self._elapsed = 0.0  # simulated seconds before the last resume
        self._resumed_at = 0.0
        self._timer = QTimer(self, interval=TICK_MS, timerType=Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def now(self) -> float:
        """Simulated seconds since the start (paused time excluded)."""
        if self.state == self.PLAYING:
            return self._elapsed + time.perf_counter() - self._resumed_at
        return self._elapsed

    def playback(self) -> Playback:
        """A snapshot for texts: state, rate, clock and the simulated time now."""
        return Playback(self.state, self.bandwidth, self.clock, self.now())

    def start(self) -> None:
        """Play from time zero."""
        self.clock = LinkClock(self.bandwidth, self.latency)
        self._elapsed = 0.0
        self._run()

    def pause(self) -> None:
        if self.state == self.PLAYING:
            self._elapsed = self.now()
            self._timer.stop()
            self._set_state(self.PAUSED)

    def resume(self) -> None:
        if self.state == self.PAUSED:
            self._run()

    def proceed(self) -> None:
        """Play on from where a stopped playback ended, its clock kept (more bytes came from a
        URL); playing or paused: nothing changes."""
        if self.state == self.STOPPED:
            self._run()

    def stop(self) -> None:
        """End the playback (everything arrived, or nothing to play)."""
        self._elapsed = self.now()
        self._timer.stop()
        self._set_state(self.STOPPED)

    def set_latency(self, seconds: float) -> None:
        """The delay before the first byte, from the next start on."""
        self.latency = seconds

    def set_bandwidth(self, bandwidth: float) -> None:
        """Change the rate; bytes due at the old rate are delivered first."""
        if self.state == self.PLAYING:
            self._tick()
        self.clock.set_bandwidth(bandwidth, self.now())
        self.bandwidth = bandwidth

    def _run(self) -> None:
        self._resumed_at = time.perf_counter()
        self._set_state(self.PLAYING)
        self._timer.start()
        self._tick()

    def _tick(self) -> None:
        self.ticked.emit(self.now())

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)
