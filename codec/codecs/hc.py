"""HC bitstream: layer 0 = z + y_4, layer 1 = y_3, layer 2 = y_2, each residual-quantized.

Each latent is coded as round(y - mu) + mu with its conditional Gaussian (the nested pass of
latent_coding.py with step 1; ResidualPass computes its probability rows once per sigma). The
parameters of y_3 need the decoded y_4, those of y_2 the decoded y_3, so each layer carries its
own check value. Without a layer, its latent is replaced by its predicted mean, so a prefix of
the file still gives a picture.

Codec parameters in the container (18 bytes, little endian): the first-pass alphabet sizes
K_4, K_3, K_2 (u16 each) and the check values of the parameters of y_4, y_3, y_2 (u32 each).
"""
from __future__ import annotations

import struct

import numpy as np
import torch

from codec.coding import entropy_coding as ec
from codec import pixels
from codec.coding import nested
from codec.coding.tiling import run_tiled
from codec.precision import channels_last, synthesis_autocast
from codec.coding.latent_coding import (alphabet_size, bind_alphabet, check_alphabet, Encoded,
    InvalidCodecParameters, SnappedGaussian, verify, ZCoder)
from codec.codecs.latent_search import search, search_cost, stages
from codec.effort import DEFAULT_EFFORT, Progress
from codec.codecs.hc_objective import LEARNING_RATE, objective, search_steps
from codec.codecs.protocol import LayerDecoder
from codec.weights import build_model, weights_digest

PARAMS = struct.Struct("<3H3I")
LATENTS = ("y4", "y3", "y2")


class ResidualPass:
    """The one coding pass of a latent: round(y - mu) in K unit cells centred on 0, as
    latent_coding's nested pass with step 1 codes it, with the same probabilities.

    In the residual domain every element has the same cells, so its probability row depends only
    on its sigma index: each row is computed once per latent, not once per element (n x K
    normal-CDF evaluations).
    """

    def __init__(self, K: int, gaussian: SnappedGaussian):
        n = gaussian.mu.size
        half = np.full(n, K / 2)
        self.grid = nested.cell_grid(-half, half.copy(), np.ones(n))
        self.K, self.sigma_index = K, gaussian.sigma_index
        used = np.unique(self.sigma_index)
        self.row_of = np.zeros(ec.SIGMA_LEVELS, dtype=np.int64)
        self.row_of[used] = np.arange(used.size)
        self.table = nested.pmf(self.grid.subset(slice(0, used.size)), ec.SIGMA_TABLE[used], K) if K > 1 else None

    def rows(self, part: slice) -> np.ndarray:
        """The probability rows of elements part."""
        return self.table[self.row_of[self.sigma_index[part]]]

    def encode(self, encoder, y_star: np.ndarray) -> np.ndarray:
        """Code y* (n,); returns the decoder's y~* (n,)."""
        symbols = nested.quantize(self.grid, y_star)
        if self.table is not None:
            ec.encode_symbols(encoder, symbols, self.grid.alphabet_sizes, self.rows)
        return self._values(symbols)

    def decode(self, decoder) -> np.ndarray:
        """y~* (n,) from the stream."""
        n = self.sigma_index.size
        symbols = np.zeros(n, dtype=np.int64)
        if self.table is not None:
            symbols = ec.decode_symbols(decoder, self.grid.alphabet_sizes, self.rows)
        return self._values(symbols)

    def _values(self, symbols: np.ndarray) -> np.ndarray:
        return nested.reconstruction(*nested.cell_of(self.grid, symbols))


class HCCodec:
    """A loaded HC model (one member of the family, model id = its quality); encodes images,
    makes layer decoders (a codec.codecs.protocol.LayeredCodec)."""

    name = "hc"

    def __init__(self, weights: dict, device: torch.device, model_id: int):
        self.device = device
        self.model_id = model_id
        self.model = build_model(self.name, weights["config"], weights["state"]).to(device, memory_format=torch.channels_last).requires_grad_(False)
        self.params_net = build_model(self.name, weights["config"], weights["state"]).double()
        self.config = self.model.config
        if not (self.config.hierarchical and self.config.residual):
            raise ValueError("only hierarchical HC models with residual quantization have a bitstream")
        self.num_layers = 3
        self.z_coder = ZCoder(weights["tables"])
        self.digest = weights_digest(weights)

    # ---- shared by encoder and decoder ---------------------------------------------------------
    @torch.no_grad()
    def gaussian(self, latent: str, context: dict) -> SnappedGaussian:
        """Snapped (mu, sigma) of a latent, in float64 on the CPU, from what precedes it: z_hat for
        y_4, y_4 for y_3 (which adds its f_3 features to context), y_3 and the features for y_2."""
        net = self.params_net
        if latent == "y4":
            mu, sigma = net.params_4(torch.from_numpy(context["z_hat"].astype(np.float64))[None])
        elif latent == "y3":
            mu, sigma, context["features"] = net.params_3(self._tensor(context["y4"]))
        else:
            mu, sigma = net.params_2(self._tensor(context["y3"]), context["features"])
        return SnappedGaussian.snap(mu, sigma)

    @staticmethod
    def _tensor(latent: tuple[np.ndarray, tuple]) -> torch.Tensor:
        values, shape = latent
        return torch.from_numpy(values).view(1, *shape)

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int, int]]:
        h, w = -(-height // 64) * 64, -(-width // 64) * 64
        return {"y4": (self.config.M, h // 16, w // 16), "y3": (16, h // 8, w // 8), "y2": (4, h // 4, w // 4)}

    @torch.no_grad()
    def synthesize(self, latents: list[tuple[np.ndarray, tuple]], size) -> np.ndarray:
        """RGB uint8 (H, W, 3) from y_4, y_3, y_2 (flat float64 values with their shapes), in
        float32 (bf16 costs HC more than 0.02 dB: codec.precision)."""
        tensors = [self._tensor(t).float().to(self.device) for t in latents]
        with synthesis_autocast(self.device, bf16_ok=False):
            (x_hat,) = run_tiled(lambda *t: (self.model.synthesis(*map(channels_last, t)),), list(zip(tensors, (1, 2, 4))), [16])
        return pixels.to_rgb(x_hat, *size)

    # ---- encoder ---------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, rgb: np.ndarray, reconstruct: bool = True, effort: int = DEFAULT_EFFORT,
               progress: Progress | None = None) -> Encoded:
        """RGB uint8 (H, W, 3) -> parameters, one payload per depth level, and (with reconstruct)
        each level's picture. effort: 1..9, the latent search (codec/effort.py, hc_objective.py);
        progress(fraction) reports the encode."""
        steps = search_steps(effort)
        searching, coding = stages(progress, [search_cost(steps), 3 * (1.2 if reconstruct else 0.2)])
        size = rgb.shape[:2]
        x = pixels.to_tensor(rgb, self.config.downsampling, self.device)
        y = dict(zip(LATENTS, run_tiled(self.model.analysis, [(x, 16)], [1, 2, 4])))
        encoder = ec.new_encoder()
        latents = Latents(self, self.latent_shapes(*size))
        latents.context["z_hat"] = self.z_coder.encode(encoder, self.model.h_a(y["y4"])[0])
        if steps:
            z_hat = torch.from_numpy(latents.context["z_hat"]).float()[None].to(self.device)
            with torch.enable_grad():
                refined = search([(y[name].float(), f) for name, f in zip(LATENTS, (1, 2, 4))],
                                 objective(self, x, z_hat, size), steps, LEARNING_RATE, searching)
            y = dict(zip(LATENTS, refined))
        alphabets, checks, layers, pictures = [], [], [], []
        for index, latent in enumerate(LATENTS):
            gaussian = latents.gaussian(index)
            y_star = y[latent][0].cpu().double().numpy().ravel() - gaussian.mu
            K = alphabet_size(y_star, np.ones_like(y_star))
            values = ResidualPass(K, gaussian).encode(encoder, y_star)
            layers.append(ec.finish(encoder))
            encoder = ec.new_encoder()
            alphabets.append(K)
            checks.append(bind_alphabet(gaussian.check(), K))
            latents.store(index, values + gaussian.mu)
            if reconstruct:
                pictures.append(self.synthesize(latents.picture_inputs(index), size))
            coding((index + 1) / len(LATENTS))
        return Encoded(PARAMS.pack(*alphabets, *checks), layers, pictures)

    def decoder(self, width: int, height: int, params: bytes, history: bool = False) -> "HCLayerDecoder":
        return HCLayerDecoder(self, width, height, params, history)


class Latents:
    """The latents of one picture as far as they are decoded, and the Gaussians derived from them.

    The picture of layer l uses the latents decoded up to l and the predicted means of the others;
    each Gaussian is computed once and shared by the pictures and the decoding that need it. With
    history, those of older pictures are kept, else dropped once a newer latent is stored.
    """

    def __init__(self, codec: HCCodec, shapes: dict[str, tuple], history: bool = False):
        self.codec = codec
        self.shapes = shapes
        self.history = history
        self.context: dict = {}  # z_hat, the decoded y_4 and its f_3 features
        self.decoded: dict[str, tuple[np.ndarray, tuple]] = {}  # latent -> (y_hat flat float64, shape)
        self._gaussians: dict[tuple[int, int], SnappedGaussian] = {}

    def gaussian(self, index: int, upto: int | None = None) -> SnappedGaussian:
        """Gaussian of latent `index` given the latents before it as the picture of layer upto has
        them (default: all decoded, the Gaussian it is coded with)."""
        upto = index - 1 if upto is None else min(upto, index - 1)
        if (index, upto) not in self._gaussians:
            context = self.context
            if index == 2:
                if "features" not in context:
                    self.gaussian(1)  # computes them
                context = {**context, "y3": self.latent(1, upto)}
            self._gaussians[(index, upto)] = self.codec.gaussian(LATENTS[index], context)
        return self._gaussians[(index, upto)]

    def latent(self, index: int, upto: int) -> tuple[np.ndarray, tuple]:
        """Latent `index` as the picture of layer upto has it: decoded, or its predicted mean."""
        name = LATENTS[index]
        return self.decoded[name] if index <= upto else (self.gaussian(index, upto).mu, self.shapes[name])

    def picture_inputs(self, upto: int) -> list[tuple[np.ndarray, tuple]]:
        """y_4, y_3, y_2 for the picture of layer upto."""
        return [self.latent(index, upto) for index in range(len(LATENTS))]

    def store(self, index: int, values: np.ndarray) -> None:
        """Keep decoded latent `index`: y_hat = y~* + mu, flat float64."""
        name = LATENTS[index]
        self.decoded[name] = (values, self.shapes[name])
        if index == 0:
            self.context["y4"] = self.decoded[name]
        if not self.history:
            self._gaussians = {key: g for key, g in self._gaussians.items() if key[1] >= index}


class HCLayerDecoder(LayerDecoder):
    """Decodes the 3 layers of one HC file in order, one chunk each, in two steps: decode_chunk
    (the range decoding and the Gaussians it needs) and synthesize (the picture); decode_layer
    (from LayerDecoder) does both. Any decoded layer can be synthesized; with history its
    Gaussians are kept for that."""

    title = "HC"

    def __init__(self, codec: HCCodec, width: int, height: int, params: bytes, history: bool = False):
        if len(params) != PARAMS.size:
            raise InvalidCodecParameters(f"HC parameters must be {PARAMS.size} bytes, found {len(params)}")
        values = PARAMS.unpack(params)
        self.alphabets, self.checks = values[:3], values[3:]
        for latent, K in zip(LATENTS, self.alphabets):
            check_alphabet(K, f"HC {latent}")
        self.codec = codec
        self.size = (height, width)
        self.latents = Latents(codec, codec.latent_shapes(height, width), history)
        d = codec.config.downsampling
        self.z_shape = (codec.config.N, -(-height // d), -(-width // d))
        self.layer = 0  # layers decoded so far
        self.parts = 0

    def chunks_in(self, layer: int) -> int:
        return 1 if 0 <= layer < len(LATENTS) else 0

    @torch.no_grad()
    def decode_chunk(self, payload: bytes, layer: int, part: int) -> None:
        """Range-decode layer `layer`'s latent from its one chunk (no synthesis)."""
        self.check_next(layer, part)
        codec = self.codec
        decoder = ec.new_decoder(payload)
        if layer == 0:
            codec.z_coder.check_room(payload, self.z_shape, f"{self.size[1]}x{self.size[0]}")
            self.latents.context["z_hat"] = codec.z_coder.decode(decoder, self.z_shape)
        gaussian = self.latents.gaussian(layer)
        verify(bind_alphabet(gaussian.check(), self.alphabets[layer]), self.checks[layer], f"HC {LATENTS[layer]}")
        values = ResidualPass(self.alphabets[layer], gaussian).decode(decoder)
        decoder.finish(ec.stream_name(layer))
        self.latents.store(layer, values + gaussian.mu)
        self.count(layer)

    def synthesize(self, layer: int | None = None) -> np.ndarray:
        """The picture (RGB uint8 (H, W, 3)) of a decoded layer, by default the newest."""
        layer = self.layer - 1 if layer is None else layer
        if not 0 <= layer < self.layer:
            raise IndexError(f"layer index {layer} is not decoded (decoded: {self.layer})")
        return self.codec.synthesize(self.latents.picture_inputs(layer), self.size)
