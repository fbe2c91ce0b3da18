"""`strata-view [FILE|URL] [--compare FILE|URL]`: the Qt application on a qasync event loop.

Run as `python -m viewer.app`. Qt is imported inside the functions, not at the top: the codec
workers are started with multiprocessing 'spawn', which re-imports the main module (this one) in
each worker, and a worker must not load Qt. They end with the window.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from codec.version import VERSION
from viewer.refcounts import pin_singletons

ORGANIZATION = "Strata"
APPLICATION = "Strata Viewer"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="strata-view", description="View, encode and stream layered images.")
    parser.add_argument("--version", action="version", version=f"strata-view {VERSION}")
    parser.add_argument("file", nargs="?", help="an image or a .strata file to open, or the http(s) URL of a "
                                                "layered file (it streams from the network)")
    parser.add_argument("--compare", metavar="FILE", help="a second layered file (.strata, .jp2, progressive .jpg) "
                                                          "or its URL, shown side by side")
    parser.add_argument("--smoke-test", action="store_true",
                        help="open FILE, wait until the codec worker answers and, for a layered file, "
                             "its first layer is painted, then quit (exit 0; 1 on failure or after 300 s)")
    args = parser.parse_args(argv)
    if args.smoke_test and not args.file:
        parser.error("--smoke-test needs a FILE to open")
    return args


def make_application(argv: list[str]):
    """The QApplication, named (for QSettings), after the PySide6 reference-count guard."""
    from PySide6.QtWidgets import QApplication

    pin_singletons()
    app = QApplication.instance() or QApplication(argv)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    return app


async def run_window(app, window, args: argparse.Namespace) -> None:
    """Show the window, open the files given, and return once it is closed."""
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    window.show()
    if args.file:
        await window.open_path(args.file)
    if args.compare:
        await window.open_path(args.compare, pane=1)
    await closed.wait()


async def smoke_test(window, path: str, timeout: float = 300.0) -> int:
    """--smoke-test: 0 once path is open, the codec worker has answered (torch and the weights
    load) and, for a layered file, its first layer is painted; 1 otherwise."""
    from pathlib import Path

    from codec.net.urls import is_url
    from viewer.state import files

    opened, painted, notices = asyncio.Event(), asyncio.Event(), []
    window.viewer.opened.connect(lambda _path: opened.set())
    window.viewer.notice.connect(lambda text, _topic: notices.append(text))
    window.panes[0].canvas.shown.connect(lambda _token: painted.set())
    window.show()

    async def steps() -> None:
        await window.open_path(path)
        if not opened.is_set():
            raise RuntimeError(f"{path} was not opened")
        while window.capabilities is None:  # the decoder worker's first answer
            await asyncio.sleep(0.1)
        if is_url(path) or files.is_layered(Path(path)):
            await painted.wait()

    try:
        await asyncio.wait_for(steps(), timeout)
        error = None
    except (asyncio.TimeoutError, RuntimeError) as exc:
        error = str(exc) or f"no result after {timeout:g} s"
    for line in notices + ([error] if error else []):
        print(f"strata-view: {line}", file=sys.stderr)
    print(f"smoke test {'FAILED' if error else 'passed'}: {path}", file=sys.stderr)
    window.close()
    return 1 if error else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `strata-view`."""
    import qasync

    from viewer.widgets.main_window import MainWindow

    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl+C in the terminal quits
    app = make_application(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow()
    with loop:
        if args.smoke_test:
            return loop.run_until_complete(smoke_test(window, args.file))
        loop.run_until_complete(run_window(app, window, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
