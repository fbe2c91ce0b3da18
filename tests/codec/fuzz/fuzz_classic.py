"""Fuzz the classic file readers (JPEG 2000, progressive JPEG) and their decoding.

Seeds are real files: the 48x64 crop of resources/sample.png encoded by the jpeg2000 codec (a JP2
file of 12 quality layers), its raw codestream, and the progressive JPEG of the jpeg-progressive
codec (10 scans). Each case mutates a seed, then parses it (codec.layered.parse), decodes it
(api.decode) and streams it (api.ProgressiveDecoder fed in random pieces). Mutations:

- raw: truncation, bit flips, inserted, deleted, overwritten and appended bytes;
- lying markers: a marker segment's length, a JP2 box's length, Psot, the layers a COD segment
  announces, the picture size of SIZ or SOF, PLT packet lengths;
- many layers: a scan repeated, a JPEG 2000 codestream announcing thousands of layers.

Every case must end in pictures of the announced size (possibly of fewer layers, with `damage`
naming why) or in one of the named ValueErrors of ALLOWED, within a time and a memory limit;
where the mutated file starts with the seed's first j layers byte for byte (its headers intact),
those j layers must decode to the seed's pictures.

Builders of hostile files (`codestream`, `jp2`, `repeat_scan`, `cases`) are shared with the
tests (tests/codec/fuzz/test_fuzz_classic.py), and `--case NAME` measures one:

    python tests/codec/fuzz/fuzz_classic.py --seconds 300 --seed 1       # the long run
    python tests/codec/fuzz/fuzz_classic.py --case j2k-200-layers-2048   # time and peak RSS
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import io
import random
import re
import resource
import struct
import sys
import time
import traceback
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed as hypothesis_seed, settings, strategies as st
from PIL import Image

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from codec import api, classic_files, classic_layout, container, layered  # noqa: E402
from codec.coding.entropy_coding import CorruptStream  # noqa: E402
from codec.coding.latent_coding import InvalidCodecParameters  # noqa: E402
from codec.memory import InsufficientMemory  # noqa: E402
from codec.resources import RESOURCES  # noqa: E402

# Every error a damaged or hostile classic file may raise (a file mutated out of its signature
# is read as a .strata file: the container's errors). Anything else is a bug.
ALLOWED = (classic_files.ClassicFileError, container.ContainerError, CorruptStream, InvalidCodecParameters,
           api.ImageTooLarge, InsufficientMemory)
CASE_SECONDS = 20  # per case, on the loaded 2-core machine: a seed decodes in well under a second
CASE_MEMORY = 400 << 20  # peak RSS growth per case: the seeds are 48x64 pictures


# ---------------------------------------------------------------------------------------------
# Hostile files built in code


def segment(marker: int, body: bytes) -> bytes:
    """A JPEG 2000 or JPEG marker segment: marker, length (counting itself), body."""
    return struct.pack(">HH", marker, len(body) + 2) + body


def codestream(width: int, height: int, layers: int, components: int = 1, comments: int = 0,
               lengths: bytes | None = None) -> bytes:
    """A one-tile LRCP codestream of empty packets (one per layer and component, no wavelet
    levels) with PLT lengths, `comments` COM segments in the main header; `lengths`: the PLT
    bytes instead of the true ones."""
    siz = struct.pack(">HIIIIIIIIH", 0, width, height, 0, 0, width, height, 0, 0, components)
    cod = struct.pack(">BBHBBBBBB", 0, 0, layers, 0, 0, 4, 4, 0, 1)
    main = (b"\xff\x4f" + segment(0xFF51, siz + b"\x07\x01\x01" * components) + segment(0xFF52, cod)
            + segment(0xFF5C, b"\x40\x40") + segment(0xFF64, b"\x00\x01x") * comments)
    packets = layers * components
    lengths = b"\x01" * packets if lengths is None else lengths
    plts = b"".join(segment(0xFF58, bytes([k % 256]) + lengths[at:at + 65000])
                    for k, at in enumerate(range(0, len(lengths), 65000)))
    body = plts + b"\xff\x93" + b"\x00" * packets
    sot = segment(0xFF90, struct.pack(">HIBB", 0, 12 + len(body), 0, 1))
    return main + sot + body + b"\xff\xd9"


def box(kind: bytes, content: bytes) -> bytes:
    return struct.pack(">I", 8 + len(content)) + kind + content


def jp2(stream: bytes, free_boxes: int = 0) -> bytes:
    """A JP2 file of a codestream, with `free_boxes` empty boxes before the codestream box."""
    return (classic_files.JP2_SIGNATURE + box(b"ftyp", b"jp2 \x00\x00\x00\x00jp2 ") + box(b"free", b"") * free_boxes
            + box(b"jp2c", stream))


_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")


def progressive_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality, progressive=True, optimize=True, subsampling="4:4:4")
    return buffer.getvalue()


def scans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each scan of a JPEG with the tables just before it (DHT ... SOS, data)."""
    pos, found, start = 2, [], None
    while data[pos + 1] != 0xD9:
        code = data[pos + 1]
        if start is None and code in (0xC4, 0xDA):
            start = pos
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        if code == 0xDA:
            pos = _MARKER.search(data, pos).start()
            found.append((start, pos))
            start = None
    return found


def repeat_scan(data: bytes, index: int, times: int) -> bytes:
    """The JPEG with scan `index` (and its tables) repeated to occur `times` times."""
    start, end = scans(data)[index]
    return data[:end] + data[start:end] * (times - 1) + data[end:]


def flat(width: int, height: int) -> np.ndarray:
    return np.full((height, width, 3), 100, dtype=np.uint8)


def cases() -> dict[str, callable]:
    """The hostile files of issue 32, by name: a function making each."""
    return {
        "cod-cut": lambda: codestream(64, 48, 3)[:45] + b"\xff\x52\x00\x02",  # 49 bytes, Lcod = 2 at the end
        "j2k-2-layers-8192x4096": lambda: codestream(8192, 4096, 2, components=3),
        "j2k-200-layers-2048": lambda: codestream(2048, 2048, 200),
        "j2k-400-layers-2048": lambda: codestream(2048, 2048, 400),
        "j2k-1000-layers": lambda: codestream(64, 64, 1000),
        "j2k-5000-layers": lambda: codestream(64, 64, 5000),
        "j2k-65535-layers": lambda: codestream(64, 64, 65535),
        "jpeg-100-scans-8192x4096": lambda: repeat_scan(progressive_jpeg(flat(8192, 4096)), -1, 91),
        "jpeg-1000-scans": lambda: repeat_scan(progressive_jpeg(flat(64, 48)), -1, 991),
        "jpeg-20000-scans": lambda: repeat_scan(progressive_jpeg(flat(64, 48)), -1, 19991),
        "j2k-99000-comments": lambda: codestream(64, 64, 3, comments=99_000),
        "jp2-30000-boxes": lambda: jp2(codestream(64, 64, 3), free_boxes=30_000),
        "j2k-plt-655k": lambda: codestream(64, 64, 3, lengths=(b"\xff" * 64_999 + b"\x01") * 10),
    }


# ---------------------------------------------------------------------------------------------
# Seeds


@dataclasses.dataclass
class Seed:
    """A real, intact classic file and what each of its layers decodes to."""

    name: str
    data: bytes
    layout: classic_files.ClassicLayout
    pictures: list[np.ndarray]


def tile() -> np.ndarray:
    """48x64 crop of the bundled sample photo."""
    return np.asarray(Image.open(RESOURCES / "sample.png").convert("RGB"))[100:148, 200:264].copy()


def seeds() -> list[Seed]:
    """The JP2 file, its raw codestream and the progressive JPEG of the tile."""
    files = {name: api.encode(tile(), codec=name) for name in ("jpeg2000", "jpeg-progressive")}
    layout = layered.parse(files["jpeg2000"]).header
    files["j2k"] = files["jpeg2000"][layout.codestream:]
    return [_seed(name, data) for name, data in files.items()]


def _seed(name: str, data: bytes) -> Seed:
    result = api.decode(data, device="cpu")
    assert result.complete and result.damage is None
    return Seed(name, data, result.header, [layer.rgb for layer in result.layers])


# ---------------------------------------------------------------------------------------------
# Mutations. Positions and values are drawn wide and reduced modulo what exists.

INDEX = st.integers(0, 2**16)
LENGTHS = [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 40, 41, 65535]
VALUES = [0, 1, 2, 3, 255, 256, 1000, 1001, 65535, 65536, 2**24, 2**31, 2**32 - 1]


def raw_ops() -> st.SearchStrategy:
    return st.one_of(
        st.tuples(st.just("truncate"), INDEX),
        st.tuples(st.just("flip"), INDEX, st.integers(0, 7)),
        st.tuples(st.just("insert"), INDEX, st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("delete"), INDEX, st.integers(1, 8)),
        st.tuples(st.just("overwrite"), INDEX, st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("append"), INDEX, st.binary(min_size=1, max_size=8)),
    )


def lying_ops() -> st.SearchStrategy:
    value = st.sampled_from(VALUES) | st.integers(0, 2**32 - 1)
    return st.one_of(
        st.tuples(st.just("segment-length"), INDEX, st.sampled_from(LENGTHS) | st.integers(0, 65535)),
        st.tuples(st.just("box-length"), INDEX, value),
        st.tuples(st.sampled_from(["psot", "cod-layers", "width", "height"]), value),
        st.tuples(st.just("plt"), INDEX, st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("repeat-layer"), INDEX, st.sampled_from([2, 10, 1001, 3000]) | st.integers(2, 1500)),
    )


def mutations() -> st.SearchStrategy:
    """A few raw and lying mutations, at least one."""
    return st.lists(st.one_of(raw_ops(), lying_ops()), min_size=1, max_size=3)


def _segments(data: bytes) -> list[tuple[int, int]]:
    """(position, marker) of the marker segments with a length that a parse of the file finds
    before its first layer's data (JPEG 2000 headers, or a JPEG's markers up to its first scan)."""
    found, pos = [], 2 if classic_files.sniff(data) == "jpeg" else _codestream_start(data) + 2
    while pos + 4 <= len(data):
        marker = int.from_bytes(data[pos:pos + 2], "big")
        if marker >> 8 != 0xFF or marker in (0xFF93, 0xFFD9) or marker & 0xFF in range(0xD0, 0xD8):
            break
        found.append((pos, marker))
        if marker == 0xFF90:  # SOT: on into the tile-part header
            pos += 12
            continue
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        if marker == 0xFFDA:
            break
    return found


def _codestream_start(data: bytes) -> int:
    at = data.find(b"jp2c")
    return at + 4 if classic_files.sniff(data) == "jp2" and at >= 0 else 0


def _put(data: bytes, pos: int, value: int, size: int) -> bytes:
    if pos + size > len(data):
        return data
    return data[:pos] + (value % 256**size).to_bytes(size, "big") + data[pos + size:]


def apply(data: bytes, op: tuple) -> bytes:
    """One mutation of a classic file's bytes."""
    kind = op[0]
    if kind in ("truncate", "flip", "insert", "delete", "overwrite", "append"):
        return _raw(data, op)
    segments = _segments(data)
    by_marker = {marker: pos for pos, marker in segments}
    if kind == "segment-length" and segments:
        pos = segments[op[1] % len(segments)][0]
        return _put(data, pos + 2, op[2], 2)
    if kind == "box-length" and classic_files.sniff(data) == "jp2":
        boxes = [m.start() - 4 for m in re.finditer(rb"jP  |ftyp|jp2h|jp2c|colr|ihdr", data[:200])]
        return _put(data, boxes[op[1] % len(boxes)], op[2], 4) if boxes else data
    if kind == "psot" and 0xFF90 in by_marker:
        return _put(data, by_marker[0xFF90] + 6, op[1], 4)
    if kind == "cod-layers" and 0xFF52 in by_marker:
        return _put(data, by_marker[0xFF52] + 6, op[1], 2)
    if kind in ("width", "height"):
        return _size(data, by_marker, kind, op[1])
    if kind == "plt" and 0xFF58 in by_marker:
        return _put(data, by_marker[0xFF58] + 5 + op[1] % 64, int.from_bytes(op[2], "big"), len(op[2]))
    if kind == "repeat-layer":
        return _repeat(data, op[1], op[2])
    return data


def _size(data: bytes, by_marker: dict, kind: str, value: int) -> bytes:
    if 0xFF51 in by_marker:  # SIZ: Xsiz, Ysiz (u32)
        return _put(data, by_marker[0xFF51] + (6 if kind == "width" else 10), value, 4)
    sof = next((by_marker[m] for m in (0xFFC2, 0xFFCA, 0xFFC0) if m in by_marker), None)
    return data if sof is None else _put(data, sof + (7 if kind == "width" else 5), value, 2)


def _repeat(data: bytes, index: int, times: int) -> bytes:
    """Many layers: a JPEG's scan repeated, or a JPEG 2000 file's last layer's packets given as
    `times` more layers (COD and the PLT lengths rewritten: a lie the layout accepts)."""
    if classic_files.sniff(data) == "jpeg":
        try:
            found = scans(data)
        except (IndexError, AttributeError):  # the mutations before broke the structure
            return data
        return repeat_scan(data, index % len(found), times) if found else data
    return codestream(64, 48, times)  # the seed's size; layers of empty packets


def _raw(data: bytes, op: tuple) -> bytes:
    kind, pos = op[0], op[1] % (len(data) + 1)
    if kind == "append":
        return data + op[2]
    if kind == "truncate":
        return data[:pos]
    if kind == "flip":
        if pos == len(data):
            return data
        out = bytearray(data)
        out[pos] ^= 1 << op[2]
        return bytes(out)
    if kind == "insert":
        return data[:pos] + op[2] + data[pos:]
    if kind == "delete":
        return data[:pos] + data[pos + op[2]:]
    return data[:pos] + op[2] + data[pos + len(op[2]):]


def mutate(seed: Seed, ops: list) -> bytes:
    data = seed.data
    for op in ops:
        data = apply(data, op)
    return data


# ---------------------------------------------------------------------------------------------
# One case and its checks


class FuzzFailure(AssertionError):
    """A case broke the readers' contract; the message says how."""


@dataclasses.dataclass
class Outcome:
    category: str
    layers: int
    seconds: float
    rss_growth: int  # bytes the process's peak RSS grew during the case


def intact_layers(seed: Seed, data: bytes) -> int:
    """The largest j such that data starts with the seed's first j layers, byte for byte."""
    ends = seed.layout.layer_ends
    return max((j for j in range(1, len(ends) + 1) if data[:ends[j - 1]] == seed.data[:ends[j - 1]]), default=0)


def _category(result: api.DecodeResult | None, error: BaseException | None) -> str:
    if error is not None:
        return f"rejected: {type(error).__name__}"
    n, k = result.header.num_layers, len(result.layers)
    if result.damage is not None:
        return f"decoded {'all' if k == n else 'k<N'} layers, then {type(result.damage).__name__}"
    return "decoded all layers" if k == n else "decoded k<N layers (file incomplete)"


def _pictures(result: api.DecodeResult, seed: Seed, intact: int) -> None:
    """Every returned layer has the announced size; the intact ones are the seed's pictures."""
    h = result.header
    for i, layer in enumerate(result.layers):
        if layer.index != i:
            raise FuzzFailure(f"layer {i} has index {layer.index}")
        if i >= intact and i < len(result.layers) - 1:
            continue  # overtaken layers decode on demand; the newest and the intact ones are checked
        rgb = layer.rgb
        if rgb.dtype != np.uint8 or rgb.shape != (h.height, h.width, 3):
            raise FuzzFailure(f"layer {i}: picture {rgb.dtype} {rgb.shape} for a {h.width}x{h.height} layout")
        if i < intact and not np.array_equal(rgb, seed.pictures[i]):
            raise FuzzFailure(f"intact layer {i} decodes to another picture")


def _streamed(data: bytes, pieces: int) -> tuple[list, ValueError | None, BaseException | None]:
    """(layers, damage, error) of a ProgressiveDecoder fed data in random pieces."""
    rng = random.Random(pieces)
    decoder = api.ProgressiveDecoder(device="cpu")
    layers, pos = [], 0
    try:
        while pos < len(data):
            size = rng.choice([1, 7, 64, 500, 4096])
            layers += [layer.index for layer in decoder.feed(data[pos:pos + size])]
            pos += size
    except ALLOWED as error:
        return layers, decoder.damage, error
    return layers, decoder.damage, None


def run_case(seed: Seed, data: bytes, pieces: int | None = None) -> Outcome:
    """Parse, decode and (with pieces) stream data; FuzzFailure if the outcome breaks the contract."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result, error = None, None
    try:
        try:
            parsed = layered.parse(data)
        except ALLOWED:
            parsed = None
        try:
            result = api.decode(data, device="cpu")
        except ALLOWED as e:
            error = e
        intact = intact_layers(seed, data)
        if result is not None:
            _check_result(result, parsed, seed, intact)
        elif intact and parsed is not None and parsed.header == seed.layout:
            raise FuzzFailure(f"the first {intact} layers are intact, but decoding raised {error!r}")
        if pieces is not None:
            _check_stream(data, pieces, result, error)
    except FuzzFailure:
        raise
    except BaseException as e:  # noqa: BLE001 - any other exception is the bug being looked for
        if isinstance(e, KeyboardInterrupt):
            raise
        raise FuzzFailure(f"{type(e).__name__}: {e}\n{traceback.format_exc()}") from e
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) * 1024
    return Outcome(_category(result, error), 0 if result is None else len(result.layers),
                   time.perf_counter() - start, growth)


def _check_result(result: api.DecodeResult, parsed, seed: Seed, intact: int) -> None:
    if parsed is None:
        raise FuzzFailure("layered.parse rejects the file but api.decode decodes it")
    if result.damage is None and len(result.layers) != len(parsed.layers):
        raise FuzzFailure(f"{len(parsed.layers)} complete layers, {len(result.layers)} decoded, no damage")
    failed_at = getattr(result.damage, "layer", None)
    if failed_at is not None and failed_at != len(result.layers):
        raise FuzzFailure(f"damage names layer {failed_at} after {len(result.layers)} decoded layers")
    if result.header != seed.layout:  # a lie the layout accepted: nothing of the seed's is intact
        intact = 0
    if len(result.layers) < intact:
        raise FuzzFailure(f"the first {intact} layers are intact, only {len(result.layers)} decoded "
                          f"(damage {result.damage!r})")
    _pictures(result, seed, intact)


def _check_stream(data: bytes, pieces: int, result: api.DecodeResult | None, error: BaseException | None) -> None:
    """The streaming decoder ends as api.decode does: the same layers, or others where a picture
    failed to decode. Each decodes the newest picture of what a feed completes, and a damaged
    codestream's prefixes need not fail from one layer on (OpenJPEG decoded layers 4 and 7 of a
    fuzzed file, not 1 to 3 nor 5 and 6), so each may stop elsewhere; an error only where decode
    has one."""
    layers, damage, p_error = _streamed(data, pieces)
    if result is None:
        named = (container.ContainerError, classic_files.ClassicFileError, *api.LAYER_ERRORS)
        if layers and not isinstance(error, named):
            raise FuzzFailure(f"decode raises {error!r}, streaming decodes {len(layers)} layers")
        return
    if p_error is not None:
        raise FuzzFailure(f"decode gives {len(result.layers)} layers, streaming raises {p_error!r}")
    if layers != list(range(len(layers))):
        raise FuzzFailure(f"streaming yields layers {layers[:20]}")
    decode_failed = isinstance(damage, api.LAYER_ERRORS) or isinstance(result.damage, api.LAYER_ERRORS)
    if len(layers) != len(result.layers) and not decode_failed:
        raise FuzzFailure(f"decode gives {len(result.layers)} layers, streaming {len(layers)} "
                          f"(damage {result.damage!r} and {damage!r})")


# ---------------------------------------------------------------------------------------------
# The long run, and one hostile file measured


def measure(name: str, max_layers: int | None) -> int:
    """Build a hostile file of cases(), parse, stream (512-byte pieces), decode; print each
    step's time and the peak RSS."""
    if max_layers is not None:
        classic_layout.MAX_LAYERS = max_layers
    data = cases()[name]()
    print(f"{name}: {len(data):,} bytes")
    for step in (_parse_step, _stream_step, _decode_step):
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        try:
            outcome = step(data)
        except Exception as error:  # noqa: BLE001 - reporting whatever happens is the point
            outcome = f"{type(error).__name__}: {str(error)[:160]}"
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"  {step.__name__[1:-5]:7s} {time.perf_counter() - start:7.2f} s, peak RSS {peak >> 10} MiB "
              f"(before {base >> 10} MiB): {outcome}", flush=True)
    return 0


def _parse_step(data: bytes) -> str:
    parsed = layered.parse(data)
    return f"{len(parsed.layers)} layers, damage {parsed.damage!r}"[:200]


def _stream_step(data: bytes) -> str:
    reader = layered.StreamingReader()
    layers = sum(len(reader.feed(data[at:at + 512])) for at in range(0, len(data), 512))
    return f"{layers} layers, damage {reader.damage!r}"[:200]


def _decode_step(data: bytes) -> str:
    result = api.decode(data, device="cpu")
    image = result.image()
    return f"{len(result.layers)} layers, {image.size}, damage {result.damage!r}"[:200]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=240, help="stop starting batches after this long")
    parser.add_argument("--batch", type=int, default=100, help="hypothesis examples per batch")
    parser.add_argument("--seed", type=int, default=None, help="first hypothesis seed (default: random)")
    parser.add_argument("--case", choices=sorted(cases()), help="instead: measure one hostile file")
    parser.add_argument("--max-layers", type=int, help="with --case: classic_layout.MAX_LAYERS")
    args = parser.parse_args(argv)
    if args.case:
        return measure(args.case, args.max_layers)
    return long_run(args.seconds, args.batch, args.seed)


def long_run(seconds: float, batch_size: int, first: int | None) -> int:
    """Batches of hypothesis cases until `seconds` have passed; print the outcome counts."""
    files = seeds()
    counts: collections.Counter = collections.Counter()
    bugs, slowest, biggest = [], [], (0, "")
    first = random.randrange(2**32) if first is None else first
    started, batch = time.perf_counter(), 0

    def case(which, ops, pieces):
        nonlocal biggest
        seed = files[which]
        try:
            outcome = run_case(seed, mutate(seed, ops), pieces)
        except FuzzFailure as failure:
            counts[f"BUG: {str(failure).split(':')[0][:70]}"] += 1
            bugs.append(f"{seed.name} {ops!r}: {failure}")
            return
        counts[outcome.category] += 1
        slowest.append((outcome.seconds, seed.name, repr(ops)))
        slowest.sort(reverse=True)
        del slowest[5:]
        if outcome.rss_growth > biggest[0]:
            biggest = (outcome.rss_growth, f"{seed.name} {ops!r}")

    while time.perf_counter() - started < seconds:
        run = settings(max_examples=batch_size, deadline=None, database=None, phases=[Phase.generate],
                       suppress_health_check=list(HealthCheck))(
            given(st.integers(0, len(files) - 1), mutations(), st.integers(0, 2**32))(case))
        hypothesis_seed(first + batch)(run)()
        batch += 1
        print(f"  batch {batch}: {sum(counts.values())} cases, {time.perf_counter() - started:.0f} s", flush=True)
    print(f"\nfuzz_classic: {sum(counts.values())} cases in {time.perf_counter() - started:.0f} s, "
          f"hypothesis seeds {first}..{first + batch - 1}")
    for category, count in counts.most_common():
        print(f"  {count:7d}  {category}")
    print("slowest cases:")
    for seconds_taken, name, ops in slowest:
        print(f"  {seconds_taken:7.2f} s  {name} {ops[:160]}")
    print(f"largest peak RSS growth in one case {biggest[0] >> 20} MiB: {biggest[1][:160]}")
    for bug in bugs[:20]:
        print("BUG", bug[:2000])
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
