"""`strata`: encode images to layered .strata files, decode them, inspect them.

The classic codecs (--codec jpeg2000, jpeg-progressive) write a .jp2 file with quality layers or a
progressive .jpg; decode and info read those files too (their layers end where quality layers or
scans end, and they record no PSNR).

Exit codes: 0 success; 1 at least one input failed (unreadable, damaged, foreign, or a decode
missing a requested layer); 2 usage error (also outputs that collide with each other or with an
input); 130 interrupted. Messages about failed inputs go to stderr, one line each.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from codec import registry
from codec.atomic import write_atomic

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class IncompleteDecode(ValueError):
    """Fewer layers decoded than were asked for; the output holds the ones that did."""


def _outputs(inputs: list[Path], output: str | None, outdir: str | None, suffix: str) -> list[Path]:
    if output:
        return [Path(output)]
    folder = Path(outdir) if outdir else None
    return [(folder or p.parent) / (p.stem + suffix) for p in inputs]


def _collision(inputs: list[Path], outputs: list[Path]) -> str | None:
    """What is wrong when an output is also an input or two inputs share an output; else None."""
    sources = {p.resolve() for p in inputs}
    seen: dict[Path, Path] = {}
    for source, target in zip(inputs, outputs):
        key = target.resolve()
        if key in sources:
            return f"{target} is an input: writing the output would destroy it"
        if key in seen:
            return (f"{seen[key]} and {source} would both be written to {target}; give them "
                    f"different names or folders, or use -o for each")
        seen[key] = source
    return None


def _run_batch(inputs: list[Path], outputs: list[Path], job, args) -> int:
    """Run job(input, output) over the inputs with a progress bar; returns the exit code."""
    problem = _collision(inputs, outputs)
    if problem:
        print(f"strata: {problem}; nothing was written", file=sys.stderr)
        return EXIT_USAGE
    failures = 0
    progress = tqdm(list(zip(inputs, outputs)), unit="file", disable=len(inputs) < 2 or args.quiet)
    for source, target in progress:
        if target.exists() and not args.overwrite:
            if args.skip_existing:
                continue
            print(f"strata: {target} exists (use --overwrite or --skip-existing)", file=sys.stderr)
            failures += 1
            continue
        try:
            message = job(source, target)
        except (ValueError, OSError) as exc:
            print(f"strata: {source}: {exc}", file=sys.stderr)
            failures += 1
            continue
        if not args.quiet:
            progress.write(message)
    return EXIT_FAILED if failures else EXIT_OK


def cmd_encode(args) -> int:
    from codec import api, layered

    spec = registry.spec(args.codec)

    def job(source: Path, target: Path) -> str:
        data = api.encode(source, codec=args.codec, quality=args.quality, device=args.device, psnr=args.psnr,
                          max_bytes=args.max_bytes, max_bpp=args.bpp)
        write_atomic(target, data)
        header = layered.parse(data).header
        bpp = 8 * len(data) / (header.width * header.height)
        top = header.layer_psnr[-1]
        quality = f"PSNR {top:.2f} dB" if top is not None else \
            "PSNR not measured" if spec.learned else "no PSNR recorded (the format has none)"
        return (f"{source} -> {target}: {len(data)} bytes, {bpp:.3f} bpp, "
                f"{_kept(header, args)}, {quality}")

    inputs = [Path(p) for p in args.inputs]
    return _run_batch(inputs, _outputs(inputs, args.output, args.outdir, spec.suffix), job, args)


def _kept(header, args) -> str:
    """What an encode wrote: its layers, and with a budget the model and the budget."""
    text = f"{header.num_layers} layers"
    budgets = [f"{args.max_bytes} bytes"] if args.max_bytes is not None else []
    budgets += [f"{args.bpp:g} bpp"] if args.bpp is not None else []
    if not budgets:
        return text
    return f"{registry.spec(header.codec).label(header.model_id)}, {text} kept within {' and '.join(budgets)}"


def read_strata(path: Path, layers: int | None = None) -> tuple[bytes, int | None]:
    """The first `layers` layers (default: all) of a layered file (.strata, JPEG 2000, JPEG), and
    how many bytes follow them (None: some, uncounted): no more is read than they take, bounded
    (codec.layered.read_from)."""
    from codec import layered

    with open(path, "rb") as f:
        return layered.read_from(f, layers, str(path))


def _image_format(target: Path) -> str:
    """Pillow's format for an output name (out.png -> PNG)."""
    from PIL import Image

    kind = Image.registered_extensions().get(target.suffix.lower())
    if kind is None:
        raise ValueError(f"{target.name}: unknown image format {target.suffix!r} (use .png, .jpg, .webp, ...)")
    return kind


def _missing_layers(result, wanted: int, size: int) -> str:
    """Why the layers after the decoded ones (up to `wanted`) did not decode, naming the first
    (counting from 1)."""
    from codec import classic_files, container

    if result.damage is not None and not isinstance(result.damage, (container.TrailingData,
                                                                    classic_files.TrailingBytes)):
        return str(result.damage)
    return (f"quality layer {len(result.layers) + 1} is missing: the file ends after "
            f"{size} of its {result.header.file_size} bytes")


def cmd_decode(args) -> int:
    from codec import api

    def job(source: Path, target: Path) -> str:
        data, _ = read_strata(source, args.layers)
        result = api.decode(data, layers=args.layers, device=args.device)
        image = result.image()
        kind = _image_format(target)
        write_atomic(target, lambda f: image.save(f, format=kind))
        n, got = result.header.num_layers, len(result.layers)
        wanted = min(args.layers or n, n)
        if got < wanted:
            raise IncompleteDecode(f"{_missing_layers(result, wanted, len(data))}; {target} shows the "
                                   f"first {got} of the {wanted} layers asked for")
        return f"{source} -> {target}: {got} of {n} layers, {result.last.bpp:.3f} bpp"

    inputs = [Path(p) for p in args.inputs]
    return _run_batch(inputs, _outputs(inputs, args.output, args.outdir, ".png"), job, args)


def info_dict(path: Path) -> dict:
    """Header fields, per-layer sizes, chunk counts (a layer cut to a byte budget keeps only its
    first chunks) and statistics (layers numbered from 1), and integrity of a .strata file; of a
    classic file (JPEG 2000, progressive JPEG) its format, layers and where each ends."""
    from codec import container, layered

    with open(path, "rb") as f:
        if layered.is_classic(f.peek(12)[:12]):
            return _classic_info(path, *layered.read_from(f, name=str(path)))
        parsed = container.survey_from(f)  # every CRC, no payload kept
    h = parsed.header
    layers = _layer_rows(h, parsed.layers, parsed.size, [len(c) for c in h.chunks], h.layer_psnr, parsed.partial)
    return {
        "file": str(path),
        "version": h.version,
        "codec": h.codec,
        "model_id": h.model_id,
        "weights_digest": h.weights_digest.hex(),
        "width": h.width,
        "height": h.height,
        "source_mode": h.source_mode,
        "num_layers": h.num_layers,
        "header_bytes": h.size,
        "file_bytes": parsed.size,
        "complete": parsed.complete,
        "damage": str(parsed.damage) if parsed.damage else None,
        "layers": layers,
    }


def _layer_rows(h, intact: int, size: int, chunks: list[int], psnr: list, partial: int = 0) -> list[dict]:
    """`strata info`'s row of each layer (numbered from 1) of a layered file of `size` bytes whose
    first `intact` layers are: its bytes, chunks and the chunks received (`partial` of the layer
    being received), where it ends (bytes, bpp), its recorded PSNR, whether it is usable and
    whether all its bytes are in the file (usable or not, after damage)."""
    rows = []
    for i in range(h.num_layers):
        end = h.layer_offset(i + 1)
        received = i < intact
        rows.append({"layer": i + 1, "bytes": h.layer_lengths[i], "chunks": chunks[i], "cumulative_bytes": end,
                     "cumulative_bpp": round(8 * end / (h.width * h.height), 5), "psnr": psnr[i],
                     "received": received,
                     "chunks_received": chunks[i] if received else
                                        partial if i == intact else 0,
                     "in_file": end <= size})
    return rows


def _classic_info(path: Path, data: bytes, extra: int | None = 0) -> dict:
    """info_dict of a JPEG 2000 or progressive JPEG file (its bytes to the end of its layers, and
    how many follow): its layers end where its quality layers or scans end in the bytes
    (codec/classic_files.py); no PSNR, no model, no weights."""
    from codec import classic_files, layered

    parsed = layered.parse(data)
    if parsed.complete and extra != 0:
        parsed.damage = classic_files.trailing_bytes(extra)
    h = parsed.header
    layers = _layer_rows(h, len(parsed.layers), len(data), [1] * h.num_layers, [None] * h.num_layers)
    return {"file": str(path), "format": h.format_name, "version": None, "codec": h.codec, "model_id": h.model_id,
            "weights_digest": "", "width": h.width, "height": h.height, "source_mode": h.source_mode,
            "num_layers": h.num_layers, "header_bytes": h.header_bytes, "file_bytes": len(data) + (extra or 0),
            "complete": parsed.complete, "damage": str(parsed.damage) if parsed.damage else None, "layers": layers}


def _print_classic_info(info: dict) -> None:
    print(f"{info['file']}: {info['format']} ({registry.spec(info['codec']).title}), {info['width']}x{info['height']} "
          f"{info['source_mode']}, {info['num_layers']} layers, {info['file_bytes']} bytes (headers "
          f"{info['header_bytes']}, in layer 1)")
    print("  layer     bytes   ends at   cum.bpp")
    for layer in info["layers"]:
        print(f"  {layer['layer']:5d} {layer['bytes']:9d} {layer['cumulative_bytes']:9d} "
              f"{layer['cumulative_bpp']:9.4f}{_missing(layer)}")


def cmd_info(args) -> int:
    failures = 0
    for name in args.inputs:
        try:
            info = info_dict(Path(name))
        except (ValueError, OSError) as exc:
            print(f"strata: {name}: {exc}", file=sys.stderr)
            failures += 1
            continue
        if args.json:
            print(json.dumps(info))
            continue
        if "format" in info:
            _print_classic_info(info)
        else:
            _print_strata_info(info)
        if info["damage"]:
            print(f"  damage: {info['damage']}")
    return EXIT_FAILED if failures else EXIT_OK


def _print_strata_info(info: dict) -> None:
    print(f"{info['file']}: {info['codec']} (model {info['model_id']}, weights {info['weights_digest']}), "
          f"{info['width']}x{info['height']} {info['source_mode']}, {info['num_layers']} layers, "
          f"{info['file_bytes']} bytes (header {info['header_bytes']}, container version {info['version']})")
    print("  layer     bytes  chunks   cum.bpp   PSNR dB")
    for layer in info["layers"]:
        psnr = "-" if layer["psnr"] is None else f"{layer['psnr']:.2f}"
        print(f"  {layer['layer']:5d} {layer['bytes']:9d} {layer['chunks']:7d} {layer['cumulative_bpp']:9.4f} "
              f"{psnr:>9}{_missing(layer)}")


def _missing(layer: dict) -> str:
    """What `strata info` adds to a layer not (wholly) received."""
    if layer["received"]:
        return ""
    if layer["in_file"]:
        return "  (in the file, not usable: see damage)"
    if layer["chunks_received"]:
        return f"  (missing; {layer['chunks_received']} of its {layer['chunks']} chunks received)"
    return "  (missing)"


def _add_batch_options(p: argparse.ArgumentParser, suffix: str) -> None:
    p.add_argument("inputs", nargs="+", help=f"input files; with one input, a second name ending in the output's kind ({suffix}) is the output")
    target = p.add_mutually_exclusive_group()
    target.add_argument("-o", "--output", help="output file (one input only)")
    target.add_argument("-d", "--outdir", help=f"output folder (default: beside each input, suffix {suffix})")
    exist = p.add_mutually_exclusive_group()
    exist.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    exist.add_argument("--skip-existing", action="store_true", help="leave existing outputs alone")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1 ...")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")


def _add_eval_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", help="folder of test images (e.g. ../shared/data/kodak)")
    parser.add_argument("--codecs", default="deephq,deephq-single,hc", help="learned curves to measure: deephq, deephq-single, hc (the family), hc-q1 ... hc-q4 (one member)")
    parser.add_argument("--anchors", default="jpeg2000,webp,heic,avif", help="classic anchors (codec/evaluation/anchors.py)")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N images")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--ms-ssim", action="store_true", help="also compute MS-SSIM")
    parser.add_argument("--json", help="write all points, BD-rates and PSNR at 0.25/0.5/1 bpp here")
    parser.add_argument("--plot", help="write an RD plot (PNG) here")
    parser.add_argument("--reuse", metavar="JSON", help="take the learned curves this earlier --json output of the "
                        "same images holds instead of measuring them again")


def _positive(kind):
    """An argparse type: a number of `kind` above 0."""
    def parse(text: str):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value
    parse.__name__ = kind.__name__
    return parse


def _quality_help() -> str:
    """--quality's help from the codec table: which codecs have a model per quality."""
    families = [f"{s.name} {s.model_ids[0]}..{s.model_ids[-1]}" for s in registry.CODECS if s.is_family]
    return f"model of a codec family ({', '.join(families)}; the lowest is the lowest rate)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strata", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    enc = sub.add_parser("encode", help="encode images into .strata files (or .jp2 / progressive .jpg: --codec)")
    _add_batch_options(enc, "by codec: .strata, .jp2 or .jpg")
    enc.add_argument("--codec", default=registry.DEFAULT_CODEC, choices=registry.NAMES,
                     help=f"codec (default {registry.DEFAULT_CODEC}); jpeg2000 writes a .jp2 file with 12 quality "
                          f"layers, jpeg-progressive a progressive .jpg")
    enc.add_argument("--quality", type=int, help=_quality_help())
    budget = enc.add_argument_group("byte budget (the file is at most this big)")
    budget.add_argument("--max-bytes", type=_positive(int), metavar="N",
                        help="keep the longest prefix of the layers that fits (DeepHQ); without --quality, "
                             "a family (HC) takes its best model that fits; JPEG 2000 rate-controls its last "
                             "layer to fit, progressive JPEG takes its best quality that fits")
    budget.add_argument("--bpp", type=_positive(float), metavar="B",
                        help="the same budget in bits per pixel: 8 * bytes / (width * height)")
    enc.add_argument("--no-psnr", dest="psnr", action="store_false",
                     help="do not record each layer's PSNR in the header (skips one synthesis per layer)")
    enc.set_defaults(run=cmd_encode)
    dec = sub.add_parser("decode", help="decode layered files (.strata, .jp2, progressive .jpg) to PNG (or any format by suffix)")
    _add_batch_options(dec, ".png")
    dec.add_argument("--layers", type=int, help="decode only the first N layers (default: all received)")
    dec.set_defaults(run=cmd_decode)
    info = sub.add_parser("info", help="show the header, per-layer sizes and statistics")
    info.add_argument("inputs", nargs="+", help=".strata files, JPEG 2000 files with quality layers, progressive JPEGs")
    info.add_argument("--json", action="store_true", help="one JSON object per file")
    info.set_defaults(run=cmd_info)
    ev = sub.add_parser("eval", help="rate-distortion of the codecs and classic anchors on a folder")
    _add_eval_options(ev)
    ev.set_defaults(run=cmd_eval)
    return parser


def cmd_eval(args) -> int:
    from codec.evaluation.evaluate import run

    try:
        run(args)
    except (ValueError, OSError) as exc:
        print(f"strata: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _positional_output(args) -> None:
    """`strata encode in.jpg out.strata` / `strata decode in.strata out.png`: a last positional
    argument with the output's kind of suffix is the output file."""
    if args.command not in ("encode", "decode") or len(args.inputs) != 2 or args.output or args.outdir:
        return
    name = args.inputs[1].lower()
    if args.command == "encode" and name.endswith(registry.spec(args.codec).suffixes + (".strata",)) \
            or args.command == "decode" and not name.endswith(".strata"):
        args.output = args.inputs.pop()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and hasattr(args, "inputs") and not any(e.startswith("-") for e in extra):
        args.inputs += extra  # positionals after options: `strata decode in.strata --layers 3 out.png`
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    _positional_output(args)
    if getattr(args, "output", None) and len(args.inputs) > 1:
        parser.error("--output takes one input; use --outdir for several")
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("strata: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
