"""Pixel arithmetic the viewer shows, in numpy only (no Qt, no torch): the error map."""
from __future__ import annotations

import numpy as np

ERROR_GAIN = 8  # the default: an error of 32 levels (of 255) is white; PSNR 30 dB is a mid grey on average
ERROR_GAINS = (1, 2, 4, 8, 16, 32)  # the amplifications offered


def white_at(gain: int) -> int:
    """The smallest error (in levels of 255) that the error map shows white at gain."""
    return -(-255 // gain)


def error_map(decoded: np.ndarray, original: np.ndarray, gain: int = ERROR_GAIN) -> np.ndarray:
    """|decoded - original| amplified: per pixel the largest of the three channels' errors times
    gain, clipped to 255, as a grey RGB uint8 picture of the same size."""
    if decoded.shape != original.shape:
        raise ValueError(f"pictures of different sizes: {decoded.shape} and {original.shape}")
    error = np.abs(decoded.astype(np.int16) - original.astype(np.int16)).max(axis=2)
    grey = np.minimum(error * gain, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)
