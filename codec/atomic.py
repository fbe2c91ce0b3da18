"""Writing a file atomically: readers see the old file or the complete new one, never a part.

One helper for every writer in Strata (the CLI's outputs, the viewer's saves, weights and
checkpoints): the data goes to a temporary file beside the target, is flushed to disk, and is
renamed over the target. The new file gets the permissions an ordinary open() would give it
(0666 less the umask), or, when it replaces a file, that file's permissions.

Only regular files are written: a target that is a folder, a device (/dev/null), a named pipe
or a socket is refused with NotARegularFile before anything is written, since renaming over it
would replace it with a file. A symbolic link is followed: the file it points to is replaced
and the link stays.

A program stopped by a signal while writing leaves no temporary file when the signal raises an
exception: Python does that for SIGINT (KeyboardInterrupt); `signals_raise()` does it for SIGTERM
and SIGHUP (Terminated), which otherwise end the process at once.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import signal
import stat
import threading
from pathlib import Path
from typing import BinaryIO, Callable

Content = bytes | Callable[[BinaryIO], None]  # the bytes, or a function writing them to a file


class NotARegularFile(OSError):
    """The target exists and is not a regular file: a folder, a device, a named pipe, a socket."""


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
          (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def check_target(path: str | Path) -> Path:
    """The file a write to path replaces (symbolic links followed); NotARegularFile when it
    exists and is not a regular file."""
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise NotARegularFile(f"{path} is {kind}, not a regular file; Strata writes only regular files, "
                              f"so name a file instead")
    return target


def write_atomic(path: str | Path, content: Content) -> None:
    """Write content (bytes, or a function given the open binary file) to path atomically.

    Missing parent folders are created. On any error the target is left as it was and the
    temporary file is removed. Raises NotARegularFile for a target that is not a regular file.
    """
    path = check_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _existing_mode(path)
    fd, tmp = _create_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _existing_mode(path: Path) -> int | None:
    """Permission bits of the file path names, or None when there is none to keep."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None


def _create_beside(path: Path) -> tuple[int, Path]:
    """A new, empty temporary file in path's folder, opened for writing with mode 0666 so the
    kernel applies the umask (tempfile.mkstemp would make it 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def _sync_folder(folder: Path) -> None:
    """Flush the rename to disk where the platform allows opening a folder."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived inside signals_raise(); like KeyboardInterrupt, no Exception."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _raise_terminated(signum: int, _frame) -> None:
    for other in STOP_SIGNALS:  # the first signal stops the program; later ones wait for its cleanup
        signal.signal(other, signal.SIG_IGN)
    raise Terminated(signum)


@contextlib.contextmanager
def signals_raise():
    """Within, SIGTERM and SIGHUP raise Terminated in the main thread, so write_atomic removes its
    temporary file as it does for Ctrl+C; the previous handlers come back afterwards. Elsewhere
    than in the main thread, where Python cannot set handlers, it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise_terminated) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
