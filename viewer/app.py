"""`strata-view [FILE] [--compare FILE]`: the Qt application on a qasync event loop.

Run as `python -m viewer.app`. Qt is imported inside the functions, not at the top: the codec
workers are started with multiprocessing 'spawn', which re-imports the main module (this one) in
each worker, and a worker must not load Qt. They end with the window.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from viewer.refcounts import pin_singletons

ORGANIZATION = "Strata"
APPLICATION = "Strata Viewer"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="strata-view", description="View, encode and stream layered images.")
    parser.add_argument("file", nargs="?", help="an image or a .strata file to open")
    parser.add_argument("--compare", metavar="FILE", help="a second .strata file, shown side by side")
    return parser.parse_args(argv)


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


def main(argv: list[str] | None = None) -> int:
    """Entry point of `strata-view`."""
    import qasync

    from viewer.main_window import MainWindow

    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl+C in the terminal quits
    app = make_application(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow()
    with loop:
        loop.run_until_complete(run_window(app, window, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
