"""Which codecs exist, where their shipped weights live, and loading each model once."""
from __future__ import annotations

import functools
from pathlib import Path

import torch

from codec.resources import RESOURCES
from codec.weights import WeightsError, read_weights

DEFAULT_CODEC = "deephq"


def weights_file(codec: str, model_id: int) -> Path:
    """Shipped weights of a codec model: deephq.pt, or hc_q<model_id>.pt for the HC family."""
    if codec == "deephq":
        if model_id != 0:
            raise WeightsError(f"DeepHQ has a single model (model id 0), not {model_id}")
        return RESOURCES / "deephq.pt"
    if codec == "hc":
        return RESOURCES / f"hc_q{model_id}.pt"
    raise WeightsError(f"unknown codec {codec!r}; known: deephq, hc")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" -> CUDA when available, else CPU; anything else is passed to torch.device."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@functools.lru_cache(maxsize=8)
def _load(codec: str, model_id: int, path: str, device: torch.device):
    weights = read_weights(path)
    if weights["codec"] != codec:
        raise WeightsError(f"{path} holds {weights['codec']} weights, not {codec}")
    if codec == "deephq":
        from codec.codecs.deephq import DeepHQCodec
        return DeepHQCodec(weights, device)
    from codec.codecs.hc import HCCodec
    return HCCodec(weights, device, model_id)


def load_codec(codec: str = DEFAULT_CODEC, model_id: int = 0, device: str | torch.device = "auto", weights: str | Path | None = None):
    """A ready codec (model on device, coding tables loaded), cached per (codec, model, file, device)."""
    path = Path(weights) if weights else weights_file(codec, model_id)
    return _load(codec, model_id, str(path), resolve_device(device))
