"""DeepHQ bitstream: nested quantization of y* = y - mu coded layer by layer (notes, 2-4).

Layer 0 carries the z symbols followed by the layer-0 y symbols (one range-coder stream); each
further layer is its own stream. Entropy parameters (mu, sigma, masks) are derived from z_hat in
float64 on the CPU, snapped to grids and protected by a check value (see entropy_coding.py), so
the transforms may run on any device.

Codec parameters in the container (6 bytes, little endian): K (u16), the alphabet size of layer 0
(the range of layer 0 is +-K Delta_0 / 2 per channel), and the check value (u32).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import torch

from codec.coding import entropy_coding as ec
from codec import pixels
from codec.coding.tiling import run_tiled
from codec.precision import channels_last, synthesis_autocast
from codec.coding.latent_coding import (alphabet_size, bind_alphabet, check_alphabet, decode_pass,
    encode_pass, Encoded, InvalidCodecParameters, NestedState, SnappedGaussian, verify, ZCoder)
from codec.codecs.protocol import LayerDecoder
from codec.weights import build_model, weights_digest

PARAMS = struct.Struct("<HI")


@dataclass
class EntropyParameters:
    """Per-image parameters of the latent y, flattened in C order over (M, h, w)."""

    gaussian: SnappedGaussian
    masks: np.ndarray  # bool (L, n), cumulative over layers
    support: torch.Tensor  # float32 (1, 3M/2, h, w) on the transform device, LRP input
    check: int


def layer_passes(masks: np.ndarray, layer: int) -> list[tuple[np.ndarray, int]]:
    """The (element indices, step layer) passes that layer `layer` codes, in order.

    masks: bool (L, n), cumulative. An element selected for the first time at layer l > 0 is
    first brought up to date: its layer-0 cell and refinements 1..l-1 are coded in this layer's
    stream, so its cells cover its whole range with small alphabets, and its bits still
    telescope to the Gaussian mass of its final cell. Then every selected element is refined
    with step Delta_l.
    """
    passes = []
    if layer > 0:
        new = np.flatnonzero(masks[layer] & ~masks[layer - 1])
        passes += [(new, j) for j in range(layer)] if new.size else []
    return passes + [(np.flatnonzero(masks[layer]), layer)]


class DeepHQCodec:
    """A loaded DeepHQ model with its coding tables: encodes images, makes layer decoders
    (a codec.codecs.protocol.LayeredCodec). DeepHQ has a single model, model id 0."""

    name = "deephq"

    def __init__(self, weights: dict, device: torch.device, model_id: int = 0):
        self.device = device
        self.model_id = model_id
        self.model = build_model(self.name, weights["config"], weights["state"]).to(device, memory_format=torch.channels_last)
        self.params_net = build_model(self.name, weights["config"], weights["state"]).double()
        self.config = self.model.config
        self.num_layers = self.config.layers
        self.z_coder = ZCoder(weights["tables"])
        self.steps = weights["tables"]["steps"].numpy().astype(np.float64)
        self.gains = self.model.gains().detach().cpu().double().numpy()
        self.digest = weights_digest(weights)

    # ---- shared by encoder and decoder ---------------------------------------------------
    @torch.no_grad()
    def entropy_parameters(self, z_hat: np.ndarray) -> EntropyParameters:
        """z_hat int (N, hz, wz) -> parameters of y, computed in float64 on the CPU."""
        net = self.params_net
        z = torch.from_numpy(z_hat.astype(np.float64))[None]
        mu, sigma, support = net.entropy_parameters(z)
        gaussian = SnappedGaussian.snap(mu, sigma)
        if self.config.selective:
            m = net.importance_map(z)
            masks = np.stack([net.selection_probability(m, l)[0].numpy().ravel() > 0.5 for l in range(self.num_layers)])
            masks = np.logical_or.accumulate(masks, axis=0)
        else:
            masks = np.ones((self.num_layers, gaussian.mu.size), dtype=bool)
        return EntropyParameters(gaussian, masks, support.float().to(self.device), gaussian.check(np.packbits(masks)))

    def _step(self, layer: int, coded: np.ndarray, hw: int) -> np.ndarray:
        """Delta_layer of each coded element (its channel's step), (N,)."""
        return self.steps[layer][coded // hw]

    def code_layer(self, coder, state: NestedState, params: EntropyParameters, layer: int, hw: int, y_star=None) -> None:
        """Encode (y_star given) or decode every pass of one layer."""
        sigma = params.gaussian.sigma
        for coded, j in layer_passes(params.masks, layer):
            if y_star is None:
                decode_pass(coder, state, coded, self._step(j, coded, hw), sigma[coded])
            else:
                encode_pass(coder, state, coded, self._step(j, coded, hw), sigma[coded], y_star[coded])

    def latent(self, state: NestedState, params: EntropyParameters, layer: int, shape) -> torch.Tensor:
        """u_l = (y~* + mu) / Delta_l * Gamma_l, float32 (1, M, h, w) on the CPU: the synthesis input."""
        M = self.config.M
        scale = (self.gains[layer] / self.steps[layer]).reshape(M, 1, 1)
        u = (state.value + params.gaussian.mu).reshape(M, *shape) * scale
        return torch.from_numpy(u).float()[None]

    @torch.no_grad()
    def synthesize(self, u: torch.Tensor, params: EntropyParameters, size) -> np.ndarray:
        """x_hat_l as RGB uint8 (H, W, 3): u_l -> LRP -> g_s, on the transform device, in
        bf16 where it is native (codec.precision)."""
        def synthesize(u_tile, support_tile):
            return (self.model.synthesize(channels_last(u_tile), channels_last(support_tile)),)

        with synthesis_autocast(self.device):
            (x_hat,) = run_tiled(synthesize, [(u.to(self.device), 1), (params.support, 1)], [16])
        return pixels.to_rgb(x_hat, *size)

    def _reconstruct(self, state: NestedState, params: EntropyParameters, layer: int, shape, size) -> np.ndarray:
        """The encoder's picture of layer `layer`, as the decoder will synthesize it."""
        return self.synthesize(self.latent(state, params, layer, shape), params, size)

    # ---- encoder ---------------------------------------------------------------------------
    @torch.no_grad()
    def _analyse(self, rgb: np.ndarray):
        """g_a, h_a and the z stream: -> (encoder holding z, parameters, y* flat, y shape)."""
        x = pixels.to_tensor(rgb, self.config.downsampling, self.device)
        (y,) = run_tiled(lambda t: (self.model.g_a(t),), [(x, 16)], [1])
        encoder = ec.new_encoder()
        params = self.entropy_parameters(self.z_coder.encode(encoder, self.model.h_a(y)[0]))
        y_star = y[0].cpu().double().numpy().ravel() - params.gaussian.mu
        return encoder, params, y_star, tuple(y.shape[2:])

    @torch.no_grad()
    def encode(self, rgb: np.ndarray, reconstruct: bool = True) -> Encoded:
        """RGB uint8 (H, W, 3) -> codec parameters, one payload per layer, reconstructions
        (with reconstruct; else none: they cost one synthesis per layer)."""
        encoder, params, y_star, shape = self._analyse(rgb)
        hw = shape[0] * shape[1]
        first_step = np.repeat(self.steps[0], hw)
        K = alphabet_size(y_star, first_step)
        state = NestedState.start(K, first_step)
        layers, reconstructions = [], []
        for layer in range(self.num_layers):
            self.code_layer(encoder, state, params, layer, hw, y_star)
            layers.append(ec.finish(encoder))
            encoder = ec.new_encoder()
            if reconstruct:
                reconstructions.append(self._reconstruct(state, params, layer, shape, rgb.shape[:2]))
        return Encoded(PARAMS.pack(K, bind_alphabet(params.check, K)), layers, reconstructions)

    @torch.no_grad()
    def encode_single_rate(self, rgb: np.ndarray, layer: int) -> Encoded:
        """Layer `layer`'s quantizer alone, without nesting: z and y on the Delta_l grid in one
        stream. The baseline for the cost of progressiveness (not decodable by decoder())."""
        encoder, params, y_star, shape = self._analyse(rgb)
        hw = shape[0] * shape[1]
        step = np.repeat(self.steps[layer], hw)
        K = alphabet_size(y_star, step)
        state = NestedState.start(K, step)
        coded = np.flatnonzero(params.masks[layer])
        encode_pass(encoder, state, coded, step[coded], params.gaussian.sigma[coded], y_star[coded])
        picture = self._reconstruct(state, params, layer, shape, rgb.shape[:2])
        return Encoded(PARAMS.pack(K, bind_alphabet(params.check, K)), [ec.finish(encoder)], [picture])

    def decoder(self, width: int, height: int, params: bytes, history: bool = False) -> "DeepHQLayerDecoder":
        return DeepHQLayerDecoder(self, width, height, params, history)


class DeepHQLayerDecoder(LayerDecoder):
    """Decodes the layers of one file in order, in two steps per layer: decode_symbols (the range
    decoding, cheap) and synthesize (the picture). decode_layer (from LayerDecoder) does both.

    With history, the synthesis input of every decoded layer is kept (M h w floats each), so any
    of them can be synthesized later; without, only the newest one's.
    """

    def __init__(self, codec: DeepHQCodec, width: int, height: int, params: bytes, history: bool = False):
        if len(params) != PARAMS.size:
            raise InvalidCodecParameters(f"DeepHQ parameters must be {PARAMS.size} bytes, found {len(params)}")
        self.codec = codec
        self.K, self.check = PARAMS.unpack(params)
        check_alphabet(self.K, "DeepHQ")
        self.size = (height, width)
        d = codec.config.downsampling
        self.z_shape = (codec.config.N, -(-height // d), -(-width // d))
        self.shape = (self.z_shape[1] * 4, self.z_shape[2] * 4)
        self.layer = 0  # layers decoded so far
        self.history = history
        self.params: EntropyParameters | None = None
        self.state: NestedState | None = None
        self._latents: dict[int, torch.Tensor] = {}  # layer -> synthesis input

    @torch.no_grad()
    def decode_symbols(self, payload: bytes) -> int:
        """Range-decode the next layer from its payload (no synthesis); returns its index."""
        codec, layer = self.codec, self.layer
        if layer >= codec.num_layers:
            raise InvalidCodecParameters(f"the DeepHQ model has {codec.num_layers} layers; the file has more")
        decoder = ec.new_decoder(payload)
        hw = self.shape[0] * self.shape[1]
        if layer == 0:
            codec.z_coder.check_room(payload, self.z_shape, f"{self.size[1]}x{self.size[0]}")
            self.params = codec.entropy_parameters(codec.z_coder.decode(decoder, self.z_shape))
            verify(bind_alphabet(self.params.check, self.K), self.check, "DeepHQ")
            self.state = NestedState.start(self.K, np.repeat(codec.steps[0], hw))
        codec.code_layer(decoder, self.state, self.params, layer, hw)
        if not self.history:
            self._latents.clear()
        self._latents[layer] = codec.latent(self.state, self.params, layer, self.shape)
        self.layer += 1
        return layer

    def synthesize(self, layer: int | None = None) -> np.ndarray:
        """The picture (RGB uint8 (H, W, 3)) of a decoded layer, by default the newest."""
        layer = self.layer - 1 if layer is None else layer
        if layer not in self._latents:
            raise IndexError(f"layer index {layer} is not decoded or not kept (decoded: {self.layer})")
        return self.codec.synthesize(self._latents[layer], self.params, self.size)
