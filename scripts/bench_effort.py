"""What each encoder effort level gains and costs: BD-rate against effort 1 and CPU seconds per megapixel.

    python scripts/bench_effort.py [IMAGES ...] [--codec deephq] [--quality Q] [--efforts 1,2,5,7]
                                   [--threads 1] [--json out.json]

IMAGES: files or folders (default: the bundled sample). For every image and effort level the
real codec encodes the picture and every layer is decoded; a level's curve is the mean of the
images' per-layer (bpp, PSNR), every byte of the file counted, and its BD-rate is measured
against effort 1's curve over their overlap (codec/evaluation/bdrate.py). Encode CPU time is
the process's CPU seconds (time.process_time), so a loaded machine slows it less than wall time.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from codec import api, container  # noqa: E402
from codec.evaluation import metrics  # noqa: E402
from codec.evaluation.bdrate import bd_rate  # noqa: E402
from codec.resources import RESOURCES  # noqa: E402
from codec.training.data import list_images, load_rgb  # noqa: E402


def image_paths(arguments: list[str]) -> list[Path]:
    paths = []
    for argument in arguments or [str(RESOURCES / "sample.png")]:
        path = Path(argument)
        paths += list_images(path) if path.is_dir() else [path]
    return paths


def measure(rgb: np.ndarray, codec: str, quality: int | None, effort: int) -> dict:
    """One encode at `effort`: per-layer bpp and PSNR of the decoded layers, CPU seconds."""
    start = time.process_time()
    data = api.encode(rgb, codec=codec, quality=quality, device="cpu", effort=effort, psnr=False)
    seconds = time.process_time() - start
    header = container.read_header(data)
    pixels = rgb.shape[0] * rgb.shape[1]
    decoder = api.ProgressiveDecoder(device="cpu")
    layers = [layer for layer in decoder.feed(data) if layer.complete]
    return {"bpp": [8 * header.layer_offset(l.index + 1) / pixels for l in layers],
            "psnr": [metrics.psnr(rgb, l.rgb) for l in layers], "cpu_s": seconds, "megapixels": pixels / 1e6}


def mean_curve(rows: list[dict]) -> list[tuple[float, float]]:
    return [(float(np.mean([r["bpp"][i] for r in rows])), float(np.mean([r["psnr"][i] for r in rows])))
            for i in range(len(rows[0]["bpp"]))]


def bd_against(base: list[tuple[float, float]], curve: list[tuple[float, float]]) -> float | None:
    """BD-rate of curve against base, None where their PSNR ranges do not overlap (an HC
    member's three layers span a few tenths of a dB: compare the top layers instead)."""
    try:
        return bd_rate(base, curve).percent
    except ValueError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="*")
    parser.add_argument("--codec", default="deephq")
    parser.add_argument("--quality", type=int)
    parser.add_argument("--efforts", default="1,2,5,7")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    efforts = [int(e) for e in args.efforts.split(",")]
    if efforts[0] != 1:
        efforts.insert(0, 1)
    paths = image_paths(args.images)
    print(f"{platform.processor() or platform.machine()}, {args.threads} thread(s), {len(paths)} image(s), "
          f"{args.codec}{'' if args.quality is None else f' q{args.quality}'}", flush=True)
    api.encode(np.zeros((16, 16, 3), np.uint8), codec=args.codec, quality=args.quality, device="cpu")  # loads the model
    rows = {e: [] for e in efforts}
    for path in paths:
        rgb = load_rgb(path)
        for effort in efforts:
            rows[effort].append(measure(rgb, args.codec, args.quality, effort))
            r = rows[effort][-1]
            print(f"{path.name} effort {effort}: {r['cpu_s']:.1f} CPU s, "
                  + " ".join(f"{b:.3f}/{p:.2f}" for b, p in zip(r["bpp"], r["psnr"])), flush=True)
    base = mean_curve(rows[1])
    result = {"images": [str(p) for p in paths], "codec": args.codec, "quality": args.quality, "levels": {}}
    print("| effort | BD-rate vs effort 1 | encode CPU s/MP | top layer bpp / PSNR |")
    print("|---|---|---|---|")
    for effort in efforts:
        curve = mean_curve(rows[effort])
        gain = bd_against(base, curve) if effort != 1 else 0.0
        per_mp = sum(r["cpu_s"] for r in rows[effort]) / sum(r["megapixels"] for r in rows[effort])
        result["levels"][effort] = {"bd_rate_vs_effort1": gain, "cpu_s_per_mp": per_mp, "curve": curve}
        shown = "curves do not overlap" if gain is None else f"{gain:+.2f}%"
        print(f"| {effort} | {shown} | {per_mp:.1f} | {curve[-1][0]:.3f} / {curve[-1][1]:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
