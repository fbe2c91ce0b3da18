"""Training data: a folder of photos decoded once into a pixel cache, or a pack of crops cut from
one (for a machine the photos cannot travel to), sampled as random crops.

A pack is a folder of uint8 .npy files, (n, S, S, 3) each, and pack.json naming them:
    {"format": "strata-pack", "version": 1, "crop": S, "source": the photo folder,
     "train": {"files": [...], "photos": [...]}, "eval": {"file": "eval.npy", "photos": [...]}}
The eval crops come from photos that no training crop of the pack comes from.
"""
from __future__ import annotations

import hashlib
import json
from itertools import islice
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image, ImageOps

from codec.atomic import write_atomic

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


def list_images(folder: str | Path) -> list[Path]:
    """Every image file under folder, recursively, in a stable order."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def load_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to RGB uint8 (H, W, 3), applying its EXIF orientation."""
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def _cache_key(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha1(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()


def load_cached(folder: str | Path, cache_dir: str | Path, min_side: int, exclude: set[str] = frozenset()) -> list[np.ndarray]:
    """All images of folder at least min_side pixels on each side, as RGB uint8 arrays, except
    those whose file names are in exclude.

    Decoded pixels are kept as .npy files in cache_dir, so later runs skip the slow decoding.
    """
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    images = []
    for path in list_images(folder):
        if path.name in exclude:
            continue
        entry = cache / f"{_cache_key(path)}.npy"
        if entry.exists():
            pixels = np.load(entry, allow_pickle=False)
        else:
            pixels = load_rgb(path)
            # atomic, with a temporary name of its own: the ranks of a torchrun cache the same files
            write_atomic(entry, lambda f: np.save(f, pixels, allow_pickle=False))
        if min(pixels.shape[:2]) >= min_side:
            images.append(pixels)
    if not images:
        raise ValueError(f"no image of at least {min_side}x{min_side} pixels under {folder}")
    return images


def random_crops(images: list[np.ndarray], batch: int, size: int, rng: np.random.Generator,
                 device: torch.device | None = None) -> torch.Tensor:
    """(batch, 3, size, size) float32 in [0, 1] on device (channels-last): random image, random
    crop, random flips. The crops travel to the device as uint8 and are converted there."""
    crops = np.empty((batch, size, size, 3), dtype=np.uint8)
    for i in range(batch):
        pixels = images[rng.integers(len(images))]
        top = rng.integers(pixels.shape[0] - size + 1)
        left = rng.integers(pixels.shape[1] - size + 1)
        crop = pixels[top : top + size, left : left + size]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        if rng.random() < 0.5:
            crop = crop[::-1]
        crops[i] = crop
    return torch.from_numpy(crops).to(device).permute(0, 3, 1, 2).float().div_(255)


PACK_FORMAT = "strata-pack"
PACK_MANIFEST = "pack.json"
EVAL_FILE = "eval.npy"


def is_pack(folder: str | Path) -> bool:
    return (Path(folder) / PACK_MANIFEST).is_file()


def read_manifest(folder: str | Path) -> dict:
    """A pack's pack.json, checked to be one."""
    manifest = json.loads((Path(folder) / PACK_MANIFEST).read_text())
    if manifest.get("format") != PACK_FORMAT or manifest.get("version") != 1:
        raise ValueError(f"{folder}/{PACK_MANIFEST} is not a version-1 {PACK_FORMAT} manifest")
    return manifest


def load_pack(folder: str | Path, min_side: int) -> list[np.ndarray]:
    """The training crops of a pack, one (S, S, 3) uint8 array each (S at least min_side)."""
    manifest = read_manifest(folder)
    if manifest["crop"] < min_side:
        raise ValueError(f"the pack {folder} holds {manifest['crop']}^2 crops, smaller than {min_side}")
    return [crop for name in manifest["train"]["files"] for crop in np.load(Path(folder) / name)]


def photo_crops(paths: list[Path], count: int, size: int, rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
    """count random size x size crops, one a photo in turn (round after round), with the name of
    the photo each comes from."""
    made = 0
    while made < count:
        for path in paths[: count - made]:
            pixels = load_rgb(path)
            top, left = (rng.integers(s - size + 1) for s in pixels.shape[:2])
            yield path.name, pixels[top : top + size, left : left + size]
        made += min(len(paths), count - made)


def eligible_photos(folder: str | Path, size: int, exclude: set[str]) -> list[Path]:
    """The photos of folder (not excluded) at least size pixels on each side (read from headers)."""
    def big_enough(path: Path) -> bool:
        with Image.open(path) as im:
            return min(im.size) >= size
    return [p for p in list_images(folder) if p.name not in exclude and big_enough(p)]


def write_pack(folder: str | Path, out: str | Path, size: int, train: int, evals: int, seed: int,
               exclude: set[str] = frozenset(), shard: int = 40) -> dict:
    """Cut `train` training crops and `evals` eval crops (from other photos) of size^2 pixels from
    the photos of folder into the pack out, shard crops per .npy file; returns its manifest."""
    rng = np.random.default_rng(seed)
    photos = eligible_photos(folder, size, exclude)
    if train < 1 or len(photos) <= evals:
        raise ValueError(f"{folder} has {len(photos)} photos of at least {size}^2: too few for "
                         f"{evals} eval crops and training crops from other photos")
    order = [photos[i] for i in rng.permutation(len(photos))]
    out = Path(out)
    eval_names, eval_crops = _collect(photo_crops(order[:evals], evals, size, rng), size)
    train_names, files = [], []
    crops = photo_crops(order[evals:], train, size, rng)
    per_file = -(-train // -(-train // shard))  # files of equal size, at most shard crops each
    while len(train_names) < train:
        names, pixels = _collect(islice(crops, min(per_file, train - len(train_names))), size)
        files.append(f"train-{len(files):03d}.npy")
        _save_npy(out / files[-1], pixels)
        train_names += names
    _save_npy(out / EVAL_FILE, eval_crops)
    manifest = {"format": PACK_FORMAT, "version": 1, "crop": size, "source": str(folder), "seed": seed,
                "train": {"files": files, "photos": train_names}, "eval": {"file": EVAL_FILE, "photos": eval_names}}
    write_atomic(out / PACK_MANIFEST, json.dumps(manifest, indent=1).encode())
    for stale in set(out.glob("train-*.npy")) - {out / name for name in files}:
        stale.unlink()  # a previous, larger pack's
    return manifest


def _collect(named: Iterator[tuple[str, np.ndarray]], size: int) -> tuple[list[str], np.ndarray]:
    """The names and the stacked crops (n, size, size, 3) of (name, crop) pairs."""
    pairs = list(named)
    crops = np.stack([crop for _, crop in pairs]) if pairs else np.empty((0, size, size, 3), np.uint8)
    return [name for name, _ in pairs], crops


def _save_npy(path: Path, pixels: np.ndarray) -> None:
    write_atomic(path, lambda f: np.save(f, np.ascontiguousarray(pixels), allow_pickle=False))
