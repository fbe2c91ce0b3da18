"""Encoding the open image into layered files, one after the other, in the encoder worker.

A file is written (atomically) only once its encode is complete, so a cancelled or failed
encode leaves nothing behind. Asking before overwriting is the window's job.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from codec.effort import DEFAULT_EFFORT
from viewer.backend.client import CodecService, JobFailed, WorkerStopped
from viewer.presentation.formatting import codec_label
from viewer.state import files
from viewer.state.limits import DEFAULT_MAX_PIXELS
from viewer.state.session import Stream


@dataclass(frozen=True)
class Target:
    """One file to make: codec, quality (a family's model id; None for a single-model codec),
    where to write it, a byte budget (None: none), the pane it goes to (None: the targets of
    an encode fill panes A and B in order, replacing both; 1: pane B, beside pane A's file) and
    the encoder's effort (codec/effort.py; the classic codecs ignore it)."""

    codec: str
    quality: int | None
    path: Path
    max_bytes: int | None = None
    pane: int | None = None
    effort: int = DEFAULT_EFFORT

    @property
    def label(self) -> str:
        return codec_label(self.codec, self.quality)


class Encoding(QObject):
    """Runs one encode request (one or more targets) at a time; cancel() stops it at once."""

    stage = Signal(str, object)  # what is happening, in words, and the fraction done (0..1; None: unknown)
    finished = Signal(list)  # the new files as Streams, in target order
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, service: CodecService, parent: QObject | None = None):
        super().__init__(parent)
        self.service = service
        self._task: asyncio.Task | None = None
        self.panes: list[int] | None = None  # where the files of the running encode go (Target.pane)
        self.max_pixels = DEFAULT_MAX_PIXELS  # the pixel limit (viewer/state/limits.py)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, image: Path, targets: list[Target]) -> asyncio.Task:
        self.cancel()
        chosen = [t.pane for t in targets]
        self.panes = None if all(p is None for p in chosen) else [i if p is None else p for i, p in enumerate(chosen)]
        self._task = asyncio.ensure_future(self._run(Path(image), targets))
        self._task.add_done_callback(self._on_done)
        return self._task

    def cancel(self) -> None:
        if self.running:
            self._task.cancel()

    async def _run(self, image: Path, targets: list[Target]) -> None:
        streams = []
        try:
            for number, target in enumerate(targets, 1):
                prefix = f"[{number}/{len(targets)}] " if len(targets) > 1 else ""
                result = await self.service.encode(image, target.codec, target.quality,
                                                   lambda stage: self._report(prefix, stage, number, len(targets)),
                                                   target.max_bytes, target.effort, self.max_pixels)
                files.write_atomically(target.path, result.data)
                streams.append(Stream.from_bytes(target.path, result.data))
        except (JobFailed, WorkerStopped, OSError) as error:
            self.failed.emit(f"Encoding failed: {error}")
            return
        self.finished.emit(streams)

    def _report(self, prefix: str, stage, number: int, count: int) -> None:
        """Emit a worker's Stage of target `number` of `count`, its fraction spread over all of
        them (each target counted as an equal share)."""
        fraction = None if stage.fraction is None else (number - 1 + stage.fraction) / count
        self.stage.emit(prefix + stage.text, fraction)

    def _on_done(self, task: asyncio.Task) -> None:
        if task.cancelled():  # also when cancelled before it began
            self.cancelled.emit()
