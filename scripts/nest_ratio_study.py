"""Cost of progressiveness of the shipped DeepHQ weights at other ratios between layer steps.

    python scripts/nest_ratio_study.py FOLDER [--weights FILE] [--ratio 1.65 --ratio 2] [--limit 6] [--threads 1]

For each ratio r the codec's steps are rebuilt from the file's step logits by
`codec.models.deephq.layer_steps` at ratio r (the finest step and the learned ratio excesses
kept) and each decoder gain moves with its step (Gamma_l / Delta_l kept), as
scripts/migrate_nest_ratio.py does. Prints, per ratio, the nested (progressive) curve and the
single-rate curve at the same steps (bpp / PSNR dB per layer, real range-coded files, mean over
images) and their BD-rate, the cost of progressiveness; then each nested curve against the first.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from codec.evaluation.bdrate import bd_rate  # noqa: E402
from codec.evaluation.evaluate import measure_layers, measure_single_rate  # noqa: E402
from codec.images import open_image  # noqa: E402
from codec.models.deephq import layer_steps  # noqa: E402
from codec.registry import load_codec  # noqa: E402


def set_ratio(codec, ratio: float, steps: np.ndarray, gains: np.ndarray) -> None:
    """The codec's steps (L, M) at `ratio` from its model's step logits; gains keep their ratio
    to the steps (`steps`, `gains`: the file's own)."""
    codec.steps = layer_steps(codec.model.step_logits.detach().cpu().double(), ratio).numpy()
    codec.gains = gains / steps * codec.steps


def curve_text(curve) -> str:
    return " ".join(f"{p.bpp:.3f}/{p.psnr:.2f}" for p in curve)


def points(curve) -> list[tuple[float, float]]:
    return [(p.bpp, p.psnr) for p in curve]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--weights", help="DeepHQ weights file (default: the shipped one)")
    parser.add_argument("--ratio", type=float, action="append")
    parser.add_argument("--limit", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    paths = sorted(p for p in Path(args.folder).iterdir() if p.is_file())[: args.limit]
    images = [open_image(p)[0] for p in paths]
    codec = load_codec("deephq", 0, "cpu", args.weights)
    steps, gains = codec.steps.copy(), codec.gains.copy()
    nested_curves = []
    for ratio in args.ratio or [1.65, 2.0]:
        set_ratio(codec, ratio, steps, gains)
        nested = measure_layers(codec, images, False, f"nested {ratio}")
        single = measure_single_rate(codec, images, False, f"single {ratio}")
        cost = bd_rate(points(single), points(nested))
        print(f"ratio {ratio}: nested {curve_text(nested)}\n  single {curve_text(single)}\n"
              f"  cost of progressiveness {cost.percent:+.1f}% ({cost.psnr_range[0]:.1f}-{cost.psnr_range[1]:.1f} dB)")
        nested_curves.append((ratio, nested))
    first_ratio, first = nested_curves[0]
    for ratio, nested in nested_curves[1:]:
        result = bd_rate(points(first), points(nested))
        print(f"nested at ratio {ratio} against ratio {first_ratio}: {result.percent:+.1f}%")


if __name__ == "__main__":
    main()
