"""Bjontegaard delta rate and PSNR between two rate-distortion curves (numpy only).

Follows the 2017 VCEG/JVET common practice: log rate and PSNR are interpolated with piecewise
cubic Hermite polynomials whose slopes are chosen as in MATLAB/SciPy `pchip` (Fritsch-Carlson,
shape preserving), and the difference of the two interpolants is integrated exactly over the
overlap of the two curves' ranges only (no extrapolation).
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np

Curve = Sequence[tuple[float, float]]
"""Rate-distortion points (bpp, PSNR in dB), in any order."""


class BDResult(NamedTuple):
    """Bjontegaard delta rate: percent < 0 means the test curve needs fewer bits at equal PSNR."""

    percent: float
    psnr_range: tuple[float, float]
    """The PSNR interval (dB) actually integrated: the overlap of both curves."""
    dropped: tuple[int, int]
    """Points of (anchor, test) left out as non-monotone (more bits without higher PSNR)."""


class BDPsnrResult(NamedTuple):
    """Bjontegaard delta PSNR: db > 0 means the test curve is better at equal rate."""

    db: float
    bpp_range: tuple[float, float]
    """The rate interval (bpp) actually integrated: the overlap of both curves."""
    dropped: tuple[int, int]


def monotone_points(points: Curve) -> tuple[np.ndarray, np.ndarray, int]:
    """(bpp, psnr) arrays sorted by rate, keeping only points whose PSNR beats every cheaper one.

    Returns the two arrays and the number of points dropped. A point that costs more bits
    without raising PSNR is dominated; interpolation needs strictly increasing PSNR and rate.
    """
    kept: list[tuple[float, float]] = []
    for bpp, quality in sorted(points):
        if bpp <= 0:
            raise ValueError(f"rates must be positive, got {bpp}")
        if not kept or (quality > kept[-1][1] and bpp > kept[-1][0]):
            kept.append((bpp, quality))
    if len(kept) < 2:
        raise ValueError(f"need at least 2 monotone points, got {len(kept)} of {len(points)}")
    bpp, quality = np.array(kept, dtype=np.float64).T
    return bpp, quality, len(points) - len(kept)


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Slopes dy/dx at the knots, as SciPy's PchipInterpolator chooses them (x increasing)."""
    h = np.diff(x)
    delta = np.diff(y) / h
    if len(x) == 2:
        return np.array([delta[0], delta[0]])
    d = np.zeros_like(x)
    w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
    same_sign = np.sign(delta[:-1]) * np.sign(delta[1:]) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 + w2) / (w1 / delta[:-1] + w2 / delta[1:])
    d[1:-1] = np.where(same_sign, harmonic, 0.0)
    d[0] = _end_slope(h[0], h[1], delta[0], delta[1])
    d[-1] = _end_slope(h[-1], h[-2], delta[-1], delta[-2])
    return d


def _end_slope(h0: float, h1: float, m0: float, m1: float) -> float:
    """One-sided three-point slope at an end knot, limited to keep the shape (SciPy's rule)."""
    d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    if np.sign(d) != np.sign(m0):
        return 0.0
    if np.sign(m0) != np.sign(m1) and abs(d) > abs(3 * m0):
        return 3 * m0
    return d


def pchip_interpolate(x: np.ndarray, y: np.ndarray, at: float) -> float:
    """The PCHIP interpolant of (x, y), x strictly increasing, evaluated at x0 <= at <= xn."""
    d = _pchip_slopes(x, y)
    k = int(np.clip(np.searchsorted(x, at) - 1, 0, len(x) - 2))
    h = x[k + 1] - x[k]
    t = (at - x[k]) / h
    h00, h10 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t
    h01, h11 = 3 * t**2 - 2 * t**3, t**3 - t**2
    return float(h00 * y[k] + h10 * h * d[k] + h01 * y[k + 1] + h11 * h * d[k + 1])


def _pchip_integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    """Exact integral over [lo, hi] (inside [x0, xn]) of the PCHIP interpolant of (x, y)."""
    d = _pchip_slopes(x, y)
    total = 0.0
    for k in range(len(x) - 1):
        a, b = max(lo, x[k]), min(hi, x[k + 1])
        if a < b:
            total += _hermite_integral(x[k], x[k + 1], y[k], y[k + 1], d[k], d[k + 1], a, b)
    return total


def _hermite_integral(x0, x1, y0, y1, d0, d1, a, b) -> float:
    """Integral over [a, b] of the cubic Hermite segment through (x0, y0, d0), (x1, y1, d1)."""
    h = x1 - x0

    def antiderivative(x: float) -> float:
        t = (x - x0) / h
        h00 = t - t**3 + t**4 / 2
        h10 = t**2 / 2 - 2 * t**3 / 3 + t**4 / 4
        h01 = t**3 - t**4 / 2
        h11 = -(t**3) / 3 + t**4 / 4
        return h * (h00 * y0 + h10 * h * d0 + h01 * y1 + h11 * h * d1)

    return antiderivative(b) - antiderivative(a)


def _mean_gap(x_a, y_a, x_b, y_b) -> tuple[float, tuple[float, float]]:
    """Mean of (y_b - y_a) over the overlap of the x ranges, and that overlap."""
    lo, hi = max(x_a[0], x_b[0]), min(x_a[-1], x_b[-1])
    if not lo < hi:
        raise ValueError(f"the curves do not overlap: [{x_a[0]}, {x_a[-1]}] vs [{x_b[0]}, {x_b[-1]}]")
    gap = _pchip_integral(x_b, y_b, lo, hi) - _pchip_integral(x_a, y_a, lo, hi)
    return float(gap / (hi - lo)), (float(lo), float(hi))


def bd_rate(anchor: Curve, test: Curve) -> BDResult:
    """Average rate difference (%) of test vs anchor at equal PSNR over their common PSNR range.

    Curves are lists of (bpp, PSNR dB); non-monotone points are dropped (see monotone_points).
    Raises ValueError with fewer than 2 monotone points or no PSNR overlap.
    """
    bpp_a, q_a, drop_a = monotone_points(anchor)
    bpp_t, q_t, drop_t = monotone_points(test)
    gap, psnr_range = _mean_gap(q_a, np.log(bpp_a), q_t, np.log(bpp_t))
    return BDResult(100.0 * (math.exp(gap) - 1.0), psnr_range, (drop_a, drop_t))


def bd_psnr(anchor: Curve, test: Curve) -> BDPsnrResult:
    """Average PSNR difference (dB) of test vs anchor at equal rate over their common log-rate range."""
    bpp_a, q_a, drop_a = monotone_points(anchor)
    bpp_t, q_t, drop_t = monotone_points(test)
    gap, (lo, hi) = _mean_gap(np.log(bpp_a), q_a, np.log(bpp_t), q_t)
    return BDPsnrResult(gap, (math.exp(lo), math.exp(hi)), (drop_a, drop_t))
