"""Conversions between RGB uint8 arrays and padded model tensors."""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F


def to_tensor(rgb: np.ndarray, multiple: int, device: torch.device) -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> float32 (1, 3, H', W') in [0, 1] on device.

    H' and W' are H and W rounded up to `multiple`; the extra rows and columns repeat the edge
    pixels (cheaper to code than zeros). The caller crops the output back to (H, W).
    """
    h, w = rgb.shape[:2]
    x = torch.tensor(rgb, device=device).permute(2, 0, 1)[None].float().div_(255)
    pad_h, pad_w = -h % multiple, -w % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x


def to_rgb(x_hat: torch.Tensor, height: int, width: int) -> np.ndarray:
    """Model output (1, 3, H', W') -> RGB uint8 (height, width, 3), cropped, clamped, rounded."""
    x = x_hat[0, :, :height, :width].clamp(0, 1).mul(255).round().to(torch.uint8)
    return x.permute(1, 2, 0).cpu().numpy()
