"""DeepHQ bitstream: nested quantization of y* = y - mu coded layer by layer (notes, 2-4).

Layer 0 carries the z symbols followed by the layer-0 y symbols (one range-coder stream, one
chunk). Each further layer l codes its elements in P_l partitions ordered by sigma, largest first
(the paper's fine-grained mode, shared/docs/deephq.md 6.2), each its own range-coder stream and
container chunk, so a prefix ending inside a layer still refines the picture. The encoder gives
a layer fewer partitions than PARTITIONS where its chunks would be smaller than MIN_CHUNK_BYTES
(every chunk costs its stream's last word, a CRC and a length: about 10 bytes). Entropy
parameters (mu, sigma, masks) are derived from z_hat in float64 on the CPU, snapped to grids and
protected by a check value (see entropy_coding.py), so the transforms may run on any device.

Codec parameters in the container (little endian): K (u16), the alphabet size of layer 0 (the
range of layer 0 is +-K Delta_0 / 2 per channel), the check value (u32), then P_1 .. P_{L-1}
(u8 each). Files of older encoders hold 6 bytes (version 1: every P_l = 1) or 7 (one P for
every layer after the first).
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from codec.coding import entropy_coding as ec
from codec import pixels
from codec.coding.tiling import run_tiled
from codec.precision import channels_last, synthesis_autocast
from codec.coding.latent_coding import (alphabet_size, bind_alphabet, check_alphabet, chunk_passes, decode_pass,
    encode_pass, Encoded, InvalidCodecParameters, NestedState, reconstruction, SnappedGaussian, verify, ZCoder)
from codec.codecs.deephq_objective import search
from codec.codecs.latent_search import search_cost, stages
from codec.effort import DEFAULT_EFFORT, Progress, steps_of
from codec.codecs.protocol import LayerDecoder
from codec.weights import build_model, weights_digest

PARAMS = struct.Struct("<HI")  # K, check; then the partition counts (none in version 1 files)
PARTITIONS = 4  # at most, per layer after the first: what the measurement in BENCHMARKS.md chose
MIN_CHUNK_BYTES = 4096  # a layer is cut into fewer partitions rather than chunks smaller than this
MAX_PARTITIONS = 64  # container.MAX_CHUNKS
RECODE_ELEMENTS = 1 << 21  # a layer touching more elements keeps its partitions (bounds the saved state)


@dataclass
class EntropyParameters:
    """Per-image parameters of the latent y, flattened in C order over (M, h, w)."""

    gaussian: SnappedGaussian
    masks: np.ndarray  # bool (L, n), cumulative over layers
    support: torch.Tensor  # float32 (1, 3M/2, h, w) on the transform device, LRP input
    check: int


def partitions(masks: np.ndarray, sigma: np.ndarray, layer: int, count: int) -> list[np.ndarray]:
    """The element indices each chunk of layer `layer` refines: the elements its mask selects
    (masks: bool (L, n), cumulative), sorted by sigma (n,) largest first (a stable sort), cut
    into `count` near-equal partitions (layer 0: one), each in index order."""
    selected = np.flatnonzero(masks[layer])
    if layer == 0 or count == 1:
        return [selected]
    order = selected[np.argsort(-sigma[selected], kind="stable")]
    return [np.sort(part) for part in np.array_split(order, count)]


def interpolated(table: np.ndarray, layer: int, fraction: float) -> np.ndarray:
    """table[layer] (a per-layer row) `fraction` (0..1] of the way through layer `layer`'s
    partitions: interpolated linearly from layer - 1 (as the paper's decoder)."""
    if fraction >= 1 or layer == 0:
        return table[layer]
    return (1 - fraction) * table[layer - 1] + fraction * table[layer]


def refinement_scale(gains: np.ndarray, steps: np.ndarray, layer: int, fraction: float) -> np.ndarray:
    """Gamma / Delta per channel (M,) of a picture `fraction` (0..1] of the way through layer
    `layer`'s partitions, both interpolated."""
    return interpolated(gains, layer, fraction) / interpolated(steps, layer, fraction)


class DeepHQCodec:
    """A loaded DeepHQ model with its coding tables: encodes images, makes layer decoders
    (a codec.codecs.protocol.LayeredCodec). DeepHQ has a single model, model id 0."""

    name = "deephq"

    def __init__(self, weights: dict, device: torch.device, model_id: int = 0):
        self.device = device
        self.model_id = model_id
        self.model = build_model(self.name, weights["config"], weights["state"]).to(device, memory_format=torch.channels_last).requires_grad_(False)
        self.params_net = build_model(self.name, weights["config"], weights["state"]).double()
        self.config = self.model.config
        self.num_layers = self.config.layers
        self.z_coder = ZCoder(weights["tables"])
        self.steps = weights["tables"]["steps"].numpy().astype(np.float64)
        self.offsets = weights["tables"]["reconstruction_offsets"].numpy().astype(np.float64)
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

    def code_chunk(self, coder, state: NestedState, params: EntropyParameters, layer: int, elements: np.ndarray,
                   hw: int, y_star=None) -> None:
        """Encode (y_star given) or decode every pass of the chunk refining `elements` at `layer`."""
        sigma = params.gaussian.sigma
        for coded, j in chunk_passes(params.masks, elements, layer):
            if y_star is None:
                decode_pass(coder, state, coded, self._step(j, coded, hw), sigma[coded])
            else:
                encode_pass(coder, state, coded, self._step(j, coded, hw), sigma[coded], y_star[coded])

    def latent(self, state: NestedState, params: EntropyParameters, layer: int, shape, fraction: float = 1.0) -> torch.Tensor:
        """u = (y~* + mu) / Delta * Gamma, float32 (1, M, h, w) on the CPU: the synthesis input of
        layer `layer`, or of a picture `fraction` of the way through its partitions."""
        M = self.config.M
        scale = refinement_scale(self.gains, self.steps, layer, fraction).reshape(M, 1, 1)
        value = reconstruction(state, params.gaussian.sigma, float(interpolated(self.offsets, layer, fraction)))
        u = (value + params.gaussian.mu).reshape(M, *shape) * scale
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
    def _analyse(self, rgb: np.ndarray, effort: int = DEFAULT_EFFORT, progress: Progress | None = None):
        """g_a, h_a, the z stream and the latent search of the effort level (codec/effort.py):
        -> (encoder holding z, parameters, y* flat, y shape)."""
        x = pixels.to_tensor(rgb, self.config.downsampling, self.device)
        (y,) = run_tiled(lambda t: (self.model.g_a(t),), [(x, 16)], [1])
        encoder = ec.new_encoder()
        params = self.entropy_parameters(self.z_coder.encode(encoder, self.model.h_a(y)[0]))
        y_star = y[0].cpu().double().numpy().ravel() - params.gaussian.mu
        if steps_of(effort):
            K = alphabet_size(y_star, np.repeat(self.steps[0], y[0, 0].numel()))
            with torch.enable_grad():
                y = search(self, params, x, y.float(), K, rgb.shape[:2], effort, progress)
            y_star = y[0].cpu().double().numpy().ravel() - params.gaussian.mu
        return encoder, params, y_star, tuple(y.shape[2:])

    def encode(self, rgb: np.ndarray, reconstruct: bool = True, effort: int = DEFAULT_EFFORT,
               progress: Progress | None = None) -> Encoded:
        """RGB uint8 (H, W, 3) -> codec parameters, each layer's chunks (one for layer 0, up to
        PARTITIONS of at least MIN_CHUNK_BYTES for the others), reconstructions (with
        reconstruct; else none: they cost one synthesis per layer). effort: 1..9 (codec/effort.py);
        progress(fraction) reports the latent search."""
        return self.encode_partitioned(rgb, PARTITIONS, reconstruct, MIN_CHUNK_BYTES, effort, progress)

    @torch.no_grad()
    def encode_partitioned(self, rgb: np.ndarray, partitions: int, reconstruct: bool = True,
                           min_chunk_bytes: int = 0, effort: int = DEFAULT_EFFORT,
                           progress: Progress | None = None) -> Encoded:
        """encode with up to `partitions` chunks per layer after the first, fewer where a layer's
        chunks would be smaller than min_chunk_bytes (0: always `partitions`; 1: the bitstream
        of container version 1 files)."""
        check_partitions(partitions)
        searching, coding = stages(progress, [search_cost(steps_of(effort)), self.num_layers * (1.3 if reconstruct else 0.3)])
        encoder, params, y_star, shape = self._analyse(rgb, effort, searching)
        hw = shape[0] * shape[1]
        first_step = np.repeat(self.steps[0], hw)
        K = alphabet_size(y_star, first_step)
        state = NestedState.start(K, first_step)
        chunks, reconstructions = [self._code_layer(encoder, state, params, 0, 1, hw, y_star)], []
        for layer in range(self.num_layers):
            if layer > 0:
                chunks.append(self._code_layer_fitted(state, params, layer, partitions, min_chunk_bytes, hw, y_star))
            if reconstruct:
                reconstructions.append(self._reconstruct(state, params, layer, shape, rgb.shape[:2]))
            coding((layer + 1) / self.num_layers)
        counts = tuple(map(len, chunks[1:]))
        return Encoded.of_chunks(pack_params(K, params.check, counts), chunks, reconstructions)

    def _code_layer(self, encoder, state: NestedState, params: EntropyParameters, layer: int, count: int,
                    hw: int, y_star: np.ndarray) -> list[bytes]:
        """Encode layer `layer` in `count` partitions (the first continuing `encoder`, if given)."""
        chunks = []
        for elements in self.partitions(params, layer, count):
            encoder = ec.new_encoder() if encoder is None else encoder
            self.code_chunk(encoder, state, params, layer, elements, hw, y_star)
            chunks.append(ec.finish(encoder))
            encoder = None
        return chunks

    def _code_layer_fitted(self, state: NestedState, params: EntropyParameters, layer: int, most: int,
                           min_chunk_bytes: int, hw: int, y_star: np.ndarray) -> list[bytes]:
        """Encode layer `layer` in `most` partitions, again in fewer (from the state before it)
        where its bytes make chunks smaller than min_chunk_bytes."""
        touched = np.flatnonzero(params.masks[layer])
        saved = state.saved(touched) if min_chunk_bytes and most > 1 and touched.size <= RECODE_ELEMENTS else None
        chunks = self._code_layer(None, state, params, layer, most, hw, y_star)
        count = fitted_partitions(sum(map(len, chunks)), most, min_chunk_bytes)
        if saved is None or count == most:
            return chunks
        state.restore(touched, saved)
        return self._code_layer(None, state, params, layer, count, hw, y_star)

    def partitions(self, params: EntropyParameters, layer: int, count: int) -> list[np.ndarray]:
        """The elements of each chunk of a layer (module function partitions)."""
        return partitions(params.masks, params.gaussian.sigma, layer, count)

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
        return Encoded(pack_params(K, params.check, (1,) * (self.num_layers - 1)), [ec.finish(encoder)], [picture])

    def decoder(self, width: int, height: int, params: bytes, history: bool = False) -> "DeepHQLayerDecoder":
        return DeepHQLayerDecoder(self, width, height, params, history)


def check_partitions(count: int) -> None:
    """Raise InvalidCodecParameters for a partition count no encoder writes."""
    if not 1 <= count <= MAX_PARTITIONS:
        raise InvalidCodecParameters(f"DeepHQ codes 1..{MAX_PARTITIONS} partitions per layer, not {count}")


def fitted_partitions(layer_bytes: int, most: int, min_chunk_bytes: int) -> int:
    """Partitions of a layer of layer_bytes: `most`, fewer where chunks would be smaller than
    min_chunk_bytes (0: no minimum), at least 1."""
    if not min_chunk_bytes:
        return most
    return max(1, min(most, layer_bytes // min_chunk_bytes))


def pack_params(K: int, check: int, counts: tuple[int, ...]) -> bytes:
    """The container's codec parameters: K, the check value bound to K and to the partition
    counts P_1 .. P_{L-1}, the counts."""
    for count in counts:
        check_partitions(count)
    stored = bytes(counts)
    return PARAMS.pack(K, bind_partitions(bind_alphabet(check, K), stored)) + stored


def bind_partitions(check: int, stored: bytes) -> int:
    """The stored check value: extended by the stored partition counts, so a forged one is detected."""
    return zlib.crc32(stored, check) if stored else check


def unpack_params(params: bytes, num_layers: int) -> tuple[int, int, bytes, tuple[int, ...]]:
    """(K, stored check, stored partition bytes, P_1 .. P_{L-1}) of any layout: 6 bytes (every
    P_l = 1), 7 (one P for every layer) or 6 + L - 1; InvalidCodecParameters for another length."""
    sizes = sorted({PARAMS.size, PARAMS.size + 1, PARAMS.size + num_layers - 1})
    if len(params) not in sizes:
        raise InvalidCodecParameters(f"DeepHQ parameters must be {', '.join(map(str, sizes[:-1]))} or {sizes[-1]} "
                                     f"bytes, found {len(params)}")
    K, check = PARAMS.unpack_from(params)
    stored = params[PARAMS.size:]
    counts = tuple(stored) if len(stored) == num_layers - 1 else (stored[0] if stored else 1,) * (num_layers - 1)
    for count in counts:
        check_partitions(count)
    return K, check, stored, counts


class DeepHQLayerDecoder(LayerDecoder):
    """Decodes the chunks of one file in order, in two steps: decode_chunk (the range decoding,
    cheap) and synthesize (the picture). decode_symbols and decode_layer (from LayerDecoder)
    take a whole layer.

    The newest layer's synthesis input is made from the decoded state when it is synthesized
    (as far as its partitions are decoded), so chunks no one looks at cost no more than their
    range decoding. With history, the input of every complete layer is kept as well (M h w
    floats each), so any of them can be synthesized later.
    """

    title = "DeepHQ"

    def __init__(self, codec: DeepHQCodec, width: int, height: int, params: bytes, history: bool = False):
        self.codec = codec
        self.K, self.check, self.stored_counts, self.partition_counts = unpack_params(params, codec.num_layers)
        check_alphabet(self.K, "DeepHQ")
        self.size = (height, width)
        d = codec.config.downsampling
        self.z_shape = (codec.config.N, -(-height // d), -(-width // d))
        self.shape = (self.z_shape[1] * 4, self.z_shape[2] * 4)
        self.layer = 0  # layers begun so far
        self.parts = 0  # chunks of the newest layer decoded
        self.history = history
        self.params: EntropyParameters | None = None
        self.state: NestedState | None = None
        self._kept: dict[int, torch.Tensor] = {}  # with history: complete layer -> synthesis input
        self._partitions: dict[int, list[np.ndarray]] = {}  # layer -> its chunks' elements

    def chunks_in(self, layer: int) -> int:
        if not 0 <= layer < self.codec.num_layers:
            return 0
        return 1 if layer == 0 else self.partition_counts[layer - 1]

    @torch.no_grad()
    def decode_chunk(self, payload: bytes, layer: int, part: int) -> None:
        """Range-decode chunk `part` of layer `layer` (no synthesis)."""
        self.check_next(layer, part)
        codec = self.codec
        decoder = ec.new_decoder(payload)
        hw = self.shape[0] * self.shape[1]
        if layer == 0:
            self._start(payload, decoder, hw)
        codec.code_chunk(decoder, self.state, self.params, layer, self._elements(layer)[part], hw)
        decoder.finish(ec.stream_name(layer, part, self.chunks_in(layer)))
        self.count(layer)
        if self.history and self.parts == self.chunks_in(layer):
            self._kept[layer] = self._newest_latent()

    def _newest_latent(self) -> torch.Tensor:
        """The synthesis input of the newest layer as far as its chunks are decoded."""
        layer = self.layer - 1
        return self.codec.latent(self.state, self.params, layer, self.shape, self.parts / self.chunks_in(layer))

    def _start(self, payload: bytes, decoder, hw: int) -> None:
        """Layer 0's beginning: z, the entropy parameters (checked) and the first intervals."""
        codec = self.codec
        codec.z_coder.check_room(payload, self.z_shape, f"{self.size[1]}x{self.size[0]}")
        self.params = codec.entropy_parameters(codec.z_coder.decode(decoder, self.z_shape))
        check = bind_partitions(bind_alphabet(self.params.check, self.K), self.stored_counts)
        verify(check, self.check, "DeepHQ")
        self.state = NestedState.start(self.K, np.repeat(codec.steps[0], hw))

    def _elements(self, layer: int) -> list[np.ndarray]:
        """The elements of each chunk of a layer, computed once."""
        if layer not in self._partitions:
            self._partitions[layer] = self.codec.partitions(self.params, layer, self.chunks_in(layer))
        return self._partitions[layer]

    def synthesize(self, layer: int | None = None) -> np.ndarray:
        """The picture (RGB uint8 (H, W, 3)) of a decoded layer as far as its chunks are decoded,
        by default the newest."""
        layer = self.layer - 1 if layer is None else layer
        if layer in self._kept:
            u = self._kept[layer]
        elif 0 <= layer == self.layer - 1:
            u = self._newest_latent()
        else:
            raise IndexError(f"layer index {layer} is not decoded or not kept (decoded: {self.layer})")
        return self.codec.synthesize(u, self.params, self.size)
