"""Carry DeepHQ weights or a training checkpoint from one NEST_RATIO to the current one.

The steps are built from the same step_logits with the new ratio (Delta_7 unchanged, Delta_l =
Delta_7 * ratio^(7 - l) up to the learned excesses), and every decoder gain is scaled with its
step, so the synthesis input u_l = y_hat * Gamma_l / Delta_l keeps its scale:

    log Gamma_l += log Delta_l(new) - log Delta_l(old)

Usage: python scripts/migrate_nest_ratio.py FILE --old-ratio 1.65   (rewrites FILE atomically;
a checkpoint's optimiser moments are kept, a weights file's coding tables are rebuilt).
"""
from __future__ import annotations

import argparse
import torch

from codec.models.deephq import NEST_RATIO, layer_steps
from codec.weights import atomic_torch_save


def migrate_state(state: dict, old_ratio: float) -> torch.Tensor:
    """Rescale state['log_gain'] in place; returns the new steps (L, M) float64."""
    logits = state["step_logits"].double()
    old, new = layer_steps(logits, old_ratio), layer_steps(logits)
    gain = state["log_gain"]
    state["log_gain"] = (gain.double() + new.log() - old.log()).to(gain.dtype)
    return new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--old-ratio", type=float, required=True)
    args = parser.parse_args()
    data = torch.load(args.file, map_location="cpu", weights_only=True)
    if "optimizer" in data:  # a training checkpoint
        migrate_state(data["model"], args.old_ratio)
    else:  # shipped weights
        data["tables"]["steps"] = migrate_state(data["state"], args.old_ratio)
    atomic_torch_save(data, args.file)
    print(f"{args.file}: steps and gains moved from ratio {args.old_ratio} to {NEST_RATIO}")


if __name__ == "__main__":
    main()
