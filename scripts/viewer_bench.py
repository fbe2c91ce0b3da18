"""Responsiveness of the viewer on a Kodak-size image with DeepHQ and HC: the delay from the last
byte of a file to its final layer on screen, streamed at 256 kbit/s and 1 Mbit/s and opened from
disk, how many syntheses that took, and the longest event-loop stall while encoding and streaming.

    python scripts/viewer_bench.py [--image PATH] [--hc-quality Q] [--bandwidths 256e3 1e6]
    python scripts/viewer_bench.py --files a.deephq.strata b.hc-q4.strata   # skip the encodes

The viewer range-decodes every layer as it completes but synthesizes only the newest, so the
delay should be about one synthesis whatever the number of layers. A 5 ms QTimer records the gaps
between its ticks: a gap far above 5 ms is a stall of the GUI. Runs offscreen unless
QT_QPA_PLATFORM says otherwise.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import qasync  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402

from codec.resources import RESOURCES  # noqa: E402
from viewer.app import make_application  # noqa: E402
from viewer.control.encoding import Target  # noqa: E402
from viewer.presentation.formatting import format_rate  # noqa: E402
from viewer.presentation.streams import label  # noqa: E402
from viewer.widgets.main_window import MainWindow  # noqa: E402

KODIM23 = Path("/work/shared/data/kodak/kodim23.png")
TICK_MS = 5


class StallMonitor:
    """Gaps between the ticks of a 5 ms timer."""

    def __init__(self):
        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer(interval=TICK_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> float:
        """The longest gap, in ms."""
        self.timer.stop()
        return 1000 * max(self.gaps, default=0.0)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now


async def wait_for(condition, timeout_s: float = 900) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the viewer did not finish in time")
        await asyncio.sleep(0.01)


async def encode(window: MainWindow, monitor: StallMonitor, image: Path, target: Target) -> None:
    await window.open_path(image)
    done = asyncio.Event()
    window.encoding.finished.connect(done.set)
    window.encoding.failed.connect(lambda message: print(message) or done.set())
    monitor.start()
    start = time.perf_counter()
    window.encode([target], ask=False)
    await done.wait()
    window.encoding.finished.disconnect(done.set)
    print(f"encoded {target.label}: {time.perf_counter() - start:.1f} s, longest GUI stall {monitor.stop():.0f} ms")


def final_on_screen(stream) -> bool:
    last = stream.usable_layers - 1
    return stream.complete and last in stream.shown_wall


def measure(stream, case: str, stall_ms: float | None = None) -> dict:
    """The delay from the last layer's last byte to its picture on screen, and what it took."""
    last = stream.usable_layers - 1
    return {"codec": label(stream), "case": case, "bytes": len(stream.data),
            "delay_s": stream.shown_wall[last] - stream.arrived_wall[last],
            "syntheses": len(stream.layers), "layers": stream.header.num_layers,  # whole layers
            "synthesis_s": stream.layers[last].synthesis_seconds, "stall_ms": stall_ms}


async def local_open(window: MainWindow, path: Path) -> dict:
    """Open the file twice (the first open loads the model) and measure the second."""
    for _ in range(2):
        await window.open_path(path)
        stream = window.viewer.stream(0)
        await wait_for(lambda: final_on_screen(stream))
    return measure(stream, "opened from disk")


async def streamed(window: MainWindow, monitor: StallMonitor, path: Path, bandwidth: float) -> dict:
    await window.open_path(path)
    stream = window.viewer.stream(0)
    await wait_for(lambda: final_on_screen(stream))  # the model is loaded
    window.set_bandwidth(bandwidth)
    monitor.start()
    window.viewer.restart()  # a new Stream of the same file
    await wait_for(lambda: final_on_screen(window.viewer.stream(0)))
    return measure(window.viewer.stream(0), f"streamed at {format_rate(bandwidth)}", monitor.stop())


def report(rows: list[dict]) -> None:
    print(f"\n{'file':10} {'bytes':>9}  {'case':24} {'last byte -> final layer':>25}  {'synthesis':>9}  "
          f"{'syntheses':>9}  {'GUI stall':>9}")
    for r in rows:
        stall = "" if r["stall_ms"] is None else f"{r['stall_ms']:.0f} ms"
        print(f"{r['codec']:10} {r['bytes']:9,}  {r['case']:24} {r['delay_s']:23.2f} s  {r['synthesis_s']:7.2f} s  "
              f"{r['syntheses']:>4} of {r['layers']}  {stall:>9}")


async def bench(window: MainWindow, args, folder: Path) -> None:
    await wait_for(lambda: window.capabilities is not None)
    print(f"device {window.capabilities.device} ({window.capabilities.device_name})")
    monitor, files = StallMonitor(), list(args.files)
    if not files:
        targets = [Target("deephq", None, folder / "bench.deephq.strata"),
                   Target("hc", args.hc_quality, folder / f"bench.hc-q{args.hc_quality}.strata")]
        print(f"image {args.image}")
        for target in targets:
            await encode(window, monitor, args.image, target)
        files = [t.path for t in targets]
    rows = []
    for path in files:
        rows.append(await local_open(window, path))
        for bandwidth in args.bandwidths:
            rows.append(await streamed(window, monitor, path, bandwidth))
    report(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = KODIM23 if KODIM23.exists() else RESOURCES / "sample.png"
    parser.add_argument("--image", type=Path, default=default)
    parser.add_argument("--hc-quality", type=int, default=4)
    parser.add_argument("--files", type=Path, nargs="*", default=[], help="layered files to measure instead of encoding")
    parser.add_argument("--bandwidths", type=float, nargs="+", default=[256e3, 1e6], help="bits per second")
    args = parser.parse_args()
    app = make_application(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow()
    window.show()
    with tempfile.TemporaryDirectory() as folder, loop:
        try:
            loop.run_until_complete(bench(window, args, Path(folder)))
        finally:
            window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
