"""Peak memory and time to encode and decode a large photo (default 12 megapixels).

    python scripts/bench_large.py [--image PATH] [--megapixels 12] [--codec deephq] [--threads 2]

The photo is the given image (default: the bundled sample) resized with Lanczos to about the
requested size at its aspect ratio. Prints encode/decode seconds, bpp and PSNR of the last
layer, and the process's peak resident memory (ru_maxrss) after each stage.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from codec import api, registry  # noqa: E402
from codec.evaluation import metrics  # noqa: E402
from codec.resources import RESOURCES  # noqa: E402


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=str(RESOURCES / "sample.png"))
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--codec", default=registry.DEFAULT_CODEC, choices=registry.NAMES)
    parser.add_argument("--quality", type=int)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    image = Image.open(args.image).convert("RGB")
    scale = (args.megapixels * 1e6 / (image.width * image.height)) ** 0.5
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    rgb = np.asarray(image)
    print(f"{image.width}x{image.height} ({image.width * image.height / 1e6:.1f} MP), peak {peak_gib():.2f} GiB after loading")
    start = time.perf_counter()
    data = api.encode(rgb, codec=args.codec, quality=args.quality, device="cpu")
    print(f"encode {time.perf_counter() - start:.1f} s, {8 * len(data) / rgb.shape[0] / rgb.shape[1]:.3f} bpp, peak {peak_gib():.2f} GiB")
    start = time.perf_counter()
    result = api.decode(data, device="cpu")
    print(f"decode {time.perf_counter() - start:.1f} s ({len(result.layers)} layers), "
          f"PSNR {metrics.psnr(rgb, result.last.rgb):.2f} dB, peak {peak_gib():.2f} GiB")


if __name__ == "__main__":
    main()
