"""A real HTTP/1.1 server on 127.0.0.1 for the network tests: files with real Range support
(206, Content-Range, 416), keep-alive, and per file the ways a server goes wrong: an error
status, a redirect loop, no range support, a throttled rate, a reset or a stall after some
bytes, a wrong Content-Range, a Content-Length that lies, bytes after the file, compression.

Every answer is logged with the body bytes the server actually wrote to its socket (`sent`
waits until the answers are over: a client may have read the last byte before the server's
thread counted it).

    with FileServer() as server:
        url = server.add("tile.strata", data, ranges=False)
        ...
        assert server.sent("tile.strata") <= 1234
"""
from __future__ import annotations

import os
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# codec.net's client takes proxies from the environment: requests to this server never go through one
os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
os.environ["no_proxy"] = os.environ["NO_PROXY"]

BLOCK = 4096  # bytes written at a time (a throttled server: 20 ms of its rate, then it sleeps)
_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass
class Behaviour:
    """How the server answers for one file."""

    ranges: bool = True  # False: Range is ignored, every answer is 200 with the whole file
    status: int | None = None  # answer this status (403, 404, 500 ...) instead of the file
    redirect_loop: bool = False  # 302 to itself, forever
    rate: float | None = None  # bytes per second
    reset_after: int | None = None  # reset the connection (RST) after this many body bytes
    stall_after: int | None = None  # stop sending after this many body bytes, keep the connection open
    stall_seconds: float = 3.0
    range_shift: int = 0  # Content-Range says bytes this much later than those sent
    length_lie: int = 0  # Content-Length announces this many more bytes than are sent
    extra: bytes = b""  # served after the file's own bytes
    content_type: str = "application/octet-stream"
    encoding: str | None = None  # a Content-Encoding header (the body stays as it is)


@dataclass
class Served:
    """One answer: the file, the Range asked for, the status, the body bytes written."""

    name: str
    range: str | None
    status: int
    sent: int = 0
    done: threading.Event = field(default_factory=threading.Event)  # the answer is over


@dataclass
class _File:
    data: bytes
    behaviour: Behaviour


class FileServer(ThreadingHTTPServer):
    """Serves the files added with add() until the `with` block ends."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, _File] = {}
        self.log: list[Served] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def add(self, name: str, data: bytes, **behaviour) -> str:
        """Serve data as /name with the Behaviour's fields given; returns its URL."""
        self.files[name] = _File(bytes(data), Behaviour(**behaviour))
        return self.url(name)

    def url(self, name: str) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/{name}"

    def sent(self, name: str | None = None, timeout: float = 10.0) -> int:
        """Body bytes written for a file (None: for every file), once its answers are over."""
        with self.lock:
            served = [s for s in self.log if name is None or s.name == name]
        for answer in served:
            answer.done.wait(timeout)
        return sum(s.sent for s in served)

    def answers(self, name: str) -> list[Served]:
        with self.lock:
            return [s for s in self.log if s.name == name]

    def __enter__(self) -> "FileServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up mid-answer is what several tests do: no traceback."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FileServer

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        entry = self.server.files.get(name)
        served = Served(name, self.headers.get("Range"), 0)
        with self.server.lock:
            self.server.log.append(served)
        try:
            self._answer(served, entry)
        finally:
            served.done.set()

    def _answer(self, served: Served, entry: "_File | None") -> None:
        if entry is None:
            return self._plain(served, 404, b"no such file")
        b = entry.behaviour
        if b.redirect_loop:
            return self._plain(served, 302, b"", {"Location": self.path})
        if b.status is not None:
            return self._plain(served, b.status, b"<html>refused</html>", {"Content-Type": "text/html"})
        self._send_file(served, entry.data + b.extra, b)

    def _plain(self, served: Served, status: int, body: bytes, headers: dict | None = None) -> None:
        served.status = status
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        served.sent += len(body)

    def _send_file(self, served: Served, body: bytes, b: Behaviour) -> None:
        found = _RANGE.match(self.headers.get("Range", "")) if b.ranges else None
        status, part, headers = 200, body, {}
        if found is not None:
            first = int(found[1])
            last = min(int(found[2]) if found[2] else len(body) - 1, len(body) - 1)
            if first >= len(body):
                return self._plain(served, 416, b"", {"Content-Range": f"bytes */{len(body)}"})
            status, part = 206, body[first:last + 1]
            headers["Content-Range"] = f"bytes {first + b.range_shift}-{last + b.range_shift}/{len(body)}"
        served.status = status
        self.send_response(status)
        headers.update({"Content-Type": b.content_type, "Content-Length": str(len(part) + b.length_lie),
                        "Accept-Ranges": "bytes" if b.ranges else "none"})
        if b.encoding:
            headers["Content-Encoding"] = b.encoding
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self._write_body(served, part, b)

    def _write_body(self, served: Served, part: bytes, b: Behaviour) -> None:
        """The body in blocks, at the rate, broken off where the behaviour says."""
        stop = min(x for x in (b.reset_after, b.stall_after, len(part)) if x is not None)
        size = BLOCK if not b.rate else max(256, min(BLOCK, int(b.rate / 50)))  # a throttled block: 20 ms
        start = time.perf_counter()
        try:
            for at in range(0, stop, size):
                block = part[at:min(at + size, stop)]
                self.wfile.write(block)
                self.wfile.flush()
                served.sent += len(block)
                if b.rate:
                    time.sleep(max(0.0, start + served.sent / b.rate - time.perf_counter()))
        except OSError:  # the client hung up
            self.close_connection = True
            return
        self._break_off(b, stop < len(part))

    def _break_off(self, b: Behaviour, early: bool) -> None:
        if b.stall_after is not None and early:
            time.sleep(b.stall_seconds)
            self.close_connection = True
        elif b.reset_after is not None and early:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # RST: "connection reset by peer"
            self.close_connection = True
        elif b.length_lie:
            self.close_connection = True  # the client waits for bytes that never come

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):  # a connection reset on purpose
            pass
