"""HC's encoder-side latent search (latent_search.py): its objective.

HC's layers are residual-coded (y_3 on y_4, y_2 on y_3 and y_4), so y_4, y_3 and y_2 are
refined together on the model's training objective of the full decode,

    J(y_4, y_3, y_2) = lambda 255^2 MSE(x, g_s(y^_4, y^_3, y^_2)) + (bits_4 + bits_3 + bits_2) / pixels,

with y^ = round(y - mu) + mu (straight-through), the bits of the unit bin around the unrounded y
(whose gradient pulls y toward likely cells; at a rounded value it would vanish) of the tile's
core (codec/codecs/latent_search.py), and mu_3, mu_2 recomputed from the refined deeper
latents at every step; (mu_4, sigma_4) come from z_hat, which is coded before the search.
"""
from __future__ import annotations

import torch

from codec.codecs.latent_search import squared_error
from codec.effort import steps_of
from codec.coding.tiling import Tile
from codec.models.entropy_models import gaussian_likelihood
from codec.models.layers import ste_round

LEARNING_RATE = 0.01  # Adam's first step: 0.02 and 0.05 gained less on Kodak crops
# Steps at most: beyond, the search loses what it gained (kodim23 crop, q2: 24 steps +0.47 dB,
# 48 +0.12 dB, 96 -0.6 dB at equal rate); straight-through descent drifts (BENCHMARKS.md).
MAX_STEPS = 24


def search_steps(effort: int) -> int:
    """HC's search steps at an effort level: effort.steps_of, at most MAX_STEPS."""
    return min(steps_of(effort), MAX_STEPS)


def objective(codec, x: torch.Tensor, z_hat: torch.Tensor, size: tuple[int, int]):
    """The search objective (effort.Objective) of one picture x (1, 3, H', W') whose z_hat
    (1, N, h/4, w/4) is coded."""
    model = codec.model
    mu4, sigma4 = (t.float() for t in model.params_4(z_hat))

    def tile_objective(tile: Tile, variables: list[torch.Tensor]):
        target = x[tile.region(16)]
        valid = tile.core_pixels(size)
        mu, sigma = mu4[tile.region()], sigma4[tile.region()]

        def loss(step: int) -> torch.Tensor:
            y4, y3, y2 = variables
            y4_hat = ste_round(y4 - mu) + mu
            mu3, sigma3, features = model.params_3(y4_hat)
            y3_hat = ste_round(y3 - mu3) + mu3
            mu2, sigma2 = model.params_2(y3_hat, features)
            y2_hat = ste_round(y2 - mu2) + mu2
            bits = sum(-torch.log2(gaussian_likelihood(v, m, s))[tile.core_in_region(f)].sum()
                       for v, m, s, f in ((y4, mu, sigma, 1), (y3, mu3, sigma3, 2), (y2, mu2, sigma2, 4)))
            x_hat = model.synthesis(y4_hat, y3_hat, y2_hat)
            mse, pixels = squared_error(x_hat, target, valid)
            return model.config.lmbda * 255**2 * mse + bits / pixels
        return loss
    return tile_objective

