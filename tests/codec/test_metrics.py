"""PSNR and MS-SSIM on small synthetic images."""
import math

import numpy as np
import pytest

from codec.evaluation.metrics import MS_SSIM_MIN_SIDE, PSNR_CAP_DB, ms_ssim, ms_ssim_db, psnr


def smooth_image(size: int, seed: int = 0) -> np.ndarray:
    """A (size, size, 3) uint8 image: colour gradients plus mild noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([100 * (x + y) + 20, 400 * x * (1 - y) + 20, 60 * np.sin(6 * y) + 120], axis=2)
    return np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)


def add_noise(image: np.ndarray, sigma: float, seed: int = 1) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def test_psnr_of_a_known_mse():
    reference = np.full((8, 8, 3), 100, np.uint8)
    test = reference.copy()
    test[..., 0] += 6  # squared error 36 on one channel of three: MSE 12
    assert psnr(reference, test) == pytest.approx(10 * math.log10(255**2 / 12))


def test_psnr_of_identical_images_is_the_cap():
    image = smooth_image(16)
    assert psnr(image, image) == PSNR_CAP_DB


def test_psnr_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        psnr(smooth_image(16), smooth_image(17))


def test_ms_ssim_is_one_for_identical_images():
    image = smooth_image(MS_SSIM_MIN_SIDE)
    assert ms_ssim(image, image) == pytest.approx(1.0, abs=1e-12)
    assert ms_ssim_db(1.0) == math.inf


def test_ms_ssim_decreases_with_noise_and_is_symmetric():
    image = smooth_image(192)
    mild, strong = add_noise(image, 3), add_noise(image, 25)
    assert 1.0 > ms_ssim(image, mild) > ms_ssim(image, strong) > 0.0
    assert ms_ssim(image, strong) == pytest.approx(ms_ssim(strong, image), abs=1e-12)


def test_ms_ssim_handles_odd_sizes():
    image = smooth_image(175)
    assert 0.9 < ms_ssim(image, add_noise(image, 3)) < 1.0


def test_ms_ssim_rejects_images_too_small_for_five_scales():
    image = smooth_image(MS_SSIM_MIN_SIDE - 1)
    with pytest.raises(ValueError, match="ms_ssim needs"):
        ms_ssim(image, image)


def test_ms_ssim_db():
    assert ms_ssim_db(0.99) == pytest.approx(20.0)
