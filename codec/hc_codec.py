"""HC bitstream: layer 0 = z + y_4, layer 1 = y_3, layer 2 = y_2, each residual-quantized.

Each latent is coded as round(y - mu) + mu with its conditional Gaussian (one nested pass of
step 1, see latent_coding.py). The parameters of y_3 need the decoded y_4, those of y_2 the
decoded y_3, so each layer carries its own check value. Without a layer, its latent is replaced
by its predicted mean, so a prefix of the file still gives a picture.

Codec parameters in the container (18 bytes, little endian): the first-pass alphabet sizes
K_4, K_3, K_2 (u16 each) and the check values of the parameters of y_4, y_3, y_2 (u32 each).
"""
from __future__ import annotations

import struct

import numpy as np
import torch

from codec import entropy_coding as ec
from codec import pixels
from codec.tiling import run_tiled
from codec.latent_coding import (alphabet_size, bind_alphabet, check_alphabet, decode_pass,
    encode_pass, Encoded, InvalidCodecParameters, NestedState, SnappedGaussian, verify, ZCoder)
from codec.weights import build_model, weights_digest

PARAMS = struct.Struct("<3H3I")
LATENTS = ("y4", "y3", "y2")


class HCCodec:
    """A loaded HC model (one member of the family); encodes images, makes layer decoders."""

    name = "hc"

    def __init__(self, weights: dict, device: torch.device, model_id: int):
        self.device = device
        self.model_id = model_id
        self.model = build_model("hc", weights["config"], weights["state"]).to(device)
        self.params_net = build_model("hc", weights["config"], weights["state"]).double()
        self.config = self.model.config
        if not (self.config.hierarchical and self.config.residual):
            raise ValueError("only hierarchical HC models with residual quantization have a bitstream")
        self.num_layers = 3
        self.z_coder = ZCoder(weights["tables"])
        self.digest = weights_digest(weights)

    # ---- the HCE parameters, in float64 on the CPU -------------------------------------------
    @torch.no_grad()
    def _gaussian(self, latent: str, context: dict) -> SnappedGaussian:
        """Snapped (mu, sigma) of a latent from what is decoded before it; context keeps the
        f_3 features for y_2."""
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

    def _latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int, int]]:
        h, w = -(-height // 64) * 64, -(-width // 64) * 64
        return {"y4": (self.config.M, h // 16, w // 16), "y3": (16, h // 8, w // 8), "y2": (4, h // 4, w // 4)}

    @torch.no_grad()
    def _picture(self, context: dict, size) -> np.ndarray:
        """Synthesis from the decoded latents, missing ones replaced by their predicted means."""
        shapes = context["shapes"]
        y3 = context.get("y3") or (self._gaussian("y3", context).mu, shapes["y3"])
        y2 = context.get("y2") or (self._gaussian("y2", {**context, "y3": y3}).mu, shapes["y2"])
        latents = [self._tensor(t).float().to(self.device) for t in (context["y4"], y3, y2)]
        (x_hat,) = run_tiled(lambda *t: (self.model.synthesis(*t),), list(zip(latents, (1, 2, 4))), [16])
        return pixels.to_rgb(x_hat, *size)

    # ---- encoder ---------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, rgb: np.ndarray) -> Encoded:
        size = rgb.shape[:2]
        x = pixels.to_tensor(rgb, self.config.downsampling, self.device)
        y = dict(zip(LATENTS, run_tiled(self.model.analysis, [(x, 16)], [1, 2, 4])))
        encoder = ec.new_encoder()
        context = {"z_hat": self.z_coder.encode(encoder, self.model.h_a(y["y4"])[0]),
                   "shapes": self._latent_shapes(*size)}
        alphabets, checks, layers, pictures = [], [], [], []
        for latent in LATENTS:
            gaussian = self._gaussian(latent, context)
            y_star = y[latent][0].cpu().double().numpy().ravel() - gaussian.mu
            step = np.ones_like(y_star)
            K = alphabet_size(y_star, step)
            state = NestedState.start(K, step)
            encode_pass(encoder, state, np.arange(y_star.size), step, gaussian.sigma, y_star)
            layers.append(ec.finish(encoder))
            encoder = ec.new_encoder()
            alphabets.append(K)
            checks.append(bind_alphabet(gaussian.check(), K))
            self._store(context, latent, gaussian, state)
            pictures.append(self._picture(context, size))
        return Encoded(PARAMS.pack(*alphabets, *checks), layers, pictures)

    @staticmethod
    def _store(context: dict, latent: str, gaussian: SnappedGaussian, state: NestedState) -> None:
        """Keep the decoded latent y_hat = y~* + mu (flat float64) with its shape."""
        context[latent] = (state.value + gaussian.mu, context["shapes"][latent])

    def decoder(self, width: int, height: int, params: bytes) -> "HCLayerDecoder":
        return HCLayerDecoder(self, width, height, params)


class HCLayerDecoder:
    """Decodes the 3 layers of one HC file in order; each call returns that layer's picture."""

    def __init__(self, codec: HCCodec, width: int, height: int, params: bytes):
        if len(params) != PARAMS.size:
            raise InvalidCodecParameters(f"HC parameters must be {PARAMS.size} bytes, found {len(params)}")
        values = PARAMS.unpack(params)
        self.alphabets, self.checks = values[:3], values[3:]
        for latent, K in zip(LATENTS, self.alphabets):
            check_alphabet(K, f"HC {latent}")
        self.codec = codec
        self.size = (height, width)
        shapes = codec._latent_shapes(height, width)
        self.context = {"shapes": shapes}
        d = codec.config.downsampling
        self.z_shape = (codec.config.N, -(-height // d), -(-width // d))
        self.layer = 0

    @torch.no_grad()
    def decode_layer(self, payload: bytes) -> np.ndarray:
        codec, layer = self.codec, self.layer
        if layer >= 3:
            raise InvalidCodecParameters("HC files have 3 layers; the file's layer 3 cannot be decoded")
        decoder = ec.new_decoder(payload)
        latent = LATENTS[layer]
        if layer == 0:
            codec.z_coder.check_room(payload, self.z_shape, f"{self.size[1]}x{self.size[0]}")
            self.context["z_hat"] = codec.z_coder.decode(decoder, self.z_shape)
        gaussian = codec._gaussian(latent, self.context)
        verify(bind_alphabet(gaussian.check(), self.alphabets[layer]), self.checks[layer], f"HC {latent}")
        n = gaussian.mu.size
        state = NestedState.start(self.alphabets[layer], np.ones(n))
        decode_pass(decoder, state, np.arange(n), np.ones(n), gaussian.sigma)
        codec._store(self.context, latent, gaussian, state)
        self.layer += 1
        return codec._picture(self.context, self.size)
