"""What the API and the viewer's worker use of a layered codec and of its layer decoder.

A layered codec is a loaded model with its coding tables (DeepHQCodec, HCCodec; the registry
builds it as `spec.codec_class(weights, device, model_id)` from a verified weights file):

    codec = registry.load_codec("hc", 2)                       # a LayeredCodec
    encoded = codec.encode(rgb)                                 # params, payloads, pictures
    decoder = codec.decoder(width, height, encoded.params)      # a LayerDecoder
    for layer in range(len(encoded.layers)):
        decoder.decode_symbols(encoded.layer_chunks(layer))     # range decoding only (cheap)
    rgb = decoder.synthesize()                                  # the newest layer's picture

A layer is one chunk (HC; DeepHQ's layer 0) or several (DeepHQ's partitions: each refines the
picture), and a file cut to a byte budget may end inside a layer. decode_chunk takes one chunk,
so a stream can show every refinement; decode_symbols takes a whole layer.

Layer indices count from 0 here; messages for people count from 1. The layer decoders subclass
LayerDecoder, which gives them decode_symbols, decode_layer and the order check of the chunks.
"""
from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from codec.coding.latent_coding import Encoded, InvalidCodecParameters
from codec.effort import DEFAULT_EFFORT, Progress


@runtime_checkable
class LayerDecoder(Protocol):
    """Decodes the chunks of one file in order, each in two steps: decode_chunk (the range
    decoding) and synthesize (the picture of the newest refinement or of a kept layer)."""

    title: str  # the codec, for messages: "DeepHQ"
    layer: int  # layers begun so far: the newest is layer - 1
    parts: int  # chunks of the newest layer decoded so far

    def chunks_in(self, layer: int) -> int:
        """How many chunks the codec codes in layer `layer` (0 beyond its last layer)."""
        ...

    def decode_chunk(self, payload: bytes, layer: int, part: int) -> None:
        """Range-decode chunk `part` of layer `layer` (no synthesis), the chunk after those
        decoded. Raises CorruptStream, ParameterMismatch or InvalidCodecParameters for a bad one."""
        ...

    def synthesize(self, layer: int | None = None) -> np.ndarray:
        """The picture of a decoded layer as far as its chunks are decoded (default: the newest),
        RGB uint8 (H, W, 3); IndexError for a layer not decoded or not kept."""
        ...

    def decode_symbols(self, chunks: bytes | Sequence[bytes]) -> int:
        """Range-decode the next layer from its chunks' payloads (bytes: a layer of one chunk);
        returns its index."""
        layer = self.layer
        if isinstance(chunks, (bytes, bytearray)):
            if self.chunks_in(layer) > 1:
                raise ValueError(f"{self.title} codes layer {layer + 1} in {self.chunks_in(layer)} chunks: pass "
                                 f"their payloads (Encoded.layer_chunks, ParsedFile.layer_chunks)")
            chunks = [chunks]
        for part, payload in enumerate(chunks):
            self.decode_chunk(payload, layer, part)
        return layer

    def decode_layer(self, chunks: bytes | Sequence[bytes]) -> np.ndarray:
        """Decode the next layer from its chunks' payloads; RGB uint8 (H, W, 3)."""
        return self.synthesize(self.decode_symbols(chunks))

    def check_next(self, layer: int, part: int) -> None:
        """Raise InvalidCodecParameters unless chunk `part` of layer `layer` is the next one: the
        next of the newest layer, or the first of the next layer once the newest is complete."""
        if part == 0 and layer == self.layer and (layer == 0 or self.parts == self.chunks_in(layer - 1)):
            if self.chunks_in(layer) == 0:
                raise InvalidCodecParameters(f"the {self.title} model has {layer} layers; the file has more")
            return
        if layer == self.layer - 1 and part == self.parts and part < self.chunks_in(layer):
            return
        if layer == self.layer and part == 0:
            raise InvalidCodecParameters(
                f"layer {layer} has {self.parts} of the {self.chunks_in(layer - 1)} chunks {self.title} "
                f"codes, but only the last layer of a file may be cut short")
        raise InvalidCodecParameters(f"chunk {part + 1} of layer {layer + 1} does not follow the chunks "
                                     f"decoded ({self.parts} of layer {self.layer}); {self.title} codes "
                                     f"{self.chunks_in(layer)} chunks in that layer")

    def count(self, layer: int) -> None:
        """Note one more chunk decoded, of layer `layer` (checked with check_next)."""
        self.parts = self.parts + 1 if layer == self.layer - 1 else 1
        self.layer = layer + 1


@runtime_checkable
class LayeredCodec(Protocol):
    """A loaded model of a codec: encodes pictures into layers, opens layer decoders."""

    name: str  # its registry name, as in the header
    model_id: int
    digest: bytes  # weights digest (8 bytes), recorded in every header it writes
    num_layers: int  # layers of its files

    def encode(self, rgb: np.ndarray, reconstruct: bool = True, effort: int = DEFAULT_EFFORT,
               progress: Progress | None = None) -> Encoded:
        """RGB uint8 (H, W, 3) -> codec parameters, one payload per layer, and each layer's
        picture as the decoder will synthesize it (one synthesis per layer; none, and an empty
        list, with reconstruct=False). effort: 1..9, how long the encoder searches for its latent
        (codec/effort.py); progress(fraction) as the encode advances."""
        ...

    def decoder(self, width: int, height: int, params: bytes, history: bool = False) -> LayerDecoder:
        """A decoder for one file of this picture size and codec parameters; with history, every
        decoded layer can be synthesized later, else only the newest. Raises
        InvalidCodecParameters for parameters this codec cannot have written."""
        ...
