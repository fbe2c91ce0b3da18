"""Shared fixtures: small real photos cut from the bundled sample (tests never need ../shared)."""
import numpy as np
import pytest
from PIL import Image

from codec.resources import RESOURCES


@pytest.fixture(scope="session")
def sample_rgb() -> np.ndarray:
    """The bundled sample photo (Kodak 23), RGB uint8 (512, 768, 3)."""
    return np.asarray(Image.open(RESOURCES / "sample.png").convert("RGB"))


@pytest.fixture(scope="session")
def small_rgb(sample_rgb) -> np.ndarray:
    """A 96x136 crop of the sample: odd-sized, smaller than two model blocks."""
    return sample_rgb[200:296, 300:436].copy()
