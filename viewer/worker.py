"""The codec worker process: loads each model once, encodes images and decodes streams.

The only viewer module that imports torch (through codec); it runs in its own process, started
by viewer.client. It works one step at a time, either one encode or the decode of one layer of
one stream (round robin over streams), and reads the waiting messages between steps, so a closed
stream drops its pending layers at once.
"""
from __future__ import annotations

import socket
import time
from collections import deque

import torch

from codec import api, metrics, registry
from viewer import protocol as p

HC_QUALITIES = (1, 2, 3, 4)


def serve(sock: socket.socket) -> None:
    """Serve the GUI on sock until it closes the connection."""
    Worker(p.BlockingChannel(sock)).run()


def describe(error: Exception) -> str:
    """A sentence for the user; codec errors already are one."""
    return str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"


def installed_models() -> dict[str, tuple[int, ...]]:
    """Codec -> model ids whose weight files exist."""
    found = {"deephq": (0,), "hc": HC_QUALITIES}
    return {codec: tuple(m for m in ids if registry.weights_file(codec, m).exists())
            for codec, ids in found.items()}


def capabilities(job: int) -> p.Capabilities:
    device = registry.resolve_device("auto")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    return p.Capabilities(job, device.type, name, installed_models())


class StreamJob:
    """One stream being decoded: its progressive decoder and the layers still to decode."""

    def __init__(self, stream: str, reference):
        self.stream = stream
        self.reference = reference
        self.decoder = api.ProgressiveDecoder()
        self.pending: deque = deque()  # iterators returned by decoder.feed
        self.warm = False

    def feed(self, data: bytes) -> None:
        self.pending.append(self.decoder.feed(data))

    @property
    def has_work(self) -> bool:
        return bool(self.pending) or (not self.warm and self.decoder.header is not None)

    def step(self) -> p.LayerDecoded | p.StreamFailed | None:
        """Load the model once the header is known, else decode the next layer.

        StreamFailed reports damage once every layer before it is decoded.
        """
        header = self.decoder.header
        if not self.warm and header is not None:
            registry.load_codec(header.codec, header.model_id)
            self.warm = True
            return None
        layer = next(self.pending[0], None)
        if layer is not None:
            return self._message(layer)
        self.pending.popleft()
        damage = self.decoder.damage
        return p.StreamFailed(self.stream, str(damage)) if damage and not self.pending else None

    def _message(self, layer: api.DecodedLayer) -> p.LayerDecoded:
        measured = None
        if self.reference is not None and self.reference.shape == layer.rgb.shape:
            measured = metrics.psnr(self.reference, layer.rgb)
        return p.LayerDecoded(self.stream, layer.index, layer.rgb, layer.bytes_used, layer.bpp,
                              layer.psnr, measured, layer.decode_seconds)


class Worker:
    """The serving loop: messages in, one step of work, messages out."""

    def __init__(self, channel: p.BlockingChannel):
        self.channel = channel
        self.jobs: deque[p.Encode] = deque()
        self.streams: dict[str, StreamJob] = {}

    def run(self) -> None:
        while self._read_messages():
            self._step()

    def _busy(self) -> bool:
        return bool(self.jobs) or any(s.has_work for s in self.streams.values())

    def _read_messages(self) -> bool:
        """Handle every waiting message (wait for one when idle); False once the GUI is gone."""
        timeout = 0 if self._busy() else None
        while self.channel.ready(timeout):
            message = self.channel.receive()
            if message is None:
                return False
            self._handle(message)
            timeout = 0
        return True

    def _handle(self, message) -> None:
        if isinstance(message, p.Hello):
            self.channel.send(capabilities(message.job))
        elif isinstance(message, p.Encode):
            self.jobs.append(message)
        elif isinstance(message, p.OpenStream):
            self.streams[message.stream] = StreamJob(message.stream, message.reference)
        elif isinstance(message, p.Feed) and message.stream in self.streams:
            self._feed(self.streams[message.stream], message.data)
        elif isinstance(message, p.CloseStream):
            self.streams.pop(message.stream, None)

    def _feed(self, job: StreamJob, data: bytes) -> None:
        try:
            job.feed(data)
        except ValueError as error:  # ContainerError: a bad header
            self._drop(job, describe(error))

    def _step(self) -> None:
        if self.jobs:
            self._encode(self.jobs.popleft())
            return
        job = next((s for s in self.streams.values() if s.has_work), None)
        if job is None:
            return
        self.streams[job.stream] = self.streams.pop(job.stream)  # round robin
        try:
            message = job.step()
        except Exception as error:  # a decoder error ends this stream, not the worker
            self._drop(job, describe(error))
            return
        if isinstance(message, p.StreamFailed):
            self.streams.pop(job.stream, None)
        if message is not None:
            self.channel.send(message)

    def _drop(self, job: StreamJob, message: str) -> None:
        self.streams.pop(job.stream, None)
        self.channel.send(p.StreamFailed(job.stream, message))

    def _encode(self, job: p.Encode) -> None:
        name = "DeepHQ" if job.codec == "deephq" else f"HC quality {job.quality}"
        start = time.perf_counter()
        try:
            self.channel.send(p.Stage(job.job, f"Loading the {name} model"))
            registry.load_codec(job.codec, 0 if job.codec == "deephq" else job.quality)
            self.channel.send(p.Stage(job.job, f"Encoding with {name}"))
            data = api.encode(job.path, job.codec, job.quality)
        except Exception as error:
            self.channel.send(p.Failed(job.job, describe(error)))
            return
        self.channel.send(p.Encoded(job.job, data, time.perf_counter() - start))
