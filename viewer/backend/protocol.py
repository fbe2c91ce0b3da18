"""Messages between the GUI and a worker process, and their framing on a socket.

Frames are an 8-byte little-endian length followed by a pickle. Messages hold only plain values
and numpy arrays, so unpickling one never imports torch or Qt.
"""
from __future__ import annotations

import pickle
import select
import socket
import struct
from dataclasses import dataclass

import numpy as np

from codec.effort import DEFAULT_EFFORT

LENGTH = struct.Struct("<Q")


# ---- requests (GUI -> worker) -------------------------------------------------------------

@dataclass(frozen=True)
class Hello:
    """Ask for the worker's Capabilities."""

    job: int


@dataclass(frozen=True)
class Encode:
    """Encode the image file at path (a .strata file, or a classic codec's own file) at most
    max_bytes long when given; the worker answers Stage messages, then Encoded or Failed.
    max_pixels: the largest picture to encode (None: the library's limit)."""

    job: int
    path: str
    codec: str
    quality: int | None
    max_bytes: int | None = None
    effort: int = DEFAULT_EFFORT  # codec/effort.py
    max_pixels: int | None = None


@dataclass(frozen=True)
class OpenStream:
    """Start decoding a stream; reference (RGB uint8) is the original used to measure PSNR;
    max_pixels: the largest picture to decode (None: the library's limit)."""

    stream: str
    reference: np.ndarray | None
    max_pixels: int | None = None


@dataclass(frozen=True)
class Feed:
    """The next bytes of a stream."""

    stream: str
    data: bytes


@dataclass(frozen=True)
class Select:
    """The layer (from 0) the GUI wants to see; None: the newest decoded one."""

    stream: str
    layer: int | None


@dataclass(frozen=True)
class CloseStream:
    """Forget a stream: its undecoded layers are dropped."""

    stream: str


# ---- replies and events (worker -> GUI) ---------------------------------------------------

@dataclass(frozen=True)
class Capabilities:
    """Where the worker computes and which codec models have weights installed."""

    job: int
    device: str  # "cpu", "cuda", ...
    device_name: str
    models: dict[str, tuple[int, ...]]  # codec -> model ids (DeepHQ: (0,); HC: its qualities)


@dataclass(frozen=True)
class Stage:
    """A step of a running job, in words, and how far the job is (0..1; None: not known)."""

    job: int
    text: str
    fraction: float | None = None


@dataclass(frozen=True)
class Encoded:
    job: int
    data: bytes
    seconds: float


@dataclass(frozen=True)
class Failed:
    """A job failed; message is a sentence for the user."""

    job: int
    message: str


@dataclass(frozen=True)
class LayerDecoded:
    """The picture of one layer of a stream (from 0), or of its first `parts` chunks (a
    refinement, complete False), synthesized because the GUI shows it."""

    stream: str
    index: int
    rgb: np.ndarray
    bytes_used: int
    bpp: float
    file_psnr: float | None  # measured by the encoder, from the header (a whole layer only)
    psnr: float | None  # measured against the reference, when one was given
    decode_seconds: float  # range decoding of this layer (its chunks so far)
    synthesis_seconds: float
    parts: int = 1  # chunks of the layer in the picture
    complete: bool = True  # all the chunks the file has of the layer


@dataclass(frozen=True)
class LayerMeasured:
    """The MS-SSIM (codec.evaluation.metrics.ms_ssim, 0..1) of a whole layer's picture (from 0)
    against the stream's reference, measured after the picture was sent."""

    stream: str
    index: int
    ms_ssim: float


@dataclass(frozen=True)
class StreamFailed:
    """The stream cannot be decoded further: bad header, damaged layer, other weights...

    layer: the first layer (from 0) that cannot be shown, the ones before it can; None: none can.
    The message is a sentence for the user (layers counted from 1).
    """

    stream: str
    message: str
    layer: int | None = None


# ---- framing ------------------------------------------------------------------------------

def frame(message) -> bytes:
    """The bytes that carry one message."""
    payload = pickle.dumps(message, protocol=5)
    return LENGTH.pack(len(payload)) + payload


def parse(payload: bytes):
    """The message carried by a frame's payload."""
    return pickle.loads(payload)


class BlockingChannel:
    """The worker's end of the socket: blocking sends, and receives that can poll."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    def send(self, message) -> None:
        self.sock.sendall(frame(message))

    def ready(self, timeout: float | None) -> bool:
        """True when a message (or the end of the connection) can be read."""
        return bool(select.select([self.sock], [], [], timeout)[0])

    def receive(self):
        """The next message, or None when the other end closed the connection."""
        header = self._read(LENGTH.size)
        if header is None:
            return None
        payload = self._read(LENGTH.unpack(header)[0])
        return None if payload is None else parse(payload)

    def _read(self, size: int) -> bytes | None:
        chunks, left = [], size
        while left:
            chunk = self.sock.recv(min(left, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
