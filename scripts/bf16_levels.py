"""How far bf16 synthesis moves DeepHQ's pixels from float32: per layer, in 8-bit levels.

    OMP_NUM_THREADS=1 python scripts/bf16_levels.py [IMAGE] [--threads 1]

Encodes IMAGE (default: the bundled sample, Kodak 23) with DeepHQ, decodes every layer once with
STRATA_PRECISION=float32 and once with STRATA_PRECISION=bf16 (codec/precision.py: forced bf16
autocast, emulated where the CPU has no native bf16), and prints for each layer the largest
difference in levels, the share of values that differ by 1 and by 2, the count that differ by more, and the PSNR of
each against the image. docs/FORMAT.md quotes the result.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from codec import api, images  # noqa: E402
from codec.evaluation.metrics import psnr  # noqa: E402
from codec.resources import RESOURCES  # noqa: E402


def pictures(data: bytes, choice: str) -> list[np.ndarray]:
    """Every layer's picture of data, synthesized with STRATA_PRECISION=choice."""
    os.environ["STRATA_PRECISION"] = choice
    return [layer.rgb for layer in api.decode(data, device="cpu").layers]


def row(layer: int, original: np.ndarray, fp32: np.ndarray, bf16: np.ndarray) -> str:
    """One layer's line: max difference, shares off by 1 and 2, the count off by more, both PSNRs."""
    diff = np.abs(fp32.astype(np.int16) - bf16.astype(np.int16))
    shares = [100 * np.mean(diff == 1), 100 * np.mean(diff == 2)]
    return (f"{layer:5d} {diff.max():4d} {shares[0]:7.2f}% {shares[1]:7.2f}% {np.sum(diff > 2):8d} "
            f"{psnr(original, fp32):8.3f} {psnr(original, bf16):8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default=str(RESOURCES / "sample.png"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    original, _ = images.open_image(args.image)
    os.environ["STRATA_PRECISION"] = "float32"
    data = api.encode(original, device="cpu", psnr=False)
    fp32, bf16 = pictures(data, "float32"), pictures(data, "bf16")
    print(f"{args.image}: {original.shape[1]}x{original.shape[0]} ({original.size} values a layer), "
          f"torch {torch.__version__}, {args.threads} thread(s)")
    print("layer  max    off 1    off 2   off >2 PSNR f32 PSNR bf16")
    for i, (a, b) in enumerate(zip(fp32, bf16)):
        print(row(i + 1, original, a, b))


if __name__ == "__main__":
    main()
