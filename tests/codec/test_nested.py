"""Properties of the nested quantizer and its PMFs (codec/coding/nested.py)."""
import numpy as np
import pytest

from codec.coding import nested
from codec.coding.normal_cdf import interval_mass

rng = np.random.default_rng(0)


def grid_for(lower, upper, step):
    return nested.cell_grid(np.asarray(lower, float), np.asarray(upper, float), np.asarray(step, float))


def descend(y_star, K, steps, sigma):
    """Run y_star (N,) through all layers; returns symbols, grids and intervals per layer."""
    lower = -K * steps[0] / 2 * np.ones_like(y_star)
    upper = -lower
    history = []
    for step in steps:
        grid = grid_for(lower, upper, np.full_like(y_star, step))
        symbols = nested.quantize(grid, y_star)
        lower, upper = nested.cell_of(grid, symbols)
        history.append((grid, symbols, lower, upper))
    return history


def test_layer0_is_mid_tread_rounding():
    delta0 = 0.75
    y_star = rng.normal(0, 3, 10_000)
    K = 2 * int(np.ceil(np.max(np.abs(y_star)) / delta0)) + 1
    grid = grid_for(np.full_like(y_star, -K * delta0 / 2), np.full_like(y_star, K * delta0 / 2), np.full_like(y_star, delta0))
    symbols = nested.quantize(grid, y_star)
    expected = np.floor(y_star / delta0 + 0.5).astype(int) + (K - 1) // 2
    assert np.array_equal(symbols, expected)
    lower, upper = nested.cell_of(grid, symbols)
    np.testing.assert_allclose(nested.reconstruction(lower, upper), np.floor(y_star / delta0 + 0.5) * delta0, atol=1e-12)


@pytest.mark.parametrize("ratio", [0.3, 0.5, 0.62, 0.7, 0.9])
def test_children_tile_their_parent(ratio):
    lower = rng.uniform(-5, 5, 2000)
    upper = lower + rng.uniform(0.01, 4, 2000)
    step = (upper - lower) * ratio * rng.uniform(0.5, 1.5, 2000)
    grid = grid_for(lower, upper, step)
    width = int(grid.alphabet_sizes.max())
    edges = nested.boundaries(grid, width)
    assert np.all(edges[:, 0] == lower) and np.all(edges[:, -1] == upper)
    assert np.all(np.diff(edges, axis=1) >= 0)
    cells = np.diff(edges, axis=1)
    nonzero = (cells > 0).sum(axis=1)
    assert np.all(nonzero == grid.alphabet_sizes)
    # interior cells are one step wide; edge cells are at least T steps wide (or stretched)
    interior = cells[:, 1:-1][np.arange(width - 2)[None, :] < grid.alphabet_sizes[:, None] - 2]
    assert np.all(interior > 0)
    has_slivers = grid.step == step
    first = cells[np.arange(len(step)), 0]
    assert np.all(first[has_slivers & (grid.alphabet_sizes > 1)] >= nested.T * step[has_slivers & (grid.alphabet_sizes > 1)] - 1e-12)


def test_no_refinement_below_1_6_steps():
    step = np.ones(1000)
    width = rng.uniform(0.2, 1.6 - 1e-9, 1000)
    grid = grid_for(np.zeros(1000), width, step)
    assert np.all(grid.alphabet_sizes == 1)
    grid = grid_for(np.zeros(1000), 1.6 + 1e-9 + rng.uniform(0, 0.3, 1000), step)
    assert np.all(grid.alphabet_sizes == 3)


def test_ratio_one_half_gives_three_cells():
    grid = grid_for([0.0], [2.0], [1.0])
    edges = nested.boundaries(grid, 3)
    np.testing.assert_allclose(np.diff(edges[0]), [0.5, 1.0, 0.5])


def test_worked_example_of_the_notes():
    history = descend(np.array([0.62]), 7, [1.0, 0.45, 0.3], np.ones(1))
    (_, s0, l0, u0), (g1, s1, l1, u1), (g2, _, l2, u2) = history
    assert s0[0] == 4 and (l0[0], u0[0]) == (0.5, 1.5)
    np.testing.assert_allclose(nested.boundaries(g1, 3)[0], [0.5, 0.775, 1.225, 1.5])
    assert s1[0] == 0 and np.isclose(l1[0], 0.5) and np.isclose(u1[0], 0.775)
    assert g2.alphabet_sizes[0] == 1 and (l2[0], u2[0]) == (l1[0], u1[0])


def test_decoded_values_stay_inside_every_ancestor():
    y_star = rng.normal(0, 4, 5000)
    steps = [3.0, 2.1, 1.2, 0.9, 0.5, 0.31, 0.2, 0.11]
    history = descend(y_star, 2 * int(np.ceil(np.abs(y_star).max() / 3.0)) + 1, steps, None)
    final = nested.reconstruction(history[-1][2], history[-1][3])
    for _, _, lower, upper in history:
        assert np.all((lower <= final) & (final <= upper))
        assert np.all((lower <= y_star + 1e-9) & (y_star <= upper + 1e-9))


def test_first_time_selected_elements_cover_their_whole_parent():
    K, delta0, delta = 7, 1.0, 0.1
    lower, upper = np.full(3, -K * delta0 / 2), np.full(3, K * delta0 / 2)
    y_star = np.array([3.3, -3.4, 0.05])  # far outside +-K*delta/2
    grid = grid_for(lower, upper, np.full(3, delta))
    lo, hi = nested.cell_of(grid, nested.quantize(grid, y_star))
    assert np.all((lo <= y_star) & (y_star < hi)) and np.all(hi - lo <= delta + 1e-12)


def test_ties_fall_in_the_upper_cell():
    grid = grid_for([-3.5], [3.5], [1.0])
    symbols = nested.quantize(grid, np.array([0.5]))  # boundary between cells 3 and 4
    assert symbols[0] == 4


def test_pmf_rows_sum_to_one_and_telescope():
    y_star = rng.normal(0, 2, 3000)
    sigma = np.exp(rng.uniform(np.log(0.2), np.log(20), 3000))  # masses stay above float64 underflow
    steps = [2.5, 1.5, 0.9, 0.5, 0.3, 0.18, 0.1, 0.06]
    K = 2 * int(np.ceil(np.abs(y_star).max() / steps[0])) + 1
    bits = np.zeros_like(y_star)
    for grid, symbols, _, _ in descend(y_star, K, steps, sigma):
        p = nested.pmf(grid, sigma, int(grid.alphabet_sizes.max()))
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
        bits -= np.log2(p[np.arange(len(symbols)), symbols])
    lower, upper = descend(y_star, K, steps, sigma)[-1][2:]
    total = interval_mass(np.full_like(y_star, -K * steps[0] / 2), np.full_like(y_star, K * steps[0] / 2), sigma)
    final = -np.log2(interval_mass(lower, upper, sigma) / total)
    np.testing.assert_allclose(bits, final, rtol=0, atol=1e-9)


def test_far_tail_parent_falls_back_to_uniform():
    grid = grid_for([400.0], [401.0], [0.3])
    p = nested.pmf(grid, np.array([0.02]), int(grid.alphabet_sizes.max()))
    edges = nested.boundaries(grid, int(grid.alphabet_sizes.max()))
    np.testing.assert_allclose(p[0], np.diff(edges[0]) / 1.0)


def test_conditional_mean_matches_numeric_integration_in_every_region():
    lower = np.array([-1.0, 0.0, 2.0, 10.0, -11.0, -3.0, 0.5, -0.2])
    upper = np.array([1.0, 1.0, 3.0, 11.0, -10.0, 4.0, 0.5001, 40.0])
    sigma = np.array([1.0, 0.5, 1.0, 1.0, 1.0, 2.0, 0.3, 5.0])
    mean = nested.conditional_mean(lower, upper, sigma)
    for lo, hi, s, m in zip(lower, upper, sigma, mean):
        x = np.linspace(lo, hi, 200_001)
        weight = np.exp(-0.5 * (x / s) ** 2 - 0.5 * (lo / s) ** 2 * (abs(lo) > abs(hi)) - 0.5 * (hi / s) ** 2 * (abs(lo) <= abs(hi)))
        assert m == pytest.approx(np.sum(x * weight) / np.sum(weight), abs=1e-4 * (hi - lo) + 1e-9)
        assert lo <= m <= hi


def test_conditional_mean_of_cells_beyond_any_precision_stays_inside_them():
    mean = nested.conditional_mean(np.array([-40.0, 39.0]), np.array([-39.0, 40.0]), np.array([1.0, 1.0]))
    assert np.all(np.isfinite(mean)) and -40 <= mean[0] <= -39 and 39 <= mean[1] <= 40
