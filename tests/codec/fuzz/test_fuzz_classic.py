"""Hostile and damaged classic files (JPEG 2000, progressive JPEG): issue 32's items 12 to 16 and
the fuzzing of docs/fuzzing.md ("Classic files").

Lying segment lengths must be named errors, never IndexError; a file may not make the readers
quadratic in its layers or markers, nor make the decoder keep a picture per layer; hypothesis
mutations (cuts, flips, lying markers, many layers) of real files must decode their intact
layers or fail by name, within a time and memory limit per case. The harness and the hostile
files are tests/codec/fuzz/fuzz_classic.py.
"""
import importlib.util
import io
import struct
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from codec import api, classic_files, classic_layout, cli, container, layered, memory
from codec.codecs import classic
from codec.coding.entropy_coding import CorruptStream

_spec = importlib.util.spec_from_file_location("fuzz_classic", Path(__file__).with_name("fuzz_classic.py"))
fuzz = sys.modules.setdefault("fuzz_classic", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(fuzz)


@pytest.fixture(scope="module")
def seeds():
    return fuzz.seeds()


def everywhere(data: bytes):
    """What the parse, the streaming reader (byte by byte) and api.decode make of data: the
    error each raises (None: it did not)."""
    errors = []
    for read in (layered.parse, _stream_bytewise, lambda d: api.decode(d, device="cpu")):
        try:
            read(data)
            errors.append(None)
        except ValueError as error:
            errors.append(error)
    return errors


def _stream_bytewise(data: bytes):
    reader = layered.StreamingReader()
    for at in range(len(data)):
        reader.feed(data[at:at + 1])
    return reader


# --- item 12: a segment too short for what is read of it -------------------------------------

def test_the_issues_49_byte_codestream_is_a_named_error(tmp_path, capsys):
    data = fuzz.cases()["cod-cut"]()
    assert len(data) == 49
    for error in everywhere(data):
        assert isinstance(error, classic_files.CorruptFile) and "COD segment at byte 45 announces 2 bytes" in str(error)
    path = tmp_path / "cut.j2k"
    path.write_bytes(data)
    assert cli.main(["decode", str(path), str(tmp_path / "out.png")]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "COD segment" in err and "Traceback" not in err


@pytest.mark.parametrize("marker, length, words", [
    (0xFF51, 40, "SIZ segment at byte 2 announces 40 bytes"),  # no room for a component
    (0xFF51, 2, "SIZ segment at byte 2 announces 2 bytes"),
    (0xFF52, 11, "COD segment at byte 45 announces 11 bytes"),
    (0xFF90, 9, "SOT segment at byte 65 announces 9 bytes, not 10"),
    (0xFF58, 2, "PLT segment at byte 77 has no index"),
])
def test_every_jpeg_2000_segment_is_checked_before_it_is_read(marker, length, words):
    data = fuzz.codestream(64, 48, 3)
    pos = next(pos for pos, found in fuzz._segments(data) if found == marker)
    damaged = fuzz._put(data, pos + 2, length, 2)
    for error in everywhere(damaged):
        assert isinstance(error, classic_files.CorruptFile) and words in str(error), error
    parsed, streamed, decoded = everywhere(damaged[:pos + 2 + length])  # the file ends where the segment does
    assert isinstance(parsed, classic_files.ClassicFileError) and isinstance(decoded, classic_files.ClassicFileError)
    assert streamed is None or isinstance(streamed, classic_files.ClassicFileError)  # a prefix: more may come


def test_a_frame_header_too_short_for_its_components_is_corrupt(seeds):
    data = bytearray(seeds[1].data)
    sof = next(pos for pos, marker in fuzz._segments(bytes(data)) if marker == 0xFFC2)
    for length in (2, 7, 8, 9, 16):
        damaged = bytes(data[:sof + 2]) + struct.pack(">H", length) + bytes(data[sof + 4:])
        for cut in (damaged, damaged[:sof + 2 + length]):  # whole, and ending where the segment does
            parsed, streamed, decoded = everywhere(cut)
            assert isinstance(parsed, classic_files.ClassicFileError), (length, parsed)
            assert isinstance(decoded, classic_files.ClassicFileError), (length, decoded)
            assert streamed is None or isinstance(streamed, classic_files.ClassicFileError)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_every_header_segment_length_is_a_value_error_or_readable(seeds, which):
    """The audit: each marker segment of the seeds' headers announcing every length from 0 to 3
    past its own, the file whole and cut where the segment ends."""
    seed = seeds[which]
    for pos, marker in fuzz._segments(seed.data):
        true = int.from_bytes(seed.data[pos + 2:pos + 4], "big")
        for length in range(0, true + 4):
            damaged = fuzz._put(seed.data, pos + 2, length, 2)
            for data in (damaged, damaged[:pos + 2 + length]):
                try:
                    layered.parse(data)
                except fuzz.ALLOWED:
                    pass


# --- item 14: many layers --------------------------------------------------------------------

def test_a_codestream_announcing_65535_layers_is_refused_at_once():
    data = fuzz.cases()["j2k-65535-layers"]()
    start = time.perf_counter()
    for error in everywhere(data[:200]) + [everywhere(data)[2]]:
        assert isinstance(error, classic_files.TooManyLayers)
        assert "announces 65,535 layers, more than the 1,000 Strata reads" in str(error)
    assert time.perf_counter() - start < 5  # before: past 300 s


def test_a_jpeg_with_more_scans_than_the_limit_keeps_the_first(monkeypatch):
    monkeypatch.setattr(classic_layout, "MAX_LAYERS", 40)
    data = fuzz.repeat_scan(fuzz.progressive_jpeg(fuzz.flat(64, 48)), -1, 50)
    parsed = layered.parse(data)
    assert len(parsed.layers) == 40 and isinstance(parsed.damage, classic_files.TooManyLayers)
    assert parsed.damage.layer == 40 and "it begins scan 41" in str(parsed.damage)
    result = api.decode(data, device="cpu")
    assert len(result.layers) == 40 and isinstance(result.damage, classic_files.TooManyLayers)
    reader = layered.StreamingReader()
    assert len(reader.feed(data)) == 40 and isinstance(reader.damage, classic_files.TooManyLayers)


def test_decoding_many_layers_is_linear(monkeypatch):
    """20,000 layers of empty packets: before, every layer re-parsed and copied the file and
    Pillow decoded every prefix (5,000 layers took 19 s, 10,000 70 s, so 20,000 about 300 s)."""
    monkeypatch.setattr(classic_layout, "MAX_LAYERS", 65535)
    data = fuzz.codestream(64, 48, 20_000)
    start = time.perf_counter()
    result = api.decode(data, device="cpu")
    assert len(result.layers) == 20_000 and result.complete and result.image().size == (64, 48)
    reader = layered.StreamingReader()
    assert sum(len(reader.feed(data[at:at + 512])) for at in range(0, len(data), 512)) == 20_000
    assert time.perf_counter() - start < 30  # about 2 s


@pytest.mark.parametrize("which, title", [(0, "JPEG 2000"), (1, "Progressive JPEG")])
def test_api_decode_decodes_only_the_picture_of_the_last_layer(seeds, monkeypatch, which, title):
    seed = seeds[which]
    calls = []
    real = classic.decode_picture
    monkeypatch.setattr(classic, "decode_picture", lambda data, what: calls.append(what) or real(data, what))
    result = api.decode(seed.data, layers=5, device="cpu")
    assert calls == [f"{title} layer 5"]
    assert len(result.layers) == 5 and np.array_equal(result.last.rgb, seed.pictures[4])
    assert callable(result.layers[2].picture) and not callable(result.layers[4].picture)
    assert np.array_equal(result.layers[2].rgb, seed.pictures[2]) and calls[-1] == f"{title} layer 3"


def test_a_layer_that_fails_to_decode_is_found_by_bisection(seeds, monkeypatch):
    """When the newest picture does not decode, the newest that does is shown and the first that
    does not is the damage, in a logarithmic number of decodes."""
    seed = seeds[0]
    real, calls = classic.decode_picture, []

    def decode_picture(data, what):
        calls.append(what)
        if int(what.rsplit(" ", 1)[1]) >= 8:  # layers 8 to 12 (from 1) fail
            raise CorruptStream(f"{what} cannot be decoded: test")
        return real(data, what)
    monkeypatch.setattr(classic, "decode_picture", decode_picture)
    result = api.decode(seed.data, device="cpu")
    assert len(result.layers) == 7 and isinstance(result.damage, CorruptStream) and result.damage.layer == 7
    assert str(result.damage).startswith("decoding stops at quality layer 8: ")
    assert np.array_equal(result.last.rgb, seed.pictures[6]) and len(calls) <= 5


# --- item 13: memory -------------------------------------------------------------------------

def test_decoding_many_layers_keeps_one_picture():
    """200 layers of a 1024x1024 picture: before, every layer's picture was kept (600 MB; 2.73 GB
    at 2048x2048). numpy's allocations are traced."""
    data = fuzz.codestream(1024, 1024, 200)
    tracemalloc.start()
    try:
        result = api.decode(data, device="cpu")
        image = result.image()
        decoder = api.ProgressiveDecoder(device="cpu")
        streamed = [layer.index for at in range(0, len(data), 64) for layer in decoder.feed(data[at:at + 64])]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result.layers) == 200 and image.size == (1024, 1024) and streamed == list(range(200))
    assert sum(not callable(layer.picture) for layer in decoder.layers) == 1
    assert peak < 60_000_000  # a picture is 3 MB; Pillow's copies are not traced


def test_the_classic_memory_estimate_counts_one_picture_and_the_file():
    small, large = memory.decode_bytes("jpeg2000", 10**6), memory.decode_bytes("jpeg2000", 10**6, 10**8)
    assert large - small >= 3 * 10**8  # the file's copies
    assert memory.decode_bytes("jpeg2000", 2**25) < 3 * 2**30  # one 33.5 MP picture at a time


def test_allocation_failures_of_a_picture_are_named(seeds, monkeypatch):
    result = api.decode(seeds[0].data, device="cpu")

    def fail(*args, **kwargs):
        raise MemoryError("Unable to allocate 96.0 MiB")
    monkeypatch.setattr(Image, "fromarray", fail)
    with pytest.raises(memory.InsufficientMemory, match="making the picture of quality layer 12 ran out of memory"):
        result.image()
    monkeypatch.undo()
    monkeypatch.setattr(classic, "decode_picture", fail)
    with pytest.raises(memory.InsufficientMemory, match="picture of quality layer 3 ran out of memory"):
        result.layers[2].rgb


def test_the_cli_names_a_decode_that_runs_out_of_memory(seeds, tmp_path, monkeypatch, capsys):
    path = tmp_path / "a.jp2"
    path.write_bytes(seeds[0].data)

    def fail(*args, **kwargs):
        raise MemoryError("Unable to allocate 96.0 MiB")
    monkeypatch.setattr(Image, "fromarray", fail)
    assert cli.main(["decode", str(path), str(tmp_path / "a.png")]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "ran out of memory" in err and "Traceback" not in err and err.count("\n") == 1


# --- items 15 and 16: linear info and streaming ------------------------------------------------

def test_info_of_many_scans_is_linear(tmp_path, monkeypatch, capsys):
    """strata info rebuilt the layer-length tuple for every row: 20,000 scans took 30 s."""
    monkeypatch.setattr(classic_layout, "MAX_LAYERS", 30_000)
    path = tmp_path / "many.jpg"
    path.write_bytes(fuzz.cases()["jpeg-20000-scans"]())
    layout = layered.parse(path.read_bytes()).header
    assert layout.layer_lengths is layout.layer_lengths and layout.chunks is layout.chunks
    start = time.perf_counter()
    assert cli.main(["info", "--json", str(path)]) == 0
    assert time.perf_counter() - start < 15  # about 1 s
    assert '"num_layers": 20000' in capsys.readouterr().out


@pytest.mark.parametrize("name", ["j2k-99000-comments", "jp2-30000-boxes"])
def test_streaming_in_small_pieces_reads_each_marker_once(name):
    """Before, every feed parsed the headers from the start: 99,000 comment segments took 0.3 s
    whole and 185 s in 512-byte pieces."""
    data = fuzz.cases()[name]()
    start = time.perf_counter()
    reader = layered.StreamingReader()
    layers = [chunk.layer for at in range(0, len(data), 512) for chunk in reader.feed(data[at:at + 512])]
    assert layers == [0, 1, 2] and reader.done and reader.damage is None
    assert time.perf_counter() - start < 20  # about 1 s


def test_plt_packet_lengths_are_bounded():
    data = fuzz.cases()["j2k-plt-655k"]()
    start = time.perf_counter()
    for error in everywhere(data[:70_000]) + [everywhere(data)[2]]:
        assert isinstance(error, classic_files.CorruptFile) and "takes more than 5 bytes" in str(error)
    assert time.perf_counter() - start < 5  # before: 4.6 s for the parse alone, per pass


def test_a_file_longer_than_its_picture_allows_is_cut_off(monkeypatch):
    monkeypatch.setattr(classic_layout, "MAX_HEADER_BYTES", 1000)
    monkeypatch.setattr(classic_layout, "MAX_BYTES_PER_PIXEL", 1)
    data = fuzz.progressive_jpeg(np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    limit = classic_layout.max_file_bytes(64, 48)
    assert len(data) > limit
    parsed = layered.parse(data)
    assert isinstance(parsed.damage, classic_files.FileTooLong)
    assert "more than a 64x48 picture can take" in str(parsed.damage)
    assert parsed.header.layer_ends[-1] <= limit
    with pytest.raises(classic_files.FileTooLong, match="headers take more than"):
        layered.parse(fuzz.codestream(64, 48, 3, comments=400))


def test_reading_a_classic_file_from_a_pipe_stops_at_the_layers_asked_for(seeds):
    data = seeds[1].data
    layout = seeds[1].layout
    endless = io.BufferedReader(io.BytesIO(data + b"\x00" * 10_000_000))
    got, extra = classic_files.read_from(endless, layers=3)
    assert got == data[:layout.layer_ends[2]] and extra is None
    got, extra = classic_files.read_from(io.BytesIO(data + b"junk"))
    assert got == data and extra is None


# --- fuzzing -----------------------------------------------------------------------------------

@settings(max_examples=150, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.integers(0, 2), fuzz.mutations(), st.integers(0, 2**32))
def test_mutated_classic_files_decode_their_intact_layers_or_fail_by_name(seeds, which, ops, pieces):
    outcome = fuzz.run_case(seeds[which], fuzz.mutate(seeds[which], ops), pieces)
    assert outcome.seconds < fuzz.CASE_SECONDS and outcome.rss_growth < fuzz.CASE_MEMORY


@pytest.mark.parametrize("which", [0, 1, 2])
def test_every_cut_keeps_the_complete_layers(seeds, which):
    seed = seeds[which]
    for cut in range(0, len(seed.data), 7):
        try:
            parsed = layered.parse(seed.data[:cut])
        except (classic_files.TruncatedFile, container.ContainerError):  # too short to be told from a .strata file
            assert cut < seed.layout.layer_ends[0]
            continue
        assert len(parsed.layers) == sum(end <= cut for end in seed.layout.layer_ends)
    for end in seed.layout.layer_ends:
        fuzz.run_case(seed, seed.data[:end - 1], pieces=end)
        fuzz.run_case(seed, seed.data[:end], pieces=end)


def test_the_harness_notices_a_broken_reader(seeds, monkeypatch):
    seed = seeds[2]
    monkeypatch.setattr(classic.ClassicLayerDecoder, "synthesize",
                        lambda self, layer=None: np.zeros((1, 1, 3), np.uint8))
    with pytest.raises(fuzz.FuzzFailure, match="picture uint8 \\(1, 1, 3\\)"):
        fuzz.run_case(seed, seed.data)
    monkeypatch.undo()

    def crash(data):
        raise IndexError("boom")
    monkeypatch.setattr(classic_files, "parse", crash)
    with pytest.raises(fuzz.FuzzFailure, match="IndexError"):
        fuzz.run_case(seed, seed.data)
