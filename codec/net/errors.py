"""The errors of fetching a layered file from a URL. Each is a ValueError whose message is a
sentence for people naming what went wrong (the status, the header field, the timeout); the
layers received before it are kept by whoever reads (codec.net.remote), and its message then
also says which layers arrived and which are missing."""
from __future__ import annotations


class NetworkError(ValueError):
    """A transfer that failed or a server that answered what it must not."""


class BadURL(NetworkError):
    """Not an http(s) URL this client can fetch."""


class ConnectFailed(NetworkError):
    """No connection: the host is unknown or refuses, or TLS fails."""


class HTTPStatus(NetworkError):
    """The server answered an error status (403, 404, 5xx ...): `status`."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class RedirectLoop(NetworkError):
    """Redirects that never end (or more of them than the client follows)."""


class TimedOut(NetworkError):
    """The connection stalled: no byte within the timeout (the message names which one)."""


class ConnectionLost(NetworkError):
    """The connection broke (reset, or closed) before the bytes asked for arrived."""


class LengthMismatch(NetworkError):
    """Content-Length disagrees with the range sent, or announces bytes that never came."""


class BadContentRange(NetworkError):
    """A 206 answer for other bytes than those asked for, or with an unreadable Content-Range."""


class UnexpectedEncoding(NetworkError):
    """A compressed answer (Content-Encoding) although the file's own bytes were asked for."""


class SizeMismatch(NetworkError):
    """The server's size of the file is not the size the file's own header announces."""


class BodyTooLong(NetworkError):
    """More bytes than the file's own header announces: the extra ones are dropped."""


class TooLarge(NetworkError):
    """More bytes than a fetch may hold in memory."""


class NotLayeredURL(NetworkError):
    """What the URL gives is not a layered file (a web page, a baseline JPEG, ...)."""
