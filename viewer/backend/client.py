"""The GUI's side of the codec workers: processes started with 'spawn', driven through asyncio.

CodecService is what the GUI uses: one worker process decodes streams, another encodes, so that
cancelling an encode, which ends its process (a running torch computation cannot be interrupted),
never disturbs the streams. Writes never block the event loop: the asyncio transport buffers
them while a worker is busy. As with any 'spawn' start, a script that creates workers must keep
its top-level code under `if __name__ == "__main__":` (the workers re-import the main module).
"""
from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import socket
from typing import Callable

from codec.effort import DEFAULT_EFFORT
from viewer.backend import protocol as p

STOP_TIMEOUT_S = 2.0


class WorkerStopped(RuntimeError):
    """The worker process ended before it answered."""


class JobFailed(RuntimeError):
    """The worker could not do the job; the message is a sentence for the user."""


def _child_main(sock: socket.socket) -> None:
    """Entry point of the worker process (imports torch there, never in the GUI)."""
    from viewer.backend import worker

    worker.serve(sock)


class WorkerProcess:
    """One worker process and its connection, started on first use; stop() ends it at once."""

    def __init__(self, name: str, on_event: Callable, on_lost: Callable[[str], None]):
        self.name = name
        self.on_event = on_event  # messages that answer no job: stream events
        self.on_lost = on_lost  # called with a reason when the process dies on its own
        self.process: multiprocessing.process.BaseProcess | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._backlog: list[bytes] = []
        self._reader: asyncio.Task | None = None
        self._jobs: dict[int, tuple[asyncio.Future, Callable | None]] = {}

    @property
    def running(self) -> bool:
        return self.process is not None

    def start(self) -> None:
        """Spawn the process unless it runs; returns at once (the child imports in the background)."""
        if self.process is not None:
            return
        ours, theirs = socket.socketpair()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_child_main, args=(theirs,), name=self.name, daemon=True)
        self.process.start()
        theirs.close()
        self._reader = asyncio.ensure_future(self._serve(ours, self.process))

    def send(self, message) -> None:
        self.start()
        data = p.frame(message)
        if self._writer is None:
            self._backlog.append(data)
        else:
            self._writer.write(data)

    async def request(self, message, on_stage: Callable[[p.Stage], None] | None = None):
        """Send a job and wait for its answer; its Stage messages go to on_stage."""
        future = asyncio.get_running_loop().create_future()
        self._jobs[message.job] = (future, on_stage)
        try:
            self.send(message)
            return await future
        finally:
            self._jobs.pop(message.job, None)

    def stop(self) -> None:
        """End the process now; waiting requests raise WorkerStopped."""
        process, self.process = self.process, None
        if process is None:
            return
        self._fail_jobs(f"the {self.name} process was stopped")
        self._reader.cancel()
        if self._writer is not None:
            self._writer.close()
        self._writer, self._backlog = None, []
        process.terminate()
        process.join(STOP_TIMEOUT_S)
        if process.is_alive():
            process.kill()
            process.join()

    async def _serve(self, sock: socket.socket, process) -> None:
        """Connect, flush what was sent meanwhile, then dispatch incoming messages."""
        reader, self._writer = await asyncio.open_connection(sock=sock)
        for data in self._backlog:
            self._writer.write(data)
        self._backlog = []
        try:
            while True:
                size = p.LENGTH.unpack(await reader.readexactly(p.LENGTH.size))[0]
                self._dispatch(p.parse(await reader.readexactly(size)))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        if self.process is process:  # it died on its own
            self._lost(process)

    def _lost(self, process) -> None:
        process.join(STOP_TIMEOUT_S)
        reason = f"the {self.name} process stopped unexpectedly (exit code {process.exitcode})"
        self.process, self._writer, self._backlog = None, None, []
        self._fail_jobs(reason)
        self.on_lost(reason)

    def _fail_jobs(self, reason: str) -> None:
        for future, _ in self._jobs.values():
            if not future.done():
                future.set_exception(WorkerStopped(reason))

    def _dispatch(self, message) -> None:
        job = getattr(message, "job", None)
        if job is None:
            self.on_event(message)
            return
        future, on_stage = self._jobs.get(job, (None, None))
        if future is None or future.done():
            return
        if isinstance(message, p.Stage):
            if on_stage is not None:
                on_stage(message)
        elif isinstance(message, p.Failed):
            future.set_exception(JobFailed(message.message))
        else:
            future.set_result(message)


class CodecService:
    """Encoding and progressive decoding for the GUI, in two worker processes."""

    def __init__(self):
        self.decoder = WorkerProcess("decoder", self._on_event, self._on_lost)
        self.encoder = WorkerProcess("encoder", self._on_event, lambda reason: None)
        self._jobs = itertools.count(1)
        self._stream_ids = itertools.count(1)
        self._listeners: dict[str, Callable] = {}

    def start(self) -> None:
        """Start the decoder now, so that it has imported its libraries before the first file."""
        self.decoder.start()

    async def capabilities(self) -> p.Capabilities:
        return await self.decoder.request(p.Hello(next(self._jobs)))

    async def encode(self, path, codec: str, quality: int | None,
                     on_stage: Callable[[p.Stage], None] | None = None, max_bytes: int | None = None,
                     effort: int = DEFAULT_EFFORT, max_pixels: int | None = None) -> p.Encoded:
        """Encode an image file (at most max_bytes long when given; of at most max_pixels pixels,
        None: the library's limit) at an effort level; its Stage messages go to on_stage;
        cancelling the awaiting task stops the encoder process."""
        try:
            message = p.Encode(next(self._jobs), str(path), codec, quality, max_bytes, effort, max_pixels)
            return await self.encoder.request(message, on_stage)
        except asyncio.CancelledError:
            self.encoder.stop()
            raise

    def open_stream(self, reference, listener: Callable, max_pixels: int | None = None) -> str:
        """A new stream id; listener gets its LayerDecoded and StreamFailed messages. max_pixels:
        the largest picture to decode (None: the library's limit)."""
        stream = f"stream-{next(self._stream_ids)}"
        self._listeners[stream] = listener
        self.decoder.send(p.OpenStream(stream, reference, max_pixels))
        return stream

    def feed(self, stream: str, data: bytes) -> None:
        if stream in self._listeners and data:
            self.decoder.send(p.Feed(stream, data))

    def select(self, stream: str, layer: int | None) -> None:
        """Show layer (from 0) of a stream, synthesized on demand; None: follow the newest."""
        if stream in self._listeners:
            self.decoder.send(p.Select(stream, layer))

    def close_stream(self, stream: str) -> None:
        """Drop a stream: no more messages for it, its pending layers are not decoded."""
        if self._listeners.pop(stream, None) is not None and self.decoder.running:
            self.decoder.send(p.CloseStream(stream))

    def shutdown(self) -> None:
        self._listeners.clear()
        self.decoder.stop()
        self.encoder.stop()

    def _on_event(self, message) -> None:
        listener = self._listeners.get(message.stream)
        if listener is not None:
            listener(message)

    def _on_lost(self, reason: str) -> None:
        listeners, self._listeners = self._listeners, {}
        for stream, listener in listeners.items():
            listener(p.StreamFailed(stream, reason))
