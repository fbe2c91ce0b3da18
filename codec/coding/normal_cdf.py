"""A standard normal CDF that gives bit-identical float64 results on every platform.

Encoder and decoder must build identical probability tables. Library exp/erf implementations
differ in their last bits between CPUs, SIMD paths and libm versions, so this module uses only
IEEE-754 basic operations (+, -, *, /, floor, ldexp), each correctly rounded everywhere, and no
fused multiply-add (numpy evaluates one ufunc at a time).

erfc uses the Chebyshev fit of Numerical Recipes (erfcc, relative error < 1.2e-7 everywhere),
which is ample for coding: a model error of 1e-7 costs about 1e-7 bits per symbol.
"""
from __future__ import annotations

import numpy as np

_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * _LN2_HI is exact (Cody-Waite)
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_EXP_TAYLOR = [1.0 / f for f in (1, 1, 2, 6, 24, 120, 720, 5040, 40320, 362880, 3628800, 39916800, 479001600)]
_ERFCC = (
    -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
    0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277,
)


def _horner(coefficients, x: np.ndarray) -> np.ndarray:
    """sum_i coefficients[i] * x**i, evaluated with separate multiplies and adds."""
    result = np.full_like(x, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        result = result * x + c
    return result


def exp(x: np.ndarray) -> np.ndarray:
    """e**x for float64 x <= 0 (larger x is allowed up to 700), relative error ~1e-15."""
    x = np.clip(np.asarray(x, dtype=np.float64), -745.0, 700.0)
    k = np.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO  # |r| <= ln(2)/2
    return np.ldexp(_horner(_EXP_TAYLOR, r), k.astype(np.int32))


def erfc(x: np.ndarray) -> np.ndarray:
    """Complementary error function, float64, relative error < 1.2e-7."""
    x = np.asarray(x, dtype=np.float64)
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    tail = t * exp(-z * z + _horner(_ERFCC, t))
    return np.where(x >= 0, tail, 2.0 - tail)


def cdf_pair(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Phi(x), Phi(-x)) with one exp per value; each accurate in relative terms in its tail."""
    x = np.asarray(x, dtype=np.float64)
    tail = 0.5 * erfc(np.abs(x) * 0.70710678118654752440)  # P(N(0, 1) > |x|)
    return np.where(x < 0, tail, 1.0 - tail), np.where(x > 0, tail, 1.0 - tail)


def masses_between(edges: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Masses of N(0, sigma^2) between consecutive edges along the last axis, >= 0.

    edges (..., k + 1), sigma broadcastable to edges[..., :1] -> (..., k). Each cell is evaluated
    on the side of zero where it lies (Phi(-t) for upper-tail cells), so masses far in either
    tail keep their relative precision.
    """
    lower, upper = cdf_pair(edges / sigma)
    upper_side = (edges[..., :-1] + edges[..., 1:]) > 0
    mass = np.where(upper_side, upper[..., :-1] - upper[..., 1:], lower[..., 1:] - lower[..., :-1])
    return np.maximum(mass, 0.0)


def interval_mass(lo: np.ndarray, hi: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """P(lo <= N(0, sigma^2) < hi), elementwise; identical to masses_between on [lo, hi]."""
    return masses_between(np.stack([lo, hi], axis=-1), np.asarray(sigma)[..., None])[..., 0]
