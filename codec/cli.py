"""`strata`: encode images to layered .strata files, decode them, inspect them.

The classic codecs (--codec jpeg2000, jpeg-progressive) write a .jp2 file with quality layers or a
progressive .jpg; decode and info read those files too (their layers end where quality layers or
scans end, and they record no PSNR).

decode and info also take http(s) URLs (codec/net/): `strata decode URL --layers 3 out.png` reads
the header with small range requests, then exactly the bytes up to the end of layer 3; `--max-bytes
N` the whole layers (chunks) within N bytes; `strata info URL` the header alone; --verbose says
what was transferred.

Exit codes: 0 success; 1 at least one input failed (unreadable, damaged, foreign, over the pixel
limit, an output that exists or is not a regular file, a decode missing a requested layer, a
file with no usable layer); 2 usage error (also a --quality the codec lacks, --layers below 1,
outputs that collide with each other or with an input); 130 interrupted; 128 + N stopped by
signal N (143 SIGTERM, 129 SIGHUP). Messages about failed inputs go to stderr, one line each.
"""
from __future__ import annotations

import argparse
import codecs
import contextlib
import json
import sys
import warnings
from pathlib import Path

from tqdm import tqdm

from codec import registry
from codec.atomic import NotARegularFile, Terminated, check_target, signals_raise, write_atomic
from codec.effort import DEFAULT_EFFORT, EFFORTS
from codec.images import DEFAULT_MAX_PIXELS
from codec.version import VERSION

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
# decode's default output name: photo.strata -> photo.decoded.png, never photo.png, which is
# usually the picture the file was encoded from
DECODED_SUFFIX = ".decoded.png"


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


def _say(text: str) -> None:
    """One line for people on stderr, above the progress bar when one is drawn."""
    tqdm.write(f"strata: {text}", file=sys.stderr)


def _run_batch(inputs: list[Path], outputs: list[Path], job, args) -> int:
    """Run job(input, output) over the inputs with a progress bar; returns the exit code."""
    problem = _collision(inputs, outputs)
    if problem:
        print(f"strata: {problem}; nothing was written", file=sys.stderr)
        return EXIT_USAGE
    failures = 0
    progress = tqdm(list(zip(inputs, outputs)), unit="file", disable=len(inputs) < 2 or args.quiet)
    for source, target in progress:
        if args.skip_existing and target.exists():
            continue
        problem = _unwritable(source, target, args)
        if problem:
            _say(problem)
            failures += 1
            continue
        try:
            message = job(source, target)
        except (ValueError, OSError) as exc:
            _say(f"{source}: {_failure(exc, args)}")
            failures += 1
            continue
        if not args.quiet:
            progress.write(message)
    return EXIT_FAILED if failures else EXIT_OK


def _failure(exc: Exception, args) -> str:
    """What went wrong with an input, and what to do, in the CLI's terms (a pixel limit the
    command's --max-pixels sets is raised with it, not with the API's max_pixels=)."""
    from codec import api

    limit = getattr(args, "max_pixels", None) or api.MAX_IMAGE_PIXELS
    if isinstance(exc, api.ImageTooLarge) and exc.limit == limit:
        return f"{exc.problem}; if you trust it, use --max-pixels {exc.pixels}"
    return str(exc)


def _unwritable(source: Path, target: Path, args) -> str | None:
    """Why target is not written (a special file, or one that exists without --overwrite), or None."""
    try:
        check_target(target)
    except NotARegularFile as exc:
        return str(exc)
    if target.exists() and not args.overwrite:
        return _exists(source, target, args.command)
    return None


def _exists(source: Path, target: Path, command: str) -> str:
    """Why an existing target is not written, and what to do. A picture decoded to the stem of
    its .strata file would replace the picture it was probably encoded from: no --overwrite."""
    if command == "decode" and target.stem == source.stem:
        return (f"{target} exists and may be the picture {source.name} was encoded from; "
                f"name another output (-o NAME.png) or folder (-d)")
    return f"{target} exists (use --overwrite or --skip-existing)"


def cmd_encode(args) -> int:
    from codec import api, layered

    spec = registry.spec(args.codec)
    if spec.is_family and args.quality is None and args.max_bytes is None and args.bpp is None \
            and not args.quiet:
        _say(f"--codec {spec.name} without --quality: quality {spec.model_for(None)} of {spec.qualities}; "
             f"choose one with --quality")

    def job(source: Path, target: Path) -> str:
        with _conversion_warnings(source), _encode_progress(source, args) as progress:
            data = api.encode(source, codec=args.codec, quality=args.quality, device=args.device, psnr=args.psnr,
                              max_bytes=args.max_bytes, max_bpp=args.bpp, max_pixels=args.max_pixels,
                              effort=args.effort, progress=progress)
        write_atomic(target, data)
        header = layered.parse(data).header
        bpp = 8 * len(data) / (header.width * header.height)
        top = header.layer_psnr[-1]
        quality = f"PSNR {top:.2f} dB" if top is not None else \
            "PSNR not measured" if spec.learned else "no PSNR recorded (the format has none)"
        return (f"{source} -> {target}: {len(data)} bytes, {bpp:.3f} bpp, "
                f"{_kept(header, args)}, {quality}")

    inputs = [Path(p) for p in args.inputs]
    outputs = _outputs(inputs, args.output, args.outdir, spec.suffix)
    if not args.output:
        outputs = [_apart_from_source(source, target, spec) for source, target in zip(inputs, outputs)]
    return _run_batch(inputs, outputs, job, args)


def _apart_from_source(source: Path, target: Path, spec) -> Path:
    """A default output name that is its own input (photo.jpg encoded as a progressive JPEG) takes
    the codec's tag: photo.jpeg-progressive.jpg."""
    if target.resolve() != source.resolve():
        return target
    return target.with_name(f"{source.stem}.{spec.tag()}{spec.suffix}")


@contextlib.contextmanager
def _conversion_warnings(source: Path):
    """Print what the picture loses on its way to the codec (codec.images.ConversionWarning) as
    warning lines on stderr, once per input; other warnings pass on as usual."""
    from codec.images import ConversionWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConversionWarning)
        yield
    for warning in caught:
        if issubclass(warning.category, ConversionWarning):
            _say(f"{source}: warning: {warning.message}")
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


@contextlib.contextmanager
def _encode_progress(source: Path, args):
    """A progress callback drawing one file's encode as a percentage with the time left (tqdm,
    on stderr while it is a terminal and not --quiet), removed when the encode ends."""
    bar = tqdm(total=100, unit="%", desc=source.name, leave=False, disable=args.quiet or not sys.stderr.isatty(),
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed} elapsed, {remaining} left")
    with bar:
        yield lambda fraction: bar.update(round(100 * fraction) - bar.n)


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


def _input(name: str):
    """A local path, or a URL as a codec.net.urls.RemoteName (what the batch helpers ask of a path)."""
    from codec.net.urls import RemoteName, is_url

    return RemoteName(name) if is_url(name) else Path(name)


class _Read:
    """The bytes a decode reads, how many layers they must give, and for --verbose what reading cost."""

    def __init__(self, data: bytes, wanted: int | None, cost: str, damage: ValueError | None = None):
        self.data, self.wanted, self.cost, self.damage = data, wanted, cost, damage


def read_layers(source, layers: int | None, max_bytes: int | None) -> _Read:
    """The first `layers` layers (or the whole layers, with partitions chunks, within max_bytes;
    default: all) of a local file or a URL. From a URL only those bytes are transferred (the
    header in small range requests, then one range: codec.net); `damage`: why it stopped early."""
    from codec import layered
    from codec.net import plan, remote
    from codec.net.urls import RemoteName

    want = plan.Want(layers, max_bytes)
    if isinstance(source, RemoteName):
        fetched = remote.fetch(source.url, want)
        return _Read(fetched.data, _wanted(fetched.layout, want), fetched.report(), fetched.damage)
    data, _ = read_strata(source, layers if max_bytes is None else None)
    layout = layered.parse(data).header
    if max_bytes is not None:
        data = data[:plan.prefix_end(layout, want)]
    return _Read(data, _wanted(layout, want), f"read {len(data):,} bytes of {source}")


def _wanted(layout, want) -> int | None:
    """Layers a decode must give: those asked for, or those whole within the byte budget (a
    progressive JPEG's: unknown, None)."""
    from codec.net import plan

    if want.max_bytes is None:
        return min(want.layers or layout.num_layers, layout.num_layers)
    if not plan.ends_known(layout):
        return None
    return plan.layers_within(layout, plan.prefix_end(layout, want))


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


def _incomplete(result, asked: int | None, size: int, target: Path) -> str | None:
    """Why a decode written to target holds fewer layers than were asked for (None: all of the
    file's), or None: a layer missing or damaged, or more asked for than the file has."""
    n, got = result.header.num_layers, len(result.layers)
    wanted = min(asked or n, n)
    if got < wanted:
        return (f"{_missing_layers(result, wanted, size)}; {target} shows the first {got} of the "
                f"{asked or n} layers asked for")
    if asked is not None and asked > n:
        return f"the file has {n} quality layers, not the {asked} asked for; {target} shows all {n}"
    return None


def cmd_decode(args) -> int:
    from codec import api

    def job(source: Path, target: Path) -> str:
        read = read_layers(source, args.layers, args.max_bytes)
        data = read.data
        result = api.decode(data, layers=args.layers, device=args.device, max_pixels=args.max_pixels)
        image = result.image()
        kind = _image_format(target)
        write_atomic(target, lambda f: image.save(f, format=kind))
        n, got = result.header.num_layers, len(result.layers)
        if read.damage is not None and read.wanted is not None and got < read.wanted:
            raise IncompleteDecode(f"{read.damage}; {target} shows the first {got} of the {read.wanted} layers "
                                   f"asked for")
        problem = _incomplete(result, args.layers if args.max_bytes is None else read.wanted, len(data), target)
        if problem:
            raise IncompleteDecode(problem)
        message = f"{source} -> {target}: {got} of {n} layers, {result.last.bpp:.3f} bpp"
        if read.damage is not None:
            message += f" (note: {read.damage})"
        return message + (f"; {read.cost}" if args.verbose else "")

    inputs = [_input(p) for p in args.inputs]
    return _run_batch(inputs, _outputs(inputs, args.output, args.outdir, DECODED_SUFFIX), job, args)


def info_dict(path) -> dict:
    """Header fields, per-layer sizes, chunk counts (a layer cut to a byte budget keeps only its
    first chunks) and statistics (layers numbered from 1), and integrity of a .strata file; of a
    classic file (JPEG 2000, progressive JPEG) its format, layers and where each ends. A local
    file is surveyed without keeping its payloads; a URL (codec.net.urls.RemoteName) is read as
    far as its header."""
    from codec import container, layered
    from codec.net.urls import RemoteName

    if isinstance(path, RemoteName):
        return _remote_info(path)
    with open(path, "rb") as f:
        if layered.is_classic(f.peek(12)[:12]):
            return _classic_info(path, *layered.read_from(f, name=str(path)))
        survey = container.survey_from(f)  # every CRC, no payload kept
    return _strata_info(path, survey.header, survey.layers, survey.partial, survey.size, survey.complete, survey.damage)


def _bytes_info(path, data: bytes) -> dict:
    """info_dict of a file's bytes in memory (a URL's header, or its whole file)."""
    from codec import container, layered

    if layered.is_classic(data):
        return _classic_info(path, data)
    parsed = container.parse_container(data)
    return _strata_info(path, parsed.header, len(parsed.layers), len(parsed.partial), len(data), parsed.complete,
                        parsed.damage)


def _strata_info(path, h, intact: int, partial: int, size: int, complete: bool, damage) -> dict:
    """info_dict of a .strata file of `size` bytes with header h whose first `intact` layers are
    usable (`partial` chunks of the next)."""
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
        "file_bytes": size,
        "complete": complete,
        "damage": str(damage) if damage else None,
        "layers": _layer_rows(h, intact, size, [len(c) for c in h.chunks], h.layer_psnr, partial),
    }


def _remote_info(source) -> dict:
    """info_dict of a URL: its header alone (a progressive JPEG's scans are only known by
    reading them, so its whole file); each layer says whether it was fetched, and `transferred`
    what the header cost."""
    from codec.net import plan, remote

    fetched = remote.fetch_header(source.url)
    if not plan.ends_known(fetched.layout):
        fetched = remote.fetch(source.url)
    info = _bytes_info(source, fetched.data)
    info["file_bytes"] = fetched.layout.file_size
    for row in info["layers"]:
        row["fetched"] = row["in_file"]
    info.update(transferred=fetched.transferred, transfer=fetched.report())
    return info


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


def measured_layers(path: Path, original: str) -> list[dict]:
    """`strata info --original`: PSNR-RGB and MS-SSIM against the original of every layer that
    decodes (numbered from 1); MS-SSIM is None for a picture with a side under 161 pixels."""
    from codec import api, images
    from codec.evaluation import metrics

    reference, _ = images.open_image(original)
    rows = []
    for layer in api.ProgressiveDecoder(refinements=False).feed(path.read_bytes()):
        if layer.rgb.shape != reference.shape:
            raise ValueError(f"{original} is not the file's picture: it is {reference.shape[1]}x{reference.shape[0]}")
        small = min(reference.shape[:2]) < metrics.MS_SSIM_MIN_SIDE
        rows.append({"layer": layer.index + 1, "psnr": round(metrics.psnr(reference, layer.rgb), 3),
                     "ms_ssim": None if small else round(metrics.ms_ssim(reference, layer.rgb), 5)})
    return rows


def _print_measured(rows: list[dict], original: str) -> None:
    print(f"  against {original}:\n  layer   PSNR dB   MS-SSIM")
    for row in rows:
        ms_ssim = "-" if row["ms_ssim"] is None else f"{row['ms_ssim']:.4f}"
        print(f"  {row['layer']:5d} {row['psnr']:9.2f} {ms_ssim:>9}")


def cmd_info(args) -> int:
    """Print each file's header and layers; exit 1 when one cannot be read or none of its layers
    can be used (the first is damaged or missing)."""
    failures = 0
    for name in args.inputs:
        try:
            info = info_dict(_input(name))
            if args.original:
                info["measured"] = measured_layers(Path(name), args.original)
        except (ValueError, OSError) as exc:
            _say(f"{name}: {exc}")
            failures += 1
            continue
        _print_info(info, args.json)
        if args.original and not args.json:
            _print_measured(info["measured"], args.original)
        if args.verbose and not args.json and "transfer" in info:
            print(f"  {info['transfer']}")
        problem = _unusable(info)
        if problem:
            _say(f"{name}: {problem}")
            failures += 1
    return EXIT_FAILED if failures else EXIT_OK


def _print_info(info: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(info))
        return
    if "format" in info:
        _print_classic_info(info)
    else:
        _print_strata_info(info)
    if info["damage"]:
        print(f"  damage: {info['damage']}")


def _unusable(info: dict) -> str | None:
    """Why no layer of a file can be used (its first is damaged or missing), or None; a URL's
    layers that info did not fetch (it reads the header alone) are not missing."""
    first = info["layers"][0]
    if first["received"] or first.get("fetched") is False:
        return None
    if first["in_file"]:
        return f"no layer can be decoded: {info['damage']}"
    return (f"no layer can be decoded: the file ends after {info['file_bytes']} bytes, before quality "
            f"layer 1 does (at byte {first['cumulative_bytes']})")


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
    if layer.get("fetched") is False:
        return "  (not fetched)"
    if layer["in_file"]:
        return "  (in the file, not usable: see damage)"
    if layer["chunks_received"]:
        return f"  (missing; {layer['chunks_received']} of its {layer['chunks']} chunks received)"
    return "  (missing)"


def _add_batch_options(p: argparse.ArgumentParser, kind: str, default: str) -> None:
    p.add_argument("inputs", nargs="+", help=f"input files; with one input, a second name ending in the output's kind ({kind}) is the output")
    target = p.add_mutually_exclusive_group()
    target.add_argument("-o", "--output", help="output file (one input only)")
    target.add_argument("-d", "--outdir", help=f"output folder (default: beside each input, named {default})")
    exist = p.add_mutually_exclusive_group()
    exist.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    exist.add_argument("--skip-existing", action="store_true", help="leave existing outputs alone")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1 ...")
    p.add_argument("--max-pixels", type=_positive(int), metavar="N",
                   help=f"refuse pictures of more than N pixels (default {DEFAULT_MAX_PIXELS:,}, e.g. 8192x4096), "
                        "a guard against small files announcing huge pictures; raise it for a picture you trust")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors and warnings only")


def _add_eval_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", help="folder of test images (e.g. ../shared/data/kodak)")
    parser.add_argument("--codecs", default="deephq,deephq-single,hc", help="learned curves to measure: deephq, deephq-single, hc (the family), hc-q1 ... hc-q4 (one member)")
    parser.add_argument("--anchors", default="jpeg2000,webp,heic,avif", help="classic anchors (codec/evaluation/anchors.py)")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N images")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--ms-ssim", action="store_true", help="also compute MS-SSIM")
    parser.add_argument("--effort", type=int, default=DEFAULT_EFFORT, choices=EFFORTS, metavar="1..9",
                        help="encoder effort of the learned codecs (1 fastest, 9 best)")
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
    return f"model of a codec family ({', '.join(families)}; the lowest is the lowest rate and the default)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strata", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"strata {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True)
    enc = sub.add_parser("encode", help="encode images into .strata files (or .jp2 / progressive .jpg: --codec)")
    _add_batch_options(enc, "by codec: .strata, .jp2 or .jpg", "photo.strata, .jp2 or .jpg")
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
    enc.add_argument("--effort", type=int, default=DEFAULT_EFFORT, choices=EFFORTS, metavar="1..9",
                     help=f"how hard a learned encoder searches for its latent: 1 fastest (default {DEFAULT_EFFORT}), "
                          f"9 best (minutes per picture on a CPU); the decoder and the file format do not change")
    enc.add_argument("--no-psnr", dest="psnr", action="store_false",
                     help="do not record each layer's PSNR in the header (skips one synthesis per layer)")
    enc.set_defaults(run=cmd_encode)
    dec = sub.add_parser("decode", help="decode layered files (.strata, .jp2, progressive .jpg) to PNG (or any format by suffix)")
    _add_batch_options(dec, "an image format: .png, .jpg, .webp, ...", f"photo{DECODED_SUFFIX}")
    dec.add_argument("--layers", type=_positive(int), metavar="N",
                     help="decode only the first N layers (default: all received); exit 1 when the file "
                          "has fewer; from a URL only their bytes are fetched")
    dec.add_argument("--max-bytes", type=_positive(int), metavar="N",
                     help="decode the whole layers (with partitions: chunks) within the first N bytes; from a "
                          "URL only those bytes are fetched (a progressive JPEG: at most N)")
    dec.add_argument("-v", "--verbose", action="store_true", help="say how many bytes were read or transferred")
    dec.set_defaults(run=cmd_decode)
    info = sub.add_parser("info", help="show the header, per-layer sizes and statistics")
    info.add_argument("inputs", nargs="+", help=".strata files, JPEG 2000 files with quality layers, progressive JPEGs, "
                                                "or their http(s) URLs (only the header is fetched)")
    info.add_argument("--json", action="store_true", help="one JSON object per file")
    info.add_argument("--original", metavar="PATH", help="also decode every layer and print its PSNR and MS-SSIM "
                                                         "against this picture")
    info.add_argument("-v", "--verbose", action="store_true", help="for a URL, say what reading its header transferred")
    info.set_defaults(run=cmd_info)
    ev = sub.add_parser("eval", help="rate-distortion of the codecs and classic anchors on a folder")
    _add_eval_options(ev)
    ev.set_defaults(run=cmd_eval)
    return parser


def cmd_eval(args) -> int:
    from codec.evaluation.evaluate import UnknownCurve, run

    try:
        run(args)
    except UnknownCurve as exc:
        print(f"strata: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
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


def _check_quality(parser: argparse.ArgumentParser, args) -> None:
    """A usage error (exit 2) for a --quality the codec has no model for, naming the valid ones."""
    try:
        registry.spec(args.codec).model_for(args.quality)
    except registry.UnknownQuality as exc:
        parser.error(f"--quality {args.quality}: {exc}")


def _escape(error: UnicodeEncodeError) -> tuple[str, int]:
    """Output error handler: a character the stream cannot encode is written as its backslash
    escape, and a file name's undecodable byte (0xff, which Python holds as U+DCFF) as \\xff."""
    chunk = error.object[error.start:error.end]
    return "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else ascii(c)[1:-1]
                   for c in chunk), error.end


@contextlib.contextmanager
def _safe_output():
    """stdout and stderr never fail on a name they cannot encode (a non-UTF-8 file name, a strict
    ASCII locale): it is escaped (_escape); their error handlers come back afterwards."""
    codecs.register_error("strata-escape", _escape)
    streams = [s for s in (sys.stdout, sys.stderr) if hasattr(s, "reconfigure")]
    previous = [s.errors for s in streams]
    for stream in streams:
        stream.reconfigure(errors="strata-escape")
    try:
        yield
    finally:
        for stream, errors in zip(streams, previous):
            stream.reconfigure(errors=errors)


def main(argv: list[str] | None = None) -> int:
    with _safe_output():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and hasattr(args, "inputs") and not any(e.startswith("-") for e in extra):
        args.inputs += extra  # positionals after options: `strata decode in.strata --layers 3 out.png`
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    _positional_output(args)
    if getattr(args, "output", None) and len(args.inputs) > 1:
        parser.error("--output takes one input; use --outdir for several")
    if args.command == "encode":
        _check_quality(parser, args)
    try:
        with signals_raise():
            return args.run(args)
    except KeyboardInterrupt:
        print("strata: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated as stop:
        print(f"strata: {stop}", file=sys.stderr)
        return 128 + stop.signum


if __name__ == "__main__":
    sys.exit(main())
