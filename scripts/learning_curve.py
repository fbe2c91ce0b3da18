"""DeepHQ's Kodak BD-rate against the training steps of each shipment, and where the trend leads.

    python scripts/learning_curve.py COMMIT=STEPS [COMMIT=STEPS ...] [--fit N] [--steps-per-s 0.34]

Each COMMIT's docs/eval_kodak.json (a `strata eval` run of the weights shipped then) is read from
git; STEPS is the total number of training steps behind those weights (all phases and the anneal
branch). Prints the BD-rate of the nested and the single-rate curve against each anchor, fits
rate ~ steps^b to the single-rate curve's rate factor (1 + BD) over the last N shipments (log-log
least squares), and extrapolates the total steps at which the nested curve would reach each issue
target if the trend held (a power law with no floor, so a lower bound) and the hours of training
that means at the given steps/s.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from codec.evaluation.bdrate import bd_rate  # noqa: E402

TARGETS = {"jpeg2000": -20.0, "webp": -30.0, "heic": 0.0, "avif": 0.0}  # issue 3, percent


def eval_at(commit: str) -> dict:
    """The docs/eval_kodak.json committed in `commit`."""
    text = subprocess.run(["git", "show", f"{commit}:docs/eval_kodak.json"], check=True,
                          capture_output=True, text=True).stdout
    return json.loads(text)


def curve(result: dict, name: str) -> list[tuple[float, float]]:
    return [(p["bpp"], p["psnr"]) for p in result["curves"][name]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shipments", nargs="+", metavar="COMMIT=STEPS")
    parser.add_argument("--fit", type=int, default=4, help="fit the trend over the last N shipments")
    parser.add_argument("--steps-per-s", type=float, default=0.34, help="training speed for the hours")
    args = parser.parse_args()
    steps, single, nested = [], [], {}
    for item in args.shipments:
        commit, count = item.split("=")
        result = eval_at(commit)
        row = {a: (bd_rate(curve(result, a), curve(result, "deephq")).percent,
                   bd_rate(curve(result, a), curve(result, "deephq-single")).percent) for a in TARGETS}
        steps.append(int(count))
        single.append(1 + row["jpeg2000"][1] / 100)
        nested = {a: v[0] for a, v in row.items()}  # the latest shipment's, for the extrapolation
        cells = "  ".join(f"{a} {n:+6.1f}% / {s:+6.1f}%" for a, (n, s) in row.items())
        print(f"{commit} {int(count):7d} steps   nested / single-rate BD: {cells}")
    x, y = np.log(steps[-args.fit:]), np.log(single[-args.fit:])
    slope, _ = np.polyfit(x, y, 1)
    print(f"single-rate rate factor vs JPEG 2000 ~ steps^{slope:.2f} over the last {args.fit} shipments")
    for anchor, target in TARGETS.items():
        factor = (1 + target / 100) / (1 + nested[anchor] / 100)
        needed = steps[-1] * factor ** (1 / slope) if factor < 1 else steps[-1]
        hours = (needed - steps[-1]) / args.steps_per_s / 3600
        print(f"{anchor}: nested {nested[anchor]:+.1f}%, target {target:+.0f}%: about {needed:,.0f} "
              f"total steps ({math.ceil(hours)} h more at {args.steps_per_s} steps/s) if the trend held")


if __name__ == "__main__":
    main()
