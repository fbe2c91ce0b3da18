"""Bjontegaard delta rate/PSNR on synthetic curves."""
import math

import pytest

from codec.evaluation.bdrate import bd_psnr, bd_rate, monotone_points

ANCHOR = [(0.1, 27.9), (0.25, 30.6), (0.5, 33.2), (1.0, 36.4), (2.0, 39.8)]


def on_line(psnrs, log_rate_at_zero):
    """Points of the straight line ln(bpp) = log_rate_at_zero + 0.23 * PSNR."""
    return [(math.exp(log_rate_at_zero + 0.23 * q), q) for q in psnrs]


def test_identical_curves_give_zero():
    result = bd_rate(ANCHOR, ANCHOR)
    assert result.percent == pytest.approx(0.0, abs=1e-12)
    assert result.psnr_range == (27.9, 39.8)
    assert bd_psnr(ANCHOR, ANCHOR).db == pytest.approx(0.0, abs=1e-12)


def test_rates_scaled_by_0_9_give_minus_10_percent():
    test = [(0.9 * bpp, quality) for bpp, quality in ANCHOR]
    assert bd_rate(ANCHOR, test).percent == pytest.approx(-10.0, abs=1e-6)
    assert bd_rate(test, ANCHOR).percent == pytest.approx(100 / 0.9 - 100, abs=1e-6)


def test_only_the_overlap_is_integrated():
    anchor = on_line([26, 29, 32, 35, 38], -8.0)
    test = on_line([30, 33.5, 36, 39, 42], -8.0 + math.log(0.8))
    result = bd_rate(anchor, test)
    assert result.percent == pytest.approx(-20.0, abs=1e-9)
    assert result.psnr_range == (30, 38)
    psnr_result = bd_psnr(anchor, test)
    assert psnr_result.db == pytest.approx(-math.log(0.8) / 0.23, abs=1e-9)
    assert psnr_result.bpp_range[0] == pytest.approx(test[0][0])


def test_point_order_does_not_matter():
    test = [(1.1 * bpp, quality + 0.1) for bpp, quality in ANCHOR]
    assert bd_rate(ANCHOR[::-1], test).percent == pytest.approx(bd_rate(ANCHOR, test[::-1]).percent)


def test_non_monotone_points_are_dropped_and_counted():
    noisy = ANCHOR + [(0.6, 33.0), (1.0, 36.4)]  # more bits for less PSNR; a duplicate
    bpp, quality, dropped = monotone_points(noisy)
    assert dropped == 2 and list(bpp) == [p[0] for p in ANCHOR]
    result = bd_rate(noisy, ANCHOR)
    assert result.percent == pytest.approx(0.0, abs=1e-12)
    assert result.dropped == (2, 0)


def test_errors():
    with pytest.raises(ValueError, match="at least 2"):
        bd_rate(ANCHOR, [(0.5, 33.0)])
    with pytest.raises(ValueError, match="do not overlap"):
        bd_rate(ANCHOR, [(3.0, 41.0), (4.0, 43.0)])
