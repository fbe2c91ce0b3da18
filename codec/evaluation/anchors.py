"""Classic-codec anchors (JPEG, JPEG 2000, WebP, HEIC, AVIF) measured on a set of RGB images.

Every codec is a row of settings in ANCHORS, measured by one loop: encode the image once per
setting, cut one-file progressive codestreams into decodable prefixes, decode every file and
score it. Rates count every byte of the decoded file: bpp = 8 * bytes / (H * W). Quality is
PSNR-RGB of the 8-bit decoded output (codec.evaluation.metrics). Over a set of images, each setting (or
prefix) gives one RDPoint: the mean over images of bpp, of per-image PSNR, of per-image
MS-SSIM and of the CPU times. Everything runs single-threaded; times are CPU time of this
process (robust to other load on the machine; equal to wall time when the machine is idle).

Per-image results are cached as JSON in the anchors cache (.cache/anchors/ in a checkout, else
~/.cache/strata/anchors/; codec.resources) keyed by the image pixels, the codec settings and the
library versions, so repeated evaluations are instant.
"""
from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import io
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import PIL
from PIL import Image

from codec.classic_files import j2k_layer_prefixes, jpeg_scan_prefixes
from codec.codecs.classic import J2K_LAYER_BPP
from codec.evaluation.bdrate import BDResult, bd_rate, monotone_points, pchip_interpolate
from codec.training.data import list_images, load_rgb
from codec.evaluation.metrics import ms_ssim, psnr
from codec.resources import cache_dir as cache_folder

DEFAULT_CACHE_DIR = cache_folder("anchors")
REPORT_RATES = (0.25, 0.5, 1.0)
BD_REFERENCE = "jpeg2000"


@dataclass(frozen=True)
class RDPoint:
    """One operating point, averaged over images: bpp, PSNR-RGB (dB), CPU ms, MS-SSIM in [0, 1]."""

    bpp: float
    psnr: float
    encode_ms: float
    decode_ms: float
    ms_ssim: float | None = None


# ---------------------------------------------------------------- cutting progressive files
# jpeg_scan_prefixes and j2k_layer_prefixes (their names are part of the cache key) cut a file
# where the viewer's streams cut it: codec/classic_files.py.


# ---------------------------------------------------------------- the codecs


@dataclass(frozen=True)
class Anchor:
    """A classic codec: Pillow save format and options, and the per-file settings swept.

    Each entry of `settings` is merged into `options` and encoded to one file; a codec with
    `split` encodes a single progressive file and `split` cuts it into decodable prefixes.
    """

    description: str
    format: str
    options: dict
    settings: tuple[dict, ...] = ({},)
    split: Callable[[bytes], list[bytes]] | None = None

    def cache_tag(self) -> str:
        split = self.split.__name__ if self.split else None
        return repr((self.format, self.options, self.settings, split))


def _qualities(*values: int) -> tuple[dict, ...]:
    return tuple({"quality": q} for q in values)


# J2K_LAYER_BPP (codec/codecs/classic.py): 12 quality layers log-spaced from 0.1 to 2.5 bpp.
ANCHORS: dict[str, Anchor] = {
    "jpeg": Anchor(
        "JPEG 4:2:0, optimize",
        "JPEG",
        {"subsampling": "4:2:0", "optimize": True},
        _qualities(3, 6, 10, 15, 25, 40, 55, 70, 80, 88, 93),
    ),
    "jpeg-progressive": Anchor(
        "progressive JPEG 4:4:4 q95, cut at scan ends (one file)",
        "JPEG",
        {"subsampling": "4:4:4", "quality": 95, "progressive": True, "optimize": True},
        split=jpeg_scan_prefixes,
    ),
    "jpeg2000": Anchor(
        "JPEG 2000 layers: one codestream, 12 layers 0.1-2.5 bpp, LRCP, irreversible, mct=1, "
        "decoded from byte prefixes",
        "JPEG2000",
        {
            "no_jp2": True,
            "quality_mode": "rates",
            "quality_layers": [24 / bpp for bpp in J2K_LAYER_BPP],  # compression ratios of 24-bit RGB
            "progression": "LRCP",
            "irreversible": True,
            "mct": 1,
            "plt": True,
        },
        split=j2k_layer_prefixes,
    ),
    "webp": Anchor(
        "WebP, method 6",
        "WEBP",
        {"method": 6},
        _qualities(0, 5, 15, 30, 50, 70, 80, 88, 94),
    ),
    "heic": Anchor(
        "HEIC, x265 4:4:4 with AQ and psy-rd off (HEVC intra, stand-in for BPG)",
        "HEIF",
        {
            "chroma": 444,
            "enc_params": {"x265:aq-mode": "0", "x265:psy-rd": "0", "x265:pools": "none"},
        },
        _qualities(6, 12, 18, 24, 30, 36, 42, 48, 54, 60),
    ),
    "avif": Anchor(
        "AVIF 4:4:4, speed 4, tune=psnr",
        "AVIF",
        {"subsampling": "4:4:4", "speed": 4, "max_threads": 1, "advanced": {"tune": "psnr"}},
        _qualities(2, 10, 20, 30, 40, 50, 58, 66, 74, 82),
    ),
}


@functools.cache
def _heif():
    """pillow_heif (the HEIC anchor's optional dependency), imported on first use, with its
    Pillow plugin registered."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    return pillow_heif


def _single_threaded_decoders() -> None:
    """Make Pillow's AVIF and pillow_heif's HEIF decoders use one thread (process-wide)."""
    from PIL import AvifImagePlugin

    _heif().options.DECODE_THREADS = 1
    AvifImagePlugin.DEFAULT_MAX_THREADS = 1


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    """fn() and the CPU time it took in ms."""
    start = time.process_time()
    result = fn()
    return result, 1000.0 * (time.process_time() - start)


def encode(image: np.ndarray, anchor: Anchor, setting: dict) -> bytes:
    """One uint8 (H, W, 3) image encoded with the anchor's options and one of its settings."""
    _heif()  # HEIF's plugin
    buffer = io.BytesIO()
    options = copy.deepcopy({**anchor.options, **setting})  # some plugins modify the options
    Image.fromarray(image).save(buffer, format=anchor.format, **options)
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    """Any supported image file (HEIF included) to uint8 (H, W, 3) RGB."""
    _heif()
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def _measure_image(anchor: Anchor, image: np.ndarray, with_ms_ssim: bool) -> list[dict]:
    """Per-file results of one image: dicts with RDPoint's fields, in settings/prefix order."""
    pixels = image.shape[0] * image.shape[1]
    points = []
    for setting in anchor.settings:
        data, encode_ms = _timed(lambda: encode(image, anchor, setting))
        for file in anchor.split(data) if anchor.split else [data]:
            decoded, decode_ms = _timed(lambda: decode(file))
            points.append(
                {
                    "bpp": 8 * len(file) / pixels,
                    "psnr": psnr(image, decoded),
                    "encode_ms": encode_ms,
                    "decode_ms": decode_ms,
                    "ms_ssim": ms_ssim(image, decoded) if with_ms_ssim else None,
                }
            )
    return points


def _cache_key(name: str, anchor: Anchor, image: np.ndarray) -> str:
    digest = hashlib.sha256()
    for part in (name, anchor.cache_tag(), str(image.shape), PIL.__version__, _heif().__version__):
        digest.update(part.encode() + b"\0")
    digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()


def _cached_measure_image(
    name: str, image: np.ndarray, with_ms_ssim: bool, cache_dir: Path | None
) -> list[dict]:
    """_measure_image through the JSON cache; a cache entry without MS-SSIM is redone if needed."""
    anchor = ANCHORS[name]
    path = cache_dir / f"{_cache_key(name, anchor, image)}.json" if cache_dir else None
    if path and path.exists():
        points = json.loads(path.read_text())
        if not with_ms_ssim or all(p["ms_ssim"] is not None for p in points):
            return points
    points = _measure_image(anchor, image, with_ms_ssim)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(points))
    return points


def measure(
    name: str,
    images: list[np.ndarray],
    with_ms_ssim: bool = False,
    cache_dir: Path | None = DEFAULT_CACHE_DIR,
) -> list[RDPoint]:
    """RD points of anchor `name` on uint8 (H, W, 3) images, ordered by setting (or prefix).

    Each point is the mean over images of bpp, PSNR, CPU encode/decode ms (and MS-SSIM when
    with_ms_ssim). For one-file progressive codecs encode_ms is the one full encode.
    cache_dir=None disables the cache. Sets the AVIF and HEIF decoders to one thread for the
    rest of the process.
    """
    _single_threaded_decoders()
    per_image = [_cached_measure_image(name, image, with_ms_ssim, cache_dir) for image in images]
    if len({len(points) for points in per_image}) != 1:
        raise ValueError(f"{name}: images gave different numbers of points (progressive cuts differ)")
    means = []
    for index in range(len(per_image[0])):
        rows = [points[index] for points in per_image]
        fields = ("bpp", "psnr", "encode_ms", "decode_ms") + (("ms_ssim",) if with_ms_ssim else ())
        means.append(RDPoint(**{key: float(np.mean([row[key] for row in rows])) for key in fields}))
    return means


def interpolate_psnr(points: list[RDPoint], bpp: float, method: str = "linear") -> float:
    """PSNR (dB) at bpp, interpolated in log bpp; ValueError outside the measured rates.

    method "linear" joins neighbouring points by straight lines in (log bpp, PSNR); "pchip" uses
    the shape-preserving cubic of codec.evaluation.bdrate (what docs/anchors.md used; it matters only for
    sparse curves such as progressive JPEG scans). Dominated points are ignored (monotone_points).
    """
    bpps, psnrs, _ = monotone_points(rd_curve(points))
    log_bpp, at = np.log(bpps), np.log(bpp)
    if not log_bpp[0] <= at <= log_bpp[-1]:
        raise ValueError(f"{bpp} bpp is outside the measured {bpps[0]:.3f}-{bpps[-1]:.3f} bpp")
    if method == "pchip":
        return pchip_interpolate(log_bpp, psnrs, at)
    if method == "linear":
        return float(np.interp(at, log_bpp, psnrs))
    raise ValueError(f"unknown interpolation method {method!r}")


def rd_curve(points: list[RDPoint]) -> list[tuple[float, float]]:
    """(bpp, PSNR) pairs, the input of codec.evaluation.bdrate."""
    return [(p.bpp, p.psnr) for p in points]


# ---------------------------------------------------------------- command line


@dataclass(frozen=True)
class Summary:
    """What the command line reports for one codec: PSNR at REPORT_RATES (None outside the curve),
    decode ms of the point nearest 1 bpp, BD-rate against the reference codec (None for itself)."""

    name: str
    description: str
    points: list[RDPoint]
    psnr_at: dict[float, float | None]
    decode_ms_near_1bpp: float
    bd_vs_reference: BDResult | None


def _psnr_or_none(points: list[RDPoint], bpp: float, method: str) -> float | None:
    try:
        return interpolate_psnr(points, bpp, method)
    except ValueError:
        return None


def summarize(
    name: str, points: list[RDPoint], reference: list[RDPoint] | None, method: str = "linear"
) -> Summary:
    """The Summary of one codec's points; reference None skips the BD-rate."""
    return Summary(
        name,
        ANCHORS[name].description,
        points,
        {rate: _psnr_or_none(points, rate, method) for rate in REPORT_RATES},
        min(points, key=lambda p: abs(np.log(p.bpp))).decode_ms,
        None if reference is None else bd_rate(rd_curve(reference), rd_curve(points)),
    )


def format_table(summaries: list[Summary]) -> str:
    """A markdown table like docs/anchors.md, with BD-rate against the JPEG 2000 layers."""
    rates = " | ".join(f"@{r:g} bpp" for r in REPORT_RATES)
    bd_column = f"BD-rate vs {BD_REFERENCE} (PSNR range)"
    lines = [
        f"| codec | points (bpp range) | {rates} | decode ms (near 1 bpp) | {bd_column} |",
        "|---" * (len(REPORT_RATES) + 4) + "|",
    ]
    for s in summaries:
        psnrs = " | ".join("-" if v is None else f"{v:.2f}" for v in s.psnr_at.values())
        bpps = [p.bpp for p in s.points]
        bd = s.bd_vs_reference
        bd_text = "-" if bd is None else f"{bd.percent:+.1f}% ({bd.psnr_range[0]:.1f}-{bd.psnr_range[1]:.1f})"
        lines.append(
            f"| {s.name}: {s.description} | {len(bpps)} ({min(bpps):.2f}-{max(bpps):.2f}) | {psnrs} "
            f"| {s.decode_ms_near_1bpp:.1f} | {bd_text} |"
        )
    return "\n".join(lines)


def _summary_json(summary: Summary) -> dict:
    record = asdict(summary)
    if summary.bd_vs_reference is not None:
        record["bd_vs_reference"] = summary.bd_vs_reference._asdict()
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="folder of images (e.g. Kodak)")
    parser.add_argument("--codecs", default=",".join(ANCHORS), help="comma-separated names from ANCHORS")
    parser.add_argument("--json", type=Path, help="write points and summaries here")
    parser.add_argument("--ms-ssim", action="store_true", help="also compute MS-SSIM (slower)")
    parser.add_argument("--no-cache", action="store_true", help=f"measure again, ignoring {DEFAULT_CACHE_DIR}")
    parser.add_argument(
        "--interpolation", choices=("linear", "pchip"), default="linear", help="of PSNR in log bpp"
    )
    args = parser.parse_args(argv)
    names = args.codecs.split(",")
    unknown = set(names) - set(ANCHORS)
    if unknown:
        parser.error(f"unknown codecs {sorted(unknown)}; choose from {list(ANCHORS)}")
    images = [load_rgb(path) for path in list_images(args.folder)]
    cache_dir = None if args.no_cache else DEFAULT_CACHE_DIR
    start = time.perf_counter()
    points = {}
    for name in names:
        points[name] = measure(name, images, args.ms_ssim, cache_dir)
        print(f"{name}: measured after {time.perf_counter() - start:.0f} s", file=sys.stderr)
    reference = points.get(BD_REFERENCE)
    summaries = [
        summarize(name, points[name], None if name == BD_REFERENCE else reference, args.interpolation)
        for name in names
    ]
    print(f"{len(images)} images from {args.folder}; {time.perf_counter() - start:.0f} s wall")
    print(format_table(summaries))
    if args.json:
        args.json.write_text(json.dumps([_summary_json(s) for s in summaries], indent=1))


if __name__ == "__main__":
    main()
