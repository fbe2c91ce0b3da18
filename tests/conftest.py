"""Shared fixtures: small real photos cut from the bundled sample (tests never need ../shared)."""
import numpy as np
import pytest
from PIL import Image

from codec.codecs import deephq
from codec.resources import RESOURCES


@pytest.fixture(scope="session", autouse=True)
def partitioned_small_layers():
    """The suite's pictures are small, so their layers fall far below deephq.MIN_CHUNK_BYTES and
    would be coded as one chunk each: they are encoded in PARTITIONS chunks a layer regardless, so
    the partitioned stream is what the suite tests (the tests of the rule set the minimum)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(deephq, "MIN_CHUNK_BYTES", 0)
        yield


@pytest.fixture(scope="session")
def sample_rgb() -> np.ndarray:
    """The bundled sample photo (Kodak 23), RGB uint8 (512, 768, 3)."""
    return np.asarray(Image.open(RESOURCES / "sample.png").convert("RGB"))


@pytest.fixture(scope="session")
def small_rgb(sample_rgb) -> np.ndarray:
    """A 96x136 crop of the sample: odd-sized, smaller than two model blocks."""
    return sample_rgb[200:296, 300:436].copy()
