"""Differentiable probability models used in training, and their coding tables.

- `FactorizedPrior`: Balle et al. (2018) non-parametric per-channel density for the hyper-latent z.
- `gaussian_likelihood`: probability of a unit-width bin under N(mu, sigma^2), for the latents y.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from codec.models.layers import lower_bound

LIKELIHOOD_MIN = 1e-9
Z_TABLE_PRECISION = 16  # z frequencies sum to 2**16 per channel
Z_TABLE_RADIUS = 128  # z symbols are searched in [-128, 128] when building the table


class FactorizedPrior(nn.Module):
    """Per-channel learned density of z (Balle 2018, appendix 6.1), filters (3, 3, 3).

    The cumulative c(x) is a monotone MLP per channel: softplus weights, tanh non-linearities
    with softplus-free gates. P(bin [x-1/2, x+1/2]) = c(x+1/2) - c(x-1/2).
    """

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0):
        super().__init__()
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for k in range(len(filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[k + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[k + 1], dims[k]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, dims[k + 1], 1) - 0.5))
            if k < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[k + 1], 1)))

    def _logits_cumulative(self, x: torch.Tensor) -> torch.Tensor:
        """x: (C, 1, N) -> logit of the cumulative, (C, 1, N)."""
        for k, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            x = torch.matmul(F.softplus(matrix), x) + bias
            if k < len(self.factors):
                x = x + torch.tanh(self.factors[k]) * torch.tanh(x)
        return x

    def _bin_likelihood(self, values: torch.Tensor) -> torch.Tensor:
        """values: (C, 1, N) -> probability of the unit bin centred on each value."""
        lower = self._logits_cumulative(values - 0.5)
        upper = self._logits_cumulative(values + 0.5)
        sign = -torch.sign(lower + upper).detach()  # evaluate in the accurate tail
        return torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))

    def likelihood(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, C, h, w) real values (noisy in training) -> bin probabilities, same shape."""
        b, c, h, w = z.shape
        values = z.float().permute(1, 0, 2, 3).reshape(c, 1, -1)
        lik = self._bin_likelihood(values).reshape(c, b, h, w).permute(1, 0, 2, 3)
        return lower_bound(lik, LIKELIHOOD_MIN)

    @torch.no_grad()
    def quantized_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Integer coding table of round(z) per channel, computed in float64 on the CPU.

        Returns (offsets (C,) int32: the smallest coded value per channel,
                 freqs (C, K) int32: frequencies summing to 2**16, every entry >= 1 inside the
                 channel's support and 0 past its end).
        """
        params = {k: v.detach().double().cpu() for k, v in self.state_dict().items()}
        prior = FactorizedPrior(self.matrices[0].shape[0]).double()
        prior.load_state_dict(params)
        c = params["matrices.0"].shape[0]
        grid = torch.arange(-Z_TABLE_RADIUS, Z_TABLE_RADIUS + 1, dtype=torch.float64)
        pmf = prior._bin_likelihood(grid.expand(c, 1, -1)).reshape(c, -1).numpy()
        support = pmf > 1e-9
        support[:, Z_TABLE_RADIUS] = True
        first = support.argmax(axis=1)
        last = support.shape[1] - 1 - support[:, ::-1].argmax(axis=1)
        last = np.maximum(last, first + 1)  # the range coder needs at least two symbols
        width = int((last - first).max()) + 1
        freqs = np.zeros((c, width), dtype=np.int64)
        for ch in range(c):
            row = pmf[ch, first[ch] : last[ch] + 1]
            freqs[ch, : row.size] = _quantize_frequencies(row, Z_TABLE_PRECISION)
        return (first - Z_TABLE_RADIUS).astype(np.int32), freqs.astype(np.int32)


def _quantize_frequencies(pmf: np.ndarray, precision: int) -> np.ndarray:
    """Positive integer frequencies summing to 2**precision, close to pmf (1-D)."""
    total = 1 << precision
    freqs = np.maximum(1, np.floor(pmf / pmf.sum() * (total - pmf.size)).astype(np.int64))
    freqs[np.argmax(freqs)] += total - freqs.sum()
    return freqs


def std_normal_cdf_torch(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x * (2**-0.5))


def gaussian_likelihood(y: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor, sigma_min: float = 0.11) -> torch.Tensor:
    """P(unit bin around y) under N(mu, sigma^2), all tensors broadcastable, computed in fp32.

    Uses the symmetric form Phi((1/2 - |y - mu|)/s) - Phi((-1/2 - |y - mu|)/s) for accuracy.
    """
    s = lower_bound(sigma.float(), sigma_min)
    v = torch.abs(y.float() - mu.float())
    lik = std_normal_cdf_torch((0.5 - v) / s) - std_normal_cdf_torch((-0.5 - v) / s)
    return lower_bound(lik, LIKELIHOOD_MIN)
