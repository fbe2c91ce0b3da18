"""Memory under load: encode and decode a batch of images in one process, RSS after each.

    python scripts/bench_batch.py [--count 100] [--size 256] [--threads 2]

The images are distinct crops of the bundled sample (flipped and shifted), so nothing is cached
by content. Prints the resident memory (from /proc/self/statm) after every 10 images and the
spread between the first and last tenth: a flat line means nothing accumulates per image.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from codec import api  # noqa: E402
from codec.resources import RESOURCES  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sample = np.asarray(Image.open(RESOURCES / "sample.png").convert("RGB"))
    rng = np.random.default_rng(0)
    readings, start = [], time.perf_counter()
    for i in range(args.count):
        top = rng.integers(0, sample.shape[0] - args.size)
        left = rng.integers(0, sample.shape[1] - args.size)
        crop = sample[top : top + args.size, left : left + args.size][:, :: 1 - 2 * (i % 2)]
        result = api.decode(api.encode(np.ascontiguousarray(crop), device="cpu"), device="cpu")
        assert result.complete
        if (i + 1) % 10 == 0:
            readings.append(rss_mib())
            print(f"{i + 1:4d} images  RSS {readings[-1]:7.1f} MiB  {time.perf_counter() - start:6.1f} s", flush=True)
    print(f"RSS after the first 10: {readings[0]:.1f} MiB, after all {args.count}: {readings[-1]:.1f} MiB "
          f"(max {max(readings):.1f}), {(time.perf_counter() - start) / args.count:.2f} s per image (encode + decode)")


if __name__ == "__main__":
    main()
