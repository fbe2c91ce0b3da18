"""What the viewer holds, without Qt: the original image and the layered files being received.

A Stream is one layered file played over the simulated network: how many of its bytes have
arrived, when each layer arrived, which layer the user wants to see, and the cache of decoded
pictures. Each restart bumps its generation, so decode results of an earlier run are recognised
and dropped. The file is a `.strata` file or a classic one (JPEG 2000 with quality layers, a
progressive JPEG): its `header` is the layout codec.layered gives every format.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codec import layered
from viewer.state.pixels import ERROR_GAIN, error_map
from viewer.state.remote import FetchPiece, FetchStarted, RemoteState

PANE_B, ORIGINAL = "pane B", "original"  # what split view shows right of the line
PSNR_MATCH_DB = 0.1  # a layer's PSNR against the open original vs the file's: same source within this


@dataclass(frozen=True)
class Original:
    """The source image, the reference for PSNR."""

    path: Path
    rgb: np.ndarray  # uint8 (H, W, 3)
    mode: str
    notes: tuple[str, ...] = ()  # what the picture lost on its way to RGB (alpha, bit depth), for people

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


@dataclass(frozen=True)
class Layer:
    """A decoded layer as the viewer keeps it."""

    index: int
    rgb: np.ndarray
    bytes_used: int
    bpp: float
    psnr: float | None
    psnr_measured: bool  # True: against the open original; False: the file's own statistics
    decode_seconds: float  # range decoding plus synthesis
    synthesis_seconds: float = 0.0
    complete: bool = True  # False: a refinement, the picture of the layer's first chunks only


@dataclass
class Stream:
    """One layered file and how much of it the simulated network has delivered.

    Layers are numbered from 0 in code and from 1 in every text for the user. Arrived layers can
    be picked; `layers` caches the pictures the decoder sent (only those asked for are made).
    """

    path: Path
    data: bytes  # every byte the file has (a truncated file has fewer than the header announces)
    header: layered.LayeredFile  # container.Header, or a classic file's ClassicLayout
    intact_layers: int  # complete (for a .strata file CRC-checked) layers in data
    damage: ValueError | None  # a ContainerError, or a classic file's ClassicFileError
    generation: int = 0
    received: int = 0
    arrived: dict[int, float] = field(default_factory=dict)  # layer -> simulated seconds
    arrived_wall: dict[int, float] = field(default_factory=dict)  # layer -> perf_counter()
    decoded_wall: dict[int, float] = field(default_factory=dict)  # layer -> perf_counter()
    shown_wall: dict[int, float] = field(default_factory=dict)  # layer -> painted on its own
    timed: set[int] = field(default_factory=set)  # arrived layers awaiting their own painting
    layers: dict[int, Layer] = field(default_factory=dict)
    refinement: Layer | None = None  # the newest refinement inside the layer after those decoded
    refinement_points: list[tuple[float, float]] = field(default_factory=list)  # (bpp, PSNR) of each
    ms_ssim: dict[int, float] = field(default_factory=dict)  # layer -> MS-SSIM against the original
    shown: int | None = None  # layer on screen
    selected: int | None = None  # layer picked by hand; None: follow the newest
    failed_layer: int | None = None  # the first layer the decoder cannot decode
    failure: str | None = None  # why, in words
    foreign_original: bool = False  # the open original is not this file's source
    from_original: bool = False  # encoded here from the open original: its PSNR against it needs no check
    remote: RemoteState | None = None  # opened from a URL: its bytes arrive from the network into data

    @classmethod
    def from_bytes(cls, path: Path, data: bytes) -> "Stream":
        """Raises ContainerError (ClassicFileError for a classic file) when not even the header
        (or the first layer) is usable."""
        parsed = layered.parse(data)
        return cls(Path(path), bytes(data), parsed.header, len(parsed.layers), parsed.damage)

    @classmethod
    def from_url(cls, remote: RemoteState, started: FetchStarted) -> "Stream":
        """A stream whose bytes arrive from remote.url, from its header on (`take` adds the rest)."""
        remote.origin, remote.header_seconds, remote.clock_start = started.origin, started.seconds, started.seconds
        remote.arrivals.append((len(started.data), started.seconds))
        return cls(Path(remote.name), bytearray(started.data), started.layout, started.layers, None, remote=remote)

    def take(self, piece: FetchPiece) -> None:
        """Bytes from the network: kept, and the layout and complete layers they give (a
        progressive JPEG's layout grows with its scans)."""
        self.data += piece.data
        self.header, self.intact_layers = piece.layout, piece.layers
        remote = self.remote
        remote.arrivals.append((len(self.data), piece.seconds))
        remote.transferred, remote.requests = piece.transferred, piece.requests

    @property
    def size(self) -> tuple[int, int]:
        return self.header.width, self.header.height

    @property
    def complete(self) -> bool:
        """Every byte it has was delivered (from a URL: and no more is being fetched)."""
        return self.received >= len(self.data) and (self.remote is None or not self.remote.fetching)

    @property
    def total(self) -> int:
        """Bytes the stream will have: the file's (from a URL: its header's size, or what has
        arrived of a progressive JPEG, whose size is known only at its end)."""
        if self.remote is None:
            return len(self.data)
        return max(len(self.data), self.header.file_size)

    @property
    def follow(self) -> bool:
        """Each newer layer replaces the picture as soon as it is decoded."""
        return self.selected is None

    @property
    def available(self) -> int:
        """How many layers can be shown: arrived, intact and decodable."""
        count = len(self.arrived)
        return count if self.failed_layer is None else min(count, self.failed_layer)

    @property
    def newest(self) -> int | None:
        """The newest layer that can be shown."""
        return self.available - 1 if self.available else None

    @property
    def wanted(self) -> int | None:
        """The layer the pane should show: the one picked, else the newest."""
        return self.newest if self.follow else self.selected

    @property
    def usable_layers(self) -> int:
        """Layers of the file that can ever be shown (before any damage; from a URL, all of them
        unless its transfer broke, which the slider can try again)."""
        intact = self.header.num_layers if self.remote is not None and not self.remote.broken else self.intact_layers
        return intact if self.failed_layer is None else min(intact, self.failed_layer)

    def layer_end(self, index: int) -> int:
        """Bytes needed to complete layer index (its CRC included)."""
        return self.header.layer_offset(index + 1)

    def layer_received(self, index: int) -> int:
        """Payload bytes of layer index received so far."""
        start = self.header.layer_offset(index)
        return min(max(self.received - start, 0), self.header.layer_lengths[index])

    def restart(self) -> None:
        """Forget everything received; results of the earlier run become stale."""
        self.generation += 1
        self.received = 0
        self.shown = self.selected = self.failed_layer = self.failure = self.refinement = None
        for cache in (self.arrived, self.arrived_wall, self.decoded_wall, self.shown_wall, self.timed, self.layers,
                      self.refinement_points, self.ms_ssim):
            cache.clear()

    def advance(self, budget: int) -> tuple[bytes, list[int]]:
        """Deliver bytes up to budget: (the new bytes, the intact layers they complete)."""
        end = min(len(self.data), max(self.received, budget))
        chunk = bytes(self.data[self.received:end])
        completed = [i for i in range(self.intact_layers) if self.received < self.layer_end(i) <= end]
        self.received = end
        return chunk, completed

    def arrive(self, index: int, simulated: float, wall: float) -> None:
        """Layer index is complete; its delay to the screen is timed while the pane follows."""
        self.arrived[index] = simulated
        self.arrived_wall[index] = wall
        if self.follow:
            self.timed.add(index)

    def accept(self, generation: int, layer: Layer) -> bool:
        """Cache a decoded layer unless it is stale; show it if it is wanted, or newer than the
        picture on screen while following. A refinement (a layer's first chunks) is shown while
        following until its layer is decoded, and kept as a point of the PSNR curve."""
        if generation != self.generation:
            return False
        if not layer.complete:
            self._refine(layer)
            return True
        self.layers[layer.index] = layer
        self.decoded_wall[layer.index] = time.perf_counter()
        newer = self.shown is None or layer.index > self.shown
        if layer.index == self.wanted or (self.follow and newer):
            self.shown = layer.index
        return True

    def _refine(self, layer: Layer) -> None:
        if layer.psnr is not None:
            self.refinement_points.append((layer.bpp, layer.psnr))
        if self.follow and layer.index not in self.layers and (self.shown is None or layer.index >= self.shown):
            self.refinement = layer
            self.shown = layer.index

    @property
    def on_screen(self) -> Layer | None:
        """The picture shown: the layer `shown`, or the refinement on the way to it."""
        refinement = self.refinement
        if self.shown not in self.layers and refinement is not None and refinement.index == self.shown:
            return refinement
        return self.layers.get(self.shown)

    def select(self, index: int) -> bool:
        """Pick an arrived layer (the newest: follow again); False when nothing changed. Its
        picture shows at once when cached, else once decoded."""
        if not 0 <= index < self.available:
            return False
        selected = None if index == self.newest else index
        changed = selected != self.selected or (index in self.layers and index != self.shown)
        if selected != self.selected:
            self.timed.clear()  # what is painted next was picked: its delay is no decode latency
        self.selected = selected
        if index in self.layers:
            self.shown = index
        return changed

    def painted(self, index: int, wall: float) -> None:
        """Layer index reached the screen; it ends the timing of the older layers (skipped)."""
        if index in self.timed:
            self.shown_wall[index] = wall
        self.timed = {i for i in self.timed if i > index}

    def shown_after(self, index: int) -> float | None:
        """Seconds from a layer's last byte to its picture on screen; None unless it was painted
        on its own (see painted)."""
        if index not in self.shown_wall:
            return None
        return self.shown_wall[index] - self.arrived_wall[index]

    def fail(self, layer: int | None, message: str) -> None:
        """The decoder cannot go on from layer (None: from the start)."""
        self.failed_layer = 0 if layer is None else layer
        self.failure = message
        if self.selected is not None and self.selected >= self.failed_layer:
            self.selected = None

    def psnr_of(self, measured: float | None, recorded: float | None) -> tuple[float | None, bool]:
        """The PSNR to show and whether it is measured against the original. The original counts
        as the file's source until a layer's measured PSNR misses the recorded one."""
        if measured is not None and recorded is not None and abs(measured - recorded) > PSNR_MATCH_DB:
            self.foreign_original = True
        if measured is None or self.foreign_original:
            return recorded, False
        return measured, True

    def ms_ssim_of(self, index: int) -> float | None:
        """A layer's MS-SSIM against the original, when the worker measured it and the layer's
        PSNR is measured against the original too (the same picture vouches for both)."""
        layer = self.layers.get(index)
        if layer is None or not layer.psnr_measured or self.foreign_original:
            return None
        return self.ms_ssim.get(index)

    def bpp(self, index: int) -> float:
        """Bits per pixel of the file up to the end of layer index."""
        return 8 * self.layer_end(index) / (self.header.width * self.header.height)

    def psnr(self, index: int) -> float | None:
        """PSNR of a layer: measured when its picture was decoded against the original, else the file's."""
        layer = self.layers.get(index)
        return layer.psnr if layer is not None else self.header.layer_psnr[index]

    def psnr_layers(self) -> list[tuple[int, float, float]]:
        """(layer, cumulative bpp, PSNR) of every layer that can be shown and has a PSNR."""
        points = [(i, self.bpp(i), self.psnr(i)) for i in range(self.available)]
        return [point for point in points if point[2] is not None]

    def psnr_points(self) -> list[tuple[float, float]]:
        """(cumulative bpp, PSNR) of every layer that can be shown."""
        return [(bpp, psnr) for _, bpp, psnr in self.psnr_layers()]


@dataclass
class Session:
    """Everything open: the original (optional) and the streams of panes A and B, whether pane A
    shows the original instead of its file (Show Original), and whether the panes show their
    error against the original instead of the picture (Error Map)."""

    original: Original | None = None
    streams: list[Stream | None] = field(default_factory=lambda: [None, None])
    show_original: bool = False
    error_map: bool = False
    error_gain: int = ERROR_GAIN  # how much the error map amplifies the error
    _errors: dict = field(default_factory=dict, repr=False)  # pane -> (decoded rgb, gain, its error map)

    def shows_original(self, pane: int) -> bool:
        """Pane A shows the original: nothing else is open, or Show Original is on."""
        return pane == 0 and self.original is not None and (self.streams[0] is None or self.show_original)

    def displayed(self, pane: int) -> np.ndarray | None:
        """The pixels a pane shows: its layer on screen (or that layer's error map), or the
        original (pane A)."""
        stream = self.streams[pane]
        if self.shows_original(pane):
            return self.original.rgb
        if stream is None or stream.shown is None:
            return None
        rgb = stream.on_screen.rgb
        return self._error_of(pane, rgb) if self.shows_error(pane) else rgb

    def has_error_map(self, pane: int) -> bool:
        """The pane's file was encoded from the open original, so its error can be shown."""
        stream = self.streams[pane]
        return stream is not None and not stream.foreign_original and self.reference_for(stream) is not None

    def shows_error(self, pane: int) -> bool:
        """The pane shows its layer's error map (Error Map is on and the pane has one)."""
        return self.error_map and not self.shows_original(pane) and self.has_error_map(pane)

    def _error_of(self, pane: int, rgb: np.ndarray) -> np.ndarray:
        """The error map of a decoded picture, computed once per picture shown."""
        cached = self._errors.get(pane)
        if cached is None or cached[0] is not rgb or cached[1] != self.error_gain:
            cached = self._errors[pane] = (rgb, self.error_gain, error_map(rgb, self.original.rgb, self.error_gain))
        return cached[2]

    def split_partner(self) -> str | None:
        """What split view shows right of the line: PANE_B when it has a file, else ORIGINAL when
        pane A shows a file of the original's size; None when there is nothing to split."""
        if self.streams[1] is not None:
            return PANE_B
        if self.streams[0] is not None and not self.show_original and self.reference_for(self.streams[0]) is not None:
            return ORIGINAL
        return None

    def split_right(self) -> np.ndarray | None:
        """The pixels right of the split line (see split_partner)."""
        partner = self.split_partner()
        if partner is None:
            return None
        return self.displayed(1) if partner == PANE_B else self.original.rgb

    def main_path(self) -> Path | None:
        """The file pane A was opened from: the original, else its layered file."""
        if self.original is not None:
            return self.original.path
        return None if self.streams[0] is None else self.streams[0].path

    def reference_for(self, stream: Stream) -> np.ndarray | None:
        """The original's pixels when it has the stream's size."""
        if self.original is not None and self.original.size == stream.size:
            return self.original.rgb
        return None
