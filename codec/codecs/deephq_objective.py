"""DeepHQ's encoder-side latent search (latent_search.py): its objective.

For the layers l of a step, the loss is the model's training objective measured as the codec
codes, each layer normalised by its value at the start so that every layer counts alike:

    J_l(y) = lambda_l 255^2 MSE(x, g_s(u_l)) + bits_l / pixels,     loss = sum_l J_l / J_l(y_0)

u_l is the decoder's exact synthesis input of layer l (nested cells, masks, reconstruction
offsets, gains) with a straight-through gradient; bits_l the training's Gaussian bin proxy at
step Delta_l, whose gradient pulls y* toward the cells the entropy model finds likely. The
entropy parameters (from z_hat) stay fixed: z is coded before the search. One layer is drawn
per step, in turn.
"""
from __future__ import annotations

import numpy as np
import torch

from codec.codecs.latent_search import search as descend_tiles, squared_error
from codec.effort import Progress, steps_of
from codec.coding.latent_coding import NestedState, chunk_passes, quantize_pass, reconstruction
from codec.coding.tiling import Tile
from codec.models.deephq import LAMBDAS, SIGMA_MIN_SCALED
from codec.models.entropy_models import gaussian_likelihood

LEARNING_RATE = 0.05  # Adam's first step: 0.02 gained less on Kodak crops, 0.1 as much
LAYERS = (4, 5, 6, 7)  # the layers the objective samples: the lower ones gain nothing (BENCHMARKS.md)


class TileObjective:
    """The loss of one tile's latent y (1, M, h, w) against its pixels x (1, 3, 16h, 16w)."""

    def __init__(self, codec, params, tile: Tile, x: torch.Tensor, y: torch.Tensor, K: int, size: tuple[int, int]):
        self.codec, self.K = codec, K
        M = codec.config.M
        h, w = y.shape[-2:]
        index = _tile_elements(tile, M, *params.support.shape[-2:])
        self.mu = params.gaussian.mu[index]
        self.sigma = params.gaussian.sigma[index]
        self.masks = params.masks[:, index]
        self.support = params.support[tile.region()]
        self.x = x[tile.region(16)]
        self.valid = tile.core_pixels(size)
        self.core = tile.core_in_region()  # the latents whose bits count: the margins belong to other tiles
        device = y.device
        self.mu_t = torch.from_numpy(self.mu.reshape(1, M, h, w)).float().to(device)
        self.masks_t = torch.from_numpy(self.masks.reshape(-1, 1, M, h, w)).float().to(device)
        self.scale_t = torch.from_numpy(codec.gains / codec.steps).float().to(device).view(-1, 1, M, 1, 1)
        self.steps_t = torch.from_numpy(codec.steps).float().to(device).view(-1, 1, M, 1, 1)
        self.sigma_t = torch.from_numpy(self.sigma.reshape(1, M, h, w)).float().to(device)
        self.norm: dict[int, float] = {}

    def values(self, y_star: np.ndarray) -> np.ndarray:
        """The decoder's y~* of every layer (L, n) for y* (n,): the nested quantizer's passes."""
        codec = self.codec
        hw = y_star.size // codec.config.M
        state = NestedState.start(self.K, np.repeat(codec.steps[0], hw))
        out = np.empty((codec.num_layers, y_star.size))
        for layer in range(codec.num_layers):
            for coded, j in chunk_passes(self.masks, np.flatnonzero(self.masks[layer]), layer):
                if coded.size:
                    quantize_pass(state, coded, codec.steps[j][coded // hw], y_star[coded])
            out[layer] = reconstruction(state, self.sigma, float(codec.offsets[layer]))
        return out

    def layer_loss(self, y: torch.Tensor, values: torch.Tensor, layer: int) -> torch.Tensor:
        """J_l of the latent y (1, M, h, w) whose exact decoder values are `values` (1, M, h, w)."""
        y_star = y - self.mu_t
        mask = self.masks_t[layer]
        quantized = mask * (y_star + (values - y_star).detach())
        u = (quantized + self.mu_t) * self.scale_t[layer]
        x_hat = self.codec.model.synthesize(u, self.support)
        mse, pixels = squared_error(x_hat, self.x, self.valid)
        step = self.steps_t[layer]
        likelihood = gaussian_likelihood(y_star / step, torch.zeros_like(y_star), self.sigma_t / step, SIGMA_MIN_SCALED)
        bpp = -(mask * torch.log2(likelihood))[self.core].sum() / pixels
        return LAMBDAS[layer] * 255**2 * mse + bpp

    def loss(self, y: torch.Tensor, step: int) -> torch.Tensor:
        """Normalised loss of the step's layer (each layer once per round of len(LAYERS) steps)."""
        layer = LAYERS[step % len(LAYERS)]
        y_star = (y.detach().double().cpu() - torch.from_numpy(self.mu.reshape(y.shape))).numpy().ravel()
        values = torch.from_numpy(self.values(y_star)[layer].reshape(y.shape)).float().to(y.device)
        loss = self.layer_loss(y, values, layer)
        if layer not in self.norm:
            self.norm[layer] = float(loss.detach())
        return loss / self.norm[layer]


def _tile_elements(tile: Tile, M: int, height: int, width: int) -> np.ndarray:
    """Flat indices (C order over (M, height, width)) of the tile's region."""
    rows = np.arange(*tile.rows)
    cols = np.arange(*tile.cols)
    return (np.arange(M)[:, None, None] * height * width + rows[None, :, None] * width + cols[None, None, :]).ravel()


def search(codec, params, x: torch.Tensor, y: torch.Tensor, K: int, size: tuple[int, int], effort: int,
           progress: Progress | None = None) -> torch.Tensor:
    """The refined latent (1, M, h, w) of y = g_a(x) at an effort level, tile by tile."""
    def objective(tile: Tile, variables: list[torch.Tensor]):
        (variable,) = variables
        loss = TileObjective(codec, params, tile, x, variable.detach(), K, size)
        return lambda step: loss.loss(variable, step)
    return descend_tiles([(y, 1)], objective, steps_of(effort), LEARNING_RATE, progress)[0]
