"""Image input for the encoder: any Pillow image or file -> RGB uint8, with its source mode.

Conversions are explicit, so no mode is silently mangled:
- EXIF orientation is applied first (the picture is coded as a person sees it).
- 16- and 32-bit integer grayscale ("I;16", "I") is scaled from 0..65535 to 0..255;
  float ("F") is clipped to 0..255.
- Palette, bilevel, CMYK, YCbCr, LAB and HSV images go through Pillow's own RGB conversion.
- Alpha ("RGBA", "LA", "PA", transparent palettes) is composited onto white and dropped: the
  codecs code colour only. The source mode is kept in the file header.

What a picture loses on the way (its alpha, samples deeper than 8 bits, CMYK colours) is said
in words: `load_image(path).notes` returns the sentences (for a program that shows them, such as
the viewer's status bar), and `open_image` and `to_rgb`, which the API's encode uses, emit each
as a ConversionWarning (the CLI prints them on stderr).
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from codec import sniff


# The encoder's and decoder's default pixel limit (codec.api.MAX_IMAGE_PIXELS starts here)
DEFAULT_MAX_PIXELS = 2**25  # 33.5 megapixels, e.g. 8192 x 4096 (8K UHD fits)


class ImageInputError(ValueError):
    """An input that is not a usable image."""


class ConversionWarning(UserWarning):
    """The picture lost something on its way to RGB uint8 (the message says what, in words)."""


class LoadedImage(NamedTuple):
    """An image file read for the encoder: its pixels, its source mode and what it lost."""

    rgb: np.ndarray  # uint8 (H, W, 3)
    source_mode: str  # the container's mode label (source_mode())
    notes: tuple[str, ...]  # conversion_notes(): sentences for people, empty when nothing was lost


class ImageTooLarge(ValueError):
    """A picture with more pixels than a limit allows, refused before its pixels are decoded
    (a small file can announce a huge picture: a decompression bomb).

    The numbers are attributes (width, height, pixels, limit) and `problem` says what is wrong
    in words, so each program adds its own remedy (the API's max_pixels=, the CLI's
    --max-pixels, a viewer setting); str() is the problem and the remedy it was raised with.
    """

    def __init__(self, width: int, height: int, limit: int, subject: str,
                 remedy: str = "if you trust it, raise the pixel limit"):
        self.width, self.height, self.limit = width, height, limit
        self.subject, self.remedy = subject, remedy
        self.problem = (f"{subject} a {width}x{height} picture ({self.pixels:,} pixels), more than the "
                        f"limit of {limit:,} pixels")
        super().__init__(f"{self.problem}; {remedy}")

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def __reduce__(self):
        return type(self), (self.width, self.height, self.limit, self.subject, self.remedy)


_GRAY_MODES = ("1", "L", "I", "I;16", "I;16B", "I;16L", "F")
_COLOUR_MODES = ("RGB", "P", "CMYK", "YCbCr", "LAB", "HSV")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or (image.mode == "P" and "transparency" in image.info)


def source_mode(image: Image.Image) -> str:
    """The container's mode label: "RGB", "L", "RGBA", "LA" or "other"."""
    if _has_alpha(image):
        return "LA" if image.mode in ("LA", "La") else "RGBA"
    return "L" if image.mode in _GRAY_MODES else "RGB" if image.mode in _COLOUR_MODES else "other"


def _gray_to_uint8(image: Image.Image) -> np.ndarray:
    values = np.asarray(image, dtype=np.float64)
    if image.mode.startswith("I;16") or (image.mode == "I" and values.max(initial=0) > 255):
        values = values / 257.0
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


ALPHA_NOTE = "its transparency (alpha channel) was composited onto white and dropped: the codecs code colour only"
CMYK_NOTE = "its CMYK colours were converted to RGB without a colour profile: they may look different"


def _rawmode(image: Image.Image) -> str:
    """How Pillow unpacks the file's samples ("RGB;16B" for a 16-bit RGB PNG); "" once loaded."""
    tile = getattr(image, "tile", None)  # only a file's image has one
    if not tile:
        return ""
    args = tile[0][3]
    return args if isinstance(args, str) else str(args[0]) if args else ""


def _depth_note(image: Image.Image, rawmode: str) -> str | None:
    """What became of samples deeper than 8 bits, or None. Pillow reads 16-bit colour (a 16-bit
    RGB PNG) as 8-bit, which only the file's rawmode tells; "I" is noted above 255 only."""
    if image.mode.startswith("I;16") or ";16" in rawmode:
        return "its 16-bit samples were reduced to 8 bits"
    if image.mode == "I" and np.asarray(image).max(initial=0) > 255:
        return "its 32-bit integer samples were scaled to 8 bits"
    if image.mode == "F" and not _whole_levels(np.asarray(image)):
        return "its floating-point samples were clipped to 0..255 and rounded to 8 bits"
    return None


def _whole_levels(values: np.ndarray) -> bool:
    """True when every value is already a whole number in 0..255."""
    return bool(np.array_equal(values, np.clip(np.round(values), 0, 255)))


def _is_translucent(image: Image.Image) -> bool:
    """True when some pixel's alpha is below opaque (an opaque alpha channel loses nothing)."""
    return _has_alpha(image) and image.convert("RGBA").getchannel("A").getextrema()[0] < 255


def conversion_notes(image: Image.Image, rawmode: str | None = None) -> tuple[str, ...]:
    """What to_rgb's conversion loses of an image, as sentences for people (empty: nothing).
    rawmode: the file's, read before the image was loaded (default: from the image)."""
    depth = _depth_note(image, _rawmode(image) if rawmode is None else rawmode)
    notes = (ALPHA_NOTE if _is_translucent(image) else None, depth, CMYK_NOTE if image.mode == "CMYK" else None)
    return tuple(note for note in notes if note)


def _warn(notes: tuple[str, ...]) -> None:
    for note in notes:
        warnings.warn(note, ConversionWarning, stacklevel=3)


def to_rgb(image: Image.Image, orient: bool = True) -> np.ndarray:
    """Pillow image of any mode -> RGB uint8 (H, W, 3); orient: apply its EXIF orientation.
    What it loses is emitted as ConversionWarnings (conversion_notes)."""
    _warn(conversion_notes(image))
    return _convert(image, orient)


def _convert(image: Image.Image, orient: bool = True) -> np.ndarray:
    """to_rgb without its warnings."""
    if orient:
        image = ImageOps.exif_transpose(image)
    if image.width < 1 or image.height < 1:
        raise ImageInputError("the image has no pixels")
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        gray = _gray_to_uint8(image)
        return np.repeat(gray[:, :, None], 3, axis=2)
    return np.asarray(image.convert("RGB"))


_PILLOW_LIMIT = threading.Lock()  # held while Pillow's own size check is left out


@contextlib.contextmanager
def _without_pillows_size_check():
    """Pillow's decompression-bomb check left out (open_image makes its own, in words)."""
    with _PILLOW_LIMIT:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def pillow_size_check(width: int, height: int) -> None:
    """Refuse what Pillow refuses to open (more than 2 * PIL.Image.MAX_IMAGE_PIXELS pixels, None:
    no limit) with ImageTooLarge instead of Pillow's message."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > 2 * limit:
        raise ImageTooLarge(width, height, 2 * limit, "too large to open:")


def open_image(path: str | Path, check_size: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, str]:
    """Read an image file -> (RGB uint8 (H, W, 3), source mode), as load_image, emitting its
    notes as ConversionWarnings."""
    loaded = load_image(path, check_size)
    _warn(loaded.notes)
    return loaded.rgb, loaded.source_mode


def load_image(path: str | Path, check_size: Callable[[int, int], None] | None = None) -> LoadedImage:
    """Read an image file -> LoadedImage (pixels, source mode, notes); no warnings are emitted.
    Raises ImageInputError, ImageTooLarge.

    check_size(width, height) is called once the header is read, before any pixel is decoded,
    in place of Pillow's own size check (default: pillow_size_check); what it raises passes
    through unchanged.
    """
    check_size = check_size or pillow_size_check
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with _without_pillows_size_check():
            image = Image.open(path)
    except FileNotFoundError:
        raise ImageInputError("no such file") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise _unreadable(path, exc) from None
    with image:
        check_size(*image.size)
        try:
            rawmode = _rawmode(image)
            image.load()
            return LoadedImage(_convert(image), source_mode(image), conversion_notes(image, rawmode))
        except Image.DecompressionBombError:  # a plugin's check while loading (a GIF's frames)
            raise ImageTooLarge(*image.size, 2 * limit, "too large for Pillow to decode:",
                                "if you trust it, raise PIL.Image.MAX_IMAGE_PIXELS") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise _unreadable(path, exc) from None


def _unreadable(path: str | Path, error: Exception) -> ImageInputError:
    """Why an image file cannot be read, in words (the caller names the file)."""
    if isinstance(error, UnidentifiedImageError):
        start = _first_bytes(path)
        kind = sniff.kind_of(start)
        held = f"it looks like {kind}, but its contents cannot be read" if kind else f"it holds {sniff.holds(start)}"
        return ImageInputError(f"not a readable image: {held}")
    return ImageInputError(f"not a readable image: it is damaged or incomplete ({error})")


def _first_bytes(path: str | Path, count: int = 8) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(count)
    except OSError:
        return b""
