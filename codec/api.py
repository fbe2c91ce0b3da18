"""Strata's Python API: encode images to layered `.strata` bytes and decode them, also progressively.

    import codec.api as strata
    data = strata.encode("photo.png")                    # DeepHQ, 8 layers
    data = strata.encode(img, codec="hc", quality=2)     # HC model 2 of its family, 3 layers
    data = strata.encode(img, codec="jpeg2000")          # a .jp2 file, 12 quality layers
    result = strata.decode(data, layers=3)               # the picture of the first 3 layers
    result = strata.decode("https://host/photo.strata", layers=3)  # fetches only those bytes
    decoder = strata.ProgressiveDecoder()
    for piece in network_pieces:
        for layer in decoder.feed(piece):                # each layer as soon as it is complete
            show(layer.rgb)
    steps = strata.open_layer_decoder(decoder.header)    # the codec's LayerDecoder, checked

The classic codecs of the table (JPEG 2000, progressive JPEG) write their own standard formats,
and decode, feed and open_layer_decoder take those files too (codec/layered.py): their layers
are where quality layers or scans end in the bytes, and they record no PSNR (None).

Layers are numbered from 1 in every message; `DecodedLayer.index` and the `layer` attribute of
errors are Python indices (from 0).
"""
from __future__ import annotations

import dataclasses
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image

from codec import container, images, layered, memory
from codec.evaluation import metrics
from codec.coding.entropy_coding import CorruptStream
from codec.coding.latent_coding import InvalidCodecParameters, ParameterMismatch
from codec.memory import InsufficientMemory
from codec.effort import DEFAULT_EFFORT, InvalidEffort, Progress, check_effort
from codec.codecs.protocol import LayerDecoder
from codec.registry import DEFAULT_CODEC, load_codec, spec
from codec.weights import WeightsError

# Decoding refuses headers announcing more pixels than this (like Pillow's Image.MAX_IMAGE_PIXELS):
# the decoder's memory grows with the announced size, and a hostile header of a few bytes can
# announce up to 2^28 pixels. Encoding refuses larger pictures too, so every file it writes
# decodes with the defaults. None disables the check; max_pixels=... overrides it per call.
MAX_IMAGE_PIXELS: int | None = images.DEFAULT_MAX_PIXELS  # 33.5 megapixels, e.g. 8192 x 4096


class WeightsMismatch(ValueError):
    """The file was encoded with other weights than the ones this decoder has."""


# More pixels than the limit (MAX_IMAGE_PIXELS or max_pixels) in a picture to encode or in a
# file's header; its attributes hold the numbers (codec/images.py).
ImageTooLarge = images.ImageTooLarge


def _check_pixels(width: int, height: int, max_pixels: int | None, subject: str) -> None:
    """Raise ImageTooLarge if width x height exceeds max_pixels (None: MAX_IMAGE_PIXELS)."""
    limit = MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    if limit is not None and width * height > limit:
        raise ImageTooLarge(width, height, limit, subject,
                            "if you trust it, raise the limit with max_pixels= or codec.api.MAX_IMAGE_PIXELS")


def _check_decodable(header: layered.LayeredFile, max_pixels: int | None) -> None:
    """Refuse a header whose picture exceeds the pixel limit or the memory available (a classic
    file's bytes counted too: up to classic_layout.MAX_BYTES_PER_PIXEL; a .strata file's payloads
    are a small part of its codec's cost)."""
    width, height = header.width, header.height
    _check_pixels(width, height, max_pixels, "the file announces")
    file_bytes = 0 if spec(header.codec).learned else header.file_size
    memory.require(memory.decode_bytes(header.codec, width * height, file_bytes),
                   f"decoding the {width}x{height} picture the file announces")


def _check_encodable(width: int, height: int, codec: str, max_pixels: int | None) -> None:
    """Refuse, before the encoder allocates anything, a picture it cannot code or hold."""
    if max(height, width) > container.MAX_SIDE or height * width > container.MAX_PIXELS:
        raise images.ImageInputError(
            f"too large to encode: a {width}x{height} picture ({width * height:,} pixels), where a "
            f"file holds at most {container.MAX_SIDE:,} pixels a side and {container.MAX_PIXELS:,} "
            f"in all; scale it down first")
    _check_pixels(width, height, max_pixels, "too large to encode:")
    memory.require(memory.encode_bytes(codec, width * height),
                   f"encoding a {width}x{height} picture with {codec}")


@dataclass(frozen=True)
class DecodedLayer:
    """One decoded quality layer, or a refinement on the way to it (the picture of its first
    `parts` chunks): index (from 0; people see index + 1), picture, and what it cost."""

    index: int
    picture: np.ndarray | Callable[[], np.ndarray] = dataclasses.field(repr=False)  # or how to decode it (rgb)
    bytes_used: int  # file bytes up to the end of this layer or chunk (header included)
    bpp: float  # 8 * bytes_used / (W * H)
    psnr: float | None  # PSNR-RGB measured by the encoder (from the header; None for a refinement), dB
    decode_seconds: float
    parts: int = 1  # chunks of layer `index` in the picture
    complete: bool = True  # every chunk the file has of the layer: a whole layer, not a refinement

    @property
    def rgb(self) -> np.ndarray:
        """The picture, uint8 (H, W, 3). A classic file's layer that a newer one overtook is
        decoded when asked, each time, and not kept (ProgressiveDecoder); that decode raises
        CorruptStream or InsufficientMemory when it fails."""
        return self.picture() if callable(self.picture) else self.picture

    def image(self, mode: str = "RGB") -> Image.Image:
        """The picture as a Pillow image; mode "L" for grayscale sources. InsufficientMemory
        when it cannot be allocated."""
        with memory.guard(f"making the picture of quality layer {self.index + 1}"):
            return Image.fromarray(self.rgb).convert(mode)


def _as_rgb(image, check_size) -> tuple[np.ndarray, str]:
    """RGB uint8 and source mode of a path, Pillow image or array; check_size(width, height)
    runs first (for a path: before Pillow decodes the pixels)."""
    if isinstance(image, (str, Path)):
        return images.open_image(image, check_size)
    if isinstance(image, Image.Image):
        check_size(*image.size)
        return images.to_rgb(image), images.source_mode(image)
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise images.ImageInputError(f"expected an RGB uint8 array (H, W, 3), got {array.dtype} {array.shape}")
    check_size(array.shape[1], array.shape[0])
    return array, "RGB"


def byte_budget(width: int, height: int, max_bytes: int | None = None, max_bpp: float | None = None) -> int | None:
    """The byte budget of a width x height picture: max_bytes, or max_bpp bits per pixel
    (floor(max_bpp * W * H / 8) bytes), the smaller when both are given; None when neither is."""
    limits = [int(max_bytes)] if max_bytes is not None else []
    if max_bpp is not None:
        limits.append(int(max_bpp * width * height / 8))
    if any(limit < 1 for limit in limits):
        raise ValueError(f"a byte budget must be at least 1 byte, got {min(limits)}")
    return min(limits, default=None)


def _models_to_try(codec: str, quality: int | None, budget: int | None) -> list[int]:
    """The models an encode tries, best first: the family's installed models from the highest
    quality down when a budget picks one, else the one model the quality names."""
    codec_spec = spec(codec)
    if budget is None or not codec_spec.is_family or quality is not None:
        return [codec_spec.model_for(quality)]
    return sorted(codec_spec.installed_model_ids(), reverse=True) or [codec_spec.model_for(None)]


def _encode_file(coder, rgb: np.ndarray, mode: str, psnr: bool, effort: int, progress: Progress | None) -> bytes:
    """One codec model's complete `.strata` file of an RGB uint8 (H, W, 3) picture."""
    height, width = rgb.shape[:2]
    with memory.guard(f"encoding the {width}x{height} picture"):
        encoded = coder.encode(rgb, reconstruct=psnr, effort=effort, progress=progress)
        layer_psnr = tuple(metrics.psnr(rgb, r) for r in encoded.reconstructions) or (None,) * len(encoded.layers)
    header = container.Header(
        codec=coder.name,
        model_id=coder.model_id,
        weights_digest=coder.digest,
        width=width,
        height=height,
        source_mode=mode,
        layer_lengths=tuple(len(p) for p in encoded.layers),
        layer_psnr=layer_psnr,
        params=encoded.params,
        chunk_lengths=encoded.chunk_lengths,
    )
    return container.write_container(header, encoded.layers)


def _fit(data: bytes, budget: int, rgb: np.ndarray | None, device: str) -> bytes:
    """The file cut to the budget (container.fit_to_budget); with rgb, a layer cut short gets
    the PSNR of its picture measured (one synthesis)."""
    cut = container.fit_to_budget(data, budget)
    parsed = container.parse_container(cut)
    if rgb is None or parsed.header.layer_psnr[-1] is not None:
        return cut
    decoder = open_layer_decoder(parsed.header, device)
    for layer in range(parsed.header.num_layers):
        decoder.decode_symbols(parsed.layer_chunks(layer))
    psnr = parsed.header.layer_psnr[:-1] + (metrics.psnr(rgb, decoder.synthesize()),)
    return container.write_container(dataclasses.replace(parsed.header, layer_psnr=psnr), parsed.layers)


def encode(image, codec: str = DEFAULT_CODEC, quality: int | None = None, device: str = "auto",
           max_pixels: int | None = None, psnr: bool = True, max_bytes: int | None = None,
           max_bpp: float | None = None, effort: int = DEFAULT_EFFORT, progress: Progress | None = None) -> bytes:
    """Encode an image (path, Pillow image or RGB uint8 array) into a complete `.strata` file,
    or with a classic codec its own file (registry `spec.suffix`: a .jp2 file for "jpeg2000", a
    progressive .jpg for "jpeg-progressive").

    psnr: record each layer's PSNR in the header, which costs one synthesis per layer (the
    larger part of a DeepHQ encode); without it the header says "unknown". Classic files record
    no PSNR.

    max_bytes / max_bpp: a byte budget (byte_budget). DeepHQ writes the longest prefix of its
    chunks that fits (ending at a partition boundary, the last layer possibly cut short); a
    family (HC) without a quality tries its installed models from the best down and writes the
    first whose file fits, else the longest prefix of the lowest one. Raises
    container.BudgetTooSmall when not even the first layer fits. JPEG 2000 sets its last layer's
    rate to the budget (OpenJPEG's rate control, re-encoding until the whole file fits),
    progressive JPEG takes the highest quality whose file fits (codec/codecs/classic.py).

    effort: 1 (fastest, the default) to 9 (best): how long a learned encoder searches for the
    latent it codes (codec/effort.py; the decoder and the file do not change); the
    classic encoders have no search and ignore it. progress(fraction) is called as the encode
    advances (0..1; learned codecs), and may raise to cancel it.

    Raises ImageTooLarge above max_pixels pixels (None: MAX_IMAGE_PIXELS) and InsufficientMemory
    when the picture cannot fit in memory, both before the encoder allocates anything. What the
    picture loses on its way to RGB uint8 (a translucent alpha channel, samples deeper than 8
    bits) is emitted as an images.ConversionWarning each (images.load_image returns them instead).
    """
    check_effort(effort)
    first_model = spec(codec).model_for(quality)
    coder = load_codec(codec, first_model, device)  # a missing or bad weights file fails before the image is read
    rgb, mode = _as_rgb(image, lambda width, height: _check_encodable(width, height, codec, max_pixels))
    budget = byte_budget(rgb.shape[1], rgb.shape[0], max_bytes, max_bpp)
    if not spec(codec).learned:
        with memory.guard(f"encoding the {rgb.shape[1]}x{rgb.shape[0]} picture"):
            return coder.encode_file(rgb, budget)
    for model_id in _models_to_try(codec, quality, budget):
        data = _encode_file(load_codec(codec, model_id, device), rgb, mode, psnr, effort, progress)
        if budget is None or len(data) <= budget:
            return data
    return _fit(data, budget, rgb if psnr else None, device)


# Errors that stop decoding at a layer: the layers before it stand, the error becomes `damage`.
LAYER_ERRORS = (CorruptStream, ParameterMismatch, InvalidCodecParameters, WeightsMismatch, WeightsError,
                InsufficientMemory)


class ProgressiveDecoder:
    """Decode a layered file (`.strata`, or a classic one: codec/layered.py) from bytes that
    arrive in arbitrary pieces.

    feed() takes the bytes at once and returns an iterator over the pictures they complete; each
    is decoded when the iterator reaches it: every complete layer, and with refinements the
    newest refinement inside a layer (the picture of its chunks so far; one synthesis per feed at
    most, the chunks before it in the same feed are range-decoded only). `layers` keeps the
    complete layers. Damage (a failed chunk CRC) stops decoding at the last intact chunk and is
    kept in `damage`; so does a chunk that passes its CRC but cannot be decoded (one of
    LAYER_ERRORS, with a `layer` attribute: a corrupt stream, impossible codec parameters,
    other or missing weights, an allocation failure). A bad header raises ContainerError, a
    header announcing more than max_pixels pixels (default MAX_IMAGE_PIXELS) raises
    ImageTooLarge, one whose picture cannot fit in memory InsufficientMemory, from this feed and
    every later one.

    A classic file (JPEG 2000, progressive JPEG) may have up to classic_layout.MAX_LAYERS
    layers, so only its newest picture is decoded and kept: a layer that a newer one in the same
    feed overtook, and a kept layer once a newer one completes, hold a picture decoded again when
    asked (DecodedLayer.rgb). api.decode therefore decodes one picture of such a file.
    """

    def __init__(self, device: str = "auto", weights: str | Path | None = None, max_pixels: int | None = None,
                 refinements: bool = True):
        self.device = device
        self.weights = weights
        self.max_pixels = max_pixels
        self.refinements = refinements
        self.reader = layered.StreamingReader()
        self.layers: list[DecodedLayer] = []
        self._pending: deque[container.Chunk] = deque()
        self._decoder = None
        self._failure: ValueError | None = None
        self._refusal: ValueError | None = None

    @property
    def header(self) -> layered.LayeredFile | None:
        return self.reader.header

    @property
    def damage(self) -> ValueError | None:
        """Why decoding stopped before the last layer: a ContainerError, or the error of the first
        layer that cannot be decoded."""
        return self._failure or self.reader.damage

    @property
    def done(self) -> bool:
        return self.reader.done and not self._pending

    def feed(self, data: bytes) -> Iterator[DecodedLayer]:
        if self._refusal is not None:
            raise self._refusal
        had_header = self.header is not None
        completed = self.reader.feed(data)
        if self.header is not None and not had_header:
            self._refuse_unless_decodable()
        if self._failure is None:
            self._pending.extend(completed)
        return self._drain()

    def _refuse_unless_decodable(self) -> None:
        """Check the header's picture once, as soon as the header is in."""
        try:
            _check_decodable(self.header, self.max_pixels)
        except (ImageTooLarge, InsufficientMemory) as error:
            self._refusal = error
            raise

    def _drain(self) -> Iterator[DecodedLayer]:
        if self.header is not None and self._rebuilds():
            yield from self._drain_newest()
            return
        while self._pending:
            chunk = self._pending.popleft()
            shown = chunk.last or self.refinements and not self._pending
            try:
                with memory.guard(f"decoding the {self.header.width}x{self.header.height} picture"):
                    decoder = self._layer_decoder()
                    start = time.perf_counter()
                    decoder.decode_chunk(chunk.payload, chunk.layer, chunk.part)
                    rgb = decoder.synthesize(chunk.layer) if shown else None
            except LAYER_ERRORS as error:
                self._fail(chunk.layer, error)
                return
            if rgb is not None:
                picture = _decoded(self.header, chunk, rgb, time.perf_counter() - start)
                if chunk.last:
                    self.layers.append(picture)
                yield picture

    def _rebuilds(self) -> bool:
        """The decoder keeps every layer's bytes and decodes any layer's picture again: a classic
        file's (of up to classic_layout.MAX_LAYERS layers, one chunk each)."""
        return not spec(self.header.codec).learned

    def _drain_newest(self) -> Iterator[DecodedLayer]:
        """A classic file's pending layers: every one taken by the decoder, the newest one's
        picture decoded (or, when it fails, the newest that decodes, found by bisection), the
        others decoded when asked."""
        start, taken = time.perf_counter(), self._take_pending()
        shown, rgb = self._newest_picture(taken)
        for at, chunk in enumerate(taken[:shown + 1]):
            newest = at == shown
            picture = _decoded(self.header, chunk, rgb if newest else self._on_demand(chunk.layer),
                               time.perf_counter() - start)
            self._keep(picture)
            yield picture

    def _take_pending(self) -> list[container.Chunk]:
        """The pending chunks the layer decoder takes, up to the first it refuses (the failure)."""
        taken = []
        while self._pending:
            chunk = self._pending.popleft()
            try:
                with memory.guard(f"decoding the {self.header.width}x{self.header.height} picture"):
                    self._layer_decoder().decode_chunk(chunk.payload, chunk.layer, chunk.part)
            except LAYER_ERRORS as error:
                self._fail(chunk.layer, error)
                break
            taken.append(chunk)
        return taken

    def _newest_picture(self, taken: list[container.Chunk]) -> tuple[int, np.ndarray | None]:
        """(position in taken, picture) of the newest layer whose picture decodes, (-1, None) if
        none does; the first that does not (a bisection: a prefix that fails makes the longer
        ones fail) is the failure."""
        good, bad, rgb, error = -1, len(taken), None, None
        probe = len(taken) - 1
        while bad - good > 1:
            try:
                rgb_probe = self._on_demand(taken[probe].layer)()
            except LAYER_ERRORS as failure:
                bad, error = probe, failure
            else:
                good, rgb = probe, rgb_probe
            probe = (good + bad) // 2
        if error is not None:
            self._fail(taken[bad].layer, error)
        return good, rgb

    def _on_demand(self, index: int) -> Callable[[], np.ndarray]:
        """Layer index's picture, decoded when asked (by DecodedLayer.rgb), with named failures."""
        decoder, size = self._decoder, f"{self.header.width}x{self.header.height}"

        def picture() -> np.ndarray:
            with memory.guard(f"decoding the {size} picture of quality layer {index + 1}"):
                return decoder.synthesize(index)
        return picture

    def _keep(self, layer: DecodedLayer) -> None:
        """Keep a complete layer of a classic file, dropping the picture of the one before it."""
        if self.layers and not callable(self.layers[-1].picture):
            older = self.layers[-1]
            self.layers[-1] = dataclasses.replace(older, picture=self._on_demand(older.index))
        self.layers.append(layer)

    def _fail(self, index: int, error: ValueError) -> None:
        """Stop at layer index, which passed its CRC check but cannot be decoded."""
        failure = type(error)(f"decoding stops at quality layer {index + 1}: {error}")
        failure.layer = index
        failure.__cause__ = error
        self._failure = failure
        self._pending.clear()

    def _layer_decoder(self) -> LayerDecoder:
        if self._decoder is None:
            self._decoder = _matching_decoder(self.header, self.device, self.weights, history=False)
        return self._decoder


def _decoded(header: layered.LayeredFile, chunk: container.Chunk, picture, seconds: float) -> DecodedLayer:
    """The DecodedLayer of the picture (or the function decoding it) a chunk completes."""
    used = header.chunk_end(chunk.layer, chunk.part)
    return DecodedLayer(chunk.layer, picture, used, 8 * used / (header.width * header.height),
                        header.layer_psnr[chunk.layer] if chunk.last else None, seconds, chunk.part + 1, chunk.last)


def _matching_decoder(header: layered.LayeredFile, device: str, weights: str | Path | None,
                      history: bool) -> LayerDecoder:
    """The layer decoder of the file's codec and model; WeightsMismatch unless its weights made
    the file (a classic codec has none, and its files record none)."""
    coder = load_codec(header.codec, header.model_id, device, weights)
    if coder.digest != header.weights_digest:
        raise WeightsMismatch(
            f"this file was encoded with {header.codec} weights {header.weights_digest.hex()}, "
            f"but this decoder has weights {coder.digest.hex()}; decode it with the weights "
            f"that made it"
        )
    return coder.decoder(header.width, header.height, header.params, history)


def open_layer_decoder(header: layered.LayeredFile, device: str = "auto", weights: str | Path | None = None,
                       max_pixels: int | None = None, history: bool = False) -> LayerDecoder:
    """The codec's own layer decoder for a file, after the checks ProgressiveDecoder makes.

    For callers that schedule the two steps of each chunk themselves (the viewer's worker:
    decode_chunk for every complete chunk, synthesize for the picture to show). Raises
    ImageTooLarge or InsufficientMemory (the picture's size), WeightsError or WeightsMismatch
    (the weights). Errors of the decoder's layers are those of LAYER_ERRORS.
    """
    _check_decodable(header, max_pixels)
    return _matching_decoder(header, device, weights, history)


@dataclass(frozen=True)
class DecodeResult:
    """The best picture a file (or a prefix of it) gives, and how complete it was."""

    header: layered.LayeredFile
    layers: list[DecodedLayer]  # the complete layers
    damage: ValueError | None  # a ContainerError, or the error of a layer that cannot be decoded
    refinement: DecodedLayer | None = None  # the chunks of the next layer that a prefix has
    fetched: object | None = None  # from a URL: what the transfer brought and cost (codec.net.remote.Fetched)

    @property
    def last(self) -> DecodedLayer:
        """The best picture: the refinement when there is one, else the last layer."""
        return self.refinement or self.layers[-1]

    @property
    def complete(self) -> bool:
        return len(self.layers) == self.header.num_layers

    def image(self) -> Image.Image:
        """The last decoded layer; grayscale when the source was grayscale."""
        return self.last.image("L" if self.header.source_mode in ("L", "LA") else "RGB")


def decode(data: bytes | str, layers: int | None = None, device: str = "auto", weights: str | Path | None = None,
           max_pixels: int | None = None) -> DecodeResult:
    """Decode the first `layers` layers (default: all complete ones, and the complete chunks of
    the next, the `refinement`) of a layered file or prefix (`.strata`, JPEG 2000, progressive JPEG).
    data may be an http(s) URL: then only the bytes those layers need are fetched (decode_url).

    Raises ImageTooLarge if the header announces more than max_pixels pixels (None: use
    MAX_IMAGE_PIXELS), InsufficientMemory if its picture cannot fit in memory. A layer that
    passes its CRC but cannot be decoded ends the result like a damaged one (`damage`); if it
    is layer 0, its error is raised. Of a classic file only the last layer's picture is decoded;
    the others' are decoded when asked (DecodedLayer.rgb).
    """
    if isinstance(data, str):
        return decode_url(data, layers, device=device, weights=weights, max_pixels=max_pixels)
    parsed = layered.parse(data)
    header = parsed.header
    _check_decodable(header, max_pixels)
    wanted = header.num_layers if layers is None else layers
    if wanted < 1:
        raise ValueError(f"layers must be at least 1, got {wanted}")
    available = parsed.layers[:wanted]
    if not available:
        reason = parsed.damage or f"only {len(data)} of {header.file_size} bytes are present"
        raise container.ContainerError(f"no complete layer to decode: {reason}")
    end = header.layer_offset(len(available))
    if parsed.partial and len(available) < wanted:
        end = header.chunk_end(len(available), len(parsed.partial) - 1)
    decoder = ProgressiveDecoder(device, weights, max_pixels)
    decoded = list(decoder.feed(bytes(data[:end])))
    if decoder.damage is not None and not decoded:
        raise decoder.damage
    refinement = decoded[-1] if decoded and not decoded[-1].complete else None
    return DecodeResult(header, decoder.layers, decoder.damage or parsed.damage, refinement)


def decode_url(url: str, layers: int | None = None, max_bytes: int | None = None, device: str = "auto",
               weights: str | Path | None = None, max_pixels: int | None = None,
               timeout: float | None = None) -> DecodeResult:
    """Decode the first `layers` layers, or the whole layers (chunks) within max_bytes, of the
    layered file at an http(s) URL, fetching only their bytes (codec/net: the header in small
    range requests, then one range; a server without range support is read until they are in).
    `fetched` says what the transfer brought and cost; a transfer that broke after complete
    layers keeps them, and `damage` says what is missing. Raises codec.net.errors.NetworkError
    (a ValueError naming the problem) when not even the first layer arrived."""
    from codec.net import errors, plan, remote
    from codec.net.urls import is_url

    if not is_url(url):
        raise errors.BadURL(f"{url!r} is neither bytes of a layered file nor an http(s) URL")
    fetched = remote.fetch(url, plan.Want(layers, max_bytes), timeout or remote.DEFAULT_TIMEOUT)
    result = decode(fetched.data, layers, device, weights, max_pixels)
    return dataclasses.replace(result, damage=fetched.damage or result.damage, fetched=fetched)
