"""DeepHQ's learned steps keep the nested quantizer refining at every layer."""
import torch

from codec.models.deephq import LAMBDAS, NEST_RATIO, DeepHQ, DeepHQConfig
from codec.nested import T


def test_steps_are_far_enough_apart_to_split_every_parent():
    model = DeepHQ(DeepHQConfig(N=16, M=8))
    with torch.no_grad():
        model.log_delta.copy_(torch.randn(8, 8))  # any learned values, even increasing ones
    steps = model.steps()
    ratios = steps[:-1] / steps[1:]
    assert NEST_RATIO > 1 + 2 * T
    assert torch.all(ratios >= NEST_RATIO * (1 - 1e-6))
    assert torch.equal(steps[-1], model.log_delta[-1].exp())  # the finest layer is free


def test_constraint_passes_gradients_to_the_binding_step():
    model = DeepHQ(DeepHQConfig(N=16, M=8))
    model.steps()[0].sum().backward()  # all log_delta 0: layer 0 = 1.65^7 * Delta_7
    grad = model.log_delta.grad
    assert torch.all(grad[-1] > 0) and torch.all(grad[:-1] == 0)


def test_ladder_start_matches_the_nesting_ratio():
    model = DeepHQ(DeepHQConfig(N=16, M=8))
    model.init_steps_from_ladder()
    expected = torch.tensor([NEST_RATIO ** (7 - l) for l in range(8)])
    assert torch.allclose(model.steps()[:, 0], expected, rtol=1e-5)
    assert LAMBDAS[-1] == 0.2
