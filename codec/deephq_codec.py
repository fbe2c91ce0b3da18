"""DeepHQ bitstream: nested quantization of y* = y - mu coded layer by layer (notes, 2-4).

Layer 0 carries the z symbols followed by the layer-0 y symbols (one range-coder stream); each
further layer is its own stream. Entropy parameters (mu, sigma, masks) are derived from z_hat in
float64 on the CPU, snapped to grids and protected by a check value (see entropy_coding.py), so
the transforms may run on any device.

Codec parameters in the container (6 bytes, little endian): K (u16), the alphabet size of layer 0
(the range of layer 0 is +-K Delta_0 / 2 per channel), and the check value (u32).
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
import torch

from codec import entropy_coding as ec
from codec import nested, pixels
from codec.weights import build_model, weights_digest

PARAMS = struct.Struct("<HI")
MAX_ALPHABET = 65535


class ParameterMismatch(ValueError):
    """The decoder derived entropy parameters that differ from the encoder's."""


@dataclass
class EntropyParameters:
    """Per-image parameters of the latent y, flattened in C order over (M, h, w)."""

    mu: np.ndarray  # float64 (n,), snapped to the mu grid
    sigma: np.ndarray  # float64 (n,), values of SIGMA_TABLE
    masks: np.ndarray  # bool (L, n), cumulative over layers
    support: torch.Tensor  # float32 (1, 3M/2, h, w) on the transform device, LRP input
    check: int


@dataclass
class NestedState:
    """Current interval [lower, upper) and reconstruction y~* of every element, float64 (n,)."""

    lower: np.ndarray
    upper: np.ndarray
    value: np.ndarray


@dataclass
class Encoded:
    params: bytes
    layers: list[bytes]
    reconstructions: list[np.ndarray]  # RGB uint8 (H, W, 3) per layer, as the decoder will see them


def _informative(grid: nested.CellGrid, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, ec.RowsFn]:
    """Indices of the elements with more than one cell (the others cost nothing and are not
    coded), their alphabet sizes, and a function giving their PMF rows."""
    index = np.flatnonzero(grid.alphabet_sizes > 1)
    grid, sigma = grid.subset(index), sigma[index]

    def rows(part: slice) -> np.ndarray:
        sub = grid.subset(part)
        return nested.pmf(sub, sigma[part], int(sub.alphabet_sizes.max()))
    return index, grid.alphabet_sizes, rows


def _refine(state: NestedState, coded: np.ndarray, grid: nested.CellGrid, symbols: np.ndarray) -> None:
    lower, upper = nested.cell_of(grid, symbols)
    state.lower[coded], state.upper[coded] = lower, upper
    state.value[coded] = nested.reconstruction(lower, upper)


def encode_layer(encoder, state: NestedState, coded: np.ndarray, step: np.ndarray, sigma: np.ndarray, y_star: np.ndarray) -> None:
    """Code one layer: the elements `coded` (indices into state) with their steps Delta_l (N,),
    scales (N,) and true values y* (N,); refines state as the decoder will."""
    grid = nested.cell_grid(state.lower[coded], state.upper[coded], step)
    symbols = nested.quantize(grid, y_star)
    informative, sizes, rows = _informative(grid, sigma)
    ec.encode_symbols(encoder, symbols[informative], sizes, rows)
    _refine(state, coded, grid, symbols)


def decode_layer(decoder, state: NestedState, coded: np.ndarray, step: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Mirror of encode_layer; refines state and returns the decoded symbols (N,)."""
    grid = nested.cell_grid(state.lower[coded], state.upper[coded], step)
    informative, sizes, rows = _informative(grid, sigma)
    symbols = np.zeros(coded.size, dtype=np.int64)
    symbols[informative] = ec.decode_symbols(decoder, sizes, rows)
    _refine(state, coded, grid, symbols)
    return symbols


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
    """A loaded DeepHQ model with its coding tables: encodes images, makes layer decoders."""

    name = "deephq"
    model_id = 0

    def __init__(self, weights: dict, device: torch.device):
        self.device = device
        self.model = build_model("deephq", weights["config"], weights["state"]).to(device)
        self.params_net = build_model("deephq", weights["config"], weights["state"]).double()
        self.config = self.model.config
        tables = weights["tables"]
        self.z_offsets = tables["z_offsets"].numpy().astype(np.int64)
        self.z_freqs = tables["z_freqs"].numpy()
        self.z_widths = np.count_nonzero(self.z_freqs, axis=1)
        self.steps = tables["steps"].numpy().astype(np.float64)
        self.gains = self.model.gains().detach()
        self.digest = weights_digest(weights)
        self.num_layers = self.config.layers

    # ---- shared by encoder and decoder ---------------------------------------------------
    def _z_rows(self, count: int, hw: int) -> tuple[np.ndarray, ec.RowsFn]:
        return ec.table_rows(self.z_freqs, np.arange(count) // hw)

    @torch.no_grad()
    def _entropy_parameters(self, z_hat: np.ndarray) -> EntropyParameters:
        """z_hat int (N, hz, wz) -> parameters of y, computed in float64 on the CPU."""
        net = self.params_net
        z = torch.from_numpy(z_hat.astype(np.float64))[None]
        mu, sigma, support = net.entropy_parameters(z)
        mu_index = ec.quantize_mu(mu[0].numpy().ravel())
        sigma_index = ec.quantize_sigma(sigma[0].numpy().ravel())
        if self.config.selective:
            m = net.importance_map(z)
            masks = np.stack([net.selection_probability(m, l)[0].numpy().ravel() > 0.5 for l in range(self.num_layers)])
            masks = np.logical_or.accumulate(masks, axis=0)
        else:
            masks = np.ones((self.num_layers, mu_index.size), dtype=bool)
        return EntropyParameters(
            mu=mu_index / ec.MU_SCALE,
            sigma=ec.SIGMA_TABLE[sigma_index],
            masks=masks,
            support=support.float().to(self.device),
            check=ec.check_value(mu_index, sigma_index, np.packbits(masks)),
        )

    def _initial_state(self, K: int, n: int, hw: int) -> NestedState:
        half_range = (K / 2) * np.repeat(self.steps[0], hw)
        return NestedState(-half_range, half_range.copy(), np.zeros(n))

    @torch.no_grad()
    def _reconstruct(self, state: NestedState, params: EntropyParameters, layer: int, shape, size) -> np.ndarray:
        """x_hat_l as RGB uint8 (H, W, 3): u_l = (y~* + mu) / Delta_l * Gamma_l -> LRP -> g_s."""
        M = self.config.M
        y_tilde = torch.from_numpy(state.value + params.mu).view(1, M, *shape)
        scale = torch.from_numpy(1 / self.steps[layer]).view(1, M, 1, 1) * self.gains[layer].cpu().double().view(1, M, 1, 1)
        u = (y_tilde * scale).float().to(self.device)
        return pixels.to_rgb(self.model.synthesize(u, params.support), *size)

    # ---- encoder ---------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, rgb: np.ndarray) -> Encoded:
        """RGB uint8 (H, W, 3) -> codec parameters, one payload per layer, reconstructions."""
        size = rgb.shape[:2]
        x = pixels.to_tensor(rgb, self.config.downsampling, self.device)
        y = self.model.g_a(x)
        z = torch.round(self.model.h_a(y))[0].cpu().numpy().astype(np.int64)
        symbols_z = np.clip(z - self.z_offsets[:, None, None], 0, self.z_widths[:, None, None] - 1)
        z_hat = symbols_z + self.z_offsets[:, None, None]
        encoder = ec.new_encoder()
        ec.encode_symbols(encoder, symbols_z.ravel(), *self._z_rows(symbols_z.size, z[0].size))
        params = self._entropy_parameters(z_hat)
        shape = y.shape[2:]
        hw = shape[0] * shape[1]
        y_star = y[0].cpu().double().numpy().ravel() - params.mu
        K = 2 * math.ceil(np.max(np.abs(y_star) / np.repeat(self.steps[0], hw))) + 1
        if K > MAX_ALPHABET:
            raise ValueError(f"latent range too large to code (K = {K})")
        state = self._initial_state(K, y_star.size, hw)
        layers, reconstructions = [], []
        for layer in range(self.num_layers):
            for coded, j in layer_passes(params.masks, layer):
                step = self.steps[j][coded // hw]
                encode_layer(encoder, state, coded, step, params.sigma[coded], y_star[coded])
            layers.append(ec.finish(encoder))
            encoder = ec.new_encoder()
            reconstructions.append(self._reconstruct(state, params, layer, shape, size))
        return Encoded(PARAMS.pack(K, params.check), layers, reconstructions)

    def decoder(self, width: int, height: int, params: bytes) -> "DeepHQLayerDecoder":
        return DeepHQLayerDecoder(self, width, height, params)


class DeepHQLayerDecoder:
    """Decodes the layers of one file in order; each call returns that layer's picture."""

    def __init__(self, codec: DeepHQCodec, width: int, height: int, params: bytes):
        if len(params) != PARAMS.size:
            raise ValueError(f"DeepHQ parameters must be {PARAMS.size} bytes, found {len(params)}")
        self.codec = codec
        self.K, self.check = PARAMS.unpack(params)
        if self.K % 2 == 0:
            raise ValueError(f"DeepHQ alphabet size K must be odd, found {self.K}")
        self.size = (height, width)
        d = codec.config.downsampling
        self.z_shape = (codec.config.N, -(-height // d), -(-width // d))
        self.shape = (self.z_shape[1] * 4, self.z_shape[2] * 4)
        self.layer = 0
        self.params: EntropyParameters | None = None
        self.state: NestedState | None = None

    @torch.no_grad()
    def decode_layer(self, payload: bytes) -> np.ndarray:
        """Decode the next layer from its payload; RGB uint8 (H, W, 3)."""
        codec, layer = self.codec, self.layer
        if layer >= codec.num_layers:
            raise ValueError(f"this model has {codec.num_layers} layers; no layer {layer}")
        decoder = ec.new_decoder(payload)
        hw = self.shape[0] * self.shape[1]
        if layer == 0:
            self._start(decoder, hw)
        for coded, j in layer_passes(self.params.masks, layer):
            step = codec.steps[j][coded // hw]
            decode_layer(decoder, self.state, coded, step, self.params.sigma[coded])
        self.layer += 1
        return codec._reconstruct(self.state, self.params, layer, self.shape, self.size)

    def _start(self, decoder, hw: int) -> None:
        codec = self.codec
        count = int(np.prod(self.z_shape))
        symbols = ec.decode_symbols(decoder, *codec._z_rows(count, self.z_shape[1] * self.z_shape[2]))
        z_hat = symbols.reshape(self.z_shape) + codec.z_offsets[:, None, None]
        self.params = codec._entropy_parameters(z_hat)
        if self.params.check != self.check:
            raise ParameterMismatch(
                f"this decoder derives entropy parameters that differ from the encoder's (check "
                f"{self.params.check:08x}, file {self.check:08x}); the picture would be garbage"
            )
        self.state = codec._initial_state(self.K, codec.config.M * hw, hw)
