"""fp16 weights in parts small enough for a transport that returns files of at most 16 MiB.

A DeepHQ weights file (about 17.5 MiB) is larger than a lent GPU machine returns in one file, so a
run trained there writes its weights as parts: `<run>.s<step>.p<i>of<n>.pt`, each a plain dict
saved like a weights file (torch.save with the zip members' CRC-32s, atomically):
    {"format": "strata-weights-part", "version": 1, "part": i (1-based), "parts": n,
     "sha256": the whole weights file's content digest (codec.weights.content_digest),
     "codec", "config", "tables", "source": as in the weights file, "state": some of its tensors}
join_parts puts the parts of one export back together, checks the digest and returns the
weights payload for codec.weights.save_weights. A new export's parts replace the run's older ones
only once all of them are written, so a machine stopped at any moment leaves a complete set.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch

from codec.weights import WEIGHTS_FORMAT, WEIGHTS_VERSION, atomic_torch_save, content_digest

PART_FORMAT = "strata-weights-part"
MAX_PART_BYTES = 15 * 2**20  # of tensor data: the file stays under the 16 MiB a lent machine returns
_HEADER = ("codec", "config", "tables", "source")
_NAME = re.compile(r"(?P<run>.+)\.s(?P<step>\d+)\.p(?P<part>\d+)of(?P<parts>\d+)\.pt")


def split_state(state: dict, max_bytes: int) -> list[dict]:
    """state's tensors in order, cut into dicts of at most max_bytes of tensor data each."""
    parts, current, size = [], {}, 0
    for name, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if nbytes > max_bytes:
            raise ValueError(f"{name} alone has {nbytes} bytes, more than a part's {max_bytes}")
        if current and size + nbytes > max_bytes:
            parts.append(current)
            current, size = {}, 0
        current[name] = tensor
        size += nbytes
    return parts + [current]


def write_parts(payload: dict, folder: str | Path, run: str, step: int, max_bytes: int = MAX_PART_BYTES) -> list[Path]:
    """Write a weights payload (codec.weights.weights_payload plus source) as parts into folder,
    then remove the run's older parts; returns the new parts' paths."""
    folder = Path(folder)
    digest, pieces = content_digest(payload), split_state(payload["state"], max_bytes)
    header = {key: payload[key] for key in _HEADER}
    paths = []
    for i, piece in enumerate(pieces, 1):
        path = folder / f"{run}.s{step:06d}.p{i}of{len(pieces)}.pt"
        atomic_torch_save({"format": PART_FORMAT, "version": 1, "part": i, "parts": len(pieces),
                           "sha256": digest, **header, "state": piece}, path)
        paths.append(path)
    for old in set(folder.glob(f"{run}.s*.p*of*.pt")) - set(paths):
        if _parse(old) and _parse(old)["run"] == run:
            old.unlink()
    return paths


def _parse(path: Path) -> dict | None:
    match = _NAME.fullmatch(path.name)
    return match.groupdict() if match else None


def newest_sets(folder: str | Path) -> dict[str, list[Path]]:
    """Run name -> the parts of its newest complete export in folder, in order."""
    sets: dict[tuple[str, int, int], dict[int, Path]] = {}
    for path in Path(folder).glob("*.pt"):
        name = _parse(path)
        if name:
            sets.setdefault((name["run"], int(name["step"]), int(name["parts"])), {})[int(name["part"])] = path
    newest: dict[str, tuple[int, list[Path]]] = {}
    for (run, step, count), found in sets.items():
        if len(found) == count and step >= newest.get(run, (-1, []))[0]:
            newest[run] = (step, [found[i] for i in sorted(found)])
    return {run: paths for run, (_, paths) in sorted(newest.items())}


def exported_step(folder: str | Path, run: str) -> int | None:
    """The step of the run's newest complete export in folder (None: none there)."""
    parts = newest_sets(folder).get(run) if Path(folder).is_dir() else None
    return int(_parse(parts[0])["step"]) if parts else None


def join_parts(paths: list[str | Path]) -> dict:
    """The weights payload the parts of one export hold, its content digest checked."""
    parts = [torch.load(p, map_location="cpu", weights_only=True) for p in paths]
    first = parts[0]
    if any(p.get("format") != PART_FORMAT or p.get("version") != 1 for p in parts):
        raise ValueError(f"not all of {[str(p) for p in paths]} are version-1 weights parts")
    if sorted(p["part"] for p in parts) != list(range(1, first["parts"] + 1)) or \
            any(p["sha256"] != first["sha256"] for p in parts):
        raise ValueError(f"{[str(p) for p in paths]} are not the {first['parts']} parts of one export")
    state = {name: t for p in sorted(parts, key=lambda p: p["part"]) for name, t in p["state"].items()}
    payload = {"format": WEIGHTS_FORMAT, "version": WEIGHTS_VERSION,
               **{key: first[key] for key in _HEADER}, "state": state}
    if content_digest(payload) != first["sha256"]:
        raise ValueError(f"the parts {[str(p) for p in paths]} do not give the weights they were cut from "
                         f"(SHA-256 differs): damaged")
    return payload
