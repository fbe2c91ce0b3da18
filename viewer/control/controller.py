"""The viewer's core: opens files, plays the simulated network, feeds the decoder worker and
caches decoded layers. Widgets observe its signals and ask it what to show.

Panes: 0 (A) shows the original or a layered file, 1 (B) a second layered file of the same
image for side-by-side comparison. A layered file loaded from disk or just encoded is delivered
at once (every complete layer is decoded); play replays it over the simulated network. A file
opened from a URL arrives from the network (viewer.control.fetching), as far as the fetch limit
asks and the slider asks later, through the same delivery and decoding; the simulated link
throttles on top.
"""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from codec.net.http import DEFAULT_TIMEOUT
from codec.net.plan import Want
from viewer.backend import protocol as p
from viewer.backend.client import CodecService
from viewer.control.fetching import UrlFetch
from viewer.control.streaming import NetworkSimulator
from viewer.presentation.messages import open_failed
from viewer.presentation.streams import original_verified, problem
from viewer.state import files
from viewer.state.limits import DEFAULT_MAX_PIXELS, OverPixelLimit
from viewer.state.remote import FetchFailed, FetchPaused, FetchPiece, FetchStarted, RemoteState
from viewer.state.session import Layer, Original, Session, Stream

PANES = (0, 1)


class Viewer(QObject):
    """State and behaviour of one viewer window, without widgets."""

    documentChanged = Signal()  # the original or a pane's file was replaced
    opened = Signal(str)  # a file was opened (its path)
    received = Signal()  # more bytes arrived
    layerDecoded = Signal(int, int)  # pane, layer: its picture is cached
    displayChanged = Signal(int)  # pane: what it shows changed
    measured = Signal(int, int)  # pane, layer: its MS-SSIM arrived
    notice = Signal(str, str)  # a message for the user, and its topic ("file", "stream")
    overLimit = Signal(object, int)  # an OverPixelLimit of a file not opened, and its pane

    def __init__(self, service: CodecService, parent: QObject | None = None):
        super().__init__(parent)
        self.service = service
        self.session = Session()
        self.network = NetworkSimulator(self)
        self.network.ticked.connect(self._deliver)
        self._worker_ids: list[str | None] = [None, None]
        self._unverified_told: list[Stream] = []  # streams told that their PSNR is against an unverified original
        self._opening: asyncio.Task | None = None
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strata-open")
        self.max_pixels = DEFAULT_MAX_PIXELS  # the pixel limit: opening, decoding (viewer/state/limits.py)
        self.fetch_limit = Want()  # how far a file opened from a URL is fetched (the toolbar's limit)
        self.fetch_timeout = DEFAULT_TIMEOUT  # seconds to connect, and without a byte (a stalled server)
        self._fetches: list[UrlFetch | None] = [None, None]  # each pane's URL fetch
        self._connecting: UrlFetch | None = None  # a URL whose header has not arrived

    # ---- what to show -------------------------------------------------------------------

    def stream(self, pane: int) -> Stream | None:
        return self.session.streams[pane]

    def streams(self) -> list[tuple[int, Stream]]:
        return [(pane, s) for pane, s in enumerate(self.session.streams) if s is not None]

    def set_show_original(self, on: bool) -> None:
        self.session.show_original = on
        self.displayChanged.emit(0)

    def set_error_map(self, on: bool) -> None:
        """Show each pane's error against the original (where it has one) instead of its picture."""
        self.session.error_map = on
        for pane in PANES:
            self.displayChanged.emit(pane)

    def set_error_gain(self, gain: int) -> None:
        """Amplify the error map gain times."""
        self.session.error_gain = gain
        for pane in PANES:
            self.displayChanged.emit(pane)

    def paint_token(self, pane: int):
        """What the pane's canvas hands back once it painted the layer on screen (None: nothing
        to time: the original, no layer, or a refinement on the way to the layer, whose own
        picture is what the layer's delay times); see painted()."""
        stream = self.stream(pane)
        if stream is None or stream.shown not in stream.layers or self.session.shows_original(pane):
            return None
        return stream, stream.generation, stream.shown

    def painted(self, token) -> None:
        """A canvas painted the layer of a paint_token: note when, unless the run is gone."""
        stream, generation, index = token
        if stream.generation == generation:
            stream.painted(index, time.perf_counter())

    def select_layer(self, pane: int, index: int) -> None:
        """Show an arrived layer (clamped to those); the decoder synthesizes it unless cached."""
        stream = self.stream(pane)
        if stream is None or stream.newest is None:
            return
        if stream.remote is not None and index > stream.newest:
            self._fetch_more(pane, Want(layers=index + 1))
        if stream.select(min(max(index, 0), stream.newest)):
            self.service.select(self._worker_ids[pane], stream.selected)
        self.displayChanged.emit(pane)

    def step_layer(self, pane: int, delta: int) -> None:
        """Pick the layer delta after the one wanted (clamped to the arrived layers)."""
        stream = self.stream(pane)
        if stream is not None and stream.newest is not None:
            self.select_layer(pane, stream.wanted + delta)

    # ---- opening ------------------------------------------------------------------------

    def open(self, path, pane: int = 0) -> asyncio.Task:
        """Open an image or layered file (pane A), or a layered file to compare (pane B).

        Reading happens in a thread; a later open supersedes an unfinished one.
        """
        if self._opening is not None:
            self._opening.cancel()
        self._stop_connecting()
        self._opening = asyncio.ensure_future(self._open(Path(path), pane))
        return self._opening

    async def _open(self, path: Path, pane: int) -> None:
        try:
            item = await asyncio.get_running_loop().run_in_executor(self._reader, files.read_any, path, pane,
                                                                    self.max_pixels)
        except OverPixelLimit as error:
            self.overLimit.emit(error, pane)
            return
        except Exception as error:  # noqa: BLE001 - ValueError (the library's), OSError, MemoryError, a bug
            self.notice.emit(open_failed(path, error), "file")
            return
        if pane == 1 and not self._comparable(item):
            return
        if pane == 0:
            self.clear()
        if isinstance(item, Original):
            self.session.original = item
        else:
            self._load(pane, item)
        self.opened.emit(str(path))
        self.documentChanged.emit()
        self._announce(item)

    def _comparable(self, item) -> bool:
        first = self.stream(0) or self.session.original
        if not isinstance(item, Stream):
            self.notice.emit(f"Only a layered file can be compared, {item.path.name} is an image.", "file")
        elif first is not None and first.size != item.size:
            self.notice.emit(f"Cannot compare {item.path.name}: it is {item.size[0]}x{item.size[1]}, "
                             f"the open image is {first.size[0]}x{first.size[1]}.", "file")
        else:
            return True
        return False

    def _announce(self, item) -> None:
        text = problem(item) if isinstance(item, Stream) else None
        if text:
            self.notice.emit(text, "file")

    def load_encoded(self, streams: list[Stream], panes: list[int] | None = None) -> None:
        """Show freshly encoded files of the open original in panes A (and B), replacing both;
        or each in its pane of panes (the others keep their files: a file encoded to the size of
        pane A's goes beside it, into pane B)."""
        self.network.stop()
        replaced = PANES if panes is None else panes
        for pane in replaced:
            self._close_worker(pane)
            self.session.streams[pane] = None
        for pane, stream in zip(replaced, streams):
            stream.from_original = True
            self._load(pane, stream)
        self.documentChanged.emit()

    def close_comparison(self) -> None:
        self._close_worker(1)
        self._cancel_fetch(1)
        self.session.streams[1] = None
        self.documentChanged.emit()

    def clear(self) -> None:
        """Close everything (the error map's amplification stays)."""
        self.network.stop()
        for pane in PANES:
            self._close_worker(pane)
            self._cancel_fetch(pane)
        self.session = Session(error_gain=self.session.error_gain)
        self.documentChanged.emit()

    def shutdown(self) -> None:
        """Stop playing and drop every decode (the window is closing)."""
        if self._opening is not None:
            self._opening.cancel()
        self._reader.shutdown(wait=False)
        self.network.stop()
        self._stop_connecting()
        for pane in PANES:
            self._close_worker(pane)
            self._cancel_fetch(pane)

    def _load(self, pane: int, stream: Stream) -> None:
        self._close_worker(pane)
        self._cancel_fetch(pane)
        self.session.streams[pane] = stream
        self._start_worker(pane)
        self._advance(pane, len(stream.data), lambda nbytes: 0.0)

    # ---- playback -----------------------------------------------------------------------

    def play_pause(self) -> None:
        """Pause, resume, or (when nothing plays) restart."""
        if self.network.state == NetworkSimulator.PLAYING:
            self.network.pause()
        elif self.network.state == NetworkSimulator.PAUSED:
            self.network.resume()
        else:
            self.restart()

    def restart(self) -> None:
        """Stream every open layered file again from its first byte."""
        if not self.streams():
            self.notice.emit("Open or encode a layered file to stream it.", "stream")
            return
        for pane, stream in self.streams():
            self._start_worker(pane)
            if stream.remote is not None:
                stream.remote.restart(time.perf_counter())
            self.displayChanged.emit(pane)
        self.received.emit()
        self.network.start()

    def _deliver(self, t: float) -> None:
        clock = self.network.clock
        for pane, stream in self.streams():
            self._advance(pane, int(clock.budget(t)), self._time_of(stream, clock))
        if all(stream.complete for _, stream in self.streams()):
            self.network.stop()

    def _advance(self, pane: int, budget: int, time_of) -> None:
        """Deliver a pane's bytes up to budget to the decoder; note when layers completed."""
        stream = self.stream(pane)
        chunk, completed = stream.advance(budget)
        self.service.feed(self._worker_ids[pane], chunk)
        now = time.perf_counter()
        for index in completed:
            stream.arrive(index, time_of(stream.layer_end(index)), now)
        if chunk:
            self.received.emit()

    def _time_of(self, stream: Stream, clock):
        """When a stream's first n bytes were in: the simulated link's time, and for a URL's
        stream also once the network brought them (measured)."""
        if stream.remote is None:
            return clock.time_of
        return lambda nbytes: stream.remote.arrival(nbytes, clock.time_of(nbytes))

    # ---- files from URLs ----------------------------------------------------------------

    def open_url(self, url: str, pane: int = 0) -> asyncio.Future:
        """Open a layered file from an http(s) URL in pane A, or to compare in pane B: its header
        is fetched, then its layers as far as fetch_limit asks, each decoded the moment its last
        byte is in. The future is done once the header arrived or the fetch failed."""
        if self._opening is not None:
            self._opening.cancel()
        self._stop_connecting()
        opened = asyncio.get_event_loop().create_future()
        remote = RemoteState(url.strip(), self.fetch_limit)
        fetch = UrlFetch(remote.url, lambda event: self._on_fetch(pane, fetch, remote, event, opened),
                         self.fetch_timeout)
        self._connecting = fetch
        fetch.start(self.fetch_limit)
        return opened

    def set_fetch_limit(self, want: Want) -> None:
        """How far files opened from URLs are fetched; open ones are fetched on to it."""
        self.fetch_limit = want
        for pane, stream in self.streams():
            if stream.remote is not None:
                self._fetch_more(pane, want)

    def _fetch_more(self, pane: int, want: Want) -> None:
        """Ask a URL's stream for more bytes, unless its fetch already goes that far."""
        stream, fetch = self.stream(pane), self._fetches[pane]
        try:
            covered = stream.remote.covers(stream.header, want) and not stream.remote.broken
        except ValueError:  # a budget smaller than the first layer: nothing more to ask for
            return
        if fetch is None or covered:
            return
        stream.remote.asked(want)
        fetch.fetch_to(want)
        self.received.emit()

    def _on_fetch(self, pane: int, fetch: UrlFetch, remote: RemoteState, event, opened: asyncio.Future) -> None:
        if isinstance(event, (FetchStarted, FetchFailed)):
            self._connecting = None if self._connecting is fetch else self._connecting
            if isinstance(event, FetchStarted):
                self._start_remote(pane, fetch, remote, event)
            else:
                self.notice.emit(f"Could not open {remote.url}: {event.message}", "file")
            if not opened.done():
                opened.set_result(None)
            return
        stream = self.stream(pane)
        if stream is None or stream.remote is not remote:
            fetch.cancel()  # its stream is gone
        elif isinstance(event, FetchPiece):
            stream.take(event)
            self._deliver_arrived()
        elif isinstance(event, FetchPaused):
            self._on_fetch_paused(stream, event)

    def _start_remote(self, pane: int, fetch: UrlFetch, remote: RemoteState, started: FetchStarted) -> None:
        """The header is in: the stream takes the pane, and its bytes are delivered as they come."""
        stream = Stream.from_url(remote, started)
        if pane == 1 and not self._comparable(stream):
            fetch.cancel()
            return
        if pane == 0:
            self.clear()
        self._close_worker(pane)
        self._cancel_fetch(pane)
        self._fetches[pane] = fetch
        self.session.streams[pane] = stream
        self._start_worker(pane)
        self.network.start()
        self.opened.emit(remote.url)
        self.documentChanged.emit()

    def _deliver_arrived(self) -> None:
        """Bytes came from the network: deliver them now (as far as the simulated link lets)."""
        if self.network.state == NetworkSimulator.STOPPED:
            self.network.proceed()
        elif self.network.state == NetworkSimulator.PLAYING:
            self._deliver(self.network.now())
        self.received.emit()

    def _on_fetch_paused(self, stream: Stream, event: FetchPaused) -> None:
        """A request is done, or broke off: the complete layers stay, the banner says what is missing."""
        stream.remote.paused(event)
        if event.damage:
            self.notice.emit(f"{stream.path.name}: {event.damage}", "file")
        self._deliver_arrived()

    def _cancel_fetch(self, pane: int) -> None:
        if self._fetches[pane] is not None:
            self._fetches[pane].cancel()
            self._fetches[pane] = None

    def _stop_connecting(self) -> None:
        """Drop a URL whose header has not arrived (another open supersedes it)."""
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None

    # ---- the decoder worker -------------------------------------------------------------

    def _start_worker(self, pane: int) -> None:
        """A fresh decode of the pane's stream from byte zero."""
        stream = self.stream(pane)
        self._close_worker(pane)
        stream.restart()
        generation = stream.generation

        def listener(message) -> None:
            self._on_worker(pane, stream, generation, message)

        self._worker_ids[pane] = self.service.open_stream(self.session.reference_for(stream), listener,
                                                          self.max_pixels)

    def _close_worker(self, pane: int) -> None:
        if self._worker_ids[pane] is not None:
            self.service.close_stream(self._worker_ids[pane])
            self._worker_ids[pane] = None

    def _on_worker(self, pane: int, stream: Stream, generation: int, message) -> None:
        if self.stream(pane) is not stream or generation != stream.generation:
            return  # a result of a file or run that is gone
        if isinstance(message, p.StreamFailed):
            self._on_failed(pane, stream, message)
            return
        if isinstance(message, p.LayerMeasured):
            stream.ms_ssim[message.index] = message.ms_ssim
            self.measured.emit(pane, message.index)
            return
        layer = self._layer(stream, message)
        stream.accept(generation, layer)
        self.layerDecoded.emit(pane, layer.index)
        if stream.shown == layer.index:
            self.displayChanged.emit(pane)

    def _on_failed(self, pane: int, stream: Stream, message: p.StreamFailed) -> None:
        """Remember where decoding stopped; tell the user unless the open already did."""
        stream.fail(message.layer, message.message)
        known = getattr(stream.damage, "layer", None)
        if message.layer is None or message.layer != known:
            self.notice.emit(f"{stream.path.name}: {message.message}", "file")
        self.displayChanged.emit(pane)

    def _layer(self, stream: Stream, message: p.LayerDecoded) -> Layer:
        """The viewer's Layer of a decoded picture, with the PSNR it can vouch for: measured against
        the original once a whole layer's matched the file's own (or the file was encoded from it
        here), else the file's. A refinement (no PSNR in the file) before that is not measured: the
        original may not be its source. A file that records no PSNR (a classic one) and was not
        encoded here cannot confirm its original: its PSNR is said to be unverified."""
        foreign, records_psnr = stream.foreign_original, any(v is not None for v in stream.header.layer_psnr)
        reference = message.psnr
        if not message.complete and records_psnr and not original_verified(stream):
            reference = None
        psnr, measured = stream.psnr_of(reference, message.file_psnr)
        if stream.foreign_original and not foreign:
            self.notice.emit(f"{self.session.original.path.name} is not the picture {stream.path.name} was "
                             f"encoded from (PSNR {message.psnr:.2f} dB against it, {message.file_psnr:.2f} dB "
                             f"in the file): PSNR is taken from the file.", "file")
        told = any(s is stream for s in self._unverified_told)
        if measured and not records_psnr and not stream.from_original and not told:
            open_ones = [s for s in self._unverified_told if any(s is o for o in self.session.streams)]
            self._unverified_told = open_ones + [stream]
            self.notice.emit(f"{stream.path.name} records no PSNR of its own, so nothing confirms that it was encoded "
                             f"from {self.session.original.path.name}: its PSNR against that picture is marked "
                             f"unverified.", "file")
        return Layer(message.index, message.rgb, message.bytes_used, message.bpp, psnr, measured,
                     message.decode_seconds + message.synthesis_seconds, message.synthesis_seconds, message.complete)
