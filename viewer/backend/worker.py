"""The codec worker process: loads each model once, encodes images and decodes streams.

The only viewer module that imports torch (through codec); it runs in its own process, started
by viewer.backend.client. It works one step at a time, either one encode, or for one stream (round robin
over streams) the range decoding of one layer or one synthesis, and reads the waiting messages
between steps. Every complete layer is range-decoded (cheap), but only the layer to show is
synthesized: the newest decoded one, or the one the GUI picked; a layer overtaken by a newer one
before its synthesis began is never synthesized. While bytes arrive faster than they are
range-decoded, the decoding pauses for a picture as soon as the first one is decodable and then
at least every REFRESH_S seconds, so the screen never starves. With a reference picture, a whole
layer's MS-SSIM is measured once nothing more urgent is left, and sent after its picture. A
stream is any layered file (codec.layered: a `.strata` file, a JPEG 2000 file with quality
layers, a progressive JPEG): its reader and its codec's layer decoder are the same steps for
every format.
"""
from __future__ import annotations

import socket
import time
from collections import deque

import numpy as np
import torch

from codec import api, container, layered, registry
from codec.effort import DEFAULT_EFFORT
from codec.codecs.protocol import LayerDecoder
from codec.evaluation import metrics
from viewer.backend import protocol as p
from viewer.state.limits import pillow_check_off


MS_SSIM_MAX_PIXELS = 2**22  # larger pictures are not measured: one MS-SSIM would hold up the stream for seconds


REFRESH_S = 1.0  # while bytes arrive, a newer picture is shown at least this often (seconds)
clock = time.monotonic  # the scheduling's clock (tests replace it)


def serve(sock: socket.socket) -> None:
    """Serve the GUI on sock until it closes the connection."""
    Worker(p.BlockingChannel(sock)).run()


def describe(error: Exception) -> str:
    """A sentence for the user; codec errors already are one."""
    return str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"


def capabilities(job: int) -> p.Capabilities:
    device = registry.resolve_device("auto")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    return p.Capabilities(job, device.type, name, registry.installed_models())


class StreamJob:
    """One stream being decoded: its reader, its layer decoder, and what the GUI wants to see.

    Every complete chunk is range-decoded; a picture is synthesized only for the layer picked
    in the GUI or, while following, for the newest refinement: the newest decoded chunk's
    picture, a whole layer or part of one (DeepHQ's partitions). Layers are numbered from 0 here
    and in the messages; the texts for the user count from 1.
    """

    def __init__(self, stream: str, reference, max_pixels: int | None = None):
        self.stream = stream
        self.reference = reference
        self.max_pixels = max_pixels  # the viewer's pixel limit (None: the library's)
        self.reader = layered.StreamingReader()
        self.decoder: LayerDecoder | None = None  # made once the header is known
        self.pending: deque[container.Chunk] = deque()  # complete chunks not yet range-decoded
        self.newest: container.Chunk | None = None  # the last chunk range-decoded
        self.selected: int | None = None  # the layer picked in the GUI; None: the newest
        self.sent: set[tuple[int, int]] = set()  # (layer, chunks) whose picture the GUI has
        self.symbol_seconds: dict[int, float] = {}  # layer -> range decoding so far
        self.failure: p.StreamFailed | None = None  # sent once nothing is left to show
        self.to_measure: list[tuple[int, np.ndarray]] = []  # (layer, picture) of whole layers whose MS-SSIM is due
        self.reported = False
        self.shown_at: float | None = None  # clock() when the last picture was sent

    def feed(self, data: bytes) -> None:
        """Take bytes; raises a ValueError when the header is bad (ContainerError, ClassicFileError)."""
        completed = self.reader.feed(data)
        if self.failure is None:
            self.pending.extend(completed)
            damage = self.reader.damage
            if isinstance(damage, container.LayerCorrupted):
                self._fail(damage.layer, f"layer {damage.layer + 1} is damaged (its checksum does not match); "
                                         f"only the layers before it can be shown")
            elif getattr(damage, "layer", None) is not None:  # a classic file that breaks after a layer
                self._fail(damage.layer, f"layer {damage.layer + 1} is damaged ({damage}); only the layers "
                                         f"before it can be shown")

    def select(self, layer: int | None) -> None:
        self.selected = layer

    @property
    def has_work(self) -> bool:
        return self._next_step() is not None

    def step(self) -> p.LayerDecoded | p.StreamFailed | None:
        """Do the next thing: open the decoder, range-decode a chunk, synthesize, or report."""
        action = self._next_step()
        return None if action is None else action()

    def _next_step(self):
        """The picked layer first, then the range decoding of complete chunks (interrupted by
        the newest refinement's synthesis while bytes still arrive and the screen has had no
        picture for REFRESH_S seconds), then the newest refinement's synthesis, then the failure
        (if any)."""
        if self.decoder is None and self.reader.header is not None and (self.failure is None or self.pending):
            return self._open  # as soon as the header is known: the model loads while bytes arrive
        target = self._target()
        due = target is not None and target not in self.sent
        if due and (self.selected is not None or self._picture_overdue()):
            return lambda: self._synthesize(*target)
        if self.pending:
            return self._decode_next
        if due:
            return lambda: self._synthesize(*target)
        if self.to_measure:
            return self._measure
        if self.failure is not None and not self.reported:
            return self._report
        return None

    def _picture_overdue(self) -> bool:
        """While bytes still arrive: the screen has no picture yet, or none for REFRESH_S
        seconds. (Once the file is whole or broken off, its last layer is worth one synthesis,
        not two.)"""
        if self.reader.done or self.failure is not None:
            return False
        return self.shown_at is None or clock() - self.shown_at >= REFRESH_S

    def _complete_layers(self) -> int:
        """Layers whose every chunk is range-decoded."""
        newest = self.newest
        return 0 if newest is None else newest.layer + newest.last

    def _target(self) -> tuple[int, int] | None:
        """(layer, chunks) to synthesize: the picked layer once decoded, else the newest
        refinement."""
        if self.selected is not None:
            if self.selected >= self._complete_layers():
                return None
            return self.selected, len(self.reader.header.chunks[self.selected])
        return None if self.newest is None else (self.newest.layer, self.newest.part + 1)

    def _open(self) -> None:
        """The codec's layer decoder, keeping every layer, after the API's checks (picture size,
        memory, the weights that made the file)."""
        self.decoder = api.open_layer_decoder(self.reader.header, max_pixels=self.max_pixels, history=True)

    def _decode_next(self) -> None:
        chunk = self.pending.popleft()
        start = time.perf_counter()
        try:
            self.decoder.decode_chunk(chunk.payload, chunk.layer, chunk.part)
        except api.LAYER_ERRORS as error:
            self._fail(chunk.layer, f"layer {chunk.layer + 1} cannot be decoded: {error}")
            return
        self.newest = chunk
        if chunk.part == 0:
            self.symbol_seconds[chunk.layer] = 0.0
        self.symbol_seconds[chunk.layer] += time.perf_counter() - start

    def _fail(self, index: int, message: str) -> None:
        """Layers from index on cannot be shown (an earlier failure wins)."""
        if self.failure is None or index < self.failure.layer:
            self.failure = p.StreamFailed(self.stream, message, index)
        self.pending = deque(chunk for chunk in self.pending if chunk.layer < index)

    def _synthesize(self, index: int, parts: int) -> p.LayerDecoded:
        start = time.perf_counter()
        rgb = self.decoder.synthesize(index)
        seconds = time.perf_counter() - start
        self.sent.add((index, parts))
        self.shown_at = clock()
        header = self.reader.header
        used = header.chunk_end(index, parts - 1)
        complete = parts == len(header.chunks[index])
        measured = None
        if self.reference is not None and self.reference.shape == rgb.shape:
            measured = metrics.psnr(self.reference, rgb)
            if complete and self._measurable(rgb):
                self.to_measure.append((index, rgb))
        return p.LayerDecoded(self.stream, index, rgb, used, 8 * used / (header.width * header.height),
                              header.layer_psnr[index] if complete else None, measured,
                              self.symbol_seconds[index], seconds, parts, complete)

    @staticmethod
    def _measurable(rgb: np.ndarray) -> bool:
        """MS-SSIM needs every side of at least MS_SSIM_MIN_SIDE pixels; see MS_SSIM_MAX_PIXELS."""
        height, width = rgb.shape[:2]
        return min(height, width) >= metrics.MS_SSIM_MIN_SIDE and height * width <= MS_SSIM_MAX_PIXELS

    def _measure(self) -> p.LayerMeasured:
        """The MS-SSIM of the newest whole layer waiting for it (the newest is the one on screen)."""
        index, rgb = self.to_measure.pop()
        return p.LayerMeasured(self.stream, index, metrics.ms_ssim(self.reference, rgb))

    def _report(self) -> p.StreamFailed:
        self.reported = True
        return self.failure


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
            self.streams[message.stream] = StreamJob(message.stream, message.reference, message.max_pixels)
        elif isinstance(message, p.Feed) and message.stream in self.streams:
            self._feed(self.streams[message.stream], message.data)
        elif isinstance(message, p.Select) and message.stream in self.streams:
            self.streams[message.stream].select(message.layer)
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
        if message is not None:
            self.channel.send(message)

    def _reporter(self, job: int, text: str, interval: float = 0.25):
        """A progress callback sending Stage(job, text, fraction) at most every `interval` seconds."""
        last = [0.0]

        def report(fraction: float) -> None:
            now = time.perf_counter()
            if now - last[0] >= interval or fraction >= 1:
                last[0] = now
                self.channel.send(p.Stage(job, text, fraction))
        return report

    def _drop(self, job: StreamJob, message: str) -> None:
        self.streams.pop(job.stream, None)
        self.channel.send(p.StreamFailed(job.stream, message))

    def _encode(self, job: p.Encode) -> None:
        start = time.perf_counter()
        try:
            spec = registry.spec(job.codec)
            model_id = spec.model_for(job.quality)
            name = spec.label(model_id)
            if spec.learned:
                self.channel.send(p.Stage(job.job, f"Loading the {name} model"))
                registry.load_codec(job.codec, model_id)
            budget = "" if job.max_bytes is None else f" to at most {job.max_bytes:,} bytes"
            effort = f" at effort {job.effort}" if spec.learned and job.effort != DEFAULT_EFFORT else ""
            text = f"Encoding with {name}{effort}{budget}"
            self.channel.send(p.Stage(job.job, text))
            with pillow_check_off():  # the API checks max_pixels before Pillow decodes a pixel
                data = api.encode(job.path, job.codec, job.quality, max_bytes=job.max_bytes, effort=job.effort,
                                  progress=self._reporter(job.job, text), max_pixels=job.max_pixels)
        except Exception as error:
            self.channel.send(p.Failed(job.job, describe(error)))
            return
        self.channel.send(p.Encoded(job.job, data, time.perf_counter() - start))
