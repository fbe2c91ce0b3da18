"""The viewer's pixel limit: the largest picture it opens, decodes and encodes without asking.

It is the library's limit (codec.api.MAX_IMAGE_PIXELS, max_pixels=) made a setting: the GUI
checks a file's size before reading its pixels and hands the limit to the workers, which pass
it to the codec as max_pixels. Pillow's own decompression-bomb check is switched off while a
picture is opened under this limit, so that a limit the user raised holds for Pillow too.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from PIL import Image

DEFAULT_MAX_PIXELS = 2**25  # codec.api.MAX_IMAGE_PIXELS (a test checks): the GUI may not import codec.api


class OverPixelLimit(ValueError):
    """A picture (an image, or the one a layered file announces) has more pixels than the limit."""

    def __init__(self, path: Path, width: int, height: int, limit: int):
        super().__init__(f"{Path(path).name} is {width}x{height} pixels, more than the limit of {limit:,} pixels")
        self.path, self.width, self.height, self.limit = Path(path), width, height, limit

    @property
    def pixels(self) -> int:
        return self.width * self.height


def check(path: Path, width: int, height: int, limit: int) -> None:
    """Raise OverPixelLimit when width x height exceeds limit."""
    if width * height > limit:
        raise OverPixelLimit(path, width, height, limit)


@contextlib.contextmanager
def pillow_check_off() -> Iterator[None]:
    """Pillow's decompression-bomb check off inside the block: the caller checks the pixel limit
    itself before any pixel is decoded (codec.images.open_image's check_size). The GUI opens
    pictures in one thread and the workers work one job at a time, so nothing else sees it off."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved
