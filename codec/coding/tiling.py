"""Running convolutional transforms on large images in overlapping tiles, to bound memory.

Positions are counted in "units" of the coarsest latent grid (16 pixels for both codecs). Every
tensor passed in or returned has a known factor: its size is factor x units (pixels: 16, the
main latent: 1, HC's y_2: 4). Each tile's core of TILE x TILE units is computed with MARGIN
extra units on every side, which exceed the transforms' receptive fields (g_a: 61 pixels, under
4 units; g_s with LRP: under 3 units), so the stitched result equals the untiled one up to float
rounding and has no seams.
"""
from __future__ import annotations

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
    for top in range(0, height, TILE):
        for left in range(0, width, TILE):
            rows = (max(top - MARGIN, 0), min(top + TILE + MARGIN, height))
            cols = (max(left - MARGIN, 0), min(left + TILE + MARGIN, width))
            parts = fn(*(t[..., rows[0] * f : rows[1] * f, cols[0] * f : cols[1] * f] for t, f in inputs))
            if outputs is None:
                outputs = [p.new_empty(*p.shape[:-2], height * f, width * f) for p, f in zip(parts, out_factors)]
            core_h, core_w = min(TILE, height - top), min(TILE, width - left)
            for out, part, f in zip(outputs, parts, out_factors):
                r0, c0 = (top - rows[0]) * f, (left - cols[0]) * f
                out[..., top * f : (top + core_h) * f, left * f : (left + core_w) * f] = part[
                    ..., r0 : r0 + core_h * f, c0 : c0 + core_w * f
                ]
    return outputs
