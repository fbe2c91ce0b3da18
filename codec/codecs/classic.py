"""The classic codecs of the table: JPEG 2000 with quality layers and progressive JPEG, made and
decoded by Pillow (OpenJPEG, libjpeg-turbo) behind the LayeredCodec and LayerDecoder of the
learned codecs (codec/codecs/protocol.py):

    codec = registry.load_codec("jpeg2000")                    # no weights, no device
    data = codec.encode_file(rgb, max_bytes=50_000)            # a .jp2 file that fits
    encoded = codec.encode(rgb)                                # the file cut into its layers
    decoder = codec.decoder(width, height, encoded.params)     # params: b""
    decoder.decode_symbols(encoded.layers[0])                  # layer 1's bytes (headers included)
    rgb = decoder.synthesize()                                 # Pillow decodes the prefix

Files are in their own standard formats, not .strata: a JP2 file (one codestream: 12 quality
layers log-spaced from 0.1 to 2.5 bpp, LRCP, irreversible 9/7 wavelet, mct=1, PLT packet
lengths) and a progressive JPEG (4:4:4, quality 95, optimized Huffman tables, libjpeg's scan
script: 10 scans for colour), the settings of docs/anchors_measured.md. A layer is where a
quality layer's packets or a scan end in the file (codec/classic_files.py); the decoder keeps
the bytes it was given and decodes, for a layer, the standard file of the prefix up to it. The
formats record no PSNR; the viewer measures it against the original.

A byte budget uses each format's own rate control: JPEG 2000 sets its last layer's rate to the
budget (OpenJPEG's layer rates; the lower layers are the usual ones below it) and lowers it by
the overshoot until the whole file fits; progressive JPEG searches for the highest quality
(1..100) whose file fits. Either raises container.BudgetTooSmall when its smallest file does
not fit.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from codec import classic_files, images
from codec.classic_j2k import check_end
from codec.coding.entropy_coding import CorruptStream
from codec.coding.latent_coding import Encoded, InvalidCodecParameters
from codec.codecs.protocol import LayerDecoder
from codec.container import BudgetTooSmall
from codec.effort import DEFAULT_EFFORT, Progress, check_effort

J2K_LAYER_BPP = tuple(0.1 * 25 ** (k / 11) for k in range(12))  # as codec.evaluation.anchors
J2K_OPTIONS = {"quality_mode": "rates", "progression": "LRCP", "irreversible": True, "mct": 1, "plt": True}
JPEG_OPTIONS = {"subsampling": "4:4:4", "progressive": True, "optimize": True}
JPEG_QUALITY = 95
BUDGET_TRIES = 8  # JPEG 2000 encodes to fit a budget (OpenJPEG overshoots a rate by up to ~1%)
MIN_RATIO = 1.15  # a budget's last layer and the layer below it differ in rate at least this much
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, Image.DecompressionBombError)


def decode_picture(data: bytes, what: str) -> np.ndarray:
    """A standard image file (JPEG 2000 codestream, JPEG) -> RGB uint8 (H, W, 3), as stored (no
    EXIF rotation); CorruptStream when Pillow cannot decode it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return images.to_rgb(image, orient=False)
    except _DECODE_ERRORS as error:
        raise CorruptStream(f"{what} cannot be decoded: {error}") from error


class ClassicCodec:
    """What JPEG 2000 and progressive JPEG share: splitting a file into its layers, the decoder."""

    name = title = ""
    num_layers = 0  # layers of a file made without a budget
    digest = b""  # no weights

    def __init__(self, weights, device, model_id: int = 0):
        if weights is not None:
            raise ValueError(f"{self.title} takes no weights")
        self.model_id = model_id

    def encode_file(self, rgb: np.ndarray, max_bytes: int | None = None) -> bytes:
        """The file of an RGB uint8 (H, W, 3) picture, at most max_bytes long when given."""
        raise NotImplementedError

    def encode(self, rgb: np.ndarray, reconstruct: bool = True, effort: int = DEFAULT_EFFORT,
               progress: Progress | None = None) -> Encoded:
        """The file cut into its layers (params b""), with each layer's picture as the decoder
        makes it (reconstruct). The classic encoders have no latent search: every effort level
        encodes alike, and progress hears only the end."""
        check_effort(effort)
        encoded = self.split(self.encode_file(rgb), reconstruct)
        if progress:
            progress(1.0)
        return encoded

    def split(self, data: bytes, reconstruct: bool = True) -> Encoded:
        """A complete file of this codec as layers (and their pictures)."""
        parsed = classic_files.parse(data)
        if parsed.header.codec != self.name or not parsed.complete:
            raise ValueError(f"not a complete {self.title} file")
        layout = parsed.header
        pictures = [decode_picture(classic_files.decodable_prefix(data, layout, i), f"{self.title} layer {i + 1}")
                    for i in range(layout.num_layers)] if reconstruct else []
        return Encoded(b"", parsed.layers, pictures)

    def decoder(self, width: int, height: int, params: bytes, history: bool = False) -> "ClassicLayerDecoder":
        """Any layer decoded can be synthesized (history or not): the decoder keeps the prefix."""
        if params:
            raise InvalidCodecParameters(f"{self.title} files have no codec parameters, got {len(params)} bytes")
        return ClassicLayerDecoder(self.title, width, height)


class JPEG2000Codec(ClassicCodec):
    name, title = "jpeg2000", "JPEG 2000"
    num_layers = len(J2K_LAYER_BPP)

    @staticmethod
    def rates(top: float | None = None) -> list[float]:
        """The layers' rates in bpp: J2K_LAYER_BPP, or for a budget of `top` bpp those at least
        MIN_RATIO below it and top itself (at least two layers)."""
        if top is None:
            return list(J2K_LAYER_BPP)
        below = [r for r in J2K_LAYER_BPP if r * MIN_RATIO < top]
        return (below or [top / 2]) + [top]

    def save(self, rgb: np.ndarray, rates: list[float]) -> bytes:
        """A JP2 file with one quality layer per rate (bpp of 24-bit RGB: compression ratio 24 / bpp)."""
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, "JPEG2000", quality_layers=[24 / r for r in rates], **J2K_OPTIONS)
        return buffer.getvalue()

    def encode_file(self, rgb: np.ndarray, max_bytes: int | None = None) -> bytes:
        if max_bytes is None:
            return self.save(rgb, self.rates())
        pixels = rgb.shape[0] * rgb.shape[1]
        top, smallest = 8 * max_bytes / pixels, None
        for tries in range(BUDGET_TRIES):
            data = self.save(rgb, self.rates(top))
            if len(data) <= max_bytes:
                return data
            smallest = len(data) if smallest is None else min(smallest, len(data))
            # less by the overshoot, and by a margin that grows (OpenJPEG's sizes move in steps)
            top = min(top - 8 * (len(data) - max_bytes) / pixels, top * (1 - 0.002 * 4 ** tries))
            if top <= 0:
                break
        raise BudgetTooSmall(f"a budget of {max_bytes:,} bytes does not hold even the first quality layer of "
                             f"this picture in JPEG 2000 (its smallest file takes {smallest:,} bytes)")


class ProgressiveJPEGCodec(ClassicCodec):
    name, title = "jpeg-progressive", "Progressive JPEG"
    num_layers = 10  # libjpeg's scan script for colour pictures

    def save(self, rgb: np.ndarray, quality: int) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, "JPEG", quality=quality, **JPEG_OPTIONS)
        return buffer.getvalue()

    def encode_file(self, rgb: np.ndarray, max_bytes: int | None = None) -> bytes:
        if max_bytes is None:
            return self.save(rgb, JPEG_QUALITY)
        low, high, best, smallest = 1, 100, None, None
        while low <= high:  # the highest quality whose file fits (sizes grow with quality)
            quality = (low + high) // 2
            data = self.save(rgb, quality)
            if len(data) <= max_bytes:
                best, low = data, quality + 1
            else:
                smallest, high = len(data), quality - 1
        if best is None:
            raise BudgetTooSmall(f"a budget of {max_bytes:,} bytes does not hold even the first quality layer of "
                                 f"this picture in progressive JPEG (quality 1 takes {smallest:,} bytes)")
        return best


class ClassicLayerDecoder(LayerDecoder):
    """Keeps the bytes of the layers given (each one chunk: the bytes from the previous layer's
    end to its own, the first with the headers) and decodes a layer's prefix with Pillow. Each
    chunk's markers are read once (the file's parser goes on where it stopped), so decoding every
    layer costs time linear in the file; a chunk refused leaves the decoder as it was."""

    def __init__(self, title: str, width: int, height: int):
        self.title, self.width, self.height = title, width, height
        self.layer = self.parts = 0
        self._data = bytearray()
        self._parser = None  # the file's marker parser, once its first bytes are in
        self._layout: classic_files.ClassicLayout | None = None

    def chunks_in(self, layer: int) -> int:
        """One chunk a layer; 0 past a JPEG 2000 codestream's last layer (a JPEG's scans are
        known only as they come)."""
        layout = self._layout
        if layout is not None and layout.kind != "jpeg" and layer >= layout.num_layers:
            return 0
        return 1

    def decode_chunk(self, payload: bytes, layer: int, part: int) -> None:
        """Take layer `layer`'s bytes; CorruptStream unless they end where the file's layer does."""
        self.check_next(layer, part)
        parser = self._parser or self._parser_for(payload)
        mark, size = parser.mark(), len(self._data)
        self._data += payload
        try:
            self._layout = self._read(parser, layer)
        except (CorruptStream, InvalidCodecParameters):
            del self._data[size:]
            parser.restore(mark)
            raise
        self._parser = parser
        self.count(layer)

    def _parser_for(self, payload: bytes):
        kind = classic_files.sniff(payload)
        if kind is None:
            raise CorruptStream(f"the bytes given as layer 1 do not start a {self.title} file")
        return classic_files.parser_for(kind)

    def _read(self, parser, layer: int) -> classic_files.ClassicLayout:
        """The file's layout once the bytes given as `layer` are read: they must end the layer."""
        try:
            layout = parser.run(self._data)
            if layout is not None and layout.kind != "jpeg" and layer == layout.num_layers - 1 \
                    and len(self._data) >= layout.layer_ends[layer]:
                check_end(self._data, layout.data_ends[layer])
        except classic_files.ClassicFileError as error:
            raise CorruptStream(f"the {self.title} file is broken: {error}") from error
        if layout is None or layout.num_layers <= layer or layout.layer_ends[layer] != len(self._data):
            raise CorruptStream(f"the bytes given as layer {layer + 1} do not end where the {self.title} file's "
                                f"layer {layer + 1} ends")
        if (layout.width, layout.height) != (self.width, self.height):
            raise InvalidCodecParameters(f"the {self.title} file is {layout.width}x{layout.height}, not "
                                         f"{self.width}x{self.height}")
        return layout

    def synthesize(self, layer: int | None = None) -> np.ndarray:
        """The picture of a decoded layer (any: the bytes are kept), by default the newest."""
        index = self.layer - 1 if layer is None else layer
        if not 0 <= index < self.layer:
            raise IndexError(f"layer {index} is not decoded (layers 0..{self.layer - 1} are)")
        prefix = classic_files.decodable_prefix(self._data, self._layout, index)
        rgb = decode_picture(prefix, f"{self.title} layer {index + 1}")
        if rgb.shape[:2] != (self.height, self.width):
            raise CorruptStream(f"{self.title} layer {index + 1} decodes to {rgb.shape[1]}x{rgb.shape[0]} pixels, "
                                f"not {self.width}x{self.height}")
        return rgb
