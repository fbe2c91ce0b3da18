"""DeepHQ: deep hierarchical quantization for progressive image coding (Lee, Jeong, Kim).

One model, one bitstream, L = 8 quality layers. Strata's "DeepHQ-lite" base is a mean-scale
hyperprior without autoregressive context (Minnen et al. 2018), so the Gaussian N(mu, sigma^2) of
every latent element depends on z_hat only and is shared by all layers (notes, section 1):

    x -> g_a -> y -> h_a -> z -> [Q] -> z_hat -> h_s -> (mu, sigma, support)
                                      z_hat -> importance net -> m -> masks_l = OR_{j<=l} [m^gamma_j > 1/2]
    y* = y - mu -> nested quantizer with steps Delta_l (codec/coding/nested.py) -> y~*_l
    u_l = (y~*_l + mu) / Delta_l * Gamma_l ;  u_l += 1/2 tanh(LRP([support, u_l])) ;  x_hat_l = g_s(u_l)

Training never runs the nested quantizer (notes, section 5): layer l quantizes y/Delta_l
independently, with additive noise for the rate and a mean-centred straight-through round for
the reconstruction. Phase 1 trains the base (Delta = Gamma = 1) at the top of the lambda ladder,
phase 2 adds the learned steps and gains with the 8-lambda ladder, phase 3 the masks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from codec.models.entropy_models import FactorizedPrior, gaussian_likelihood
from codec.models.layers import GDN, conv, deconv, float32_output, ste_round

# Nested cells split only when the parent is at least (1 + 2T) = 1.6 steps wide (codec/coding/nested.py), so
# each layer's step is at least NEST_RATIO times finer than the previous one.
# [DEVIATION] The paper's ladder (0.0025 ... 0.2) asks for step ratios of about 1.41, which refine
# only every other layer; Strata's ladder keeps the top lambda and spaces the others so that the
# high-rate optimal steps sqrt(lambda_7 / lambda_l) are exactly NEST_RATIO apart. At ratio 2 a
# parent splits into cells of (1/2, 1, 1/2) steps and the nested partitions stay close to the
# uniform single-rate grids: measured cost of progressiveness +4% against +12% at ratio 1.65
# (docs/TRAINING.md).
NEST_RATIO = 2.0
LAMBDAS = tuple(0.2 * NEST_RATIO ** (-2 * (7 - l)) for l in range(8))
SIGMA_MIN_SCALED = 0.11  # lower bound of sigma / Delta_l in the training likelihood
IMPORTANCE_BIAS = 5.0  # m starts at sigmoid(5) ~ 0.993: almost everything selected


@dataclass(frozen=True)
class DeepHQConfig:
    """Network sizes. N: transform width, M: latent channels, layers: quality layers."""

    N: int = 128
    M: int = 192
    layers: int = 8
    selective: bool = False  # phase-3 weights: code only the elements the masks select

    @property
    def downsampling(self) -> int:
        """Pixels per z element along each axis; images are padded to a multiple of this."""
        return 64


def layer_steps(step_logits: torch.Tensor, ratio: float = NEST_RATIO) -> torch.Tensor:
    """Delta_l (L, M) from the logits s (L, M), each step at least `ratio` times the next one.

    [DEVIATION] The paper learns log Delta_l freely. Strata learns the finest step and the
    ratios: Delta_7 = exp(s_7), Delta_l = Delta_{l+1} * ratio * exp(softplus(s_l)), so every
    layer of the nested quantizer refines every element and no parameter is ever dead.
    """
    log_ratio = math.log(ratio) + F.softplus(step_logits[:-1])
    above = torch.flip(torch.cumsum(torch.flip(log_ratio, [0]), 0), [0])  # sum over j >= l
    return torch.cat([above + step_logits[-1:], step_logits[-1:]]).exp()


class DeepHQ(nn.Module):
    """DeepHQ-lite: GDN mean-scale hyperprior + learned layer steps, gains and masks."""

    def __init__(self, config: DeepHQConfig = DeepHQConfig()):
        super().__init__()
        self.config = config
        N, M, L = config.N, config.M, config.layers
        self.g_a = nn.Sequential(
            conv(3, N), GDN(N), conv(N, N), GDN(N), conv(N, N), GDN(N), conv(N, M)
        )
        self.g_s = nn.Sequential(
            deconv(M, N), GDN(N, inverse=True), deconv(N, N), GDN(N, inverse=True),
            deconv(N, N), GDN(N, inverse=True), deconv(N, 3),
        )
        self.h_a = nn.Sequential(
            conv(M, N, 3, 1), nn.LeakyReLU(), conv(N, N), nn.LeakyReLU(), conv(N, N)
        )
        self.h_s = nn.Sequential(
            deconv(N, M), nn.LeakyReLU(), deconv(M, M * 3 // 2), nn.LeakyReLU()
        )
        self.h_s_params = conv(M * 3 // 2, 2 * M, 3, 1)
        self.lrp = nn.Sequential(
            conv(M * 3 // 2 + M, M, 3, 1), nn.GELU(), conv(M, M, 3, 1)
        )
        self.importance = nn.Sequential(
            deconv(N, N, 3), nn.ReLU(), deconv(N, M * 3 // 2, 3), nn.ReLU(), conv(M * 3 // 2, M, 3, 1)
        )
        self.z_prior = FactorizedPrior(N)
        # Per-layer per-channel steps (Delta, through steps()), log decoder gain (Gamma) and mask
        # exponent (gamma). All-zero step_logits mean "not learned yet" (phase 1).
        self.step_logits = nn.Parameter(torch.zeros(L, M))
        self.log_gain = nn.Parameter(torch.zeros(L, M))
        self.mask_exponent = nn.Parameter(torch.ones(L, M))

    # ---- pieces shared by training and the codec -------------------------------------------
    def entropy_parameters(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z_hat (B, N, h/4, w/4) -> mu, sigma (B, M, h, w) and support features (B, 3M/2, h, w)."""
        support = self.h_s(z_hat)
        mu, sigma_raw = self.h_s_params(support).chunk(2, dim=1)
        return mu, F.softplus(sigma_raw), support

    def importance_map(self, z_hat: torch.Tensor) -> torch.Tensor:
        """Importance m in (0, 1), (B, M, h, w)."""
        return torch.sigmoid((self.importance(z_hat) + IMPORTANCE_BIAS).clamp(-20, 20))

    def steps(self) -> torch.Tensor:
        """Delta_l, (L, M), positive, each at least NEST_RATIO times the next layer's step."""
        return layer_steps(self.step_logits)

    def gains(self) -> torch.Tensor:
        """Gamma_l, (L, M), positive."""
        return self.log_gain.exp()

    def selection_probability(self, m: torch.Tensor, layer: int) -> torch.Tensor:
        """p_l = m^gamma_l with gamma_l >= 0, (B, M, h, w)."""
        exponent = self.mask_exponent[layer].clamp_min(0).view(1, -1, 1, 1)
        return m.pow(exponent.to(m.dtype))

    def synthesize(self, u: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
        """Gain-domain latent u (B, M, h, w) -> LRP refinement -> g_s -> image (B, 3, 16h, 16w)."""
        u = u + 0.5 * torch.tanh(self.lrp(torch.cat([support.to(u.dtype), u], dim=1)))
        return float32_output(self.g_s, u)

    @torch.no_grad()
    def init_steps_from_ladder(self) -> None:
        """Phase-2 start from a phase-1 base: Delta_l = Gamma_l = sqrt(lambda_top / lambda_l).

        This is the high-rate optimum of a uniform quantizer for each lambda (NEST_RATIO^(7 - l)
        on Strata's ladder, kept 1% above it as softplus cannot reach 0); with Gamma = Delta the
        synthesis sees the phase-1 latent domain at every layer.
        """
        ladder = torch.tensor(LAMBDAS[: self.config.layers], dtype=torch.float64)
        excess = (0.5 * torch.log(ladder[1:] / ladder[:-1]) - math.log(NEST_RATIO)).clamp_min(0.01)
        logits = torch.cat([torch.log(torch.expm1(excess)), torch.zeros(1, dtype=torch.float64)])
        self.step_logits.copy_(logits.float().view(-1, 1).expand_as(self.step_logits))
        self.log_gain.copy_(self.steps().log())

    @torch.no_grad()
    def coding_tables(self) -> dict[str, torch.Tensor]:
        """Integer z table and float64 steps Delta_l (L, M), fixed once at export, and the
        decoder's reconstruction offsets a_l (L,): 0 here (each value at its cell's midpoint, as
        trained), measured on the exported weights by scripts/reconstruction_offset.py --write."""
        offsets, freqs = self.z_prior.quantized_table()
        return {
            "z_offsets": torch.from_numpy(offsets),
            "z_freqs": torch.from_numpy(freqs),
            "steps": self.steps().detach().cpu().double(),
            "reconstruction_offsets": torch.zeros(self.config.layers, dtype=torch.float64),
        }

    # ---- training-time forward passes (notes, section 5) -------------------------------------
    def forward(self, x: torch.Tensor, layers: list[int] | None = None, use_masks: bool = False,
                synthesize: bool = True) -> dict:
        """Independent per-layer quantization of y / Delta_l for the chosen layers.

        x: (B, 3, H, W) in [0, 1]. layers=None is phase 1: one layer with Delta = Gamma = 1, at
        the top of the lambda ladder. Returns the output of every model (codec.models): x_hat
        (S, B, 3, H, W), bpp {"y": (S,), "z": ()} and lmbda (S,), one row per layer (lambda_l).
        In eval mode the rates are those of the rounded values instead of the noisy ones.
        synthesize=False skips g_s (rate-only training of the hyper path): x_hat is None.
        """
        B, _, H, W = x.shape
        y = self.g_a(x).float()
        z = self.h_a(y).float()
        z_hat = ste_round(z)
        bpp_z = -torch.log2(self.z_prior.likelihood(self._rate_proxy(z, z_hat))).sum() / (B * H * W)
        mu, sigma, support = self.entropy_parameters(z_hat)
        mu, sigma = mu.float(), sigma.float()
        if layers is None:
            delta = gain = torch.ones(1, 1, y.shape[1], 1, 1, device=x.device)
        else:
            delta = self.steps()[layers].view(len(layers), 1, -1, 1, 1)
            gain = self.gains()[layers].view(len(layers), 1, -1, 1, 1)
        ys, ms, ss = y / delta, mu / delta, sigma / delta  # (S, B, M, h, w)
        y_hat = ste_round(ys - ms) + ms
        lik = gaussian_likelihood(self._rate_proxy(ys, y_hat), ms, ss, SIGMA_MIN_SCALED)
        bits = -torch.log2(lik)
        if use_masks:
            mask = self.layer_masks(z_hat, layers)
            y_hat = mask * y_hat + (1 - mask) * ms
            bits = mask * bits
        bpp = {"y": bits.flatten(1).sum(1) / (B * H * W), "z": bpp_z}
        lmbda = torch.tensor([LAMBDAS[l] for l in (layers or [len(LAMBDAS) - 1])], device=x.device)
        if not synthesize:
            return {"x_hat": None, "bpp": bpp, "lmbda": lmbda}
        S = y_hat.shape[0]
        u = (y_hat * gain).flatten(0, 1)
        x_hat = self.synthesize(u, support.repeat(S, 1, 1, 1))
        return {"x_hat": x_hat.float().view(S, B, *x.shape[1:]), "bpp": bpp, "lmbda": lmbda}

    def _rate_proxy(self, value: torch.Tensor, rounded: torch.Tensor) -> torch.Tensor:
        """Additive uniform noise in training (Balle et al.); the rounded value in eval."""
        return value + torch.rand_like(value) - 0.5 if self.training else rounded

    def layer_masks(self, z_hat: torch.Tensor, layers: list[int]) -> torch.Tensor:
        """Cumulative masks of the chosen layers, (S, B, M, h, w): sampled in training, thresholded in eval."""
        m = self.importance_map(z_hat).float()
        cumulative, masks = torch.zeros_like(m), []
        for layer in range(max(layers) + 1):
            p = self.selection_probability(m, layer)
            if self.training:  # Bernoulli(p) with a straight-through gradient
                sample = p + (torch.floor(torch.rand_like(p) + p) - p).detach()
            else:
                sample = (p > 0.5).float()
            cumulative = cumulative + (1 - cumulative) * sample
            masks.append(cumulative)
        return torch.stack([masks[l] for l in layers])


def training_options(cfg, layers: list[int] | None) -> dict:
    """The forward's options for a training step under cfg (a codec.training.train.TrainConfig):
    the layers chosen for the step (None in phase 1), the masks from phase 3 on."""
    return {"layers": layers, "use_masks": cfg.phase >= 3}
