"""Byte ranges of one URL over HTTP(S), with httpx, and the server's answers checked.

`RangeReader.read(start, end)` gives the file's bytes start..end-1 in pieces as they arrive:
one request with `Range: bytes=start-(end-1)` (none when the whole file is asked for), whose
answer must be a 206 for exactly those bytes (Content-Range, Content-Length) or a 200 with the
whole file (a server without range support: its bytes before `start` are skipped, and the answer
stays open, so that the next range is read on from it instead of starting the file again; it is
closed as soon as the reader is done). Redirects are followed (at most MAX_REDIRECTS), proxies
and certificates come from the platform (httpx's `trust_env`: HTTP(S)_PROXY, NO_PROXY,
SSL_CERT_FILE; the system's CA store through `ssl.create_default_context`), and the file's own
bytes are asked for (`Accept-Encoding: identity`): a compressed answer is refused, its offsets
would not be the file's.

Every failure is one of codec.net.errors, naming what went wrong; `requests` records each
request and how many body bytes its answer brought (what `--verbose` reports).
"""
from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from typing import Iterator

import httpx

from codec.net import errors
from codec.net.urls import host, is_url

DEFAULT_TIMEOUT = 20.0  # seconds to connect, and without a byte while reading
MAX_REDIRECTS = 10
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)\s*$", re.IGNORECASE)


@dataclass
class Request:
    """One request made: the bytes asked for (end exclusive; None: to the end of the file), the
    status of its answer and the body bytes read from it (skipped ones included)."""

    start: int
    end: int | None
    status: int = 0
    body_bytes: int = 0

    @property
    def range_text(self) -> str:
        return f"bytes {self.start:,}-{'' if self.end is None else f'{self.end - 1:,}'}"


def make_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    """An httpx client as the reader uses it: redirects followed, proxies and certificates from
    the platform, the file's own bytes asked for."""
    return httpx.Client(follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=httpx.Timeout(timeout),
                        verify=ssl.create_default_context(), trust_env=True,
                        headers={"Accept-Encoding": "identity", "User-Agent": "strata"})


class RangeReader:
    """Byte ranges of one URL; close() (or `with`) ends its connections."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT, client: httpx.Client | None = None):
        if not is_url(url):
            raise errors.BadURL(f"{url!r} is not an http:// or https:// URL")
        self.url = url.strip()
        self.timeout = timeout
        self.requests: list[Request] = []
        self.size: int | None = None  # the file's size as the server gives it, once known
        self.content_type = ""
        self.ignores_ranges = False  # the server answered a range request with the whole file
        self._client = client or make_client(timeout)
        self._owns_client = client is None
        self._response: httpx.Response | None = None
        self._chunks: Iterator[bytes] | None = None
        self._position = 0  # file offset of the open answer's next byte (after _leftover)
        self._leftover = b""  # bytes of the open answer read past the last range
        self._range_end = 0  # file offset after the last byte of the open 206 answer

    @property
    def transferred(self) -> int:
        """Body bytes received over every request."""
        return sum(r.body_bytes for r in self.requests)

    def read(self, start: int, end: int | None = None) -> Iterator[bytes]:
        """The bytes start..end-1 (end None: to the end of the file) in pieces as they arrive.
        Ends early only at the end of the file (SizeMismatch when end was past it)."""
        if end is not None and end <= start:
            return
        if not self.open_at(start):
            self._open(start, end)
        yield from self._pieces(start, end)

    def open_at(self, offset: int) -> bool:
        """An answer is open whose next byte is the file's byte at offset (a 200 read so far)."""
        return self._response is not None and self._position - len(self._leftover) == offset

    def close(self) -> None:
        """End the open answer (its connection closes) and, when it is the reader's own, the client."""
        self.end_answer()
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> "RangeReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- one request ----------------------------------------------------------------------

    def _open(self, start: int, end: int | None) -> None:
        """Send the request for start..end-1 and check its answer's status and headers."""
        self.end_answer()
        request = Request(start, end)
        self.requests.append(request)
        headers = {} if start == 0 and end is None else {"Range": f"bytes={start}-{'' if end is None else end - 1}"}
        with self._translated(request):
            self._response = self._client.send(self._client.build_request("GET", self.url, headers=headers),
                                               stream=True)
        request.status = self._response.status_code
        try:
            self._check_answer(start, end, bool(headers))
        except errors.NetworkError:
            self.end_answer()
            raise
        self._chunks = self._response.iter_raw()

    def _check_answer(self, start: int, end: int | None, ranged: bool) -> None:
        response = self._response
        self.content_type = response.headers.get("Content-Type", "")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if response.status_code == 416:
            raise self._unsatisfiable(start)
        if response.status_code not in (200, 206):
            raise _status_error(response, self.url)
        if encoding not in ("", "identity"):
            raise errors.UnexpectedEncoding(f"{host(self.url)} sent the file compressed (Content-Encoding: "
                                            f"{encoding}) although its own bytes were asked for")
        if response.status_code == 206:
            self._check_range(start, end)
            self._position = start
        else:
            self.ignores_ranges = self.ignores_ranges or ranged
            self.size = _content_length(response)
            self._position = 0
        self._leftover = b""

    def _check_range(self, start: int, end: int | None) -> None:
        """A 206 answer must carry exactly the bytes asked for (up to the end of the file)."""
        header = self._response.headers.get("Content-Range", "")
        found = _CONTENT_RANGE.match(header.strip())
        if found is None:
            raise errors.BadContentRange(f"{host(self.url)} answered bytes {start:,}- with an unreadable "
                                         f"Content-Range ({header!r})")
        first, last, total = int(found[1]), int(found[2]), found[3]
        total = None if total == "*" else int(total)
        wanted_last = None if end is None else end - 1
        if total is not None and (wanted_last is None or wanted_last >= total):
            wanted_last = total - 1
        if first != start or last < first or (wanted_last is not None and last != wanted_last) \
                or (total is not None and last >= total):
            asked = f"bytes {start}-{'' if end is None else end - 1}"
            raise errors.BadContentRange(f"{host(self.url)} answered the request for {asked} with the wrong bytes "
                                         f"(Content-Range: {header})")
        length = _content_length(self._response)
        if length is not None and length != last - first + 1:
            raise errors.LengthMismatch(f"{host(self.url)} announced {length:,} bytes (Content-Length) for the "
                                        f"{last - first + 1:,} bytes of its Content-Range ({header})")
        self.size = total if total is not None else self.size
        self._range_end = last + 1

    def _unsatisfiable(self, start: int) -> errors.NetworkError:
        found = _UNSATISFIED.match(self._response.headers.get("Content-Range", "").strip())
        if found is not None:
            self.size = int(found[1])
            return errors.SizeMismatch(f"the file at {self.url} has only {self.size:,} bytes (the server's "
                                       f"Content-Range), fewer than the {start + 1:,} needed")
        return errors.SizeMismatch(f"the file at {self.url} ends before byte {start:,} (416 Range Not Satisfiable)")

    # ---- its body -------------------------------------------------------------------------

    def _pieces(self, start: int, end: int | None) -> Iterator[bytes]:
        """The open answer's bytes from start up to end (the bytes before start skipped)."""
        position = start
        while end is None or position < end:
            piece = self._next_bytes()
            if piece is None:
                self._ended(position, end)
                return
            first = self._position - len(piece)
            piece = piece[max(0, start - first):]
            if end is not None and self._position > end:
                self._leftover = piece[len(piece) - (self._position - end):]
                piece = piece[:len(piece) - len(self._leftover)]
                self._position = end + len(self._leftover)
            position += len(piece)
            if piece:
                yield piece
        if self._response.status_code == 206 and self._position >= self._range_end:
            self.end_answer()  # read to its end: the connection goes back to the pool

    def _next_bytes(self) -> bytes | None:
        """The open answer's next bytes (the leftover first); None at its end."""
        if self._leftover:
            piece, self._leftover = self._leftover, b""
            return piece
        request = self.requests[-1]
        with self._translated(request):
            piece = next(self._chunks, None)
        if piece is None:
            return None
        request.body_bytes += len(piece)
        self._position += len(piece)
        if self._response.status_code == 206 and self._position > self._range_end:
            raise errors.LengthMismatch(f"{host(self.url)} sent more than the {self._range_end - request.start:,} "
                                        f"bytes of its Content-Range")
        return piece

    def _ended(self, position: int, end: int | None) -> None:
        """The answer ended at file offset position: the end of the file, or too early."""
        self.end_answer()
        source = self._size_source()
        if self.requests[-1].status == 200 and self.size is None:
            self.size = position  # a whole-file answer without Content-Length: its end is the file's
        if end is not None and position < end:
            raise errors.SizeMismatch(f"the file at {self.url} ends after {position:,} bytes ({source}), "
                                      f"before byte {end:,}")

    def _size_source(self) -> str:
        if self.requests[-1].status == 206:
            return "the server's Content-Range"
        return "the server's Content-Length" if self.size is not None else "the end of the server's answer"

    def end_answer(self) -> None:
        """Close the open answer, if any (a partly read one closes its connection)."""
        if self._response is not None:
            self._response.close()
        self._response, self._chunks, self._leftover = None, None, b""

    def _translated(self, request: Request):
        """A context turning httpx's exceptions into codec.net errors that name the problem."""
        return _Translate(self, request)


class _Translate:
    """`with`: httpx exceptions -> codec.net.errors, with the bytes read so far."""

    def __init__(self, reader: RangeReader, request: Request):
        self.reader, self.request = reader, request

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None or not isinstance(error, httpx.HTTPError):
            return False
        translated = _translate(error, self.reader, self.request)
        self.reader.end_answer()
        raise translated from error


def _translate(error: httpx.HTTPError, reader: RangeReader, request: Request) -> errors.NetworkError:
    """The codec.net error of an httpx one."""
    where, got, timeout = host(reader.url), request.body_bytes, reader.timeout
    after = f" after {got:,} bytes of the answer to {request.range_text}" if request.status else ""
    if isinstance(error, httpx.TooManyRedirects):
        return errors.RedirectLoop(f"{reader.url} redirects more than {MAX_REDIRECTS} times (a redirect loop)")
    if isinstance(error, httpx.ConnectTimeout):
        return errors.TimedOut(f"could not connect to {where} within {timeout:g} s (connect timeout)")
    if isinstance(error, httpx.ReadTimeout):
        return errors.TimedOut(f"{where} sent nothing for {timeout:g} s (read timeout){after}; the connection stalled")
    if isinstance(error, httpx.TimeoutException):
        return errors.TimedOut(f"the connection to {where} timed out ({type(error).__name__}, {timeout:g} s)")
    if isinstance(error, httpx.ConnectError):
        return errors.ConnectFailed(f"cannot connect to {where}: {error}")
    if isinstance(error, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return errors.BadURL(f"cannot fetch {reader.url}: {error}")
    if isinstance(error, httpx.RemoteProtocolError):
        announced = _announced(reader)
        if announced is not None and request.status:
            return errors.LengthMismatch(f"{where} announced {announced:,} bytes (Content-Length) in its answer to "
                                         f"{request.range_text} but closed the connection after {got:,}")
        return errors.ConnectionLost(f"{where} broke off the HTTP exchange{after} ({error})")
    if isinstance(error, (httpx.ReadError, httpx.WriteError, httpx.NetworkError)):
        return errors.ConnectionLost(f"the connection to {where} was lost{after} ({error or type(error).__name__})")
    return errors.NetworkError(f"fetching {reader.url} failed: {error}")


def _announced(reader: RangeReader) -> int | None:
    response = reader._response
    return None if response is None else _content_length(response)


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value is not None and value.strip().isdigit() else None


def _status_error(response: httpx.Response, url: str) -> errors.HTTPStatus:
    """An error status in words."""
    status, reason = response.status_code, response.reason_phrase or "no reason given"
    code = f"{status} {reason}"
    if status in (401, 403):
        text = f"the server refuses access to {url} ({code})"
    elif status in (404, 410):
        text = f"there is no file at {url} ({code})"
    elif status >= 500:
        text = f"the server failed to send {url} ({code}); try again later"
    elif 300 <= status < 400:
        text = f"{url} redirects ({code}) without saying where to"
    else:
        text = f"the server answered {code} for {url}, not the file"
    return errors.HTTPStatus(text, status)
