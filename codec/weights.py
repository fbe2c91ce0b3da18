"""Shipped weights: compact fp16 files loaded weights-only, identified by a content digest.

A weights file is a plain dict saved by torch.save and read with torch.load(weights_only=True):
    {"format": "strata-weights", "version": 1, "codec": a name of codec.registry.CODECS,
     "config": {...network sizes...}, "state": {name: tensor}, "tables": {name: int32 tensor},
     "source": {...}, "sha256": "..."}
`tables` holds what model.coding_tables() returns (integer z tables, float64 steps), computed once
at export from the fp16 values, so every decoder codes with the very same tables, whatever its
platform. `source` records the training run and step the weights came from.

read_weights trusts nothing it has not checked, and names the file in every WeightsError:
1. the CRC-32 of every member of the zip archive torch.save writes (the pickled dict and each
   tensor's bytes), which every weights file ever exported carries;
2. `sha256`, the SHA-256 of codec, config, state and tables that save_weights records (files
   exported before it was recorded have none and rest on the CRC-32s alone);
3. the structure: the config's keys, and every tensor's name, kind and shape against the model
   the config describes and the tables that model codes with.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from codec import registry
from codec.atomic import write_atomic
from codec.registry import WeightsError

WEIGHTS_FORMAT = "strata-weights"
WEIGHTS_VERSION = 1
_REQUIRED = ("codec", "config", "state", "tables")
_FREE_WIDTH = {"z_freqs"}  # its last dimension is the number of z values the trained prior covers


def atomic_torch_save(obj, path: str | Path) -> None:
    """torch.save to a temporary file beside path (with the zip members' CRC-32s), then rename."""
    write_atomic(path, lambda f: _save_with_crcs(obj, f))


def _save_with_crcs(obj, f) -> None:
    previous = torch.serialization.get_crc32_options()
    torch.serialization.set_crc32_options(True)
    try:
        torch.save(obj, f)
    finally:
        torch.serialization.set_crc32_options(previous)


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


def save_weights(payload: dict, path: str | Path) -> None:
    """Write a weights file, recording the SHA-256 of its content (read_weights verifies it)."""
    atomic_torch_save({**payload, "sha256": content_digest(payload)}, path)


def export_weights(model: nn.Module, codec: str, path: str | Path, source: dict | None = None) -> None:
    """Write model as an fp16 weights file; source (e.g. run name and step) is kept as metadata."""
    save_weights({**weights_payload(model, codec), "source": source or {}}, path)


def build_model(codec: str, config: dict, state: dict) -> nn.Module:
    """A float32 model in eval mode from a config dict and a state dict."""
    spec = registry.spec(codec)
    model = spec.model_class(spec.config_class(**config))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.eval()


def read_weights(path: str | Path) -> dict:
    """Load a weights file (weights-only unpickling) and verify it; raise WeightsError naming it."""
    data = _read_bytes(path)
    _check_crcs(data, path)
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for damaged files
        raise WeightsError(f"cannot read weights file {path}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != WEIGHTS_FORMAT:
        raise WeightsError(f"{path} is not a Strata weights file")
    if payload.get("version") != WEIGHTS_VERSION:
        raise WeightsError(f"{path}: unsupported weights version {payload.get('version')}")
    _check_structure(payload, path)
    _check_digest(payload, path)
    return payload


def _read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise WeightsError(f"weights file not found: {path}") from None
    except OSError as exc:
        raise WeightsError(f"cannot read weights file {path}: {exc}") from exc


def _check_crcs(data: bytes, path: str | Path) -> None:
    """Every member of the archive must match the CRC-32 its zip directory records."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()
    except Exception as exc:  # zipfile raises several types for damaged archives
        raise WeightsError(f"weights file {path} is damaged: not a readable archive ({exc})") from exc
    if bad is not None:
        raise WeightsError(f"weights file {path} is damaged: its member {bad} does not match its "
                           f"CRC-32; reinstall or re-export it")


def _check_structure(payload: dict, path: str | Path) -> None:
    """Config keys, state tensors and coding tables must be what the codec's model has."""
    missing = [key for key in _REQUIRED if key not in payload]
    if missing:
        raise WeightsError(f"weights file {path} lacks {', '.join(missing)}")
    if payload["codec"] not in registry.LEARNED_NAMES:
        raise WeightsError(f"weights file {path}: unknown codec {payload['codec']!r}; known: "
                           f"{', '.join(registry.LEARNED_NAMES)}")
    with torch.random.fork_rng(devices=[]):  # initialising a model draws random numbers
        model = _model_for(payload["codec"], payload["config"], path)
        state, tables = model.state_dict(), model.coding_tables()
    _compare_tensors(payload["state"], state, f"weights file {path}: state", set())
    _compare_tensors(payload["tables"], tables, f"weights file {path}: coding table", _FREE_WIDTH)


def _model_for(codec: str, config, path: str | Path) -> nn.Module:
    """A freshly initialised model of this config."""
    spec = registry.spec(codec)
    model_cls, config_cls = spec.model_class, spec.config_class
    known = {f.name for f in dataclasses.fields(config_cls)}
    if not isinstance(config, dict) or set(config) - known:
        unknown = sorted(set(config) - known) if isinstance(config, dict) else config
        raise WeightsError(f"weights file {path}: unknown {codec} config keys {unknown}; known: {sorted(known)}")
    try:
        return model_cls(config_cls(**config))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"weights file {path}: impossible {codec} config {config}: {exc}") from exc


def _compare_tensors(found, expected: dict, what: str, free_width: set) -> None:
    """found must hold the names of expected, each a tensor of the same kind and shape (the last
    dimension of the names in free_width may differ)."""
    if not isinstance(found, dict):
        raise WeightsError(f"{what}s are a {type(found).__name__}, not a dict of tensors")
    missing, unexpected = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or unexpected:
        raise WeightsError(f"{what}s do not match the model: missing {missing or 'none'}, "
                           f"unexpected {unexpected or 'none'}")
    for name, reference in expected.items():
        tensor = found[name]
        if not isinstance(tensor, torch.Tensor) or tensor.is_floating_point() != reference.is_floating_point():
            kind = "a floating-point" if reference.is_floating_point() else "an integer"
            raise WeightsError(f"{what} {name} is not {kind} tensor")
        shape, want = tuple(tensor.shape), tuple(reference.shape)
        free = name in free_width and len(shape) == len(want) and shape[:-1] == want[:-1]
        if shape != want and not free:
            raise WeightsError(f"{what} {name} has shape {shape}, the model's is {want}")


def _check_digest(payload: dict, path: str | Path) -> None:
    recorded = payload.get("sha256")
    if recorded is None:
        return  # exported before digests were recorded: the archive's CRC-32s vouch for it
    actual = content_digest(payload)
    if recorded != actual:
        raise WeightsError(f"weights file {path} is damaged or was edited: its content's SHA-256 is "
                           f"{actual[:16]}..., but {str(recorded)[:16]}... was recorded at export")


def _hash_tensors(h, payload: dict) -> None:
    for group in ("state", "tables"):
        for name in sorted(payload[group]):
            t = payload[group][name].contiguous()
            h.update(f"{group}:{name}:{t.dtype}:{tuple(t.shape)}".encode())
            h.update(t.numpy().tobytes())


def weights_digest(payload: dict) -> bytes:
    """8-byte SHA-256 digest of the state and tables (names, dtypes, shapes and bytes): the
    weights' identity in every .strata header."""
    h = hashlib.sha256(payload["codec"].encode())
    _hash_tensors(h, payload)
    return h.digest()[:8]


def content_digest(payload: dict) -> str:
    """Hex SHA-256 of everything that decides how the weights code: codec, state, tables, config."""
    h = hashlib.sha256(payload["codec"].encode())
    _hash_tensors(h, payload)
    h.update(json.dumps(payload["config"], sort_keys=True).encode())
    return h.hexdigest()
