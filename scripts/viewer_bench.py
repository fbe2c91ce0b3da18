"""Responsiveness of the viewer: the longest event-loop stall while encoding and while streaming
a Kodak-size image with each installed codec, and the delay from a layer's last byte to its
pixels on screen.

    python scripts/viewer_bench.py [--image PATH] [--bandwidth BITS_PER_S]

A 5 ms QTimer records the gaps between its ticks: a gap far above 5 ms is a stall of the GUI.
Runs offscreen unless QT_QPA_PLATFORM says otherwise.
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

from viewer.app import make_application  # noqa: E402
from viewer.encoding import Target  # noqa: E402
from viewer.main_window import MainWindow  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
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

    def stop(self) -> dict:
        self.timer.stop()
        gaps = sorted(self.gaps) or [0.0]
        return {"max_ms": 1000 * gaps[-1], "p99_ms": 1000 * gaps[int(0.99 * (len(gaps) - 1))],
                "ticks": len(self.gaps)}

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now


async def wait_for(condition, timeout_s: float = 600) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the viewer did not finish in time")
        await asyncio.sleep(0.01)


async def encode(window: MainWindow, monitor: StallMonitor, target: Target) -> dict:
    done = asyncio.Event()
    window.encoding.finished.connect(done.set)
    window.encoding.failed.connect(lambda message: print(message) or done.set())
    monitor.start()
    start = time.perf_counter()
    window.encode([target], ask=False)
    await done.wait()
    window.encoding.finished.disconnect(done.set)
    stall = monitor.stop()
    return {"encode_s": time.perf_counter() - start, **stall}


async def stream(window: MainWindow, monitor: StallMonitor, path: Path, bandwidth: float) -> dict:
    await window.open_path(path)
    viewer = window.viewer
    s = viewer.stream(0)
    await wait_for(lambda: len(s.layers) == s.intact_layers)  # the load decodes it once (warm-up)
    window.set_bandwidth(bandwidth)
    monitor.start()
    viewer.restart()
    await wait_for(lambda: s.complete and len(s.layers) == s.intact_layers and s.latest in s.shown_wall)
    stall = monitor.stop()
    delays = {i: 1000 * (s.shown_wall[i] - s.arrived_wall[i]) for i in sorted(s.shown_wall)}
    gui = {i: 1000 * (s.shown_wall[i] - s.decoded_wall[i]) for i in sorted(s.shown_wall)}
    decode = {i: 1000 * layer.decode_seconds for i, layer in s.layers.items()}
    return {"bytes": len(s.data), "arrived_s": dict(s.arrived), "delay_ms": delays, "gui_ms": gui,
            "decode_ms": decode, **stall}


def report(label: str, enc: dict, run: dict, bandwidth: float) -> None:
    print(f"\n== {label}: {run['bytes']:,} bytes, streamed at {bandwidth / 1e3:g} kbit/s")
    print(f"encode: {enc['encode_s']:.1f} s, longest GUI stall {enc['max_ms']:.1f} ms (p99 {enc['p99_ms']:.1f} ms)")
    print(f"stream: longest GUI stall {run['max_ms']:.1f} ms (p99 {run['p99_ms']:.1f} ms, {run['ticks']} ticks)")
    print("layer  arrived(s)  decode(ms)  last byte -> on screen (ms)  decoded -> on screen (ms)")
    for i, arrived in sorted(run["arrived_s"].items()):
        if i not in run["delay_ms"]:
            print(f"{i + 1:5d}  {arrived:10.2f}  (not painted: a newer layer was ready first)")
            continue
        print(f"{i + 1:5d}  {arrived:10.2f}  {run['decode_ms'][i]:10.0f}  {run['delay_ms'][i]:27.0f}  "
              f"{run['gui_ms'][i]:24.1f}")
    print("(a layer waits for the decodes of the layers before it: decoding is sequential)")


async def bench(window: MainWindow, image: Path, bandwidth: float, folder: Path) -> None:
    await window.open_path(image)
    await wait_for(lambda: window.capabilities is not None)
    print(f"image {image} {window.viewer.session.original.size}, device {window.capabilities.device}")
    monitor = StallMonitor()
    targets = [Target("deephq", None, folder / "bench.deephq.strata")]
    targets += [Target("hc", q, folder / f"bench.hc-q{q}.strata") for q in window.capabilities.models.get("hc", ())]
    for target in targets:
        await window.open_path(image)
        enc = await encode(window, monitor, target)
        run = await stream(window, monitor, target.path, bandwidth)
        report(target.label, enc, run, bandwidth)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = KODIM23 if KODIM23.exists() else ROOT / "resources" / "sample.png"
    parser.add_argument("--image", type=Path, default=default)
    parser.add_argument("--bandwidth", type=float, default=256e3, help="bits per second (default 256 kbit/s)")
    args = parser.parse_args()
    app = make_application(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow()
    window.show()
    with tempfile.TemporaryDirectory() as folder, loop:
        try:
            loop.run_until_complete(bench(window, args.image, args.bandwidth, Path(folder)))
        finally:
            window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
