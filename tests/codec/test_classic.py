"""JPEG 2000 with quality layers and progressive JPEG as layered files (codec/classic_files.py,
codec/codecs/classic.py, codec/layered.py): layouts, streaming, decoding through the protocol,
budgets, and bad files that give clear errors, never a crash."""
import io
import json
import random

import numpy as np
import pytest
from PIL import Image

from codec import api, classic_files, cli, container, layered, registry
from codec.codecs.classic import J2K_OPTIONS, JPEG_OPTIONS, JPEG_QUALITY, ProgressiveJPEGCodec
from codec.coding.entropy_coding import CorruptStream
from codec.coding.latent_coding import InvalidCodecParameters
from codec.evaluation import anchors
from codec.evaluation.metrics import psnr

CLASSIC = [spec.name for spec in registry.CLASSIC]


@pytest.fixture(scope="module")
def files(small_rgb):
    """Each classic codec's complete file of the 96x136 crop."""
    return {name: api.encode(small_rgb, codec=name) for name in CLASSIC}


def save(rgb, fmt, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt, **options)
    return buffer.getvalue()


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def test_the_settings_are_those_of_the_measured_anchors():
    j2k = {k: v for k, v in anchors.ANCHORS["jpeg2000"].options.items() if k not in ("no_jp2", "quality_layers")}
    assert J2K_OPTIONS == j2k
    assert anchors.ANCHORS["jpeg2000"].options["quality_layers"] == [24 / bpp for bpp in anchors.J2K_LAYER_BPP]
    assert {**JPEG_OPTIONS, "quality": JPEG_QUALITY} == anchors.ANCHORS["jpeg-progressive"].options


@pytest.mark.parametrize("name, kind, layers", [("jpeg2000", "jp2", 12), ("jpeg-progressive", "jpeg", 10)])
def test_a_file_is_its_layers_and_each_prefix_decodes(files, small_rgb, name, kind, layers):
    data = files[name]
    parsed = layered.parse(data)
    layout = parsed.header
    assert isinstance(layout, layered.LayeredFile) and isinstance(container.read_header(api.encode(
        small_rgb[:8, :8], device="cpu", psnr=False)), layered.LayeredFile)
    assert (layout.kind, layout.codec, layout.num_layers, layout.width, layout.height) == (kind, name, layers, 136, 96)
    assert parsed.complete and parsed.damage is None and b"".join(parsed.layers) == data
    assert layout.file_size == len(data) == sum(layout.layer_lengths) and layout.layer_offset(0) == 0
    assert layout.layer_psnr == (None,) * layers and layout.chunks == tuple((n,) for n in layout.layer_lengths)
    assert layout.layer_ends == tuple(layout.chunk_end(i, 0) for i in range(layers))
    pictures = [pixels(classic_files.decodable_prefix(data, layout, i)) for i in range(layers)]
    assert np.array_equal(pictures[-1], pixels(data))
    quality = [psnr(small_rgb, p) for p in pictures]
    assert quality[-1] > quality[0] + 8 and quality[-1] > 38


def test_a_jpeg_layer_ends_after_the_marker_that_ends_its_scan(files):
    data = files["jpeg-progressive"]
    layout = layered.parse(data).header
    for data_end, layer_end in zip(layout.data_ends[:-1], layout.layer_ends[:-1]):
        assert data[data_end] == 0xFF and layer_end == data_end + 2 and data[data_end + 1] not in (0, *range(0xD0, 0xD8))
    assert data[layout.data_ends[-1]:] == b"\xff\xd9" == classic_files.decodable_prefix(data, layout, 0)[-2:]


@pytest.mark.parametrize("name", CLASSIC)
def test_any_pieces_stream_the_same_layers(files, name):
    data = files[name]
    expected = layered.parse(data)
    rng = random.Random(3)
    for attempt in range(4):
        reader, chunks, pos = layered.StreamingReader(), [], 0
        while pos < len(data):
            step = rng.choice([1, 2, 3, 7, 50, 400]) if attempt else 1
            chunks += reader.feed(data[pos:pos + step])
            pos += step
            assert [c.layer for c in chunks] == list(range(len(chunks)))
            assert sum(map(len, (c.payload for c in chunks))) <= pos  # a layer only once its end arrived
        assert [c.payload for c in chunks] == expected.layers and all(c.last and c.part == 0 for c in chunks)
        assert reader.done and reader.damage is None and reader.header == expected.header
        assert reader.feed(b"more") == [] and isinstance(reader.damage, classic_files.TrailingBytes)


@pytest.mark.parametrize("name", CLASSIC)
def test_the_api_streams_and_decodes_classic_files(files, small_rgb, name):
    data = files[name]
    layout = layered.parse(data).header
    decoder = api.ProgressiveDecoder(device="cpu")
    decoded = [layer for start in range(0, len(data), 500) for layer in decoder.feed(data[start:start + 500])]
    assert [(d.index, d.bytes_used) for d in decoded] == list(enumerate(layout.layer_ends))
    assert all(d.complete and d.psnr is None for d in decoded) and decoder.done and decoder.damage is None
    result = api.decode(data, layers=3)
    assert len(result.layers) == 3 and result.layers[-1].bytes_used == layout.layer_ends[2]
    assert np.array_equal(result.layers[-1].rgb, decoded[2].rgb)
    assert np.array_equal(api.decode(data).last.rgb, pixels(data))


def test_the_layer_decoder_checks_what_it_is_given(files):
    data = files["jpeg2000"]
    parsed = layered.parse(data)
    codec = registry.load_codec("jpeg2000")
    with pytest.raises(InvalidCodecParameters, match="no codec parameters"):
        codec.decoder(136, 96, b"\x01")
    decoder = codec.decoder(136, 96, b"")
    with pytest.raises(IndexError):
        decoder.synthesize()
    with pytest.raises(CorruptStream, match="do not end where"):
        decoder.decode_symbols(parsed.layers[0][:-1])
    decoder.decode_symbols(parsed.layers[0])
    with pytest.raises(InvalidCodecParameters, match="does not follow"):
        decoder.decode_chunk(parsed.layers[2], 2, 0)
    for layer in parsed.layers[1:]:
        decoder.decode_symbols(layer)
    with pytest.raises(InvalidCodecParameters, match="has 12 layers; the file has more"):
        decoder.decode_chunk(b"", 12, 0)
    other = codec.decoder(100, 96, b"")
    with pytest.raises(InvalidCodecParameters, match="is 136x96, not 100x96"):
        other.decode_symbols(parsed.layers[0])


# ---- bad files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CLASSIC)
def test_a_truncated_file_keeps_its_complete_layers(files, name):
    data = files[name]
    layout = layered.parse(data).header
    k = 4
    cut = data[:layout.layer_ends[k] + 3]  # ends inside layer k + 1 (from 0: layer k)
    parsed = layered.parse(cut)
    assert len(parsed.layers) == k + 1 and not parsed.complete and parsed.layers == layered.parse(data).layers[:k + 1]
    if name == "jpeg2000":  # its headers announce every layer
        assert parsed.header.num_layers == layout.num_layers and parsed.damage is None
    else:  # a JPEG's scans are known only as far as they go
        assert parsed.header.num_layers == k + 1 and isinstance(parsed.damage, classic_files.EndsInsideLayer)
        assert "inside scan 6" in str(parsed.damage) and "scans 1 to 5 can be shown" in str(parsed.damage)
    result = api.decode(cut)
    assert len(result.layers) == k + 1


@pytest.mark.parametrize("name, cut, words", [
    ("jpeg2000", 100, "inside its JPEG 2000 headers: nothing can be shown"),
    ("jpeg2000", -1, None),
    ("jpeg-progressive", 100, "before its first scan is complete: nothing can be shown"),
])
def test_a_file_cut_before_its_first_layer_says_so(files, name, cut, words):
    data = files[name]
    if cut == -1:  # inside the first layer's packets
        cut, words = layered.parse(data).header.layer_ends[0] - 1, "before its first quality layer is complete"
    with pytest.raises(classic_files.TruncatedFile, match=words):
        layered.parse(data[:cut])
    reader = layered.StreamingReader()
    assert reader.feed(data[:cut]) == [] and not reader.done


def test_ordinary_images_are_not_layered(small_rgb):
    with pytest.raises(classic_files.NotLayered, match="baseline JPEG, not a progressive one"):
        layered.parse(save(small_rgb, "JPEG", quality=80))
    one_layer = save(small_rgb, "JPEG2000", **J2K_OPTIONS, quality_layers=[20])
    with pytest.raises(classic_files.NotLayered, match="a single quality layer"):
        layered.parse(one_layer)
    with pytest.raises(classic_files.NotLayered):
        layered.StreamingReader().feed(one_layer)


@pytest.mark.parametrize("options, words", [
    ({"plt": False}, "no packet lengths.*plt=True"),
    ({"progression": "RPCL"}, "progression order is RPCL, not layer-first"),
    ({"tile_size": (64, 64)}, "several tiles"),
])
def test_jpeg2000_layouts_strata_cannot_cut_are_named(small_rgb, options, words):
    data = save(small_rgb, "JPEG2000", **{**J2K_OPTIONS, "quality_layers": [40, 20, 10], **options})
    with pytest.raises(classic_files.UnsupportedLayout, match=words):
        layered.parse(data)


def test_trailing_bytes_are_reported_and_every_layer_kept(files):
    for data in files.values():
        parsed = layered.parse(data + b"junk")
        assert parsed.complete and len(parsed.layers) == parsed.header.num_layers
        assert isinstance(parsed.damage, classic_files.TrailingBytes) and "4 bytes follow" in str(parsed.damage)


def test_a_broken_jpeg_marker_keeps_the_scans_before_it(files):
    data = bytearray(files["jpeg-progressive"])
    layout = layered.parse(bytes(data)).header
    data[layout.data_ends[3]:layout.data_ends[3] + 4] = b"\xff\xc4\x00\x01"  # a segment of length 1
    parsed = layered.parse(bytes(data))
    assert len(parsed.layers) == 4 and isinstance(parsed.damage, classic_files.CorruptFile)
    assert parsed.damage.layer == 4 and "announces 1 bytes" in str(parsed.damage)
    reader = layered.StreamingReader()
    assert len(reader.feed(bytes(data))) == 4 and reader.damage.layer == 4


def test_hostile_bytes_give_value_errors_only(files):
    """Bit flips and cuts anywhere in the headers and first layers: the parse, the streaming
    reader and the decoder either work or raise a ValueError with a message; nothing else."""
    rng = random.Random(0)
    for data in files.values():
        for _ in range(150):
            damaged = bytearray(data)
            at = rng.randrange(min(len(data), 900))
            damaged[at] ^= 1 << rng.randrange(8)
            damaged = bytes(damaged[:rng.choice([len(data), rng.randrange(1, len(data))])])
            try:
                parsed = layered.parse(damaged)
            except ValueError as error:
                assert str(error)
                continue
            assert parsed.layers
            try:
                result = api.decode(damaged, device="cpu")
            except ValueError as error:
                assert str(error)
                continue
            assert result.last.rgb.shape == (result.header.height, result.header.width, 3)


def test_other_bytes_still_get_the_strata_errors():
    with pytest.raises(container.NotStrataFile):
        layered.parse(b"hello, world")
    assert layered.kind(b"") is None and layered.kind(b"\xff") is None and layered.kind(b"\x89STR") == "strata"
    assert layered.kind(b"\xff\xd8\xff\xe0") == "jpeg" and layered.kind(b"\xff\x4f\xff\x51") == "j2k"
    assert layered.kind(classic_files.JP2_SIGNATURE) == "jp2" and layered.kind(b"\x00\x00\x00\x0cjP  \r\n\x87\x0b") == "strata"


# ---- budgets -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CLASSIC)
@pytest.mark.parametrize("fraction", [0.15, 0.5, 0.9, 1.3])
def test_a_budget_is_met_by_the_codec_s_own_rate_control(files, small_rgb, name, fraction):
    budget = int(len(files[name]) * fraction)
    data = api.encode(small_rgb, codec=name, max_bytes=budget)
    parsed = layered.parse(data)
    assert len(data) <= budget and parsed.complete and parsed.header.num_layers >= 2
    if name == "jpeg2000":  # the last layer's rate is the budget's: the file fills it
        assert len(data) >= 0.93 * min(budget, len(files[name]) * 1.3)


def test_progressive_jpeg_takes_its_best_quality_that_fits(small_rgb):
    codec = ProgressiveJPEGCodec(None, None)
    sizes = {q: len(codec.save(small_rgb, q)) for q in (40, 41)}
    data = api.encode(small_rgb, codec="jpeg-progressive", max_bytes=sizes[40])
    assert data == codec.save(small_rgb, 40) and sizes[41] > sizes[40]


@pytest.mark.parametrize("name", CLASSIC)
def test_a_budget_too_small_is_refused(small_rgb, name):
    with pytest.raises(container.BudgetTooSmall, match="does not hold even the first quality layer"):
        api.encode(small_rgb, codec=name, max_bytes=60)


def test_cli_encodes_to_a_budget_and_info_reports_the_layers(tmp_path, small_rgb, capsys):
    source = tmp_path / "crop.png"
    Image.fromarray(small_rgb).save(source)
    assert cli.main(["encode", str(source), "--codec", "jpeg2000", "--max-bytes", "2500", "-d", str(tmp_path)]) == 0
    target = tmp_path / "crop.jp2"
    assert target.stat().st_size <= 2500 and "JPEG 2000" in capsys.readouterr().out
    assert cli.main(["encode", str(source), str(tmp_path / "p.jpg"), "--codec", "jpeg-progressive"]) == 0
    capsys.readouterr()
    assert cli.main(["info", str(target)]) == 0
    out = capsys.readouterr().out
    layout = layered.parse(target.read_bytes()).header
    assert "JPEG 2000 (JP2)" in out and f"{layout.num_layers} layers" in out and "ends at" in out
    assert f"{layout.layer_ends[-1]:9d}" in out
    assert cli.main(["info", "--json", str(tmp_path / "p.jpg")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "progressive JPEG" and info["num_layers"] == 10 and info["complete"]
    assert [layer["cumulative_bytes"] for layer in info["layers"]][-1] == (tmp_path / "p.jpg").stat().st_size
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "p.jpg").read_bytes()[:3000])
    assert cli.main(["decode", str(tmp_path / "cut.jpg"), str(tmp_path / "cut.png")]) == 0
    assert Image.open(tmp_path / "cut.png").size == (136, 96)
    (tmp_path / "base.jpg").write_bytes(save(small_rgb, "JPEG"))
    assert cli.main(["info", str(tmp_path / "base.jpg")]) == cli.EXIT_FAILED
    assert "baseline JPEG" in capsys.readouterr().err


def test_the_strata_pillow_format_refuses_a_classic_codec(small_rgb):
    import codec.pillow_plugin  # noqa: F401 - registers STRATA

    with pytest.raises(OSError, match="JPEG 2000 writes its own format, not .strata"):
        Image.fromarray(small_rgb).save(io.BytesIO(), "STRATA", codec="jpeg2000")
