"""Properties of the `.strata` container (docs/FORMAT.md): round trip, prefixes, damage, hostility."""
import dataclasses
import random
import struct
import tracemalloc
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from codec.container import (
    MAGIC, Chunk, ContainerError, Header, HeaderCorrupted, LayerCorrupted, LayerTooLong, NotStrataFile, StreamingReader,
    TrailingData, TruncatedHeader, UnsupportedCodec, UnsupportedVersion, parse_container,
    read_header, varint, write_container,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("value, encoded", [(0, "00"), (127, "7f"), (128, "8001"), (300, "ac02"),
                                            (2**32 - 1, "ffffffff0f")])
def test_chunk_lengths_are_unsigned_leb128(value, encoded):
    assert varint(value) == bytes.fromhex(encoded)


def make_file(lengths, seed=0, codec="deephq", params=b"\x01\x02\x03", version=2):
    """(header, layers, file bytes) with random payloads of the given lengths: an int per layer
    (one chunk), or a list of its chunks' lengths."""
    rng = random.Random(seed)
    chunks = tuple(tuple(n) if isinstance(n, list) else (n,) for n in lengths)
    layers = [rng.randbytes(sum(n)) for n in chunks]
    header = Header(codec=codec, model_id=2, weights_digest=rng.randbytes(8), width=640,
                    height=480, source_mode="RGB", layer_lengths=tuple(map(sum, chunks)),
                    layer_psnr=tuple(round(25 + 2.5 * i, 2) for i in range(len(lengths))),
                    params=params, chunk_lengths=None if all(len(c) == 1 for c in chunks) else chunks,
                    version=version)
    return header, layers, write_container(header, layers)


SMALL_3 = make_file([5, 0, 7])
SMALL_8 = make_file([3, 0, 9, 1, 0, 12, 4, 6], seed=1)
CHUNKED = make_file([5, [3, 0, 4], [0], [6, 1, 2, 9]], seed=2)
VERSION_1 = make_file([4, 0, 8, 2], seed=4, version=1)


def raw_header(**fields):
    """Header bytes packed straight from the spec (version 2: chunk counts and LEB128 chunk
    lengths; version 1: a u32 length per layer), any field overridable, with a correct CRC."""
    f = dict(version=2, codec_id=1, model_id=0, weights=bytes(8), width=64, height=48, mode=0,
             lengths=[10, 20, 30], psnr=[3000, 3500, 0xFFFF], params=b"abc")
    f.update(fields)
    n = len(f["lengths"])
    f.setdefault("num_layers", n)
    f.setdefault("params_len", len(f["params"]))
    chunks = [c if isinstance(c, list) else [c] for c in f["lengths"]]
    if f["version"] == 1:
        lengths = struct.pack(f"<{n}I", *f["lengths"])
    else:
        lengths = f.get("counts", bytes(map(len, chunks))) + f.get("encoded_lengths", b"".join(
            varint(c) for layer in chunks for c in layer))
    body = (struct.pack("<BB8sIIBB", f["codec_id"], f["model_id"], f["weights"], f["width"],
                        f["height"], f["mode"], f["num_layers"])
            + lengths + struct.pack(f"<{n}H", *f["psnr"])
            + struct.pack("<H", f["params_len"]) + f["params"])
    covered = struct.pack("<BH", f["version"], f.get("header_len", len(body))) + body
    return MAGIC + covered + struct.pack("<I", zlib.crc32(covered))


def flip(data, offset, bit=0):
    out = bytearray(data)
    out[offset] ^= 1 << bit
    return bytes(out)


def complete_layers_in(header, cut):
    """How many layers lie entirely (payload and CRC) within the first `cut` bytes."""
    return sum(header.layer_offset(i + 1) <= cut for i in range(header.num_layers))


def whole_layers(chunks):
    """(layer, payload) of every layer whose last chunk is among chunks (in order)."""
    layers, parts = [], []
    for chunk in chunks:
        parts.append(chunk.payload)
        if chunk.last:
            layers.append((chunk.layer, b"".join(parts)))
            parts = []
    return layers


def stream(data, chunk_sizes):
    """Feed data to a StreamingReader in the given piece sizes; return (reader, complete layers)."""
    reader, received, pos = StreamingReader(), [], 0
    for size in chunk_sizes:
        received += reader.feed(data[pos:pos + size])
        pos += size
    return reader, whole_layers(received)


# --- round trip and layout -------------------------------------------------------------------

@pytest.mark.parametrize("sample", [SMALL_3, SMALL_8, make_file([4000, 0, 1, 0, 2, 50, 0, 9000]), VERSION_1])
def test_round_trip(sample):
    header, layers, data = sample
    parsed = parse_container(data)
    assert parsed.header == header
    assert parsed.layers == layers
    assert parsed.complete and parsed.damage is None
    assert len(data) == header.file_size
    for i, payload in enumerate(layers):
        start = header.layer_offset(i)
        assert data[start:start + len(payload)] == payload
        assert data[start + len(payload):start + len(payload) + 4] == struct.pack("<I", zlib.crc32(payload))


def test_spec_packer_matches_module():
    """The byte layout written by the module is exactly the one packed from the spec."""
    header, _, data = make_file([10, 0, 300], params=b"xy")
    assert data[:header.size] == raw_header(
        model_id=2, weights=header.weights_digest, width=640, height=480, lengths=[10, 0, 300],
        psnr=[2500, 2750, 3000], params=b"xy")
    assert header.size == 8 + 1 + 2 + 20 + 3 + (1 + 1 + 2) + 2 * 3 + 2 + 2 + 4
    header, _, data = make_file([10, [0, 200000], 30], params=b"xy")
    assert data[:header.size] == raw_header(
        model_id=2, weights=header.weights_digest, width=640, height=480, lengths=[10, [0, 200000], 30],
        psnr=[2500, 2750, 3000], params=b"xy")
    header, _, data = make_file([10, 0, 30], params=b"xy", version=1)
    assert data[:header.size] == raw_header(
        version=1, model_id=2, weights=header.weights_digest, width=640, height=480, lengths=[10, 0, 30],
        psnr=[2500, 2750, 3000], params=b"xy")
    assert header.size == 8 + 1 + 2 + 20 + 6 * 3 + 2 + 2 + 4


def test_psnr_is_stored_in_centi_db():
    header, layers, _ = SMALL_3
    written = dataclasses.replace(header, layer_psnr=(31.23456, None, float("inf")))
    parsed = read_header(write_container(written, layers))
    assert parsed.layer_psnr == (31.23, None, 655.34)


def test_write_rejects_mismatched_layers():
    header, layers, _ = SMALL_3
    with pytest.raises(ValueError, match="layers"):
        write_container(header, layers[:2])
    with pytest.raises(ValueError, match="layer_lengths"):
        write_container(header, [layers[0] + b"!", *layers[1:]])
    with pytest.raises(ValueError, match="width"):
        write_container(dataclasses.replace(header, width=0), layers)


# --- prefixes --------------------------------------------------------------------------------

@pytest.mark.parametrize("sample", [SMALL_3, SMALL_8, CHUNKED, VERSION_1])
def test_every_prefix_decodes_its_complete_layers(sample):
    header, layers, data = sample
    for cut in range(len(data) + 1):
        prefix = data[:cut]
        if cut < header.size:
            assert read_header(prefix) is None
            with pytest.raises(TruncatedHeader):
                parse_container(prefix)
            continue
        parsed = parse_container(prefix)
        assert parsed.damage is None
        count = complete_layers_in(header, cut)
        assert parsed.layers == layers[:count]
        assert parsed.complete == (cut == len(data))
        if count < header.num_layers:  # the chunks of the next layer that are complete
            done = [k for k in range(len(header.chunks[count])) if header.chunk_end(count, k) <= cut]
            assert b"".join(parsed.partial) == layers[count][:sum(header.chunks[count][:len(done)])]
            assert len(parsed.partial) == len(done)


def test_a_version_1_header_has_one_chunk_per_layer_and_chunks_add_up():
    header, layers, _ = CHUNKED
    with pytest.raises(ValueError, match="version 1 file has one chunk per layer"):
        write_container(dataclasses.replace(header, version=1), layers)
    with pytest.raises(ValueError, match="do not add up"):
        write_container(dataclasses.replace(header, layer_lengths=(5, 7, 0, 19)), [layers[0], layers[1][:-1] + b"", *layers[2:]])
    with pytest.raises(ValueError, match="1..64 chunks"):
        write_container(dataclasses.replace(header, chunk_lengths=((5,), (1,) * 65 + (0,), (0,), (6, 1, 2, 9))), layers)


@pytest.mark.parametrize("fields, name", [
    (dict(counts=bytes([1, 0, 1])), "layer 2 announces 0 chunks"),
    (dict(counts=bytes([1, 65, 1])), "layer 2 announces 65 chunks"),
    (dict(encoded_lengths=bytes([10, 0x94, 0x00, 30])), "malformed"),  # 20 as two bytes, the last 0
    (dict(encoded_lengths=bytes([10, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 30])), "malformed"),  # over 5 bytes / 2^32
    (dict(encoded_lengths=bytes([10, 20, 0x80])), "params_len|runs past"),
])
def test_bad_chunk_tables_are_named(fields, name):
    with pytest.raises(HeaderCorrupted, match=name):
        read_header(raw_header(**fields))


# --- damage ----------------------------------------------------------------------------------

@pytest.mark.parametrize("sample", [SMALL_3, SMALL_8])
def test_flipped_bit_in_a_layer_names_that_layer(sample):
    header, layers, data = sample
    for i, payload in enumerate(layers):
        start = header.layer_offset(i)
        crc_start = start + len(payload)
        for offset in [start + len(payload) // 2] * bool(payload) + [crc_start, crc_start + 3]:
            damaged = flip(data, offset, bit=offset % 8)
            parsed = parse_container(damaged)
            assert isinstance(parsed.damage, LayerCorrupted)
            assert parsed.damage.layer == i and f"quality layer {i + 1} is corrupted" in str(parsed.damage)
            assert parsed.damage.actual_crc == zlib.crc32(damaged[start:crc_start])
            assert parsed.layers == layers[:i] and not parsed.complete
            reader, received = stream(damaged, [len(damaged)])
            assert received == list(enumerate(layers[:i]))
            assert isinstance(reader.damage, LayerCorrupted) and reader.damage.layer == i
            assert reader.feed(b"more") == []


def test_a_damaged_chunk_names_its_layer_and_chunk_and_keeps_the_chunks_before_it():
    header, layers, data = CHUNKED
    start = header.chunk_end(3, 0)  # the first byte of chunk 2 of layer 4
    damaged = flip(data, start)
    parsed = parse_container(damaged)
    assert parsed.damage.layer == 3 and parsed.damage.part == 1
    assert "quality layer 4 is corrupted (chunk 2 of 4)" in str(parsed.damage)
    assert "only the layers and chunks before it" in str(parsed.damage)
    assert parsed.layers == layers[:3] and parsed.partial == [layers[3][:6]]
    reader = StreamingReader()
    chunks = reader.feed(damaged)
    assert [(c.layer, c.part) for c in chunks] == [(0, 0), (1, 0), (1, 1), (1, 2), (2, 0), (3, 0)]
    assert reader.damage.part == 1 and not reader.done


def test_flipped_bit_in_the_header():
    header, _, data = SMALL_8
    for offset in range(len(MAGIC)):
        with pytest.raises(NotStrataFile):
            parse_container(flip(data, offset))
    with pytest.raises(UnsupportedVersion, match="version 3"):
        parse_container(flip(data, 8, bit=0))
    for bit in range(16):  # header_len: out of range, CRC mismatch or a header past the data
        with pytest.raises(ContainerError):
            parse_container(flip(data, 9 + bit // 8, bit % 8))
    for offset in range(11, header.size):  # body and header CRC
        with pytest.raises(HeaderCorrupted, match="CRC32"):
            parse_container(flip(data, offset, bit=offset % 8))


def test_trailing_bytes_are_reported_with_all_layers_intact():
    _, layers, data = SMALL_3
    parsed = parse_container(data + b"\0\0")
    assert parsed.complete and parsed.layers == layers
    assert isinstance(parsed.damage, TrailingData) and "2 unexpected bytes" in str(parsed.damage)
    reader, received = stream(data + b"\0", [len(data), 1])
    assert received == list(enumerate(layers)) and reader.done
    assert isinstance(reader.damage, TrailingData)


# --- foreign and hostile input ---------------------------------------------------------------

def test_foreign_files_are_rejected_at_the_first_differing_byte():
    rng = random.Random(7)
    for _ in range(20):
        junk = bytes([rng.randrange(0x89)]) + rng.randbytes(200)
        with pytest.raises(NotStrataFile, match="not a Strata file"):
            parse_container(junk)
    with pytest.raises(NotStrataFile, match="it is a PNG image; a picture becomes a Strata file by encoding it"):
        parse_container(PNG_SIGNATURE + bytes(100))
    assert read_header(b"\x89ST") is None
    with pytest.raises(NotStrataFile):
        read_header(b"\x89P")
    reader = StreamingReader()
    assert reader.feed(b"\x89") == []
    with pytest.raises(NotStrataFile):
        reader.feed(b"P")
    with pytest.raises(NotStrataFile):
        reader.feed(b"NG")  # a reader that failed on its header keeps failing


def test_text_mode_damage_is_explained():
    with pytest.raises(NotStrataFile, match="line endings"):
        read_header(MAGIC[:7] + b"\r\n")


@pytest.mark.parametrize("fields, name", [
    (dict(num_layers=0), "num_layers"),
    (dict(num_layers=200), "num_layers"),
    (dict(num_layers=16), "num_layers"),  # in range but does not fit header_len
    (dict(width=0), "width"),
    (dict(height=10**6), "height"),
    (dict(width=65535, height=65535), "width x height"),
    (dict(mode=9), "mode"),
    (dict(params_len=5000), "params_len"),
    (dict(params_len=2), "params_len"),
    (dict(header_len=60000), "header_len"),
    (dict(header_len=3), "header_len"),
])
def test_absurd_fields_are_named(fields, name):
    data = raw_header(**fields)
    with pytest.raises(HeaderCorrupted, match=name):
        read_header(data)
    with pytest.raises(HeaderCorrupted, match=name):
        StreamingReader().feed(data)


def test_unknown_codec_and_version_are_named():
    with pytest.raises(UnsupportedCodec, match="codec id 9"):
        read_header(raw_header(codec_id=9))
    with pytest.raises(UnsupportedVersion, match="version 3 is not supported .this reader reads versions 1 and 2"):
        read_header(raw_header(version=3))
    assert read_header(raw_header(codec_id=2)).codec == "hc"
    assert read_header(raw_header(version=1)).version == 1


@pytest.mark.parametrize("width, height, within", [(64, 48, False), (60000, 4000, True)])
def test_lying_layer_length_does_not_allocate(width, height, within):
    """A chunk announced as 4 GiB is never read nor allocated: past what any codec writes for the
    picture (max_payload_bytes: 128 kB for 64x48) it is LayerTooLong at once; within it (a
    60000x4000 picture may take 7.7 GB), the file is only incomplete."""
    data = raw_header(lengths=[3, 2**32 - 1], psnr=[0xFFFF] * 2, width=width, height=height) + b"abc" + \
        struct.pack("<I", zlib.crc32(b"abc"))
    tracemalloc.start()
    try:
        parsed = parse_container(data + bytes(1000))
        reader, received = stream(data + bytes(1000), [100] * 12)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200_000
    assert parsed.layers == [b"abc"] and not parsed.complete
    assert received == [(0, b"abc")] and not reader.done and reader.header.file_size > 2**32
    if within:
        assert parsed.damage is None and reader.damage is None
    else:
        for damage in (parsed.damage, reader.damage):
            assert isinstance(damage, LayerTooLong) and damage.layer == 1
            assert "layer 2 takes the file's layers to 4,294,967,298 bytes, more than the 131,072" in str(damage)
        assert reader.bytes_received == len(data) + 1000 and not reader._buffer


# --- streaming -------------------------------------------------------------------------------

@pytest.mark.parametrize("sample", [SMALL_3, SMALL_8, CHUNKED, VERSION_1])
def test_streaming_one_byte_at_a_time(sample):
    header, layers, data = sample
    reader = StreamingReader()
    received = []
    for pos in range(len(data)):
        received += reader.feed(data[pos:pos + 1])
        assert (reader.header is not None) == (pos + 1 >= header.size)
        assert len(whole_layers(received)) == complete_layers_in(header, pos + 1)
        assert all(header.chunk_end(c.layer, c.part) <= pos + 1 for c in received)
    assert whole_layers(received) == list(enumerate(layers))
    assert len(received) == sum(map(len, header.chunks))
    assert reader.header == header and reader.done and reader.damage is None
    assert reader.bytes_received == len(data)


def test_streaming_random_chunks():
    rng = random.Random(3)
    for sample in [SMALL_3, SMALL_8, CHUNKED, make_file([3000, 0, 2000, 1], seed=5)]:
        header, layers, data = sample
        for _ in range(10):
            sizes = [rng.choice([0, 1, 2, 7, 64, 500]) for _ in range(len(data))]
            reader, received = stream(data, sizes)
            assert received == list(enumerate(layers))
            assert reader.done and reader.damage is None


# --- mutation fuzzing ------------------------------------------------------------------------

_, FUZZ_LAYERS, FUZZ_FILE = make_file([6, 0, 11], seed=9)

mutation = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, len(FUZZ_FILE))),
    st.tuples(st.just("flip"), st.integers(0, len(FUZZ_FILE) - 1), st.integers(0, 7)),
    st.tuples(st.just("insert"), st.integers(0, len(FUZZ_FILE)), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("delete"), st.integers(0, len(FUZZ_FILE)), st.integers(1, 4)),
)


def mutate(data, op):
    kind, pos, arg = (op + (None,))[:3]
    pos = min(pos, len(data))
    if kind == "truncate":
        return data[:pos]
    if kind == "flip":
        return flip(data, pos, arg) if pos < len(data) else data
    if kind == "insert":
        return data[:pos] + arg + data[pos:]
    return data[:pos] + data[pos + arg:]


@settings(max_examples=300, deadline=None)
@given(st.lists(mutation, min_size=1, max_size=3))
def test_mutated_files_fail_safely(ops):
    data = FUZZ_FILE
    for op in ops:
        data = mutate(data, op)
    try:
        parsed = parse_container(data)
    except ContainerError:
        return
    assert parsed.layers == FUZZ_LAYERS[:len(parsed.layers)]


# --- issue 32, item 7: a foreign file is named in words, never in Python's b'...' notation ----

@pytest.mark.parametrize("start, expected", [
    (b"hello world\nthis is text\n", 'not a Strata file: it holds text ("hello wo..."), not a picture'),
    ("h\u00e9llo w\u00f6rld".encode(), 'not a Strata file: it holds text ("h\u00e9llo w..."), not a picture'),
    (b"\xff\xd8\xff\xe0" + bytes(60), "not a Strata file: it is a JPEG image; a picture becomes a Strata file"),
    (b"\0\0\0\x1cftypheic" + bytes(60), "it is an ISO media file (HEIC, AVIF, MP4)"),
    (bytes(range(100)), "not a Strata file: its first bytes (00 01 02 03 04 05 06 07) are not the signature "
                        "every Strata file starts with; was another file renamed, or this one damaged?"),
    (bytes(b & 0x7F for b in MAGIC) + bytes(60), "not a Strata file any more: the top bit of each byte was "
                                                 "stripped (sent over a 7-bit link?); copy it again as binary"),
    (MAGIC[:7] + b"\r\n" + bytes(60), "not a Strata file any more: its line endings were converted"),
])
def test_a_foreign_file_is_described_in_words(start, expected):
    with pytest.raises(NotStrataFile) as error:
        parse_container(start)
    assert expected in str(error.value) and "b'" not in str(error.value) and "\\x" not in str(error.value)
