"""Which quality layers a DeepHQ training step decodes, and the weight of each in the loss.

The objective of phases 2-3 is the mean over the L layers of lambda_l * 255^2 * MSE_l + R_l
(notes, section 5). A step synthesizes only a few layers (`layers_per_step`), and each sampler
below weights them so that the step's loss is an unbiased estimate of that mean:

- uniform: k distinct layers drawn at random, each weighted 1 / k (the mean over the rows).
- loss: k draws with replacement, layer l with probability
  p_l = (1 - FLOOR) * loss_l / sum(loss) + FLOOR / L, where loss_l is a running mean of layer l's
  loss; each distinct layer drawn is synthesized once and weighted draws_l / (k L p_l). The top
  layers, which carry most of the objective (the bottom three about 2% of it), get most of the
  syntheses; FLOOR keeps every layer drawn and every weight bounded (at most 1 / (k FLOOR)).
  Until every layer has been seen once, p is uniform.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

FLOOR = 0.1  # share of the draws spread uniformly over the layers
DECAY = 0.98  # of a layer's running loss, per step that decodes it
SAMPLERS = ("uniform", "loss")


@dataclass(frozen=True)
class Draw:
    """The layers one step decodes (sorted, distinct; None in phase 1) and their loss weights (S,)."""

    layers: list[int] | None
    weights: torch.Tensor | None  # None: the plain mean over the rows


class LayerSampler:
    """Draws each step's layers (`draw`) and learns from their losses (`observe`)."""

    def __init__(self, kind: str, num_layers: int, per_step: int, rng: np.random.Generator,
                 losses: list[float | None] | None = None):
        if kind not in SAMPLERS:
            raise ValueError(f"unknown layer sampling {kind!r}; known: {', '.join(SAMPLERS)}")
        self.kind, self.num_layers, self.rng = kind, num_layers, rng
        self.per_step = min(per_step, num_layers)
        self.losses = list(losses) if losses else [None] * num_layers  # running mean per layer

    def probabilities(self) -> np.ndarray:
        """p_l of the loss sampler, (L,)."""
        uniform = np.full(self.num_layers, 1.0 / self.num_layers)
        if any(v is None for v in self.losses):
            return uniform
        losses = np.asarray(self.losses, dtype=np.float64)
        return (1 - FLOOR) * losses / losses.sum() + FLOOR * uniform

    def draw(self) -> Draw:
        L, k = self.num_layers, self.per_step
        if self.kind == "uniform":
            return Draw(sorted(self.rng.choice(L, size=k, replace=False).tolist()), None)
        p = self.probabilities()
        counts = np.bincount(self.rng.choice(L, size=k, p=p), minlength=L)
        layers = np.flatnonzero(counts)
        weights = counts[layers] / (k * L * p[layers])
        return Draw(layers.tolist(), torch.tensor(weights, dtype=torch.float32))

    def observe(self, layers: list[int], row_losses: list[float]) -> None:
        """Update the running losses from a step's rows (one loss per layer of its draw)."""
        for layer, value in zip(layers, row_losses):
            old = self.losses[layer]
            self.losses[layer] = value if old is None else DECAY * old + (1 - DECAY) * value
