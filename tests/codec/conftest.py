"""Fixtures of the codec tests: a small tile of the sample and its DeepHQ file."""
import numpy as np
import pytest

from codec import api


@pytest.fixture(scope="module")
def tile(sample_rgb) -> np.ndarray:
    """A 48x64 crop of the sample, RGB uint8."""
    return sample_rgb[100:148, 200:264].copy()


@pytest.fixture(scope="module")
def data(tile) -> bytes:
    """The tile encoded with the shipped DeepHQ weights, a complete .strata file."""
    return api.encode(tile, device="cpu")
