"""Running convolutional transforms on large images in overlapping tiles, to bound memory.

Positions are counted in "units" of the coarsest latent grid (16 pixels for both codecs). Every
tensor passed in or returned has a known factor: its size is factor x units (pixels: 16, the
main latent: 1, HC's y_2: 4). Each tile's core of TILE x TILE units is computed with MARGIN
extra units on every side, which exceed the transforms' receptive fields (g_a: 61 pixels, under
4 units; g_s with LRP: under 3 units), so the stitched result equals the untiled one up to float
rounding and has no seams.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

TILE = 32  # core tile size in units (512 pixels)
MARGIN = 4  # overlap on each side in units (64 pixels)
UNTILED_UNITS = 4096  # images up to this many units (about 1 megapixel) run in one piece


def run_tiled(
    fn: Callable[..., Sequence[torch.Tensor]],
    inputs: Sequence[tuple[torch.Tensor, int]],
    out_factors: Sequence[int],
) -> list[torch.Tensor]:
    """fn(*tensors) -> tensors, computed tile by tile when the image is large.

    inputs: (tensor (B, C, H, W), factor) pairs; out_factors: the factor of each output.
    """
    first, factor = inputs[0]
    height, width = first.shape[-2] // factor, first.shape[-1] // factor
    if height * width <= UNTILED_UNITS:
        return list(fn(*(t for t, _ in inputs)))
    outputs: list[torch.Tensor] | None = None
    for tile in tiles(height, width):
        parts = fn(*(t[tile.region(f)] for t, f in inputs))
        if outputs is None:
            outputs = [p.new_empty(*p.shape[:-2], height * f, width * f) for p, f in zip(parts, out_factors)]
        for out, part, f in zip(outputs, parts, out_factors):
            out[tile.core(f)] = part[tile.core_in_region(f)]
    return outputs


@dataclass(frozen=True)
class Tile:
    """One tile in units: its region (core plus margins) rows/cols [start, stop) and its core."""

    rows: tuple[int, int]
    cols: tuple[int, int]
    core_rows: tuple[int, int]
    core_cols: tuple[int, int]

    def region(self, f: int = 1) -> tuple:
        """Index of the region in a tensor of factor f (..., H, W)."""
        return (..., slice(self.rows[0] * f, self.rows[1] * f), slice(self.cols[0] * f, self.cols[1] * f))

    def core(self, f: int = 1) -> tuple:
        """Index of the core in a whole tensor of factor f."""
        return (..., slice(self.core_rows[0] * f, self.core_rows[1] * f), slice(self.core_cols[0] * f, self.core_cols[1] * f))

    def core_in_region(self, f: int = 1) -> tuple:
        """Index of the core inside the region's tensor of factor f."""
        r0, c0 = self.core_rows[0] - self.rows[0], self.core_cols[0] - self.cols[0]
        h, w = self.core_rows[1] - self.core_rows[0], self.core_cols[1] - self.core_cols[0]
        return (..., slice(r0 * f, (r0 + h) * f), slice(c0 * f, (c0 + w) * f))

    def core_pixels(self, size: tuple[int, int]) -> tuple:
        """Index, in the region's pixel tensor (16 per unit), of the core's pixels inside a
        picture of size (height, width): the core without the padding past the picture's edge."""
        (r0, r1), (c0, c1) = self.core_rows, self.core_cols
        top, left = (r0 - self.rows[0]) * 16, (c0 - self.cols[0]) * 16
        return (..., slice(top, top + min(r1 * 16, size[0]) - r0 * 16),
                slice(left, left + min(c1 * 16, size[1]) - c0 * 16))


def tiles(height: int, width: int) -> list[Tile]:
    """The tiles covering height x width units: TILE x TILE cores with MARGIN units around them."""
    out = []
    for top in range(0, height, TILE):
        for left in range(0, width, TILE):
            rows = (max(top - MARGIN, 0), min(top + TILE + MARGIN, height))
            cols = (max(left - MARGIN, 0), min(left + TILE + MARGIN, width))
            out.append(Tile(rows, cols, (top, min(top + TILE, height)), (left, min(left + TILE, width))))
    return out


def layout(height: int, width: int) -> list[Tile]:
    """The tiles a computation over height x width units runs in: one whole tile up to
    UNTILED_UNITS, else tiles()."""
    if height * width <= UNTILED_UNITS:
        return [Tile((0, height), (0, width), (0, height), (0, width))]
    return tiles(height, width)
