"""Fetching a layered file from a URL for the viewer: codec.net's RemoteFile in a thread of its
own, its events handed to the asyncio (qasync) loop of the GUI.

The thread reads the header, then as far as asked (`fetch_to`: the toolbar's limit, later the
slider), piece by piece as the bytes arrive, and waits for the next request in between, with no
answer left open (a server without range support is read once per request and closed as soon as
the bytes asked for are in). Events: FetchStarted once the header is in, FetchPiece per piece,
FetchPaused when a request is done or broke off, FetchFailed when nothing usable came. No byte
goes to disk, and no tensor is touched: the bytes go to the decoder worker like a local file's.
"""
from __future__ import annotations

import asyncio
import queue
import threading
from typing import Callable

from codec.net import errors, remote
from codec.net.plan import Want
from viewer.state.remote import FetchFailed, FetchPaused, FetchPiece, FetchStarted

_STOP = object()


class UrlFetch:
    """One URL fetched in a daemon thread; `on_event` is called on the loop with its events."""

    def __init__(self, url: str, on_event: Callable, timeout: float = remote.DEFAULT_TIMEOUT):
        self.url = url
        self.on_event = on_event
        self.timeout = timeout
        self._loop = asyncio.get_event_loop()
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"strata-fetch {url}", daemon=True)

    def start(self, want: Want) -> None:
        """Read the header, then as far as want asks."""
        self._requests.put(want)
        self._thread.start()

    def fetch_to(self, want: Want) -> None:
        """Read on from the bytes received as far as want asks (after any earlier request)."""
        self._requests.put(want)

    def cancel(self) -> None:
        """Stop after the piece being read (a stalled read ends with its timeout); no more events."""
        self._cancelled.set()
        self._requests.put(_STOP)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    # ---- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            file = remote.RemoteFile(self.url, self.timeout)
        except errors.NetworkError as error:
            self._post(FetchFailed(str(error)))
            return
        with file:
            try:
                file.read_header()
            except (errors.NetworkError, ValueError) as error:
                self._post(FetchFailed(str(error)))
                return
            self._post(FetchStarted(bytes(file.data), file.layout, file.layers, file.seconds, file.started))
            self._serve(file)

    def _serve(self, file: remote.RemoteFile) -> None:
        """Fetch each request in turn until cancelled."""
        while not self.cancelled:
            want = self._requests.get()
            if want is _STOP:
                return
            self._fetch(file, want)

    def _fetch(self, file: remote.RemoteFile, want: Want) -> None:
        try:
            for piece in file.pieces(want):
                if self.cancelled:
                    return
                self._post(FetchPiece(piece, file.layout, file.layers, file.seconds, file.reader.transferred,
                                      len(file.reader.requests)))
        except (errors.NetworkError, ValueError) as error:  # a budget too small: container.BudgetTooSmall
            self._post(FetchPaused(str(error), True, file.result().report()))
            return
        finally:
            file.reader.end_answer()  # nothing left open between requests
        damage = file.damage
        self._post(FetchPaused(None if damage is None else str(damage), False, file.result().report()))

    def _post(self, event) -> None:
        """Hand an event to the loop (dropped once cancelled, or when the loop is gone)."""
        if self.cancelled:
            return
        try:
            self._loop.call_soon_threadsafe(self._deliver, event)
        except RuntimeError:  # the loop is closed: the window is gone
            self._cancelled.set()

    def _deliver(self, event) -> None:
        if not self.cancelled:
            self.on_event(event)
