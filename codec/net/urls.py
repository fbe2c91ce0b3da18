"""What counts as a URL of a layered file, and the file name it gives (no network code here)."""
from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

SCHEMES = ("http", "https")


def is_url(text) -> bool:
    """An http:// or https:// URL with a host (a local path never is one)."""
    if not isinstance(text, str):
        return False
    parts = urlsplit(text.strip())
    return parts.scheme.lower() in SCHEMES and bool(parts.netloc)


def file_name(url: str) -> str:
    """The last part of the URL's path ("photo.strata"), else its host ("example.com")."""
    parts = urlsplit(url.strip())
    name = PurePosixPath(unquote(parts.path)).name
    return name or parts.hostname or "download"


def host(url: str) -> str:
    """The host (and port, when given) a URL names, for messages."""
    return urlsplit(url.strip()).netloc


class RemoteName:
    """A URL where the command line takes a path: `name`, `stem` and `suffix` are its file
    name's, `parent` is the current folder (a default output goes there, as with curl -O),
    `resolve()` is itself and `str()` the URL."""

    def __init__(self, url: str):
        self.url = url.strip()
        self.name = file_name(self.url)
        self.stem, self.suffix = PurePosixPath(self.name).stem, PurePosixPath(self.name).suffix
        self.parent = Path(".")

    def resolve(self) -> "RemoteName":
        return self

    def __str__(self) -> str:
        return self.url

    def __eq__(self, other) -> bool:
        return isinstance(other, RemoteName) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)
