"""Shipped weights: compact fp16 files loaded weights-only, identified by a content digest.

A weights file is a plain dict saved by torch.save and read with torch.load(weights_only=True):
    {"format": "strata-weights", "version": 1, "codec": "deephq" | "hc",
     "config": {...network sizes...}, "state": {name: tensor}, "tables": {name: int32 tensor}}
`tables` holds what model.coding_tables() returns (integer z tables, float64 steps), computed once
at export from the fp16 values, so every decoder codes with the very same tables, whatever its
platform. `source` records the training run and step the weights came from.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn


WEIGHTS_FORMAT = "strata-weights"
WEIGHTS_VERSION = 1
RESOURCES = Path(__file__).resolve().parent.parent / "resources"


class WeightsError(ValueError):
    """A weights file that is missing, malformed or of an unknown codec."""


def model_classes() -> dict:
    """Codec name -> (model class, config class)."""
    from codec.models.deephq import DeepHQ, DeepHQConfig
    from codec.models.hc import HC, HCConfig

    return {"deephq": (DeepHQ, DeepHQConfig), "hc": (HC, HCConfig)}


def atomic_torch_save(obj, path: str | Path) -> None:
    """torch.save to a temporary file in the same folder, then rename over path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def weights_payload(model: nn.Module, codec: str) -> dict:
    """The fp16 weights file content of model, with coding tables computed from the fp16 values."""
    state = {k: v.detach().cpu().half() if v.is_floating_point() else v.cpu() for k, v in model.state_dict().items()}
    config = asdict(model.config)
    return {
        "format": WEIGHTS_FORMAT,
        "version": WEIGHTS_VERSION,
        "codec": codec,
        "config": config,
        "state": state,
        "tables": build_model(codec, config, state).coding_tables(),
    }


def export_weights(model: nn.Module, codec: str, path: str | Path, source: dict | None = None) -> None:
    """Write model as an fp16 weights file; source (e.g. run name and step) is kept as metadata."""
    atomic_torch_save({**weights_payload(model, codec), "source": source or {}}, path)


def build_model(codec: str, config: dict, state: dict) -> nn.Module:
    """A float32 model in eval mode from a config dict and a state dict."""
    classes = model_classes()
    if codec not in classes:
        raise WeightsError(f"unknown codec {codec!r}; known: {sorted(classes)}")
    model_cls, config_cls = classes[codec]
    model = model_cls(config_cls(**config))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.eval()


def read_weights(path: str | Path) -> dict:
    """Load and validate a weights file (weights-only unpickling)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"weights file not found: {path}") from None
    except Exception as exc:  # torch raises many types for damaged files
        raise WeightsError(f"cannot read weights file {path}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != WEIGHTS_FORMAT:
        raise WeightsError(f"{path} is not a Strata weights file")
    if payload.get("version") != WEIGHTS_VERSION:
        raise WeightsError(f"{path}: unsupported weights version {payload.get('version')}")
    return payload


def weights_digest(payload: dict) -> bytes:
    """8-byte SHA-256 digest of the state and tables (names, dtypes, shapes and bytes)."""
    h = hashlib.sha256(payload["codec"].encode())
    for group in ("state", "tables"):
        for name in sorted(payload[group]):
            t = payload[group][name].contiguous()
            h.update(f"{group}:{name}:{t.dtype}:{tuple(t.shape)}".encode())
            h.update(t.numpy().tobytes())
    return h.digest()[:8]
