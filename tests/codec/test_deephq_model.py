"""DeepHQ's learned steps keep the nested quantizer refining at every layer."""
import math

import torch

from codec.models.deephq import LAMBDAS, NEST_RATIO, DeepHQ, DeepHQConfig
from codec.coding.nested import T


def test_steps_are_far_enough_apart_to_split_every_parent():
    model = DeepHQ(DeepHQConfig(N=16, M=8))
    with torch.no_grad():
        model.step_logits.copy_(10 * torch.randn(8, 8, generator=torch.Generator().manual_seed(0)))  # any learned values
    steps = model.steps()
    ratios = steps[:-1] / steps[1:]
    assert NEST_RATIO > 1 + 2 * T
    assert torch.all(ratios >= NEST_RATIO * (1 - 1e-5))  # float32 rounding of sums of logs up to about 100: 1.4e-6 here
    assert torch.allclose(steps[-1], model.step_logits[-1].exp())  # the finest layer is free


def test_every_step_parameter_gets_gradients():
    model = DeepHQ(DeepHQConfig(N=16, M=8))
    model.init_steps_from_ladder()
    model.steps()[0].sum().backward()  # layer 0's step depends on all the ratios and Delta_7
    assert torch.all(model.step_logits.grad != 0)


def test_ladder_start_matches_the_nesting_ratio():
    model = DeepHQ(DeepHQConfig(N=16, M=8))
    model.init_steps_from_ladder()
    expected = torch.tensor([(math.exp(0.01) * NEST_RATIO) ** (7 - l) for l in range(8)])
    assert torch.allclose(model.steps()[:, 0], expected, rtol=1e-4)
    assert torch.allclose(model.gains(), model.steps())
    assert LAMBDAS[-1] == 0.2
