"""Building blocks shared by the codecs: GDN and strided (transposed) convolutions."""
from __future__ import annotations

import torch
from torch import nn


class _LowerBound(torch.autograd.Function):
    """max(x, bound) whose gradient still flows when it pushes x upward (Balle et al.)."""

    @staticmethod
    def forward(ctx, x, bound):
        ctx.save_for_backward(x, bound)
        return torch.max(x, bound)

    @staticmethod
    def backward(ctx, grad):
        x, bound = ctx.saved_tensors
        pass_through = (x >= bound) | (grad < 0)
        return pass_through.to(grad.dtype) * grad, None


def lower_bound(x: torch.Tensor, bound: float) -> torch.Tensor:
    return _LowerBound.apply(x, torch.tensor(bound, dtype=x.dtype, device=x.device))


class GDN(nn.Module):
    """Generalized divisive normalization: y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2).

    With inverse=True it is IGDN (multiplies instead). beta and gamma stay non-negative through
    the square reparametrisation of Balle et al. (2018).
    """

    _pedestal = 2.0**-36

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6):
        super().__init__()
        self.inverse = inverse
        self._beta_bound = (beta_min + self._pedestal) ** 0.5
        self.beta = nn.Parameter(torch.sqrt(torch.ones(channels) + self._pedestal))
        self.gamma = nn.Parameter(torch.sqrt(0.1 * torch.eye(channels) + self._pedestal))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = lower_bound(self.beta, self._beta_bound) ** 2 - self._pedestal
        gamma = lower_bound(self.gamma, self._pedestal**0.5) ** 2 - self._pedestal
        c = gamma.shape[0]
        norm = nn.functional.conv2d(x * x, gamma.to(x.dtype).view(c, c, 1, 1), beta.to(x.dtype))
        return x * torch.sqrt(norm) if self.inverse else x * torch.rsqrt(norm)


def conv(cin: int, cout: int, kernel: int = 5, stride: int = 2) -> nn.Conv2d:
    """Same-padded convolution; stride 2 halves H and W."""
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)


def deconv(cin: int, cout: int, kernel: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    """Transposed convolution that multiplies H and W by `stride` exactly."""
    return nn.ConvTranspose2d(
        cin, cout, kernel, stride=stride, padding=kernel // 2, output_padding=stride - 1
    )


def float32_output(layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """layers(x) with the last layer (the 3-channel picture) in float32 even under bf16 autocast.

    bf16 keeps 8 bits of mantissa: rounding the output pixels to it cost DeepHQ 0.05-0.08 dB at
    40 dB (Kodak, BENCHMARKS.md), while the layers before it lose under 0.02 dB in bf16.
    """
    x = layers[:-1](x)
    with torch.autocast(x.device.type, enabled=False):
        return layers[-1](x.float())


def ste_round(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, identity gradient in the backward pass."""
    return x + (torch.round(x) - x).detach()
