"""Helpers of the viewer tests: small test images, HC availability, running coroutines."""
import asyncio
import random

import numpy as np
import pytest
from PySide6.QtTest import QTest

from codec import registry
from codec.container import Header, write_container
from viewer.state.session import Layer

HC_QUALITIES = registry.spec("hc").installed_model_ids()
needs_hc = pytest.mark.skipif(not HC_QUALITIES, reason="HC weights (resources/hc_q*.pt) are not installed")
TIMEOUT_MS = 60_000


def make_image(width=128, height=96, seed=0) -> np.ndarray:
    """A gradient with texture: RGB uint8."""
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    rgb = np.stack([x * 255 / width, y * 255 / height, (x + y) * 128 / (width + height)], axis=-1)
    rgb = rgb + 24 * np.sin(x / 3.0)[..., None] + rng.normal(0, 8, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def layered(lengths=(10, 0, 30, 5), seed=0) -> bytes:
    """A 16x8 DeepHQ file of random layer payloads (valid header and CRCs, not decodable)."""
    rng = random.Random(seed)
    header = Header("deephq", 0, bytes(8), 16, 8, "RGB", tuple(lengths),
                    tuple(20.0 + i for i in range(len(lengths))), b"\x01" * 6)
    return write_container(header, [rng.randbytes(n) for n in lengths])


def layer(index: int) -> Layer:
    """A decoded layer as the viewer keeps it: black, PSNR 20 dB from the file."""
    return Layer(index, np.zeros((8, 16, 3), np.uint8), 0, 0.0, 20.0, False, 0.0)


def run(coro, timeout_ms=TIMEOUT_MS):
    """Run a coroutine on the qasync loop (Qt events keep flowing) and return its result."""
    task = asyncio.ensure_future(coro)
    deadline = timeout_ms
    while not task.done() and deadline > 0:
        QTest.qWait(10)
        deadline -= 10
    if not task.done():
        task.cancel()
        raise TimeoutError(f"{coro} did not finish in {timeout_ms} ms")
    return task.result()


def run_steps(job) -> list:
    """Every message a worker's StreamJob sends until it has nothing left to do."""
    messages = []
    while job.has_work:
        message = job.step()
        if message is not None:
            messages.append(message)
    return messages
