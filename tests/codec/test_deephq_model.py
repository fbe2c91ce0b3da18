"""DeepHQ's learned steps keep the nested quantizer refining at every layer."""
import math

import torch

from codec.models.deephq import LAMBDAS, NEST_RATIO, DeepHQ, DeepHQConfig
from codec.nested import T


def test_steps_are_far_enough_apart_to_split_every_parent():
    model = DeepHQ(DeepHQConfig(N=16, M=8))
    with torch.no_grad():
        model.step_logits.copy_(10 * torch.randn(8, 8))  # any learned values
    steps = model.steps()
    ratios = steps[:-1] / steps[1:]
    assert NEST_RATIO > 1 + 2 * T
    assert torch.all(ratios >= NEST_RATIO * (1 - 1e-6))
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


def test_per_image_layers_match_the_same_layers_decoded_for_the_whole_batch():
    torch.manual_seed(0)
    model = DeepHQ(DeepHQConfig(N=16, M=8)).eval()
    model.init_steps_from_ladder()
    x = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        mixed = model(x, torch.tensor([[6, 0, 3]]))
        shared = model(x, torch.tensor([[6], [0], [3]]))
    for image, row in enumerate((0, 1, 2)):
        assert torch.allclose(mixed["x_hat"][0, image], shared["x_hat"][row, image], atol=1e-5)
        assert torch.allclose(mixed["bpp_y"][0, image], shared["bpp_y"][row, image])
    assert shared["bpp_y"][1, 0] < shared["bpp_y"][0, 0]  # layer 0 costs fewer bits than layer 6


def test_per_image_masks_are_those_of_each_images_layer():
    torch.manual_seed(0)
    model = DeepHQ(DeepHQConfig(N=16, M=8)).eval()
    with torch.no_grad():
        model.mask_exponent.copy_(torch.linspace(40, 0, 8).view(-1, 1).expand(8, 8))
        z_hat = torch.randn(2, 16, 1, 1)
        mixed = model.layer_masks(z_hat, torch.tensor([[1, 7]]))
        shared = model.layer_masks(z_hat, torch.tensor([[1], [7]]))
    assert torch.equal(mixed[0, 0], shared[0, 0]) and torch.equal(mixed[0, 1], shared[1, 1])
