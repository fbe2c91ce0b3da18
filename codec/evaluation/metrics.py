"""Image quality metrics on 8-bit RGB arrays: PSNR-RGB and MS-SSIM (Wang et al. 2003)."""
from __future__ import annotations

import contextlib
import math
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

PSNR_CAP_DB = 100.0
"""PSNR returned for identical images (MSE 0), and the largest value psnr() ever returns."""

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
K1, K2 = 0.01, 0.03
PEAK = 255.0
MS_SSIM_MIN_SIDE = (WINDOW_SIZE - 1) * 2 ** (len(MS_SSIM_WEIGHTS) - 1) + 1
"""Smallest height and width ms_ssim() accepts: the coarsest scale must still hold one window."""


def _check_pair(reference: np.ndarray, test: np.ndarray) -> None:
    if reference.shape != test.shape or reference.ndim != 3 or reference.shape[2] != 3:
        raise ValueError(f"expected two (H, W, 3) arrays of one shape, got {reference.shape}, {test.shape}")


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR-RGB in dB of two uint8 (H, W, 3) arrays: MSE over all pixels and channels, peak 255.

    Identical images give PSNR_CAP_DB (100 dB) instead of infinity; results are capped there.
    """
    _check_pair(reference, test)
    mse = np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2)
    if mse == 0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, 10.0 * math.log10(PEAK**2 / mse))


def _gaussian_window() -> torch.Tensor:
    """The 1-D Gaussian window (WINDOW_SIZE,), summing to 1."""
    x = torch.arange(WINDOW_SIZE, dtype=torch.float64) - (WINDOW_SIZE - 1) / 2
    g = torch.exp(-(x**2) / (2 * WINDOW_SIGMA**2))
    return (g / g.sum()).to(torch.float32)


def _blur(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' Gaussian filtering of (N, C, H, W): each side shrinks by WINDOW_SIZE - 1."""
    c = x.shape[1]
    x = F.conv2d(x, window.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, window.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _ssim_terms(
    x: torch.Tensor, y: torch.Tensor, window: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean SSIM and mean contrast-structure term, each (C,), of (1, C, H, W) images."""
    c1, c2 = (K1 * PEAK) ** 2, (K2 * PEAK) ** 2
    moments = _blur(torch.cat([x, y, x * x, y * y, x * y], dim=1), window)  # one filtering pass
    mu_x, mu_y, xx, yy, xy = moments.chunk(5, dim=1)
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    return (luminance * cs).mean(dim=(0, 2, 3)), cs.mean(dim=(0, 2, 3))


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) to float32 (1, 3, H, W) in [0, 255]."""
    return torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1).unsqueeze(0)


def _downsample(x: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling; odd sides are padded (the padding is not counted in the average)."""
    pad = (x.shape[2] % 2, x.shape[3] % 2)
    return F.avg_pool2d(x, kernel_size=2, padding=pad, count_include_pad=False)


def _scale_terms(x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """Per-channel (C,) terms of each scale: contrast-structure, then SSIM at the coarsest."""
    window = _gaussian_window()
    coarsest = len(MS_SSIM_WEIGHTS) - 1
    terms = []
    for scale in range(coarsest + 1):
        if scale > 0:
            x, y = _downsample(x), _downsample(y)
        ssim, cs = _ssim_terms(x, y, window)
        terms.append(ssim if scale == coarsest else cs)
    return terms


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run torch ops on one CPU thread, restoring the caller's setting afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def ms_ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """MS-SSIM (Wang et al. 2003) of two uint8 (H, W, 3) RGB arrays, in [0, 1], 1 for identical.

    5 scales with the standard weights, 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03, data
    range 255, 2x2 average-pool downsampling (see _downsample); computed in float32 per RGB
    channel and averaged over channels (as pytorch_msssim and CompressAI do). Negative per-scale
    terms are clamped to 0. Runs on one CPU thread: these small convolutions gain little from
    more, and other threads of a busy machine can slow them down many times over.
    Raises ValueError for images with a side below MS_SSIM_MIN_SIDE (161 px): fewer scales would
    be a different metric, so none are dropped.
    """
    _check_pair(reference, test)
    if min(reference.shape[:2]) < MS_SSIM_MIN_SIDE:
        raise ValueError(f"ms_ssim needs H and W >= {MS_SSIM_MIN_SIDE}, got {reference.shape[:2]}")
    with _one_torch_thread():
        terms = _scale_terms(_to_tensor(reference), _to_tensor(test))
    weights = torch.tensor(MS_SSIM_WEIGHTS, dtype=torch.float64).unsqueeze(1)
    per_channel = torch.prod(torch.relu(torch.stack(terms).double()) ** weights, dim=0)
    return float(per_channel.mean())


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on the usual dB scale, -10 log10(1 - value); identical images give infinity."""
    return math.inf if value >= 1.0 else -10.0 * math.log10(1.0 - value)
