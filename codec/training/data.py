"""Training data: a folder of photos decoded once into a pixel cache, sampled as random crops."""
from __future__ import annotations

import hashlib
from pathlib import Path

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


def random_crops(images: list[np.ndarray], batch: int, size: int, rng: np.random.Generator) -> torch.Tensor:
    """(batch, 3, size, size) float32 in [0, 1]: random image, random crop, random flips."""
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
    return torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255)
