"""`strata eval`: rate-distortion of the learned codecs and the classic anchors on a folder.

For every image and codec: encode once, decode every layer, and score each layer's 8-bit output
(PSNR-RGB, optional MS-SSIM) at its cumulative rate, every byte of the file counted (header,
z and all layers up to that one: bpp = 8 * bytes / (H * W)). Points are means over images, as
for the anchors (codec/evaluation/anchors.py), which are measured on the same images in the same run. Each
learned curve gets a Bjontegaard delta rate against each anchor over their overlapping range.

Curves, for every codec of codec/registry.py: its name for the layers of one file ("deephq",
8 layers), or for a family the full decodes of its members ("hc") and each member's layers under
its tag ("hc-q2", layers 1..3); "<name>-single" for a codec that can code each layer's quantizer
alone without nesting ("deephq-single": the cost of progressiveness).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np

from codec import container
from codec.evaluation import anchors, metrics
from codec.evaluation.anchors import RDPoint
from codec.evaluation.bdrate import bd_rate
from codec.training.data import list_images, load_rgb
from codec.registry import LEARNED, CodecSpec, load_codec


def _score(reference: np.ndarray, decoded: np.ndarray, with_ms_ssim: bool) -> dict:
    score = {"psnr": metrics.psnr(reference, decoded)}
    if with_ms_ssim:
        score["ms_ssim"] = metrics.ms_ssim(reference, decoded)
    return score


def _mean_points(rows: list[list[dict]]) -> list[RDPoint]:
    """rows[image][point] dicts -> one RDPoint per point, each field the mean over images."""
    keys = rows[0][0].keys()
    return [RDPoint(**{k: float(np.mean([r[i][k] for r in rows])) for k in keys}) for i in range(len(rows[0]))]


def _with_progress(images: list[np.ndarray], curve: str) -> Iterator[np.ndarray]:
    """The images in order; after each, a progress line on stderr (a Kodak run takes minutes)."""
    start = time.perf_counter()
    for done, rgb in enumerate(images, 1):
        yield rgb
        print(f"{curve}: {done}/{len(images)} images, {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)


def measure_layers(codec, images: list[np.ndarray], with_ms_ssim: bool, curve: str, effort: int = 1) -> list[RDPoint]:
    """Per-layer points of one layered codec: encode at an effort level (codec/effort.py),
    then decode the layers one by one."""
    rows = []
    for rgb in _with_progress(images, curve):
        start = time.perf_counter()
        encoded = codec.encode(rgb, effort=effort)
        encode_ms = 1000 * (time.perf_counter() - start)
        header = container.Header(codec.name, codec.model_id, codec.digest, rgb.shape[1], rgb.shape[0], "RGB",
                                  tuple(len(p) for p in encoded.layers), (None,) * len(encoded.layers),
                                  encoded.params, encoded.chunk_lengths)
        decoder = codec.decoder(rgb.shape[1], rgb.shape[0], encoded.params)
        elapsed, points = 0.0, []
        for index in range(len(encoded.layers)):
            start = time.perf_counter()
            decoded = decoder.decode_layer(encoded.layer_chunks(index))
            elapsed += time.perf_counter() - start
            used = header.layer_offset(index + 1)  # the header, the chunks and their CRCs
            assert np.array_equal(decoded, encoded.reconstructions[index])
            points.append({"bpp": 8 * used / rgb.shape[0] / rgb.shape[1], "encode_ms": encode_ms,
                           "decode_ms": 1000 * elapsed, **_score(rgb, decoded, with_ms_ssim)})
        rows.append(points)
    return _mean_points(rows)


def measure_single_rate(codec, images: list[np.ndarray], with_ms_ssim: bool, curve: str) -> list[RDPoint]:
    """A codec's layers coded one at a time without nesting (encode_single_rate: DeepHQ); header
    counted as for a 1-layer file."""
    rows = []
    for rgb in _with_progress(images, curve):
        points = []
        for layer in range(codec.num_layers):
            start = time.perf_counter()
            encoded = codec.encode_single_rate(rgb, layer)
            encode_ms = 1000 * (time.perf_counter() - start)
            size = container.Header(codec.name, 0, codec.digest, rgb.shape[1], rgb.shape[0], "RGB",
                                    (len(encoded.layers[0]),), (None,), encoded.params).file_size
            points.append({"bpp": 8 * size / rgb.shape[0] / rgb.shape[1], "encode_ms": encode_ms, "decode_ms": 0.0,
                           **_score(rgb, encoded.reconstructions[0], with_ms_ssim)})
        rows.append(points)
    return _mean_points(rows)


def learned_curves(names: list[str], images: list[np.ndarray], device: str, with_ms_ssim: bool,
                   reused: dict[str, list[RDPoint]] | None = None, effort: int = 1) -> dict[str, list[RDPoint]]:
    """The requested learned curves; a curve found in `reused` is taken from there, not measured.
    A family's name ("hc") asks for every installed member (hc-q1 ... hc-q4) and the family curve
    of their full decodes."""
    reused = reused or {}
    curves = {}

    def add(name: str, measure, spec: CodecSpec, model_id: int) -> None:
        """curves[name] = measure(codec, images, with_ms_ssim, name), unless reused."""
        options = {"effort": effort} if measure is measure_layers else {}
        curves[name] = reused[name] if name in reused else \
            measure(load_codec(spec.name, model_id, device), images, with_ms_ssim, name, **options)

    for spec in LEARNED:
        if spec.is_family:
            members = [m for m in spec.installed_model_ids() if spec.name in names or spec.tag(m) in names]
            for model_id in members:
                add(spec.tag(model_id), measure_layers, spec, model_id)
            if spec.name in names and members:
                curves[spec.name] = [curves[spec.tag(m)][-1] for m in members]
            continue
        if spec.name in names:
            add(spec.name, measure_layers, spec, spec.model_ids[0])
        if f"{spec.name}-single" in names and hasattr(spec.codec_class, "encode_single_rate"):
            add(f"{spec.name}-single", measure_single_rate, spec, spec.model_ids[0])
    return curves


def reused_curves(path: str, paths: list[Path]) -> dict[str, list[RDPoint]]:
    """The learned curves of an earlier --json result, which must have measured the same images."""
    earlier = json.loads(Path(path).read_text())
    if earlier["images"] != [str(p) for p in paths]:
        raise ValueError(f"{path} measured other images than this run")
    return {name: [RDPoint(**p) for p in points] for name, points in earlier["curves"].items()
            if name not in anchors.ANCHORS}


def bd_table(curves: dict[str, list[RDPoint]], anchor_curves: dict[str, list[RDPoint]]) -> dict:
    """BD-rate (percent, PSNR range) of every learned curve against every anchor."""
    table = {}
    for name, points in curves.items():
        for anchor, reference in anchor_curves.items():
            try:
                result = bd_rate(anchors.rd_curve(reference), anchors.rd_curve(points))
                table[f"{name} vs {anchor}"] = {"percent": round(result.percent, 2),
                                                "psnr_range": [round(v, 2) for v in result.psnr_range]}
            except ValueError as exc:
                table[f"{name} vs {anchor}"] = {"error": str(exc)}
    return table


def plot(curves: dict[str, list[RDPoint]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5), dpi=110)
    for name, points in curves.items():
        style = "-o" if not name.startswith(("jpeg", "webp", "heic", "avif")) else "--"
        ax.plot([p.bpp for p in points], [p.psnr for p in points], style, label=name, markersize=3)
    ax.set(xlabel="bits per pixel (all bytes)", ylabel="PSNR-RGB (dB)", title=title, xlim=(0, 2.6))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def format_curves(curves: dict[str, list[RDPoint]]) -> str:
    lines = ["| curve | point | bpp | PSNR dB | encode ms | decode ms (cumulative) |", "|---|---|---|---|---|---|"]
    for name, points in curves.items():
        for i, p in enumerate(points):
            lines.append(f"| {name} | {i} | {p.bpp:.4f} | {p.psnr:.2f} | {p.encode_ms:.0f} | {p.decode_ms:.0f} |")
    return "\n".join(lines)


class UnknownCurve(ValueError):
    """A --codecs or --anchors name that is not a curve this command measures."""


def curve_names() -> tuple[str, ...]:
    """The learned curves --codecs names: "deephq", "deephq-single", "hc", "hc-q1" ... "hc-q4"."""
    names = []
    for spec in LEARNED:
        names.append(spec.name)
        if spec.is_family:
            names += [spec.tag(m) for m in spec.model_ids]
        elif hasattr(spec.codec_class, "encode_single_rate"):
            names.append(f"{spec.name}-single")
    return tuple(names)


def _check_names(given: list[str], known, option: str) -> None:
    """UnknownCurve naming the given names that are not known, and the known ones."""
    unknown = [name for name in given if name not in known]
    if unknown:
        raise UnknownCurve(f"{option}: unknown {', '.join(unknown)}; known: {', '.join(known)}")


def run(args: argparse.Namespace) -> dict:
    names = [name for name in args.codecs.split(",") if name]
    _check_names(names, curve_names(), "--codecs")
    _check_names([a for a in args.anchors.split(",") if a], tuple(anchors.ANCHORS), "--anchors")
    paths = list_images(args.folder)[: args.limit or None]
    if not paths:
        raise ValueError(f"no images in {args.folder}")
    images = [load_rgb(p) for p in paths]
    reused = reused_curves(args.reuse, paths) if args.reuse else {}
    curves = learned_curves(names, images, args.device, args.ms_ssim, reused, args.effort)
    anchor_names = [a for a in args.anchors.split(",") if a]
    anchor_curves = {a: anchors.measure(a, images, args.ms_ssim) for a in anchor_names}
    result = {
        "images": [str(p) for p in paths],
        "effort": args.effort,
        "curves": {k: [asdict(p) for p in v] for k, v in {**curves, **anchor_curves}.items()},
        "bd_rate": bd_table(curves, anchor_curves),
        "psnr_at": {k: {r: anchors._psnr_or_none(v, r, "linear") for r in anchors.REPORT_RATES}
                    for k, v in {**curves, **anchor_curves}.items()},
    }
    print(format_curves(curves))
    print(anchors.format_table([anchors.summarize(a, anchor_curves[a], None) for a in anchor_names]) if anchor_names else "")
    for key, value in result["bd_rate"].items():
        print(f"BD-rate {key}: {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.plot:
        plot({**curves, **anchor_curves}, Path(args.plot), f"{Path(args.folder).name}, {len(images)} images")
    return result
