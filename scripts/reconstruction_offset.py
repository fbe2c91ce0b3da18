"""PSNR of DeepHQ's layers for decoder-side reconstruction offsets inside the nested cells.

    python scripts/reconstruction_offset.py ../shared/data/train --limit 16 --weights resources/deephq.pt --write

Each element's value in its decoded cell is the midpoint moved `a` times its distance from the
Gaussian conditional mean E[y* | cell] further from it (a = 0: the midpoint, as trained; a = -1:
the conditional mean), codec.coding.latent_coding.reconstruction with the weights' table
`reconstruction_offsets`, one a per layer (the values synthesized for that layer). (HC's
midpoints were measured too, by a version of this script in session 11: no offset gained 0.01 dB
for hc_q1 or hc_q4, so HC keeps them.) Rates do not change (the symbols are the same), so
only the PSNR of each layer is measured, for every offset of the grid, on photos of the training
folder (never Kodak: the offsets are tuned here and judged there with `strata eval`), cut to
their central 512x768 (or 768x512) pixels, the held-out photos excluded. Prints a table per
layer; --write stores each layer's best offset in the weights file (of those within 0.005 dB of
the best, the one nearest 0; 0 where none gains at least --margin dB), which changes the
weights' digest.
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys

import numpy as np
import torch

from codec.codecs.deephq import DeepHQCodec
from codec.evaluation.metrics import psnr
from codec.training.data import list_images, load_rgb
from codec.training.train import TrainConfig, held_out
from codec.weights import read_weights, save_weights


def central(rgb: np.ndarray, long: int = 768, short: int = 512) -> np.ndarray:
    """The central long x short (landscape) or short x long (portrait) pixels, if the photo has them."""
    h, w = rgb.shape[:2]
    ch, cw = (short, long) if w >= h else (long, short)
    top, left = max(0, (h - ch) // 2), max(0, (w - cw) // 2)
    return rgb[top:top + ch, left:left + cw]


def offset_psnrs(codec: DeepHQCodec, rgb: np.ndarray, offsets: list[float]) -> np.ndarray:
    """PSNR (layers, offsets) of one photo, each layer decoded with each offset (codec.offsets all 0)."""
    encoded = codec.encode(rgb, reconstruct=False)
    decoder = codec.decoder(rgb.shape[1], rgb.shape[0], encoded.params)
    table = np.zeros((codec.num_layers, len(offsets)))
    for layer in range(codec.num_layers):
        decoder.decode_symbols(encoded.layer_chunks(layer))
        for k, a in enumerate(offsets):
            codec.offsets[layer] = a
            table[layer, k] = psnr(rgb, decoder.synthesize())
        codec.offsets[layer] = 0.0
    return table


def best_offsets(mean: np.ndarray, offsets: list[float], margin: float, tie: float = 0.005) -> np.ndarray:
    """Per layer (mean PSNR (layers, offsets)) the offset nearest 0 of those within `tie` dB of
    the highest, 0 unless it gains at least margin dB over 0 (the midpoint is what training saw)."""
    grid = np.asarray(offsets)
    zero = mean[:, offsets.index(0.0)]
    chosen = []
    for row, base in zip(mean, zero):
        near = grid[row >= row.max() - tie]
        best = near[np.argmin(np.abs(near))]
        chosen.append(best if row[offsets.index(best)] - base >= margin else 0.0)
    return np.array(chosen)


def write_offsets(path: Path, chosen: np.ndarray) -> None:
    """Store the offsets (L,) as the weights file's reconstruction_offsets."""
    payload = read_weights(path)
    payload.pop("sha256")
    payload["tables"]["reconstruction_offsets"] = torch.from_numpy(chosen.astype(np.float64))
    save_weights(payload, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="the training photos")
    parser.add_argument("--limit", type=int, default=8, help="photos, drawn with a fixed seed")
    parser.add_argument("--offsets", default="-0.75,-0.5,-0.25,0,0.25,0.5,0.75,1", help="the grid (must hold 0)")
    parser.add_argument("--weights", type=Path, default=Path("resources/deephq.pt"))
    parser.add_argument("--margin", type=float, default=0.01, help="dB an offset must gain to be written")
    parser.add_argument("--write", action="store_true", help="store the best offsets in --weights")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    offsets = [float(a) for a in args.offsets.split(",")]
    if 0.0 not in offsets:
        parser.error("--offsets must hold 0 (the midpoint), the reference of the table")
    excluded = held_out(TrainConfig(name="offsets"))
    paths = [p for p in list_images(args.folder) if p.name not in excluded]
    chosen = [paths[i] for i in np.random.default_rng(7).choice(len(paths), args.limit, replace=False)]
    codec = DeepHQCodec(read_weights(args.weights), torch.device("cpu"))
    codec.offsets[:] = 0.0
    tables = []
    for path in chosen:
        tables.append(offset_psnrs(codec, central(load_rgb(path)), offsets))
        print(f"{path.name}: done", file=sys.stderr, flush=True)
    mean = np.mean(tables, axis=0)
    best = best_offsets(mean, offsets, args.margin)
    print(f"{len(chosen)} photos of {args.folder}, {args.weights}: PSNR-RGB (dB) by layer and offset")
    print("| layer | " + " | ".join(f"a = {a:g}" for a in offsets) + " | chosen |")
    print("|---" * (len(offsets) + 2) + "|")
    for layer, row in enumerate(mean):
        zero = row[offsets.index(0.0)]
        cells = [f"{v:.3f}" if a == 0 else f"{v - zero:+.3f}" for a, v in zip(offsets, row)]
        print(f"| {layer + 1} | " + " | ".join(cells) + f" | {best[layer]:g} |")
    if args.write:
        write_offsets(args.weights, best)
        print(f"wrote reconstruction_offsets {best.tolist()} to {args.weights}")


if __name__ == "__main__":
    main()
