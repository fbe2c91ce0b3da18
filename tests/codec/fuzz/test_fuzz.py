"""Hostile and damaged files through the container parser and the whole decoder.

Real files (a 48x64 crop encoded with the shipped DeepHQ weights, and with a seeded untrained HC
model) are truncated at every offset, bit-flipped, given inserted and deleted bytes, and rewritten
with valid CRCs around lying fields and garbage payloads. Every complete and intact layer must
decode; everything else must fail with a named ValueError subclass (fuzz.ALLOWED), never another
exception, a hang, or an allocation sized by a lying field. The harness (mutations and the checks
of each outcome) is tests/codec/fuzz/fuzz_decoder.py, which also makes the longer runs of docs/fuzzing.md.
"""
import ast
import importlib.util
import itertools
import os
import re
import struct
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from codec import api, container, memory
from codec.coding import entropy_coding as ec
from codec.coding.latent_coding import InvalidCodecParameters, ParameterMismatch
from codec.registry import load_codec
from codec.weights import WeightsError

REPO = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("fuzz_decoder", Path(__file__).with_name("fuzz_decoder.py"))
fuzz = sys.modules.setdefault("fuzz_decoder", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(fuzz)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory, one_thread):
    return [fuzz.deephq_seed(), fuzz.hc_seed(tmp_path_factory.mktemp("hc"))]


@pytest.fixture(scope="module")
def deephq(seeds):
    return seeds[0]


def rewrite(seed, **changes):
    """The seed written again with some Fields changed (every CRC correct)."""
    f = fuzz.fields_of(seed.data)
    for name, value in changes.items():
        setattr(f, name, value)
    return fuzz.pack(f)


def with_layer(seed, index, payload, part=0):
    """The seed with chunk `part` of layer `index` replaced (every CRC correct)."""
    f = fuzz.fields_of(seed.data)
    f.layers[index][part] = payload
    return fuzz.pack(f)


def decode(seed, data, **kwargs):
    return api.decode(data, device="cpu", weights=seed.weights, **kwargs)


# --- random mutations of real files ----------------------------------------------------------

@settings(max_examples=500, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.integers(0, 1), fuzz.mutations(max_alphabet=4097), st.integers(0, 2**32))
def test_mutated_files_decode_their_intact_layers_or_fail_by_name(seeds, which, ops, chunks):
    """run_case raises FuzzFailure on an exception outside fuzz.ALLOWED, a wrong picture size, an
    intact layer that does not decode to the seed's picture, or a progressive decode (in random
    pieces) that disagrees with api.decode."""
    outcome = fuzz.run_case(seeds[which], fuzz.mutate(seeds[which], ops), progressive=chunks)
    assert outcome.seconds < 30


def test_the_harness_notices_a_broken_decoder(deephq, monkeypatch):
    """The checks can fail: an exception of another type, and a lost intact layer, are reported."""
    data = with_layer(deephq, 2, b"\xff" * 16)  # (layer 3 codes nothing: any payload decodes)
    assert fuzz.run_case(deephq, data).category == "decoded k<N layers, then CorruptStream"

    def crash(self, payload, layer, part):
        raise IndexError("boom")
    monkeypatch.setattr(api.ProgressiveDecoder, "_layer_decoder", lambda self: type("D", (), {"decode_chunk": crash})())
    with pytest.raises(fuzz.FuzzFailure, match="IndexError"):
        fuzz.run_case(deephq, deephq.data)
    monkeypatch.undo()
    monkeypatch.setattr(api, "decode", lambda data, **kw: api.DecodeResult(deephq.header, [], None))
    with pytest.raises(fuzz.FuzzFailure, match="8 complete layers, 0 decoded"):
        fuzz.run_case(deephq, deephq.data)


# --- truncation, flips, inserted and deleted bytes at every offset ---------------------------

def complete_layers(header, cut):
    return sum(header.layer_offset(i + 1) <= cut for i in range(header.num_layers))


def test_every_truncation_of_the_hc_file_decodes_its_complete_layers(seeds):
    seed = seeds[1]
    h = seed.header
    for cut in range(len(seed.data) + 1):
        k = complete_layers(h, cut)
        if cut < h.size:
            with pytest.raises(container.TruncatedHeader):
                decode(seed, seed.data[:cut])
        elif k == 0:
            with pytest.raises(container.ContainerError, match="no complete layer"):
                decode(seed, seed.data[:cut])
        else:
            result = decode(seed, seed.data[:cut])
            assert len(result.layers) == k and result.damage is None and result.complete == (k == 3)
            assert all(np.array_equal(a.rgb, b) for a, b in zip(result.layers, seed.pictures))


def test_every_truncation_of_the_deephq_file(deephq):
    """The parser at every offset; the whole decoder at every offset by streaming the file one byte
    at a time; api.decode around every layer boundary."""
    h, data = deephq.header, deephq.data
    for cut in range(len(data) + 1):
        if cut < h.size:
            with pytest.raises(container.TruncatedHeader):
                container.parse_container(data[:cut])
        else:
            assert len(container.parse_container(data[:cut]).layers) == complete_layers(h, cut)
    decoder = api.ProgressiveDecoder(device="cpu")
    refinements = 0
    for cut in range(len(data)):
        for layer in decoder.feed(data[cut:cut + 1]):
            assert layer.bytes_used == cut + 1  # the chunk that byte completes
            if layer.complete:
                assert complete_layers(h, cut + 1) == layer.index + 1
                assert np.array_equal(layer.rgb, deephq.pictures[layer.index])
            else:  # a refinement inside the layer: what api.decode gives for that prefix
                refinements += 1
                assert complete_layers(h, cut + 1) == layer.index
                assert np.array_equal(layer.rgb, decode(deephq, data[:cut + 1]).refinement.rgb)
    assert len(decoder.layers) == 8 and decoder.done and decoder.damage is None
    assert refinements == sum(len(c) - 1 for c in h.chunks) > 0
    for k in range(1, 9):
        for cut in (h.layer_offset(k) - 1, h.layer_offset(k), h.layer_offset(k) + 1):
            if complete_layers(h, cut):
                result = decode(deephq, data[:cut])
                assert len(result.layers) == complete_layers(h, cut)
                assert np.array_equal(result.layers[-1].rgb, deephq.pictures[len(result.layers) - 1])


def test_every_header_bit_flip_is_caught_by_name(seeds):
    for seed in seeds:
        size = seed.header.size
        for offset in range(size):
            for bit in range(8):
                data = bytearray(seed.data)
                data[offset] ^= 1 << bit
                expected = (container.NotStrataFile if offset < 8 else container.UnsupportedVersion
                            if offset == 8 else container.HeaderCorrupted)
                if offset in (9, 10):  # header_len: out of range, a CRC mismatch, or past the end
                    expected = (container.HeaderCorrupted, container.TruncatedHeader)
                with pytest.raises(expected):
                    decode(seed, bytes(data))


@pytest.mark.parametrize("which", [0, 1])
def test_damage_in_each_chunk_keeps_the_layers_and_chunks_before_it(seeds, which):
    seed = seeds[which]
    h = seed.header
    for i in range(h.num_layers):
        for k, length in enumerate(h.chunks[i]):
            start = h.chunk_end(i, k) - 4 - length
            for where in ("payload", "crc", "insert", "delete"):
                if where == "payload" and length == 0:
                    continue
                at = start + (length if where == "crc" else 0)
                data = bytearray(seed.data)
                if where == "insert":
                    data[at:at] = b"\x55"  # not 0: the CRC of an empty chunk is 00000000
                elif where == "delete":
                    del data[at]
                else:
                    data[at] ^= 0x20
                if i == 0:
                    with pytest.raises(container.ContainerError):
                        decode(seed, bytes(data))
                    continue
                result = decode(seed, bytes(data))
                n = len(result.layers)
                # deleting a zero byte of an empty chunk's CRC (00000000) can shift the damage to
                # the next chunk, whose first byte then completes that CRC
                shifted = where == "delete" and length == 0 and seed.data[at + 4] == 0
                assert n == i or (shifted and n >= i), (i, k, where)
                assert np.array_equal(result.layers[-1].rgb, seed.pictures[n - 1])
                if n == i and not shifted:  # the chunks before the damaged one still refine layer i
                    assert (result.refinement.parts if result.refinement else 0) == k, (i, k, where)
                if where == "delete" and n == h.num_layers - 1 and k == len(h.chunks[i]) - 1:
                    assert result.damage is None and not result.complete  # the file is one byte short
                elif not shifted:
                    assert isinstance(result.damage, container.LayerCorrupted)
                    assert (result.damage.layer, result.damage.part) == (i, k)


# --- lying sizes: the pixel limit and the layer-0 plausibility check --------------------------

def test_a_huge_picture_with_a_tiny_layer_0_is_refused_before_allocating(deephq, monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: None)  # the layer-0 check, not the memory one
    tiny = rewrite(deephq, width=60000, height=4000)  # valid CRCs, the 48x64 picture's own layer 0
    assert container.read_header(tiny).width == 60000
    tracemalloc.start()
    try:
        with pytest.raises(api.ImageTooLarge, match=r"60000x4000 picture \(240,000,000 pixels\).*33,554,432"):
            decode(deephq, tiny)
        decoder = api.ProgressiveDecoder(device="cpu")
        with pytest.raises(api.ImageTooLarge):
            decoder.feed(tiny[:deephq.header.size])  # as soon as the header is in
        real = deephq.header.layer_lengths[0]
        with pytest.raises(ec.CorruptStream, match=rf"layer 1 has {real} bytes.*60000x4000 picture takes at least") as short:
            decode(deephq, tiny, max_pixels=2**28)  # above the limit: layer 0 is far too short
        assert int(re.search(r"at least (\d+)", str(short.value)).group(1)) > 100 * real
        empty = rewrite(deephq, width=60000, height=4000, layers=[[b""]] * 8)
        with pytest.raises(ec.CorruptStream, match="layer 1 has 0 bytes"):
            decode(deephq, empty, max_pixels=2**28)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # numpy arrays are traced: nothing sized by the picture was made


def test_the_pixel_limit_is_overridable(deephq, monkeypatch):
    monkeypatch.setattr(api, "MAX_IMAGE_PIXELS", 3000)
    with pytest.raises(api.ImageTooLarge, match=r"64x48 picture \(3,072 pixels\).*limit of 3,000 pixels"):
        decode(deephq, deephq.data)
    assert len(decode(deephq, deephq.data, max_pixels=3072).layers) == 8
    decoder = api.ProgressiveDecoder(device="cpu", max_pixels=3072)
    assert len(list(decoder.feed(deephq.data))) == 8
    monkeypatch.setattr(api, "MAX_IMAGE_PIXELS", None)
    assert decode(deephq, deephq.data).complete


def test_a_lying_size_within_the_limit_is_caught_by_layer_0s_length(deephq):
    layer_0 = deephq.header.layer_lengths[0]
    z = load_codec("deephq", deephq.header.model_id, "cpu", deephq.weights).z_coder
    columns = next(c for c in itertools.count(1) if z.min_bytes((z.freqs.shape[0], 1, c)) > layer_0)  # too long for layer 0
    data = rewrite(deephq, width=64 * columns, height=64)
    with pytest.raises(ec.CorruptStream, match=rf"decoding stops at quality layer 1: .*layer 1 has {layer_0} bytes.*{64 * columns}x64"):
        decode(deephq, data)
    # one more column of blocks: the same length is plausible, so z or the parameter check fails
    with pytest.raises((ParameterMismatch, ec.CorruptStream), match="entropy-coded data is invalid|parameter"):
        decode(deephq, rewrite(deephq, width=65))
    assert decode(deephq, rewrite(deephq, width=1, height=1)).last.rgb.shape == (1, 1, 3)


@pytest.mark.parametrize("codec_name", ["deephq", "hc"])
def test_the_layer_0_bounds_hold_for_the_most_compressible_z(seeds, codec_name):
    """Both checks are sound and tight: z at its most probable value everywhere (the shortest z
    stream there is) passes check_room, is within 2.5x of the length bound, and its information
    is within 1% of its bits; so no real file is refused. Cut to 60%, it fails."""
    seed = seeds[0 if codec_name == "deephq" else 1]
    z = load_codec(codec_name, seed.header.model_id, "cpu", seed.weights).z_coder
    channels = z.freqs.shape[0]
    for h, w in [(1, 1), (1, 2), (2, 3), (5, 7), (16, 12), (64, 128)]:
        shape = (channels, h, w)
        stream = fuzz.shortest_z_stream(z, shape)
        z.check_room(stream, shape, "test")
        assert len(stream) <= 2.5 * z.min_bits_per_position * h * w / 8 + 8
        bits = z.information(z.decode(ec.new_decoder(stream), shape))
        assert 0.99 * 8 * len(stream) - 64 <= bits <= 8 * len(stream) + z.SLACK_BITS
    cut = stream[: len(stream) * 3 // 5 // 4 * 4]  # long enough for the length check
    assert len(cut) >= z.min_bytes(shape)
    with pytest.raises(ec.CorruptStream, match="holds at least|is invalid"):
        z.check_room(cut, shape, "test")
    first_layer = fuzz.fields_of(seed.data).layers[0][0]
    z.check_room(first_layer, (channels, 1, 1), "64x48")


def test_the_issues_bomb_is_refused_after_decoding_only_z(deephq):
    """Issue 19, item 1: 8192x4096 announced over 7,692 bytes of zeros (just long enough for the
    length check) took 3.6 GiB and 21 s. Zeros decode to improbable z values, whose information
    the layer cannot hold."""
    z = load_codec("deephq", 0, "cpu").z_coder
    need = z.min_bytes((z.freqs.shape[0], 64, 128))
    zeros = bytes(-(-need // 4) * 4)
    bomb = rewrite(deephq, width=8192, height=4096, layers=[[zeros]] + [[b""]] * 7)
    start = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(ec.CorruptStream, match=rf"quality layer 1: .*layer 1 has {len(zeros)} bytes.*"
                                                   rf"8192x4096 picture holds at least"):
            decode(deephq, bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100_000_000 and time.perf_counter() - start < 20  # z is 1M values: ~30 MB, ~1 s


def test_a_picture_that_cannot_fit_in_memory_is_refused_as_soon_as_the_header_is_in(deephq, monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 2**30)
    data = rewrite(deephq, width=8192, height=4096)
    message = r"decoding the 8192x4096 picture the file announces needs about [\d.]+ GiB.*only 1.0 GiB"
    with pytest.raises(memory.InsufficientMemory, match=message):
        decode(deephq, data)
    decoder = api.ProgressiveDecoder(device="cpu")
    with pytest.raises(memory.InsufficientMemory):
        decoder.feed(data[:deephq.header.size])
    with pytest.raises(memory.InsufficientMemory):  # and again on every later feed
        decoder.feed(data[deephq.header.size:])
    assert decode(deephq, deephq.data).complete  # a 48x64 picture fits in 1 GiB


@pytest.mark.parametrize("failure", [MemoryError("Unable to allocate 13.6 GiB for an array"),
                                     RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: "
                                                  "can't allocate memory: you tried to allocate 13615257600 bytes")])
@pytest.mark.parametrize("at", [0, 3])
def test_an_allocation_failure_is_a_named_error_of_its_layer(deephq, monkeypatch, failure, at):
    """Before, the allocator's RuntimeError (or numpy's MemoryError) escaped unnamed."""
    from codec.codecs.deephq import DeepHQLayerDecoder

    real = DeepHQLayerDecoder.decode_chunk

    def decode_chunk(self, payload, layer, part):
        if layer == at:
            raise failure
        return real(self, payload, layer, part)
    monkeypatch.setattr(DeepHQLayerDecoder, "decode_chunk", decode_chunk)
    message = rf"decoding stops at quality layer {at + 1}: .*decoding the 64x48 picture ran out of memory"
    if at == 0:
        with pytest.raises(memory.InsufficientMemory, match=message):
            decode(deephq, deephq.data)
    else:
        result = decode(deephq, deephq.data)
        assert len(result.layers) == at and result.damage.layer == at
        assert isinstance(result.damage, memory.InsufficientMemory) and re.search(message, str(result.damage))
    decoder = api.ProgressiveDecoder(device="cpu")
    assert len(list(decoder.feed(deephq.data))) == at
    assert isinstance(decoder.damage, memory.InsufficientMemory) and decoder.damage.layer == at


def test_other_runtime_errors_are_not_mistaken_for_memory(deephq, monkeypatch):
    from codec.codecs.deephq import DeepHQLayerDecoder

    def decode_chunk(self, payload, layer, part):
        raise RuntimeError("a bug")
    monkeypatch.setattr(DeepHQLayerDecoder, "decode_chunk", decode_chunk)
    with pytest.raises(RuntimeError, match="a bug"):
        decode(deephq, deephq.data)


ALLOCATE_IN_CHILD = """
import resource, sys
import torch
torch.set_num_threads(1)
from codec import api, memory
from codec.registry import load_codec
data = open(sys.argv[1], "rb").read()
load_codec("deephq", 0, "cpu")
with open("/proc/self/statm") as f:
    used = int(f.read().split()[0]) * resource.getpagesize()
limit = used + 600 * 2**20  # 600 MiB more address space: far less than the picture needs
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
for estimate in ("on", "off"):
    if estimate == "off":
        memory.available_bytes = lambda: None  # no estimate: the allocation itself must fail
    try:
        api.decode(data, device="cpu")
    except memory.InsufficientMemory as error:
        print(estimate, type(error).__name__, error)
"""


def test_decoding_under_an_address_space_limit_ends_in_a_named_error(deephq, tmp_path):
    """The issue's 3-GiB-limit run, scaled down: a genuine shortest layer 0 for 4096x4096 (its
    entropy parameters need about 2 GiB) in a process allowed 600 MiB more. With the memory
    estimate it is refused before decoding; without it the allocation fails, named."""
    z = load_codec("deephq", 0, "cpu").z_coder
    path = tmp_path / "flat.strata"
    path.write_bytes(rewrite(deephq, width=4096, height=4096,
                             layers=[[fuzz.shortest_z_stream(z, (z.freqs.shape[0], 64, 64))]] + [[b""]] * 7))
    child = subprocess.run([sys.executable, "-c", ALLOCATE_IN_CHILD, str(path)], capture_output=True, text=True,
                           cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
                           timeout=300)
    assert child.returncode == 0, child.stderr[-3000:]
    lines = child.stdout.splitlines()
    assert len(lines) == 2, child.stdout + child.stderr[-3000:]
    assert re.match(r"on InsufficientMemory decoding the 4096x4096 picture the file announces needs about", lines[0])
    assert re.match(r"off InsufficientMemory decoding stops at quality layer 1: .*ran out of memory", lines[1])


@pytest.mark.parametrize("change, kind", [
    (dict(weights=bytes.fromhex("0123456789abcdef")), api.WeightsMismatch),
    (dict(params=bytes(5)), InvalidCodecParameters),
    (dict(model_id=3), WeightsError),
])
def test_the_progressive_decoder_keeps_errors_of_the_whole_file_in_damage(deephq, change, kind):
    """Issue 19, item 9: these raised on every feed, and the decoder then ended with done=True,
    no layers and damage=None."""
    data = rewrite(deephq, **change)
    decoder = api.ProgressiveDecoder(device="cpu", weights=deephq.weights)
    layers = [layer for at in range(0, len(data), 50) for layer in decoder.feed(data[at:at + 50])]
    assert layers == [] and decoder.done
    assert isinstance(decoder.damage, kind) and decoder.damage.layer == 0
    assert str(decoder.damage).startswith("decoding stops at quality layer 1: ")
    with pytest.raises(kind):
        decode(deephq, data)


# --- lying codec parameters and garbage payloads with valid CRCs ------------------------------

def test_payloads_that_are_not_whole_words(seeds):
    for seed in seeds:
        layer0 = fuzz.fields_of(seed.data).layers[0][0]
        cut = len(layer0) - 1 if (len(layer0) - 1) % 4 else len(layer0) - 2
        with pytest.raises(ec.CorruptStream, match=f"quality layer 1: .*{cut} bytes is not a whole number of 32-bit words"):
            decode(seed, with_layer(seed, 0, layer0[:cut]))
        result = decode(seed, with_layer(seed, 1, b"\x00" * 5))
        assert len(result.layers) == 1 and isinstance(result.damage, ec.CorruptStream)
        assert result.damage.layer == 1 and "quality layer 2: " in str(result.damage)


@pytest.mark.parametrize("which", [0, 1])
def test_garbage_payloads_with_valid_crcs(seeds, which):
    seed = seeds[which]
    n = seed.header.num_layers
    rng = np.random.default_rng(which)
    for i in range(n):
        for garbage in (b"\xff" * 16, bytes(64), rng.integers(0, 256, 4 * int(rng.integers(1, 80)),
                                                                  dtype=np.uint8).tobytes()):
            data = with_layer(seed, i, garbage)
            start = time.perf_counter()
            try:
                result = decode(seed, data)
            except (ec.CorruptStream, ParameterMismatch) as error:
                assert i == 0 and error.layer == 0 and "quality layer 1: " in str(error)
                continue
            assert time.perf_counter() - start < 30
            assert len(result.layers) >= i  # layers before the garbage are untouched
            assert all(np.array_equal(a.rgb, b) for a, b in zip(result.layers[:i], seed.pictures))
            assert all(layer.rgb.shape == (48, 64, 3) for layer in result.layers)
            if len(result.layers) < n:
                assert isinstance(result.damage, (ec.CorruptStream, ParameterMismatch))
                assert result.damage.layer == len(result.layers)
    # constriction rejects 0xff words: the layer is named and the ones before it are kept
    result = decode(seed, with_layer(seed, n - 1, b"\xff" * 16))
    assert len(result.layers) == n - 1 and isinstance(result.damage, ec.CorruptStream)


def replacements(chunk: bytes, other: bytes, rng) -> dict[str, bytes]:
    """Issue 32's payload replacements of a chunk (their CRCs are recomputed by fuzz.pack)."""
    return {"4 zero bytes more": chunk + bytes(4), "4 bytes fewer": chunk[:-4], "zeros": bytes(len(chunk)),
            "random": rng.integers(0, 256, len(chunk) or 8, dtype=np.uint8).tobytes(), "emptied": b"",
            "swapped": other}


@pytest.mark.parametrize("which", [0, 1])
def test_every_payload_replacement_with_a_valid_crc_is_named(seeds, which):
    """Issue 32, item 19: the check values cover the entropy parameters only, and 17 of 53 such
    replacements decoded every layer with no damage (4 extra zero bytes on any layer, always).
    Now every chunk's range decoder must end exactly where and as its encoder did."""
    seed = seeds[which]
    rng = np.random.default_rng(which)
    f = fuzz.fields_of(seed.data)
    where = [(i, k) for i, layer in enumerate(f.layers) for k in range(len(layer))]
    tried = 0
    for n, (i, k) in enumerate(where):
        chunk = f.layers[i][k]
        other = f.layers[where[(n + 1) % len(where)][0]][where[(n + 1) % len(where)][1]]
        for name, payload in replacements(chunk, other, rng).items():
            if payload == chunk:
                continue
            tried += 1
            data = with_layer(seed, i, payload, k)
            if i == 0:
                with pytest.raises((ec.CorruptStream, ParameterMismatch), match="quality layer 1: "):
                    decode(seed, data)
                continue
            result = decode(seed, data)
            assert len(result.layers) == i and result.damage.layer == i, (name, i, k, result.damage)
            assert isinstance(result.damage, ec.CorruptStream), (name, i, k, result.damage)
            parts = len(f.layers[i])
            assert str(result.damage).startswith(f"decoding stops at quality layer {i + 1}: {ec.stream_name(i, k, parts)}")
            assert all(np.array_equal(a.rgb, b) for a, b in zip(result.layers, seed.pictures))
    assert tried >= 5 * len(where)


def test_four_extra_zero_bytes_make_strata_decode_fail(deephq, tmp_path, capsys):
    from codec import cli

    path = tmp_path / "longer.strata"
    chunk = fuzz.fields_of(deephq.data).layers[4][1]
    path.write_bytes(with_layer(deephq, 4, chunk + bytes(4), 1))
    assert cli.main(["decode", str(path), str(tmp_path / "out.png")]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "decoding stops at quality layer 5: quality layer 5 (chunk 2 of 4) holds" in err
    assert f"holds {len(chunk) + 4:,} bytes of range-coded data, but the symbols it decodes to take {len(chunk):,}" in err


def test_the_range_decoder_check_is_exact_for_real_streams(seeds):
    """Every chunk of both seeds, and streams of every length of symbols up to 300, pass."""
    for seed in seeds:
        assert decode(seed, seed.data).complete  # every chunk finished, none refused
    rng = np.random.default_rng(5)
    for n in range(0, 300, 7):
        probabilities = rng.dirichlet(np.full(5, 0.3), size=n)
        symbols = np.array([rng.choice(5, p=p) for p in probabilities], dtype=np.int32)
        encoder = ec.new_encoder()
        ec.encode_symbols(encoder, symbols, np.full(n, 5), lambda part: probabilities[part])
        stream = ec.finish(encoder)
        decoder = ec.new_decoder(stream)
        assert np.array_equal(ec.decode_symbols(decoder, np.full(n, 5), lambda part: probabilities[part]), symbols)
        decoder.finish("test")
        if stream:
            with pytest.raises(ec.CorruptStream, match="test holds"):
                longer = ec.new_decoder(stream + bytes(4))
                ec.decode_symbols(longer, np.full(n, 5), lambda part: probabilities[part])
                longer.finish("test")


@pytest.mark.parametrize("which,size,lengths", [(0, "6, 7 or 13", [0, 1, 5, 8, 12, 14, 64]), (1, "18", [0, 1, 17, 19, 64])])
def test_params_blobs_of_the_wrong_length(seeds, which, size, lengths):
    seed = seeds[which]
    for length in lengths:
        with pytest.raises(InvalidCodecParameters, match=f"must be {size} bytes, found {length}"):
            decode(seed, rewrite(seed, params=bytes(range(length))))


def test_lying_partition_counts(deephq):
    """The partition counts are bound into the check value: a forged one (in the per-layer or the
    one-count layout) is a parameter mismatch, an impossible one is named; and a layer with fewer
    chunks than its count before the last is refused."""
    params = deephq.header.params
    assert params[6:] == bytes([4] * 7)
    for count in (0, 65, 255):
        with pytest.raises(InvalidCodecParameters, match=f"1..64 partitions per layer, not {count}"):
            decode(deephq, rewrite(deephq, params=params[:6] + bytes([count])))
        with pytest.raises(InvalidCodecParameters, match=f"1..64 partitions per layer, not {count}"):
            decode(deephq, rewrite(deephq, params=params[:9] + bytes([count]) + params[10:]))
    for count in (1, 3, 4, 8):  # 4: the right counts in the one-count layout, bound differently
        with pytest.raises(ParameterMismatch):
            decode(deephq, rewrite(deephq, params=params[:6] + bytes([count])))
    for count in (1, 3, 8):
        with pytest.raises(ParameterMismatch):
            decode(deephq, rewrite(deephq, params=params[:9] + bytes([count]) + params[10:]))
    f = fuzz.fields_of(deephq.data)
    f.layers[2] = f.layers[2][:2]  # layer 3 cut short, layers after it
    result = decode(deephq, fuzz.pack(f))
    assert len(result.layers) == 3 and isinstance(result.damage, InvalidCodecParameters)
    assert result.damage.layer == 3 and "only the last layer of a file may be cut short" in str(result.damage)
    f.layers = f.layers[:3]  # the same, now the last layer: a file cut to a budget
    result = decode(deephq, fuzz.pack(f))
    assert result.complete and result.damage is None and result.layers[-1].parts == 2


def test_lying_alphabet_sizes(seeds):
    deephq, hc = seeds
    check = deephq.header.params[2:]
    for K in (0, 2, 4, 4097, 65535):
        with pytest.raises(InvalidCodecParameters, match=f"must be odd and at most 4095, found {K}"):
            decode(deephq, rewrite(deephq, params=struct.pack("<H", K) + check))
    with pytest.raises(InvalidCodecParameters, match="must be odd"):
        decode(hc, rewrite(hc, params=struct.pack("<3H", 3, 4, 3) + hc.header.params[6:]))
    real = struct.unpack("<H", deephq.header.params[:2])[0]
    for K in {1, 3, 7, 4095} - {real}:  # odd but forged: the check value covers K
        start = time.perf_counter()
        with pytest.raises(ParameterMismatch):
            decode(deephq, rewrite(deephq, params=struct.pack("<H", K) + check))
        assert time.perf_counter() - start < 30


def test_wrong_check_value_is_a_parameter_mismatch(seeds):
    deephq, hc = seeds
    with pytest.raises(ParameterMismatch, match="quality layer 1: .*file 000004d2"):
        decode(deephq, rewrite(deephq, params=deephq.header.params[:2] + struct.pack("<I", 1234)))
    params = hc.header.params[:10] + struct.pack("<I", 1234) + hc.header.params[14:]  # check of y_3
    result = decode(hc, rewrite(hc, params=params))
    assert len(result.layers) == 1 and isinstance(result.damage, ParameterMismatch)
    assert result.damage.layer == 1 and "HC y3" in str(result.damage)


def test_more_layers_than_the_model_has(seeds):
    for seed in seeds:
        n = seed.header.num_layers
        layers = fuzz.fields_of(seed.data).layers
        result = decode(seed, rewrite(seed, layers=layers + [list(layers[-1])], psnr=[0xFFFF] * (n + 1)))
        assert len(result.layers) == n and not result.complete
        assert isinstance(result.damage, InvalidCodecParameters) and result.damage.layer == n


def test_more_layers_than_the_container_allows(deephq):
    layers = fuzz.fields_of(deephq.data).layers
    with pytest.raises(container.HeaderCorrupted, match="num_layers 17"):
        decode(deephq, rewrite(deephq, layers=layers * 2 + [[b""]], psnr=[0xFFFF] * 17))


def test_lying_layer_lengths_are_never_read_nor_allocated(deephq):
    """A chunk announced as 4 GiB: past what any codec writes for the picture it is LayerTooLong
    (issue 32; before, the file was only incomplete), and nothing of its size is allocated."""
    f = fuzz.fields_of(deephq.data)
    f.lengths = [len(p) for p in f.chunks()]
    f.lengths[sum(map(len, f.layers[:5]))] = 2**32 - 1  # the first chunk of layer 6
    tracemalloc.start()
    try:
        result = decode(deephq, fuzz.pack(f))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result.layers) == 5 and not result.complete and peak < 20_000_000
    assert isinstance(result.damage, container.LayerTooLong) and (result.damage.layer, result.damage.part) == (5, 0)
    assert str(result.damage).startswith("quality layer 6 (chunk 1 of 4) takes the file's layers to 4,294,967,")


# --- weights -----------------------------------------------------------------------------

def test_a_file_from_other_weights_names_both_digests(seeds):
    for seed in seeds:
        forged = rewrite(seed, weights=bytes.fromhex("0123456789abcdef"))
        ours = load_codec(seed.header.codec, seed.header.model_id, "cpu", seed.weights).digest.hex()
        with pytest.raises(api.WeightsMismatch, match=f"0123456789abcdef.*{ours}"):
            decode(seed, forged)
        decoder = api.ProgressiveDecoder(device="cpu", weights=seed.weights)
        assert list(decoder.feed(forged)) == [] and decoder.done and decoder.layers == []
        assert isinstance(decoder.damage, api.WeightsMismatch) and decoder.damage.layer == 0


def test_unknown_models_are_weights_errors(deephq):
    from codec.weights import WeightsError

    with pytest.raises(WeightsError, match="model id 0"):
        api.decode(rewrite(deephq, model_id=3), device="cpu")
    with pytest.raises(WeightsError):
        api.decode(rewrite(deephq, codec_id=2, model_id=255), device="cpu")  # no hc_q255.pt


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            yield node.func.value.id, node.func.attr, node


def test_every_torch_load_is_weights_only_and_nothing_unpickles_files():
    """Weights files and checkpoints are read with torch.load(weights_only=True); the only pickle
    is the viewer's protocol between the GUI and the worker process it spawned (a socketpair)."""
    files = [p for folder in ("codec", "viewer", "scripts", "tests") for p in (REPO / folder).rglob("*.py")]
    loads = 0
    for path in files:
        for module, name, call in _calls(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(REPO)}:{call.lineno}"
            if module == "torch" and name == "load":
                loads += 1
                flags = {k.arg: k.value for k in call.keywords}
                assert isinstance(flags.get("weights_only"), ast.Constant) and flags["weights_only"].value is True, where
            if module in ("pickle", "dill", "cloudpickle", "marshal") and name.startswith("load"):
                assert path.relative_to(REPO).as_posix() == "viewer/backend/protocol.py", where
            if module == "np" and name == "load":
                flags = {k.arg: k.value for k in call.keywords}
                assert "allow_pickle" not in flags or flags["allow_pickle"].value is False, where
    assert loads >= 4
