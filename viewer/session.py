"""What the viewer holds, without Qt: the original image and the layered files being received.

A Stream is one `.strata` file played over the simulated network: how many of its bytes have
arrived, when each layer arrived, and the cache of decoded layers. Each restart bumps its
generation, so decode results of an earlier run are recognised and dropped.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codec import container

CODEC_NAMES = {"deephq": "DeepHQ", "hc": "HC"}


@dataclass(frozen=True)
class Original:
    """The source image, the reference for PSNR."""

    path: Path
    rgb: np.ndarray  # uint8 (H, W, 3)
    mode: str

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
    decode_seconds: float


def codec_label(header: container.Header) -> str:
    """"DeepHQ" or "HC q2"."""
    name = CODEC_NAMES.get(header.codec, header.codec)
    return f"{name} q{header.model_id}" if header.codec == "hc" else name


@dataclass
class Stream:
    """One layered file and how much of it the simulated network has delivered."""

    path: Path
    data: bytes  # every byte the file has (a truncated file has fewer than the header announces)
    header: container.Header
    intact_layers: int  # complete, CRC-checked layers in data
    damage: container.ContainerError | None
    generation: int = 0
    received: int = 0
    arrived: dict[int, float] = field(default_factory=dict)  # layer -> simulated seconds
    arrived_wall: dict[int, float] = field(default_factory=dict)  # layer -> perf_counter()
    decoded_wall: dict[int, float] = field(default_factory=dict)  # layer -> perf_counter()
    shown_wall: dict[int, float] = field(default_factory=dict)  # layer -> perf_counter()
    layers: dict[int, Layer] = field(default_factory=dict)
    shown: int | None = None  # layer on screen
    follow: bool = True  # show each new layer as it is decoded

    @classmethod
    def from_bytes(cls, path: Path, data: bytes) -> "Stream":
        """Raises ContainerError when not even the header is usable."""
        parsed = container.parse_container(data)
        return cls(Path(path), bytes(data), parsed.header, len(parsed.layers), parsed.damage)

    @property
    def label(self) -> str:
        return codec_label(self.header)

    @property
    def size(self) -> tuple[int, int]:
        return self.header.width, self.header.height

    @property
    def complete(self) -> bool:
        return self.received >= len(self.data)

    @property
    def latest(self) -> int | None:
        """The highest decoded layer."""
        return max(self.layers, default=None)

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
        self.shown, self.follow = None, True
        for cache in (self.arrived, self.arrived_wall, self.decoded_wall, self.shown_wall, self.layers):
            cache.clear()

    def advance(self, budget: int) -> tuple[bytes, list[int]]:
        """Deliver bytes up to budget: (the new bytes, the intact layers they complete)."""
        end = min(len(self.data), max(self.received, budget))
        chunk = self.data[self.received:end]
        completed = [i for i in range(self.intact_layers) if self.received < self.layer_end(i) <= end]
        self.received = end
        return chunk, completed

    def accept(self, generation: int, layer: Layer) -> bool:
        """Cache a decoded layer unless it is stale; show it when following."""
        if generation != self.generation:
            return False
        self.layers[layer.index] = layer
        self.decoded_wall[layer.index] = time.perf_counter()
        if self.follow:
            self.shown = layer.index
        return True

    def select(self, index: int) -> bool:
        """Show a decoded layer; following resumes when it is the latest."""
        if index not in self.layers:
            return False
        self.shown = index
        self.follow = index == self.latest
        return True

    def problem(self) -> str | None:
        """What is wrong with the file itself (truncated, damaged), in words."""
        name, n = self.path.name, self.header.num_layers
        if self.damage is not None and not isinstance(self.damage, container.TrailingData):
            return f"{name}: {self.damage}."
        if self.intact_layers < n:
            shown = "showing the complete ones" if self.intact_layers else "nothing can be shown"
            return (f"{name} is truncated: {len(self.data)} of {self.header.file_size} bytes, "
                    f"{self.intact_layers} of {n} layers complete; {shown}.")
        if self.damage is not None:
            return f"{name}: {self.damage}."
        return None


@dataclass
class Session:
    """Everything open: the original (optional) and the streams of panes A and B."""

    original: Original | None = None
    streams: list[Stream | None] = field(default_factory=lambda: [None, None])

    def reference_for(self, stream: Stream) -> np.ndarray | None:
        """The original's pixels when it has the stream's size."""
        if self.original is not None and self.original.size == stream.size:
            return self.original.rgb
        return None
