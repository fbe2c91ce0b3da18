"""Fuzz the `.strata` reader and the whole decoder with damaged and hostile files.

Seeds are real files: a 48x64 crop of resources/sample.png encoded with the shipped DeepHQ
weights, and the same crop encoded with a small seeded, untrained HC model (its weights are
written to a temporary file). Each case applies a few mutations to a seed, then parses it
(container.parse_container) and decodes it (api.decode, and optionally api.ProgressiveDecoder fed
in random pieces). Two kinds of mutation:

- structural ones edit the file's fields and chunks and write it again with correct CRCs, so
  they reach the decoder: lying width/height/layer count/chunk counts/lengths, forged weight
  digests, codec parameters (even, huge or zero K, wrong check values, partition counts, blobs of
  the wrong length), chunks cut, extended, zeroed, replaced by random bytes (also lengths that
  are not a multiple of 4), swapped (also across layers), duplicated or dropped;
- raw ones damage the written bytes: truncation, bit flips, inserted, deleted, overwritten and
  appended bytes.

Every case must end in a picture (possibly of fewer layers, with `damage` naming why) or in one of
the named ValueError subclasses of ALLOWED; other exceptions, a crash or a hang are bugs. Where the
mutated file still starts with the seed's header and first j layers byte for byte, at least j
layers must decode, identical to the seed's.

    python tests/codec/fuzz/fuzz_decoder.py --seconds 240            # random seeds, prints counts
    python tests/codec/fuzz/fuzz_decoder.py --examples 2000 --seed 7 --progressive

tests/codec/test_fuzz.py imports this file (by path) and runs a bounded, derandomized share.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import random
import resource
import struct
import sys
import tempfile
import time
import traceback
import zlib
from pathlib import Path

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, given, seed as hypothesis_seed, settings, strategies as st
from PIL import Image

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from codec import api, container, registry  # noqa: E402
from codec.coding import entropy_coding as ec  # noqa: E402
from codec.coding.entropy_coding import CorruptStream  # noqa: E402
from codec.coding.latent_coding import InvalidCodecParameters, ParameterMismatch  # noqa: E402
from codec.memory import InsufficientMemory  # noqa: E402
from codec.resources import RESOURCES  # noqa: E402
from codec.weights import WeightsError, atomic_torch_save, weights_payload  # noqa: E402

# Every error a damaged or hostile file may raise. Anything else is a bug.
ALLOWED = (container.ContainerError, CorruptStream, ParameterMismatch, InvalidCodecParameters,
           api.WeightsMismatch, api.ImageTooLarge, WeightsError, InsufficientMemory)


# ---------------------------------------------------------------------------------------------
# Seed files


@dataclasses.dataclass
class Seed:
    """A real, intact file and what it decodes to."""

    name: str
    data: bytes
    weights: str | None  # weights file for api.decode; None: the shipped one
    header: container.Header
    pictures: list[np.ndarray]  # RGB of layers 0..N-1 of the intact file


def tile() -> np.ndarray:
    """48x64 crop of the bundled sample photo."""
    return np.asarray(Image.open(RESOURCES / "sample.png").convert("RGB"))[100:148, 200:264].copy()


def _seed(name: str, data: bytes, weights: str | None) -> Seed:
    result = api.decode(data, device="cpu", weights=weights)
    assert result.complete and result.damage is None
    return Seed(name, data, weights, result.header, [layer.rgb for layer in result.layers])


def deephq_seed() -> Seed:
    return _seed("deephq", api.encode(tile(), device="cpu"), None)


def hc_seed(folder: str | Path) -> Seed:
    """The tile encoded with a seeded, untrained HC model whose weights go to folder."""
    from codec.models.hc import HC, HCConfig

    path = Path(folder) / "hc_fuzz.pt"
    torch.manual_seed(0)
    atomic_torch_save(weights_payload(HC(HCConfig(N=32, M=48)), "hc"), path)
    coder = registry.load_codec("hc", 1, "cpu", weights=path)
    rgb = tile()
    encoded = coder.encode(rgb)
    header = container.Header("hc", 1, coder.digest, rgb.shape[1], rgb.shape[0], "RGB",
                              tuple(map(len, encoded.layers)), (None,) * 3, encoded.params, encoded.chunk_lengths)
    return _seed("hc", container.write_container(header, encoded.layers), str(path))


# ---------------------------------------------------------------------------------------------
# Editable files: every header field as a raw integer, written with correct CRCs


@dataclasses.dataclass
class Fields:
    version: int
    header_len: int | None  # None: the true length of the body
    codec_id: int
    model_id: int
    weights: bytes
    width: int
    height: int
    mode: int
    num_layers: int | None  # None: len(layers)
    counts: list[int] | None  # chunks per layer; None: those of layers
    lengths: list[int] | None  # every chunk's, in file order; None: the payload lengths
    psnr: list[int]
    params_len: int | None  # None: len(params)
    params: bytes
    layers: list[list[bytes]]  # each layer's chunk payloads

    def chunks(self) -> list[bytes]:
        return [chunk for layer in self.layers for chunk in layer]


def fields_of(data: bytes) -> Fields:
    parsed = container.parse_container(data)
    h = parsed.header
    centi = [container._psnr_to_centi(p) for p in h.layer_psnr]
    return Fields(h.version, None, registry.spec(h.codec).container_id, h.model_id, h.weights_digest,
                  h.width, h.height, container.SOURCE_MODES.index(h.source_mode), None, None, None, centi,
                  None, h.params, [parsed.layer_chunks(i) for i in range(h.num_layers)])


def pack(f: Fields) -> bytes:
    """The file bytes in the version 2 layout (version 1's when f.version is 1 and every layer is
    one chunk), fields masked to their widths, every CRC correct."""
    n = len(f.layers)
    counts = f.counts if f.counts is not None else [len(layer) for layer in f.layers]
    lengths = f.lengths if f.lengths is not None else [len(p) for p in f.chunks()]
    psnr = (f.psnr + [0xFFFF] * n)[:n]
    if f.version == 1 and all(c == 1 for c in counts) and len(lengths) == n:
        table = b"".join(struct.pack("<I", x & 0xFFFFFFFF) for x in lengths)
    else:
        table = bytes(c & 0xFF for c in counts) + b"".join(container.varint(x & 0xFFFFFFFF) for x in lengths)
    body = (struct.pack("<BB8sIIBB", f.codec_id & 0xFF, f.model_id & 0xFF, f.weights[:8].ljust(8, b"\0"),
                        f.width & 0xFFFFFFFF, f.height & 0xFFFFFFFF, f.mode & 0xFF,
                        (n if f.num_layers is None else f.num_layers) & 0xFF)
            + table + b"".join(struct.pack("<H", x & 0xFFFF) for x in psnr)
            + struct.pack("<H", (len(f.params) if f.params_len is None else f.params_len) & 0xFFFF) + f.params)
    header_len = len(body) if f.header_len is None else f.header_len
    covered = struct.pack("<BH", f.version & 0xFF, header_len & 0xFFFF) + body
    parts = [container.MAGIC, covered, struct.pack("<I", zlib.crc32(covered))]
    for payload in f.chunks():
        parts += [payload, struct.pack("<I", zlib.crc32(payload))]
    return b"".join(parts)


# ---------------------------------------------------------------------------------------------
# Mutations. Positions and indices are drawn in a wide range and reduced modulo what exists, so
# one strategy fits every seed.

SIZES = [0, 1, 2, 3, 47, 48, 49, 63, 64, 65, 127, 128, 129, 1000, 4000, 4096, 5793, 8192, 16384, 32768,
         60000, 65535, 65536, 2**24, 2**28, 2**31, 2**32 - 1]
LAYER_COUNTS = [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 255]
ALPHABETS = [0, 1, 2, 3, 4, 5, 7, 9, 11, 101, 255, 1001, 2047, 4095, 4097, 65533, 65534, 65535]
INDEX = st.integers(0, 2**16)


def structural_ops(max_alphabet: int) -> st.SearchStrategy:
    """Edits of a Fields (written with correct CRCs afterwards)."""
    size = st.sampled_from(SIZES) | st.integers(0, 2**32 - 1)
    alphabet = st.sampled_from([k for k in ALPHABETS if k <= max_alphabet]) | st.integers(0, max_alphabet)
    return st.one_of(
        st.tuples(st.sampled_from(["width", "height"]), size),
        st.tuples(st.just("size"), size, size),
        st.tuples(st.just("num_layers"), st.sampled_from(LAYER_COUNTS) | st.integers(0, 255)),
        st.tuples(st.sampled_from(["codec_id", "model_id", "mode", "version"]),
                  st.sampled_from([0, 1, 2, 3, 4, 5, 255]) | st.integers(0, 255)),
        st.tuples(st.sampled_from(["params_len", "header_len"]), st.integers(0, 65535)),
        st.tuples(st.just("digest"), st.binary(min_size=8, max_size=8)),
        st.tuples(st.just("psnr"), INDEX, st.integers(0, 65535)),
        st.tuples(st.just("length"), INDEX, size),
        st.tuples(st.just("count"), INDEX, st.sampled_from([0, 1, 2, 3, 4, 5, 64, 65, 255]) | st.integers(0, 255)),
        st.tuples(st.just("partitions"), st.sampled_from([0, 1, 2, 3, 4, 5, 63, 64, 65, 255])),
        st.tuples(st.just("alphabet"), INDEX, alphabet),
        st.tuples(st.just("check"), INDEX, st.integers(0, 2**32 - 1)),
        st.tuples(st.just("params"), st.binary(max_size=24)),
        st.tuples(st.just("payload"), INDEX, st.sampled_from(
            ["flip", "cut", "cut4", "extend", "delete", "zeros", "ones", "random", "random4", "empty",
             "swap", "duplicate", "drop", "append", "merge"]), INDEX, st.binary(max_size=64)),
    )


def raw_ops() -> st.SearchStrategy:
    """Damage to the written bytes (the CRCs then no longer match, or the framing shifts)."""
    return st.one_of(
        st.tuples(st.just("truncate"), INDEX),
        st.tuples(st.just("flip"), INDEX, st.integers(0, 7)),
        st.tuples(st.just("insert"), INDEX, st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("delete"), INDEX, st.integers(1, 8)),
        st.tuples(st.just("overwrite"), INDEX, st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("append"), INDEX, st.binary(min_size=1, max_size=8)),
    )


def mutations(max_alphabet: int = 65535) -> st.SearchStrategy:
    """(structural ops, raw ops), at least one op in all."""
    return st.tuples(st.lists(structural_ops(max_alphabet), max_size=3), st.lists(raw_ops(), max_size=3)).filter(
        lambda ops: ops[0] or ops[1])


def _chunk_edit(p: bytes, kind: str, a: int, extra: bytes) -> bytes:
    """One chunk payload edited."""
    if kind == "flip":
        if not p:
            return p
        q = bytearray(p)
        q[a % len(p)] ^= 1 << (a % 8)
        return bytes(q)
    if kind == "cut":
        return p[:a % (len(p) + 1)]
    if kind == "cut4":
        return p[:4 * (a % (len(p) // 4 + 1))]
    if kind == "extend":
        return p + extra
    if kind == "delete":
        pos = a % (len(p) + 1)
        return p[:pos] + p[pos + 1 + a % 7:]
    if kind == "zeros":
        return bytes(len(p) or 4 * (a % 16))
    if kind == "ones":
        return b"\xff" * (len(p) or 4 * (a % 16))
    if kind in ("random", "random4"):
        n = a % 300
        return random.Random(a).randbytes(n - n % 4 if kind == "random4" else n)
    return b""  # empty


def _payload_op(f: Fields, i: int, kind: str, a: int, extra: bytes) -> None:
    """Edit chunk i (in file order), or move, copy, drop or merge chunks and layers."""
    where = [(layer, part) for layer, chunks in enumerate(f.layers) for part in range(len(chunks))]
    layer, part = where[i % len(where)]
    chunks = f.layers[layer]
    if kind == "swap":  # with any chunk, possibly of another layer
        other, other_part = where[a % len(where)]
        chunks[part], f.layers[other][other_part] = f.layers[other][other_part], chunks[part]
    elif kind == "duplicate":
        chunks.insert(part, chunks[part])
    elif kind == "drop" and len(where) > 1:
        del chunks[part]
        if not chunks:
            del f.layers[layer]
    elif kind == "append":  # a layer of one chunk after the last
        f.layers.append([extra])
    elif kind == "merge":  # the layer's chunks as one
        f.layers[layer] = [b"".join(chunks)]
    elif kind not in ("swap", "duplicate", "drop"):
        chunks[part] = _chunk_edit(chunks[part], kind, a, extra)
    del f.layers[container.MAX_LAYERS + 2:]  # keep the header body writable
    for chunks in f.layers:
        del chunks[container.MAX_CHUNKS + 2:]


def apply_structural(f: Fields, op: tuple) -> None:
    kind = op[0]
    if kind in ("width", "height", "codec_id", "model_id", "mode", "version", "num_layers", "params_len",
                "header_len"):
        setattr(f, kind, op[1])
    elif kind == "size":
        f.width, f.height = op[1], op[2]
    elif kind == "digest":
        f.weights = op[1]
    elif kind == "psnr":
        f.psnr[op[1] % len(f.psnr)] = op[2]
    elif kind == "length":
        lengths = f.lengths if f.lengths is not None else [len(p) for p in f.chunks()]
        lengths[op[1] % len(lengths)] = op[2]
        f.lengths = lengths
    elif kind == "count":  # a lying chunk count: the lengths that follow are read otherwise
        counts = f.counts if f.counts is not None else [len(layer) for layer in f.layers]
        counts[op[1] % len(counts)] = op[2]
        f.counts = counts
    elif kind == "partitions":  # DeepHQ's P, the byte after K and the check
        if len(f.params) == 7:
            f.params = f.params[:6] + bytes([op[1]])
    elif kind == "alphabet":  # a u16 alphabet size: DeepHQ has 1 at offset 0, HC 3 at 0, 2, 4
        slots = len(f.params) // 6  # one u16 size and one u32 check per latent (DeepHQ: and P)
        if slots:
            at = 2 * (op[1] % slots)
            f.params = f.params[:at] + struct.pack("<H", op[2]) + f.params[at + 2:]
    elif kind == "check":  # a u32 check value after the alphabet sizes
        slots = len(f.params) // 6
        if slots:
            at = 2 * slots + 4 * (op[1] % slots)
            f.params = f.params[:at] + struct.pack("<I", op[2]) + f.params[at + 4:]
    elif kind == "params":
        f.params = op[1]
    elif kind == "payload":
        _payload_op(f, op[1], op[2], op[3], op[4])
        chunks = f.chunks()
        if f.lengths is not None:  # a lying length stays a lie about the same chunk count
            f.lengths = (f.lengths + [len(p) for p in chunks])[:len(chunks)]
        if f.counts is not None:
            f.counts = (f.counts + [len(layer) for layer in f.layers])[:len(f.layers)]
        f.psnr = (f.psnr + [0xFFFF] * len(f.layers))[:len(f.layers)]


def apply_raw(data: bytes, op: tuple) -> bytes:
    kind, pos = op[0], op[1] % (len(data) + 1)
    if kind == "append":  # trailing bytes after the last layer
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
    return data[:pos] + op[2] + data[pos + len(op[2]):]  # overwrite


def mutate(seed: Seed, ops: tuple[list, list]) -> bytes:
    structural, raw = ops
    data = seed.data
    if structural:
        f = fields_of(seed.data)
        for op in structural:
            apply_structural(f, op)
        data = pack(f)
    for op in raw:
        data = apply_raw(data, op)
    return data


# ---------------------------------------------------------------------------------------------
# Running one case and checking its outcome


class FuzzFailure(AssertionError):
    """A case broke the decoder's contract; the message says how."""


@dataclasses.dataclass
class Outcome:
    category: str
    layers: int
    seconds: float
    rss_growth_kb: int  # growth of the process's peak RSS during the case


def intact_layers(seed: Seed, data: bytes) -> int:
    """The largest j such that data starts with the seed's header and first j layers, byte for byte."""
    h = seed.header
    return max((j for j in range(h.num_layers + 1)
                if len(data) >= h.layer_offset(j) and data[:h.layer_offset(j)] == seed.data[:h.layer_offset(j)]),
               default=0)


def _category(result: api.DecodeResult | None, error: BaseException | None) -> str:
    if error is not None:
        return f"rejected: {type(error).__name__}"
    n, k = result.header.num_layers, len(result.layers)
    if result.damage is not None:
        return f"decoded k<N layers, then {type(result.damage).__name__}" if k < n else \
            f"decoded all layers, then {type(result.damage).__name__}"
    return "decoded all layers" if k == n else "decoded k<N layers (file incomplete)"


def _check_pictures(result: api.DecodeResult) -> None:
    h = result.header
    for i, layer in enumerate(result.layers):
        if layer.index != i or layer.rgb.dtype != np.uint8 or layer.rgb.shape != (h.height, h.width, 3):
            raise FuzzFailure(f"layer {i}: index {layer.index}, picture {layer.rgb.dtype} {layer.rgb.shape} "
                              f"for a {h.width}x{h.height} header")


def _progressive(data: bytes, seed: Seed, chunk_seed: int):
    """(layers, damage, error) from a ProgressiveDecoder fed data in random pieces."""
    rng = random.Random(chunk_seed)
    decoder = api.ProgressiveDecoder(device="cpu", weights=seed.weights)
    layers, pos = [], 0
    try:
        while pos < len(data):
            size = rng.choice([1, 3, 16, 64, 500, 4096])
            for picture in decoder.feed(data[pos:pos + size]):
                _check_refinement(picture, len(layers), decoder.header)
                layers += [picture] if picture.complete else []
            pos += size
    except ALLOWED as error:
        return layers, decoder.damage, error
    return layers, decoder.damage, None


def _check_refinement(picture: api.DecodedLayer, complete: int, h: container.Header) -> None:
    """A picture the progressive decoder yields belongs to the layer after the complete ones."""
    if picture.index != complete or picture.rgb.shape != (h.height, h.width, 3) or \
            picture.bytes_used != h.chunk_end(picture.index, picture.parts - 1):
        raise FuzzFailure(f"progressive: picture of layer {picture.index} ({picture.parts} chunks, "
                          f"{picture.bytes_used} bytes) after {complete} complete layers")


def run_case(seed: Seed, data: bytes, progressive: int | None = None) -> Outcome:
    """Parse and decode data; raise FuzzFailure if the outcome breaks the contract.

    progressive: also decode with a ProgressiveDecoder fed in pieces drawn from this seed, and
    require the same layers and the same kind of damage.
    """
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        try:
            parsed = container.parse_container(data)
        except container.ContainerError:
            parsed = None
        result, error = None, None
        try:
            result = api.decode(data, device="cpu", weights=seed.weights)
        except ALLOWED as e:
            error = e
    except BaseException as e:  # noqa: BLE001 - any other exception is the bug being looked for
        if isinstance(e, KeyboardInterrupt):
            raise
        raise FuzzFailure(f"{type(e).__name__}: {e}\n{traceback.format_exc()}") from e
    seconds = time.perf_counter() - start

    if parsed is None and error is None:
        raise FuzzFailure("parse_container rejects the file but api.decode decodes it")
    if result is not None:
        _check_pictures(result)
        if result.refinement is not None:
            _check_refinement(result.refinement, len(result.layers), result.header)
        if result.damage is None and len(result.layers) != len(parsed.layers):
            raise FuzzFailure(f"{len(parsed.layers)} complete layers, {len(result.layers)} decoded, no damage")
        failed_at = getattr(result.damage, "layer", None)
        if failed_at is not None and failed_at != len(result.layers):
            raise FuzzFailure(f"damage names layer {failed_at} after {len(result.layers)} decoded layers")
    intact = intact_layers(seed, data)
    if intact:
        if result is None:
            raise FuzzFailure(f"the first {intact} layers are intact, but decoding raised {error!r}")
        if len(result.layers) < intact:
            raise FuzzFailure(f"the first {intact} layers are intact, only {len(result.layers)} decoded "
                              f"(damage {result.damage!r})")
        for i in range(intact):
            if not np.array_equal(result.layers[i].rgb, seed.pictures[i]):
                raise FuzzFailure(f"intact layer {i} decodes to another picture")
    if progressive is not None:
        try:
            layers, damage, p_error = _progressive(data, seed, progressive)
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, KeyboardInterrupt):
                raise
            raise FuzzFailure(f"progressive: {type(e).__name__}: {e}\n{traceback.format_exc()}") from e
        if result is not None:
            if p_error is not None or len(layers) != len(result.layers):
                raise FuzzFailure(f"decode gives {len(result.layers)} layers, progressive {len(layers)} "
                                  f"(error {p_error!r})")
            if type(damage) is not type(result.damage):
                raise FuzzFailure(f"decode reports {result.damage!r}, progressive {damage!r}")
            if any(not np.array_equal(a.rgb, b.rgb) for a, b in zip(layers, result.layers)):
                raise FuzzFailure("progressive decoding gives other pictures")
        elif layers:
            raise FuzzFailure(f"decode raises {error!r}, progressive decodes {len(layers)} layers")
        elif isinstance(error, container.ContainerError):  # progressive may just wait for more bytes
            if p_error is not None and not isinstance(p_error, container.ContainerError):
                raise FuzzFailure(f"decode raises {error!r}, progressive {p_error!r}")
        elif type(p_error if p_error is not None else damage) is not type(error):
            raise FuzzFailure(f"decode raises {error!r}, progressive {p_error!r} (damage {damage!r})")
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss
    return Outcome(_category(result, error), 0 if result is None else len(result.layers), seconds, growth)


# ---------------------------------------------------------------------------------------------
# A decompression bomb: a valid-CRC header announcing a huge picture over a tiny layer 0


def shortest_z_stream(z_coder, shape: tuple[int, int, int]) -> bytes:
    """A genuine z stream with every value at its most probable one: the shortest real layer 0
    of that shape (a flat picture's)."""
    mode = (z_coder.freqs.argmax(axis=1) + z_coder.offsets).astype(np.float64)
    encoder = ec.new_encoder()
    z_coder.encode(encoder, torch.from_numpy(np.broadcast_to(mode[:, None, None], shape).copy()))
    return ec.finish(encoder)


def bomb(size: str, layer0: str, max_pixels: int | None, address_space_gib: float | None) -> int:
    """Decode the DeepHQ seed's header rewritten to announce a WxH picture, its layer 0 empty
    ("empty"), the seed's own ("seed"), zeros long enough for the layer-0 length check ("zeros")
    or the shortest genuine z stream of that size ("mode"); print the outcome, the time and the
    peak RSS."""
    if address_space_gib:
        limit = int(address_space_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    seed = deephq_seed()
    width, height = map(int, size.lower().split("x"))
    f = fields_of(seed.data)
    f.width, f.height = width, height
    coder = registry.load_codec("deephq", 0, "cpu")
    if layer0 == "empty":
        f.layers = [[b""]] * len(f.layers)
    elif layer0 in ("zeros", "mode"):
        shape = (coder.config.N, -(-height // 64), -(-width // 64))
        need = coder.z_coder.min_bytes(shape)
        first = bytes(4 * (need // 4 + 1)) if layer0 == "zeros" else shortest_z_stream(coder.z_coder, shape)
        f.layers = [[first]] + [[b""]] * (len(f.layers) - 1)
    data = pack(f)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    kwargs = {} if max_pixels is None else {"max_pixels": max_pixels}
    try:
        result = api.decode(data, device="cpu", **kwargs)
        outcome = f"decoded {len(result.layers)} layers, damage {result.damage!r}"
    except Exception as error:  # noqa: BLE001 - reporting whatever happens is the point
        outcome = f"{type(error).__name__}: {error}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{width}x{height}, layer 0 {layer0} ({len(f.layers[0][0])} bytes), file {len(data)} bytes: {outcome}\n"
          f"{time.perf_counter() - start:.1f} s, peak RSS {peak // 1024} MiB (before decoding {base // 1024} MiB)")
    return 0


# ---------------------------------------------------------------------------------------------
# The long run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=240, help="stop starting batches after this long")
    parser.add_argument("--examples", type=int, default=None, help="stop after this many cases")
    parser.add_argument("--batch", type=int, default=200, help="hypothesis examples per batch")
    parser.add_argument("--seed", type=int, default=None, help="first hypothesis seed (default: random)")
    parser.add_argument("--max-alphabet", type=int, default=65535, help="largest forged alphabet size K")
    parser.add_argument("--progressive", action="store_true", help="also decode in random pieces")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--bomb", metavar="WxH", help="instead: decode one header announcing WxH pixels")
    parser.add_argument("--layer0", choices=["empty", "seed", "zeros", "mode"], default="empty", help="with --bomb")
    parser.add_argument("--max-pixels", type=int, help="with --bomb: api.decode(max_pixels=...)")
    parser.add_argument("--address-space-gib", type=float, help="with --bomb: RLIMIT_AS, to survive the old code")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.bomb:
        return bomb(args.bomb, args.layer0, args.max_pixels, args.address_space_gib)

    with tempfile.TemporaryDirectory() as folder:
        seeds = [deephq_seed(), hc_seed(folder)]
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        counts: collections.Counter = collections.Counter()
        by_seed: collections.Counter = collections.Counter()
        bugs: list[str] = []
        slowest: list[tuple[float, str, str]] = []
        biggest = (0, "")
        first = args.seed if args.seed is not None else random.randrange(2**32)
        started = time.perf_counter()
        tried = 0

        def case(seed_index, ops, chunk_seed):
            nonlocal tried, biggest
            seed = seeds[seed_index]
            data = mutate(seed, ops)
            tried += 1
            by_seed[seed.name] += 1
            try:
                outcome = run_case(seed, data, chunk_seed if args.progressive else None)
            except FuzzFailure as failure:
                counts[f"BUG: {str(failure).split(':')[0][:70]}"] += 1  # the exception type, or what broke
                bugs.append(f"{seed.name} {ops!r}: {failure}")
                return
            counts[outcome.category] += 1
            slowest.append((outcome.seconds, seed.name, repr(ops)))
            slowest.sort(reverse=True)
            del slowest[5:]
            if outcome.rss_growth_kb > biggest[0]:
                biggest = (outcome.rss_growth_kb, f"{seed.name} {ops!r}")

        batch = 0
        while time.perf_counter() - started < args.seconds and (args.examples is None or tried < args.examples):
            run = settings(max_examples=args.batch, deadline=None, database=None, phases=[Phase.generate],
                           suppress_health_check=list(HealthCheck))(
                given(st.integers(0, len(seeds) - 1), mutations(args.max_alphabet), st.integers(0, 2**32))(case))
            hypothesis_seed(first + batch)(run)()
            batch += 1
            print(f"  batch {batch}: {tried} cases, {time.perf_counter() - started:.0f} s", flush=True)

        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"\nfuzz_decoder: {tried} cases in {elapsed:.0f} s ({dict(by_seed)}), hypothesis seeds "
              f"{first}..{first + batch - 1}, max alphabet {args.max_alphabet}, "
              f"progressive {'on' if args.progressive else 'off'}")
        for category, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            print(f"  {count:7d}  {category}")
        print("slowest cases:")
        for seconds, name, ops in slowest:
            print(f"  {seconds:7.2f} s  {name} {ops[:160]}")
        print(f"peak RSS {peak // 1024} MiB (after loading models and seeds {base_rss // 1024} MiB); "
              f"largest growth in one case {biggest[0] // 1024} MiB: {biggest[1][:160]}")
        for bug in bugs[:20]:
            print("BUG", bug[:2000])
        return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
