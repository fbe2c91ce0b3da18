"""Screenshots of the viewer under a real X server (Xvfb): encode a picture with DeepHQ and HC
side by side, stream both, and grab the window at the moments the README shows, into
docs/screenshots/:

    side-by-side-streaming.png   both files arriving, DeepHQ past its 5th layer
    side-by-side-streamed.png    every byte arrived, the charts and the arrival table complete
    split-view.png               split view, zoomed in: DeepHQ at layer 4 left, HC right, a layer control each
    error-map.png                the error map against the original: DeepHQ layer 5 left, HC right
    deephq-vs-jpeg2000-streaming.png   DeepHQ and JPEG 2000 of its size ("same size as pane A's
                                 file") arriving at the same bandwidth, DeepHQ past its 5th layer

    python scripts/viewer_screenshots.py [--image PATH] [--out DIR] [--bandwidth BITS_PER_S]
                                         [--scenes learned,classic]

Needs Xvfb and the xcb libraries Qt asks for (Debian: xvfb libxcb-cursor0 libxkbcommon-x11-0
libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-render-util0 libxcb-image0). Streams DeepHQ and
HC side by side when HC weights are installed, else DeepHQ alone. Prints what each picture shows
(sizes, layers, PSNR), for the README's captions.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from codec.registry import CODECS  # noqa: E402
from codec.resources import RESOURCES  # noqa: E402

KODIM23 = Path("/work/shared/data/kodak/kodim23.png")
WINDOW_SIZE = (1400, 860)  # the window's default size
LEARNED = ("deephq", "hc")  # the codecs streamed side by side


@contextmanager
def xvfb(size=(1600, 1000)):
    """A private X server; DISPLAY points to it inside the block."""
    display = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    server = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not Path(f"/tmp/.X11-unix/X{display}").exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Xvfb did not start")
            time.sleep(0.05)
        os.environ["DISPLAY"] = f":{display}"
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        yield
    finally:
        server.terminate()
        server.wait()


async def wait_for(condition, timeout_s: float = 600) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the viewer did not get there in time")
        await asyncio.sleep(0.02)


def final_on_screen(stream) -> bool:
    """The last layer that can be shown is on screen."""
    return stream.shown == stream.usable_layers - 1


async def shoot(window, path: Path) -> None:
    """Let pending paints happen, then save the window; say what it shows."""
    await asyncio.sleep(0.3)
    window.panel.refresh()
    await asyncio.sleep(0.2)
    window.grab().save(str(path))
    print(f"saved {path} ({path.stat().st_size // 1024} KiB): {describe(window)}", flush=True)


def describe(window) -> str:
    """What the panes show, in words: codec, layer, bytes received, PSNR."""
    parts = []
    for pane, stream in window.viewer.streams():
        layer = stream.on_screen
        shown = "nothing on screen" if layer is None else f"layer {layer.index + 1} of {stream.header.num_layers}"
        if layer is not None and layer.psnr is not None:
            shown += f", {layer.psnr:.2f} dB"
        parts.append(f"{'AB'[pane]}: {stream.path.name} {stream.received / 1000:.1f} of "
                     f"{len(stream.data) / 1000:.1f} kB, {shown}")
    return "; ".join(parts)


async def session(window, image: Path, out: Path, folder: Path, bandwidth: float) -> None:
    from viewer.control.encoding import Target

    await window.open_path(image)
    await wait_for(lambda: window.capabilities is not None)
    installed = window.capabilities.models  # every codec with weights, its highest model
    targets = [Target(s.name, ids[-1] if s.is_family else None, folder / f"{image.stem}.{s.tag(ids[-1])}.strata")
               for s in CODECS if s.name in LEARNED and (ids := installed.get(s.name))]
    done = asyncio.Event()
    window.encoding.finished.connect(done.set)
    window.encode(targets, ask=False)
    await done.wait()
    streams = [s for _, s in window.viewer.streams()]
    await wait_for(lambda: all(final_on_screen(s) for s in streams))  # the decoder has loaded every model
    window.set_bandwidth(bandwidth)
    window.viewer.restart()
    first = streams[0]
    await wait_for(lambda: first.shown is not None and first.shown >= 4 and first.on_screen.complete)
    await shoot(window, out / "side-by-side-streaming.png")
    await wait_for(lambda: all(s.complete and final_on_screen(s) and s.shown in s.layers for s in streams))
    await asyncio.sleep(0.5)  # the arrival table's last "shown after"
    await shoot(window, out / "side-by-side-streamed.png")
    window.split_action.trigger()
    window.viewer.select_layer(0, 3)
    await wait_for(lambda: first.shown == 3)
    canvas = window.panes[0].canvas
    canvas.zoom_by(2 / canvas.zoom())
    await shoot(window, out / "split-view.png")
    window.split_action.trigger()  # back to side by side
    window.side_action.trigger()
    canvas.fit()
    window.viewer.select_layer(0, 4)  # DeepHQ's 5th layer: its error is plain beside HC's last
    await wait_for(lambda: first.shown == 4)
    window.error_action.trigger()
    await shoot(window, out / "error-map.png")
    window.error_action.trigger()


async def classic_session(window, image: Path, out: Path, folder: Path, bandwidth: float) -> None:
    """DeepHQ in pane A, then JPEG 2000 encoded to at most its size and shown beside it in pane B
    (what the Encode dialog's "same size as pane A's file" makes), streamed at one bandwidth."""
    from viewer.control.encoding import Target
    from viewer.state.files import encoded_name

    await window.open_path(image)
    await wait_for(lambda: window.capabilities is not None)
    for codec in ("deephq", "jpeg2000"):
        size = None if codec == "deephq" else len(window.viewer.stream(0).data)
        target = Target(codec, None, folder / encoded_name(image, codec, None, size).name, size,
                        None if size is None else 1)
        done = asyncio.Event()
        window.encoding.finished.connect(done.set)
        window.encode([target], ask=False)
        await done.wait()
        window.encoding.finished.disconnect(done.set)
    streams = [s for _, s in window.viewer.streams()]
    await wait_for(lambda: all(final_on_screen(s) for s in streams))
    window.set_bandwidth(bandwidth)
    window.viewer.restart()
    deephq = streams[0]
    await wait_for(lambda: deephq.shown is not None and deephq.shown >= 4 and deephq.on_screen.complete)
    await shoot(window, out / "deephq-vs-jpeg2000-streaming.png")


SCENES = {"learned": session, "classic": classic_session}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=KODIM23 if KODIM23.exists() else RESOURCES / "sample.png")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--bandwidth", type=float, default=16e3,
                        help="bits per second (default 16 kbit/s: bytes arrive about as fast as a CPU decodes)")
    parser.add_argument("--scenes", default=",".join(SCENES), help=f"which to shoot, of {', '.join(SCENES)}")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with xvfb():
        import qasync

        from viewer.app import make_application
        from viewer.widgets.main_window import MainWindow

        app = make_application(sys.argv[:1])
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        window = MainWindow()
        window.resize(*WINDOW_SIZE)
        window.show()
        with tempfile.TemporaryDirectory() as folder, loop:
            try:
                for scene in args.scenes.split(","):
                    loop.run_until_complete(SCENES[scene](window, args.image, args.out, Path(folder), args.bandwidth))
            finally:
                window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
