"""What the API and the viewer's worker use of a layered codec and of its layer decoder.

A layered codec is a loaded model with its coding tables (DeepHQCodec, HCCodec; the registry
builds it as `spec.codec_class(weights, device, model_id)` from a verified weights file):

    codec = registry.load_codec("hc", 2)                       # a LayeredCodec
    encoded = codec.encode(rgb)                                 # params, payloads, pictures
    decoder = codec.decoder(width, height, encoded.params)      # a LayerDecoder
    for payload in encoded.layers:
        decoder.decode_symbols(payload)                         # range decoding only (cheap)
    rgb = decoder.synthesize()                                  # the newest layer's picture

Layer indices count from 0 here; messages for people count from 1. The layer decoders subclass
LayerDecoder, which gives them decode_layer.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from codec.coding.latent_coding import Encoded


@runtime_checkable
class LayerDecoder(Protocol):
    """Decodes the layers of one file in order, each in two steps: decode_symbols (the range
    decoding) and synthesize (the picture of any decoded layer that is kept)."""

    layer: int  # layers decoded so far

    def decode_symbols(self, payload: bytes) -> int:
        """Range-decode the next layer from its payload (no synthesis); returns its index.
        Raises CorruptStream, ParameterMismatch or InvalidCodecParameters for a bad layer."""
        ...

    def synthesize(self, layer: int | None = None) -> np.ndarray:
        """The picture of a decoded layer (default: the newest), RGB uint8 (H, W, 3); IndexError
        for a layer not decoded or not kept."""
        ...

    def decode_layer(self, payload: bytes) -> np.ndarray:
        """Decode the next layer from its payload; RGB uint8 (H, W, 3)."""
        return self.synthesize(self.decode_symbols(payload))


@runtime_checkable
class LayeredCodec(Protocol):
    """A loaded model of a codec: encodes pictures into layers, opens layer decoders."""

    name: str  # its registry name, as in the header
    model_id: int
    digest: bytes  # weights digest (8 bytes), recorded in every header it writes
    num_layers: int  # layers of its files

    def encode(self, rgb: np.ndarray, reconstruct: bool = True) -> Encoded:
        """RGB uint8 (H, W, 3) -> codec parameters, one payload per layer, and each layer's
        picture as the decoder will synthesize it (one synthesis per layer; none, and an empty
        list, with reconstruct=False)."""
        ...

    def decoder(self, width: int, height: int, params: bytes, history: bool = False) -> LayerDecoder:
        """A decoder for one file of this picture size and codec parameters; with history, every
        decoded layer can be synthesized later, else only the newest. Raises
        InvalidCodecParameters for parameters this codec cannot have written."""
        ...
