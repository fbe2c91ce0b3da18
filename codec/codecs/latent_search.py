"""Encoder-side latent search (Campos et al. 2019, "Content adaptive optimization for neural
image compression"; Yang, Bamler, Mandt 2020): Adam on the latents with the decoder fixed.

A codec supplies the objective (deephq_objective.py, hc_objective.py): for one tile's latents,
the loss of a descent step. Large pictures are searched tile by tile (codec/coding/tiling.py),
so memory stays bounded; each tile's core is kept, its margins give it context.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from codec.coding.tiling import Tile, layout
from codec.effort import Progress


def learning_rate(step: int, steps: int, lr: float) -> float:
    """Cosine decay from lr to a tenth of it over `steps` steps."""
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / max(steps, 1))))


def squared_error(x_hat: torch.Tensor, x: torch.Tensor, index: tuple) -> tuple[torch.Tensor, int]:
    """The mean squared error of x_hat against x (1, 3, H, W) over the pixels index selects
    (Tile.core_pixels) and their count; 0 and 1 for a tile of padding only (whose latents
    then only lose bits)."""
    error = (x_hat - x)[index]
    pixels = error.numel() // 3
    return (error.square().mean() if pixels else error.sum()), max(pixels, 1)


def stages(progress: Progress | None, costs: list[float]) -> list[Progress]:
    """Progress callbacks of consecutive stages of relative costs `costs` (each reports its own
    fraction 0..1), mapped onto one overall progress (None: callbacks that do nothing)."""
    total = sum(costs) or 1.0
    starts = [sum(costs[:i]) / total for i in range(len(costs))]

    def stage(start: float, share: float) -> Progress:
        return lambda fraction: progress(start + share * fraction) if progress else None
    return [stage(start, cost / total) for start, cost in zip(starts, costs)]


def search_cost(steps: int) -> float:
    """A latent search of `steps` steps, in syntheses (a step: one forward and backward pass
    of the synthesis with frozen weights, about 2.5 syntheses)."""
    return 2.5 * steps


def descend(loss: Callable[[int], torch.Tensor], variables: list[torch.Tensor], steps: int, lr: float,
            progress: Callable[[int], None]) -> None:
    """Minimise loss(step) over `variables` (leaf tensors, changed in place) with `steps` Adam
    steps from learning rate lr (learning_rate); progress(step) after each."""
    for v in variables:
        v.requires_grad_(True)
    optimiser = torch.optim.Adam(variables, lr=lr)
    for step in range(steps):
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, steps, lr)
        optimiser.zero_grad(set_to_none=True)
        loss(step).backward()
        optimiser.step()
        progress(step + 1)
    for v in variables:
        v.requires_grad_(False)


Objective = Callable[[Tile, list[torch.Tensor]], Callable[[int], torch.Tensor]]


def search(latents: list[tuple[torch.Tensor, int]], objective: Objective, steps: int, lr: float,
           progress: Progress | None = None) -> list[torch.Tensor]:
    """Refined copies of the latents ((1, C, h f, w f) tensors with their factors f, the first
    of factor 1), tile by tile, with `steps` Adam steps per tile from lr (in latent units):
    objective(tile, the tile's latents) gives the loss of a step."""
    first = latents[0][0]
    parts = layout(*first.shape[-2:])
    refined = [t.detach().clone() for t, _ in latents]
    for done, tile in enumerate(parts):
        variables = [t[tile.region(f)].detach().clone() for t, f in latents]
        loss = objective(tile, variables)
        descend(loss, variables, steps, lr, lambda step: progress and progress((done + step / steps) / len(parts)))
        for out, variable, (_, f) in zip(refined, variables, latents):
            out[tile.core(f)] = variable.detach()[tile.core_in_region(f)]
    return refined
