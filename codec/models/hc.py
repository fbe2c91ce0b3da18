"""HC: Hierarchical Image Compression Framework (Ge, Wang, Shi, Gao), Strata's concrete version.

Hierarchical latents from three depths of the analysis transform, each entropy-coded with a
Gaussian whose parameters come from the deeper ones (Hierarchical Conditional Entropy, HCE):

    x -> g_a stages -> y_2 (4 ch, 1/4)  y_3 (16 ch, 1/8)  y_4 (M ch, 1/16) -> h_a -> z (1/64)
    p(y_4 | z_hat)        = N(mu_4, sigma_4^2),   (mu_4, sigma_4) = h_s(z_hat)
    p(y_3 | y_4)          = N(mu_3, sigma_3^2),   (mu_3, sigma_3) = f_3(y_4_hat)
    p(y_2 | y_3, y_4)     = N(mu_2, sigma_2^2),   (mu_2, sigma_2) = f_2(y_3_hat, features of y_4_hat)
    y_hat = round(y - mu) + mu   (residual quantization, the paper's LC module; `residual=False`
                                  gives plain latent rounding y_hat = round(y) for comparison)
    x_hat = g_s(y_4_hat, merged with y_3_hat at 1/8 and y_2_hat at 1/4)

Progressive view: layer 0 = z + y_4, layer 1 = y_3, layer 2 = y_2. A missing shallower latent is
replaced by its predicted mean (y_3_hat = mu_3, then y_2_hat = mu_2). With `hierarchical=False`
the model is a plain mean-scale hyperprior of the same width (the paper's baseline).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from codec.models.entropy_models import FactorizedPrior, gaussian_likelihood
from codec.models.layers import GDN, conv, deconv, float32_output, ste_round

Y2_CHANNELS, Y3_CHANNELS = 4, 16
CONDITION_WIDTH = 64  # width of the HCE parameter nets f_3 and f_2


@dataclass(frozen=True)
class HCConfig:
    """N: transform width, M: channels of y_4; lmbda: the rate-distortion weight it was trained for."""

    N: int = 128
    M: int = 192
    lmbda: float = 0.013
    residual: bool = True
    hierarchical: bool = True

    @property
    def downsampling(self) -> int:
        return 64

    @property
    def layers(self) -> int:
        return 3 if self.hierarchical else 1


class HC(nn.Module):
    """HC with a GDN backbone and a mean-scale hyperprior on the deepest latent."""

    def __init__(self, config: HCConfig = HCConfig()):
        super().__init__()
        self.config = config
        N, M, W = config.N, config.M, CONDITION_WIDTH
        self.g_a = nn.ModuleList([
            nn.Sequential(conv(3, N), GDN(N), conv(N, N), GDN(N)),  # -> 1/4
            nn.Sequential(conv(N, N), GDN(N)),  # -> 1/8
            conv(N, M),  # -> 1/16: y_4
        ])
        self.g_s = nn.ModuleList([
            nn.Sequential(deconv(M, N), GDN(N, inverse=True)),  # y_4 -> 1/8
            nn.Sequential(deconv(N, N), GDN(N, inverse=True)),  # 1/8 -> 1/4
            nn.Sequential(deconv(N, N), GDN(N, inverse=True), deconv(N, 3)),  # 1/4 -> 1
        ])
        self.h_a = nn.Sequential(conv(M, N, 3, 1), nn.LeakyReLU(), conv(N, N), nn.LeakyReLU(), conv(N, N))
        self.h_s = nn.Sequential(
            deconv(N, M), nn.LeakyReLU(), deconv(M, M * 3 // 2), nn.LeakyReLU(), conv(M * 3 // 2, 2 * M, 3, 1)
        )
        self.z_prior = FactorizedPrior(N)
        if config.hierarchical:
            self.to_y3 = conv(N, Y3_CHANNELS, 3, 1)
            self.to_y2 = conv(N, Y2_CHANNELS, 3, 1)
            self.f_3 = nn.Sequential(deconv(M, W), nn.LeakyReLU())
            self.f_3_params = conv(W, 2 * Y3_CHANNELS, 3, 1)
            self.f_2 = nn.Sequential(deconv(W + Y3_CHANNELS, W), nn.LeakyReLU())
            self.f_2_params = conv(W, 2 * Y2_CHANNELS, 3, 1)
            self.merge_3 = _identity_merge(N, Y3_CHANNELS)
            self.merge_2 = _identity_merge(N, Y2_CHANNELS)

    @staticmethod
    def state_from_deephq(state: dict) -> dict:
        """Rename a DeepHQ state dict's backbone, hyperprior and z prior to HC's names (warm start:
        the y_3 / y_2 branches, the HCE nets and the merges keep their initialisation)."""
        renames = {
            **{f"g_a.{i}.": f"g_a.0.{i}." for i in range(4)}, "g_a.4.": "g_a.1.0.", "g_a.5.": "g_a.1.1.", "g_a.6.": "g_a.2.",
            "g_s.0.": "g_s.0.0.", "g_s.1.": "g_s.0.1.", "g_s.2.": "g_s.1.0.", "g_s.3.": "g_s.1.1.",
            "g_s.4.": "g_s.2.0.", "g_s.5.": "g_s.2.1.", "g_s.6.": "g_s.2.2.", "h_s_params.": "h_s.4.",
            "h_a.": "h_a.", "h_s.": "h_s.", "z_prior.": "z_prior.",
        }
        out = {}
        for name, value in state.items():
            prefix = next((p for p in renames if name.startswith(p)), None)
            if prefix is not None:
                out[renames[prefix] + name[len(prefix):]] = value
        return out

    # ---- the equations, shared by training and the codec ------------------------------------
    def analysis(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """x (B, 3, H, W) -> y_4 (B, M, H/16, W/16), y_3 (B, 16, H/8, W/8), y_2 (B, 4, H/4, W/4)."""
        f4 = self.g_a[0](x)
        f8 = self.g_a[1](f4)
        y4 = self.g_a[2](f8)
        if not self.config.hierarchical:
            return y4, None, None
        return y4, self.to_y3(f8), self.to_y2(f4)

    @staticmethod
    def _gaussian(params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, sigma_raw = params.chunk(2, dim=1)
        return mu, F.softplus(sigma_raw)

    def params_4(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu_4, sigma_4) = h_s(z_hat)."""
        return self._gaussian(self.h_s(z_hat))

    def params_3(self, y4_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mu_3, sigma_3) = f_3(y_4_hat), plus the features f_2 reuses."""
        features = self.f_3(y4_hat)
        return (*self._gaussian(self.f_3_params(features)), features)

    def params_2(self, y3_hat: torch.Tensor, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu_2, sigma_2) = f_2(y_3_hat, features of y_4_hat)."""
        return self._gaussian(self.f_2_params(self.f_2(torch.cat([features, y3_hat.to(features.dtype)], dim=1))))

    def synthesis(self, y4_hat: torch.Tensor, y3_hat: torch.Tensor | None, y2_hat: torch.Tensor | None) -> torch.Tensor:
        """Merge each shallower latent at its resolution: -> x_hat (B, 3, H, W)."""
        h = self.g_s[0](y4_hat)
        if self.config.hierarchical:
            h = self.merge_3(torch.cat([h, y3_hat.to(h.dtype)], dim=1))
        h = self.g_s[1](h)
        if self.config.hierarchical:
            h = self.merge_2(torch.cat([h, y2_hat.to(h.dtype)], dim=1))
        return float32_output(self.g_s[2], h)

    def quantize(self, y: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
        """Residual round(y - mu) + mu, or plain round(y); straight-through gradient."""
        return ste_round(y - mu) + mu if self.config.residual else ste_round(y)

    @torch.no_grad()
    def coding_tables(self) -> dict[str, torch.Tensor]:
        offsets, freqs = self.z_prior.quantized_table()
        return {"z_offsets": torch.from_numpy(offsets), "z_freqs": torch.from_numpy(freqs)}

    # ---- training-time forward -----------------------------------------------------------------
    def forward(self, x: torch.Tensor, drop: float = 0.0, synthesize: bool = True) -> dict:
        """x (B, 3, H, W) -> the output of every model (codec.models): x_hat (1, B, 3, H, W),
        bpp {"z", "y4", "y3", "y2": ()} (bits per pixel of each latent) and lmbda (1,).

        drop: probability of replacing y_2 (and, half as often, also y_3) by its predicted mean
        in the synthesis, so partial decodes look good; their rates are still counted, each
        conditioned on the coded deeper latents as in the codec. synthesize=False skips g_s
        (rate-only training of the entropy models): x_hat is None.
        """
        B, _, H, W = x.shape
        y4, y3, y2 = (t.float() if t is not None else None for t in self.analysis(x))
        z = self.h_a(y4).float()
        z_hat = ste_round(z)
        pixels = B * H * W
        bpp = {"z": -torch.log2(self.z_prior.likelihood(self._rate_proxy(z, z_hat))).sum() / pixels}
        mu4, sigma4 = (t.float() for t in self.params_4(z_hat))
        y4_hat = self.quantize(y4, mu4)
        bpp["y4"] = self._bits(y4, y4_hat, mu4, sigma4) / pixels
        y3_hat = y2_hat = None
        if self.config.hierarchical:
            mu3, sigma3, features = self.params_3(y4_hat)
            mu3, sigma3 = mu3.float(), sigma3.float()
            y3_hat = self.quantize(y3, mu3)
            bpp["y3"] = self._bits(y3, y3_hat, mu3, sigma3) / pixels
            mu2, sigma2 = (t.float() for t in self.params_2(y3_hat, features))
            y2_hat = self.quantize(y2, mu2)
            bpp["y2"] = self._bits(y2, y2_hat, mu2, sigma2) / pixels
            keep3, keep2 = self._keep_masks(B, drop, x.device)
            # a partial decode lacks y_3 (then also y_2): its mean stands in, and y_2's mean is
            # the one the decoder predicts from what it has
            mu2_partial = self.params_2(mu3, features)[0].float() if drop > 0 and self.training else mu2
            y2_mean = keep3 * mu2 + (1 - keep3) * mu2_partial
            y3_hat, y2_hat = keep3 * y3_hat + (1 - keep3) * mu3, keep2 * y2_hat + (1 - keep2) * y2_mean
        lmbda = torch.tensor([self.config.lmbda], device=x.device)
        x_hat = self.synthesis(y4_hat, y3_hat, y2_hat).float()[None] if synthesize else None
        return {"x_hat": x_hat, "bpp": bpp, "lmbda": lmbda}

    def _bits(self, y, y_hat, mu, sigma) -> torch.Tensor:
        """-log2 P(y_hat) under N(mu, sigma^2), summed (noisy y in training)."""
        return -torch.log2(gaussian_likelihood(self._rate_proxy(y, y_hat), mu, sigma)).sum()

    def _rate_proxy(self, value: torch.Tensor, rounded: torch.Tensor) -> torch.Tensor:
        return value + torch.rand_like(value) - 0.5 if self.training else rounded

    def _keep_masks(self, batch: int, drop: float, device) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample 0/1 masks (B, 1, 1, 1): keep y_3, keep y_2 (y_2 dropped whenever y_3 is)."""
        if not self.training or drop <= 0:
            one = torch.ones(batch, 1, 1, 1, device=device)
            return one, one
        u = torch.rand(batch, 1, 1, 1, device=device)
        return (u >= drop / 2).float(), (u >= drop).float()


def _identity_merge(channels: int, extra: int) -> nn.Conv2d:
    """3x3 conv (channels + extra -> channels) that starts as the identity on the first channels,
    so a warm-started synthesis initially ignores the new latent."""
    merge = conv(channels + extra, channels, 3, 1)
    with torch.no_grad():
        merge.weight.zero_()
        merge.weight[:, :channels, 1, 1] = torch.eye(channels)
        merge.bias.zero_()
    return merge


def training_options(cfg, layers: list[int] | None) -> dict:
    """The forward's options for a training step under cfg (a codec.training.train.TrainConfig):
    how often shallower latents are dropped. HC codes all its latents at once: no layers."""
    return {"drop": cfg.drop}
