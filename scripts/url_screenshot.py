"""A screenshot of the viewer streaming a layered file from a URL: the file is served over real
HTTP on 127.0.0.1 at a throttled rate (the tests' range-capable server, tests/http_server.py), the
window opens its URL with the simulated link at "no limit", and is grabbed once the layer asked
for is on screen, mid-stream.

    xvfb-run -a python scripts/url_screenshot.py FILE OUT.png [--rate BYTES_PER_S] [--layer K]
                                                 [--limit K]

--limit stops the fetch at layer K (the toolbar's "stop at layer K"). Prints what the picture
shows. Needs an X server (xvfb-run) and the xcb libraries Qt asks for.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="a layered file (.strata, .jp2, progressive .jpg)")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--rate", type=float, default=12_000, help="the server's rate in bytes/s (default 12000)")
    parser.add_argument("--layer", type=int, default=5, help="grab once this layer (from 1) is on screen")
    parser.add_argument("--limit", type=int, help="stop the fetch at this layer")
    return parser.parse_args()


async def grab(window, url: str, args: argparse.Namespace) -> None:
    from codec.net.plan import Want
    from viewer.state.link import UNLIMITED

    window.set_bandwidth(UNLIMITED)
    window.fetch_fields.set_limit(Want(layers=args.limit))
    while window.capabilities is None:  # the decoder worker has started (torch imported)
        await asyncio.sleep(0.1)
    await window.open_path(url)
    stream = window.viewer.stream(0)
    while stream.shown is None or stream.shown < args.layer - 1 or stream.shown not in stream.layers:
        await asyncio.sleep(0.05)
    window.panel.refresh()
    await asyncio.sleep(0.5)  # the canvas and the charts paint
    window.grab().save(str(args.out))
    layer = stream.layers[stream.shown]
    print(f"{args.out}: {stream.path.name} from {url}, layer {layer.index + 1} of {stream.header.num_layers} "
          f"({layer.bytes_used:,} bytes, PSNR {layer.psnr:.2f} dB) after {stream.remote.seconds:.2f} s, "
          f"{len(stream.data):,} of {stream.total:,} bytes received")


def main() -> int:
    import qasync

    from http_server import FileServer
    from viewer.app import make_application
    from viewer.widgets.main_window import MainWindow

    args = parse_args()
    app = make_application(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with FileServer() as server, loop:
        url = server.add(args.file.name, args.file.read_bytes(), rate=args.rate)
        window = MainWindow()
        window.resize(1280, 780)
        window.show()
        loop.run_until_complete(grab(window, url, args))
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
