"""DeepHQ's boundary-aware nested quantizer and its truncated-Gaussian PMFs (notes, sections 2-3).

Everything works in the mean-removed domain y* = y - mu, on flat float64 arrays of the elements
coded at one layer (N of them), so one call handles a whole layer without Python loops.

Each element carries its current interval [a, b) (the parent). At layer l with step s0 = Delta_l,
the parent is split into cells centred on its midpoint c = (a + b)/2 (mid-tread nesting):

    h = (b - a)/2, e = h - s0/2, n = floor(max(e, 0)/s0), r = (e mod s0)/s0
    r <  T: 2n + 1 cells of the stretched step h/(n + 1/2) tile [a, b) exactly
    r >= T: 2n + 1 cells of step s0 plus two edge slivers of width r*s0 >= T*s0
    e <  0: a single cell, the parent itself (no refinement below width (1 + 2T) s0)

Cell i in [-m, m] is [c + (i - 1/2)s, c + (i + 1/2)s) clipped to the parent; its symbol is
i + m. Strata's fixes of the reference code: cells are half-open and found by arithmetic, so
ties cannot jump to the lowest cell, and an element's cells always cover its whole parent, also
when it is selected for the first time at layer l > 0 (its alphabet grows instead of wrapping).

The probability of cell i is the Gaussian N(0, sigma^2) truncated to the parent and renormalised;
so the bits of an element telescope over layers to -log2 of the Gaussian mass of its final cell.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from codec.coding.normal_cdf import interval_mass, masses_between

T = 0.3  # smallest edge sliver, in units of the step, before cells are stretched instead


@dataclass(frozen=True)
class CellGrid:
    """The cells of N parents: centre c, step s, half count m (cells -m..m), all shape (N,)."""

    lower: np.ndarray
    upper: np.ndarray
    centre: np.ndarray
    step: np.ndarray
    half_count: np.ndarray

    def subset(self, index) -> "CellGrid":
        """The grid of the elements selected by index (a slice or an index array)."""
        return CellGrid(*(a[index] for a in (self.lower, self.upper, self.centre, self.step, self.half_count)))

    @property
    def alphabet_sizes(self) -> np.ndarray:
        """2m + 1 symbols per element, int64 (N,)."""
        return 2 * self.half_count + 1


def cell_grid(lower: np.ndarray, upper: np.ndarray, step: np.ndarray) -> CellGrid:
    """Split each parent [lower, upper) with nominal step `step` (all float64, shape (N,))."""
    half = (upper - lower) / 2
    centre = (lower + upper) / 2
    room = half - step / 2
    n = np.floor(np.maximum(room, 0) / step)
    sliver = np.mod(room, step) / step
    slivers = (room >= 0) & (sliver >= T)
    stretched = np.where(room >= 0, half / (n + 0.5), 2 * half)
    cell_step = np.where(slivers, step, stretched)
    half_count = np.where(room >= 0, n + slivers, 0).astype(np.int64)
    return CellGrid(lower, upper, centre, cell_step, half_count)


def _edges(grid: CellGrid, j: np.ndarray) -> np.ndarray:
    """Clipped lower boundary of symbol j of each element; j (N, k) -> (N, k).

    Boundary 0 is the parent's lower end; boundaries from 2m + 1 on are its upper end, so
    symbols past the last cell have zero width.
    """
    raw = grid.centre[:, None] + (j - grid.half_count[:, None] - 0.5) * grid.step[:, None]
    edges = np.clip(raw, grid.lower[:, None], grid.upper[:, None])
    edges = np.where(j <= 0, grid.lower[:, None], edges)
    return np.where(j >= grid.alphabet_sizes[:, None], grid.upper[:, None], edges)


def boundaries(grid: CellGrid, width: int) -> np.ndarray:
    """Clipped boundaries of symbols 0..width, (N, width + 1), width >= max alphabet size."""
    return _edges(grid, np.arange(width + 1)[None, :])


def quantize(grid: CellGrid, y_star: np.ndarray) -> np.ndarray:
    """Symbol of the cell holding each value (half-open cells), int64 (N,)."""
    i = np.floor((y_star - grid.centre) / grid.step + 0.5)
    return (np.clip(i, -grid.half_count, grid.half_count) + grid.half_count).astype(np.int64)


def cell_of(grid: CellGrid, symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The clipped interval [lo, hi) of each element's symbol: the parents of the next layer."""
    edges = _edges(grid, symbols[:, None] + np.array([0, 1]))
    return edges[:, 0], edges[:, 1]


def pmf(grid: CellGrid, sigma: np.ndarray, width: int) -> np.ndarray:
    """Probabilities of the `width` symbols of each element, float64 (N, width), rows sum to 1.

    N(0, sigma^2) truncated to the parent. If the parent's Gaussian mass underflows (far tail),
    the density is taken uniform over the parent instead.
    """
    edges = boundaries(grid, width)
    parent_mass = interval_mass(grid.lower, grid.upper, sigma)
    masses = masses_between(edges, sigma[:, None])
    uniform = parent_mass <= 1e-300
    widths = edges[:, 1:] - edges[:, :-1]
    masses = np.where(uniform[:, None], widths, masses)
    totals = np.where(uniform, grid.upper - grid.lower, parent_mass)
    probabilities = masses / np.where(totals > 0, totals, 1.0)[:, None]
    probabilities[totals <= 0, 0] = 1.0  # a zero-width parent has a single certain symbol
    return probabilities


def reconstruction(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Midpoint of each decoded cell (notes, 2.5)."""
    return (lower + upper) / 2


MEAN_SLICE = 1 << 20  # elements per slice of conditional_mean (bounds its temporaries to ~80 MB)


def conditional_mean(lower: np.ndarray, upper: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """E[y* | lower <= y* < upper] for y* ~ N(0, sigma^2), float64 (n,), kept inside the cell.
    Each cell is evaluated mirrored to the lower side of zero, with masses and densities relative
    to Phi(upper / sigma) in log space, so cells far in the tails keep their precision.
    Decoder-side only (it moves values, never probabilities), so it uses torch's fast special
    functions, MEAN_SLICE elements at a time."""
    lower, upper, sigma = (np.asarray(v, dtype=np.float64) for v in (lower, upper, sigma))  # (n,) each
    mean = np.empty(lower.shape)
    for start in range(0, lower.size, MEAN_SLICE):
        part = slice(start, start + MEAN_SLICE)
        mean[part] = _conditional_mean(*(torch.from_numpy(np.ascontiguousarray(v[part])) for v in (lower, upper, sigma)))
    return mean


def _conditional_mean(lo: torch.Tensor, hi: torch.Tensor, s: torch.Tensor) -> np.ndarray:
    mirrored = (lo + hi) > 0
    a = torch.where(mirrored, -hi, lo) / s
    b = torch.where(mirrored, -lo, hi) / s
    log_b = torch.special.log_ndtr(b)
    share = -torch.expm1(torch.special.log_ndtr(a) - log_b)  # mass / Phi(b)
    density = torch.exp(-0.5 * a * a - log_b) - torch.exp(-0.5 * b * b - log_b)  # (phi(a) - phi(b)) sqrt(2 pi) / Phi(b)
    mean = torch.where(share > 0, s * 0.3989422804014327 * density / share, (a + b) * s / 2)
    mean = torch.where(mirrored, -mean, mean)
    return torch.minimum(torch.maximum(mean, lo), hi).numpy()
