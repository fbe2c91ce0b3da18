"""RD of DeepHQ's partitioned layers: the curve at partition boundaries against the layer curve.

    python scripts/partition_rd.py ../shared/data/kodak --limit 4 --partitions 1,2,4,8,4@4096 --json /tmp/partition_rd.json

Every image is encoded once per partition scheme: P chunks in every layer after the first
("P"; P = 1 is the layer curve: one chunk per layer, the bitstream of container version 1), or
up to P where a layer's chunks stay at least B bytes ("P@B", the encoder's rule with
MIN_CHUNK_BYTES = B), and decoded chunk by chunk; every refinement is
synthesized and scored (PSNR-RGB), with bpp counting every byte of the file up to the end of the
chunk (header, chunks, CRCs). Per-image results are cached as JSON (--cache), so a run can be
stopped and resumed. The report gives, for each P, the cost of the extra chunks (BD-rate of
the P-layer points against the P = 1 layer points, and the bytes added) and the BD-rate of all
its partition points against the layer curve; and the distinct pictures a stream of one image
shows at a given bandwidth when each synthesis takes the time measured here and only the
newest refinement is synthesized (the viewer's worker).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from codec import container, registry
from codec.evaluation.bdrate import bd_rate
from codec.evaluation.metrics import psnr
from codec.training.data import list_images, load_rgb


def scheme(spec: str) -> tuple[int, int]:
    """(most partitions, minimum chunk bytes) of "P" or "P@B"."""
    most, _, least = spec.partition("@")
    return int(most), int(least or 0)


def measure(codec, rgb: np.ndarray, spec: str) -> dict:
    """Every refinement of one encode: layer, chunks, file bytes to its end, PSNR, synthesis s."""
    most, least = scheme(spec)
    encoded = codec.encode_partitioned(rgb, most, reconstruct=False, min_chunk_bytes=least)
    header = container.Header(codec.name, codec.model_id, codec.digest, rgb.shape[1], rgb.shape[0], "RGB",
                              tuple(map(len, encoded.layers)), (None,) * len(encoded.layers),
                              encoded.params, encoded.chunk_lengths)
    decoder = codec.decoder(rgb.shape[1], rgb.shape[0], encoded.params)
    points = []
    for layer in range(len(encoded.layers)):
        for part, payload in enumerate(encoded.layer_chunks(layer)):
            decoder.decode_chunk(payload, layer, part)
            start = time.perf_counter()
            picture = decoder.synthesize()
            seconds = time.perf_counter() - start
            points.append({"layer": layer, "parts": part + 1, "bytes": header.chunk_end(layer, part),
                           "psnr": psnr(rgb, picture), "synthesis_s": seconds})
    return {"pixels": rgb.shape[0] * rgb.shape[1], "header_bytes": header.size, "points": points}


def cached(cache: Path, name: str, spec: str, run) -> dict:
    path = cache / f"{name}.p{spec.replace('@', 'b')}.json"
    if path.exists():
        return json.loads(path.read_text())
    result = run()
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return result


def curve(results: list[dict], layers_only: bool) -> list[tuple[float, float]]:
    """Mean (bpp, PSNR) over images of each refinement (or of each layer end)."""
    rows = [[(8 * p["bytes"] / r["pixels"], p["psnr"]) for p in r["points"]
             if not layers_only or p["parts"] == max(q["parts"] for q in r["points"] if q["layer"] == p["layer"])]
            for r in results]
    return [tuple(np.mean(column, axis=0)) for column in zip(*rows)]


def distinct_pictures(result: dict, bits_per_second: float, synthesis_s: float | None = None) -> tuple[int, int]:
    """(pictures shown, chunk boundaries) of a stream at a bandwidth: the worker synthesizes the
    newest complete chunk whenever it is idle, each synthesis taking its measured time (or
    synthesis_s)."""
    arrivals = [8 * p["bytes"] / bits_per_second for p in result["points"]]
    costs = [synthesis_s or p["synthesis_s"] for p in result["points"]]
    clock, shown, newest = 0.0, 0, -1
    while newest < len(arrivals) - 1:
        ready = [i for i, t in enumerate(arrivals) if t <= clock and i > newest]
        if not ready:
            clock = arrivals[newest + 1]
            continue
        newest = ready[-1]
        clock += costs[newest]
        shown += 1
    return shown, len(arrivals)


def report(per_p: dict[str, list[dict]], stream: dict[str, dict], rate: float) -> str:
    base = curve(per_p["1"], layers_only=True)
    lines = ["| P | chunks | bytes per file vs P = 1 | BD-rate, layer ends vs P = 1 | BD-rate, all partition points vs P = 1 layers "
             f"| pictures at {rate / 1000:g} kbit/s (of chunk boundaries) | synthesis s (mean) |", "|---" * 7 + "|"]
    for p, results in per_p.items():
        sizes = [r["points"][-1]["bytes"] for r in results]
        extra = np.mean(sizes) - np.mean([r["points"][-1]["bytes"] for r in per_p["1"]])
        ends = bd_rate(base, curve(results, layers_only=True)).percent if p != "1" else 0.0
        fine = bd_rate(base, curve(results, layers_only=False)).percent if p != "1" else 0.0
        shown = distinct_pictures(stream[p], rate) if p in stream else ("-", "-")
        seconds = np.mean([q["synthesis_s"] for r in results for q in r["points"]])
        chunks = np.mean([len(r["points"]) for r in results])
        lines.append(f"| {p} | {chunks:g} | {extra:+.0f} ({100 * extra / np.mean(sizes):+.2f}%) "
                     f"| {ends:+.2f}% | {fine:+.2f}% | {shown[0]} ({shown[1]}) | {seconds:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="folder of images (Kodak)")
    parser.add_argument("--limit", type=int, default=4, help="the first N images")
    parser.add_argument("--partitions", default="1,2,4,8,4@4096", help="schemes: P or P@B (comma separated)")
    parser.add_argument("--stream-image", default="kodim23", help="the image whose stream is counted")
    parser.add_argument("--rate", type=float, default=56_000, help="bits per second of the stream")
    parser.add_argument("--cache", type=Path, default=Path(".cache/partition_rd"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    codec = registry.load_codec("deephq", 0, "cpu")
    counts = ["1"] + [p for p in args.partitions.split(",") if p != "1"]
    paths = list_images(args.folder)
    chosen = paths[:args.limit]
    stream_path = next((p for p in paths if p.stem == args.stream_image), None)
    per_p, stream, start = {p: [] for p in counts}, {}, time.perf_counter()
    for path in chosen + ([stream_path] if stream_path and stream_path not in chosen else []):
        rgb = load_rgb(path)
        for p in counts:
            result = cached(args.cache, f"{codec.digest.hex()}.{path.stem}", p, lambda: measure(codec, rgb, p))
            if path in chosen:
                per_p[p].append(result)
            if path == stream_path:
                stream[p] = result
            print(f"{path.stem} P={p}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    print(f"{len(chosen)} images of {args.folder}; stream: {args.stream_image}")
    print(report(per_p, stream, args.rate))
    if args.json:
        args.json.write_text(json.dumps({"images": [p.stem for p in chosen], "curves": {
            p: {"layers": curve(r, True), "partitions": curve(r, False)} for p, r in per_p.items()},
            "stream": stream}, indent=1))


if __name__ == "__main__":
    main()
