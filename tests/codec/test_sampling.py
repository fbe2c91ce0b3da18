"""The layer samplers of phases 2-3: unbiased estimates of the mean loss over all layers."""
import numpy as np
import pytest

from codec.training.sampling import FLOOR, LayerSampler

LOSSES = [0.01, 0.02, 0.05, 0.1, 0.3, 0.8, 1.6, 2.4]  # a phase-2 ladder: the top layers dominate


def estimate(sampler: LayerSampler, draws: int) -> float:
    """Mean over many steps of the step's loss, as the trainer weights the rows."""
    total = 0.0
    for _ in range(draws):
        draw = sampler.draw()
        rows = np.array([LOSSES[layer] for layer in draw.layers])
        total += rows.mean() if draw.weights is None else float((rows * draw.weights.numpy()).sum())
    return total / draws


@pytest.mark.parametrize("kind", ["uniform", "loss"])
def test_each_sampler_estimates_the_mean_over_all_layers(kind):
    sampler = LayerSampler(kind, 8, 3, np.random.default_rng(0), losses=LOSSES)
    assert estimate(sampler, 20_000) == pytest.approx(np.mean(LOSSES), rel=0.02)


def test_the_loss_sampler_draws_the_top_layers_more_and_every_layer_sometimes():
    p = LayerSampler("loss", 8, 3, np.random.default_rng(0), losses=LOSSES).probabilities()
    assert p.sum() == pytest.approx(1.0)
    assert p[7] > 0.3 and p[:3].sum() < 0.06 and p.min() >= FLOOR / 8  # uniform: 3/8 to layers 0-2
    assert np.all(np.diff(p) > 0)


def test_the_loss_sampler_is_uniform_until_it_has_seen_every_layer():
    sampler = LayerSampler("loss", 8, 3, np.random.default_rng(0))
    assert np.allclose(sampler.probabilities(), 1 / 8)
    for layer in range(8):
        sampler.observe([layer], [LOSSES[layer]])
    assert sampler.losses == LOSSES
    sampler.observe([7], [0.0])
    assert sampler.losses[7] < LOSSES[7]  # a running mean: it follows the newest losses


def test_uniform_draws_are_distinct_sorted_layers_with_plain_mean():
    draw = LayerSampler("uniform", 8, 3, np.random.default_rng(1)).draw()
    assert draw.layers == sorted(set(draw.layers)) and len(draw.layers) == 3 and draw.weights is None


def test_an_unknown_sampler_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown layer sampling 'sorted'"):
        LayerSampler("sorted", 8, 3, np.random.default_rng(0))
