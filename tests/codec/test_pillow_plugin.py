"""The Pillow plugin: Image.open reads the header, load() decodes through codec.api, save encodes."""
import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, UnidentifiedImageError

from codec import api, container, pillow_plugin, registry

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def strata_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("plugin") / "tile.strata"
    path.write_bytes(data)
    return path


def pixels(image):
    return np.asarray(image)


def test_registered():
    assert Image.registered_extensions()[".strata"] == "STRATA"
    assert Image.MIME["STRATA"] == "application/x-strata"
    assert "STRATA" in Image.OPEN and "STRATA" in Image.SAVE
    pillow_plugin.register()  # idempotent
    assert Image.ID.count("STRATA") == 1


def test_open_reads_the_header_only(strata_file, data):
    header = container.read_header(data)
    with Image.open(strata_file) as img:
        assert img.format == "STRATA"
        assert img.get_format_mimetype() == "application/x-strata"
        assert img.size == (64, 48) and img.mode == "RGB"
        assert img.info["codec"] == "deephq" and img.info["model_id"] == 0
        assert img.info["layers"] == header.num_layers
        assert img.info["psnr"] == header.layer_psnr
        assert img.info["layer_bytes"][-1] == len(data)
        assert img.info["source_mode"] == "RGB"
        assert img.tile and "decoded_layers" not in img.info  # nothing decoded yet


def test_opening_does_not_import_torch(strata_file):
    code = ("import sys; import codec.pillow_plugin; from PIL import Image; "
            f"img = Image.open({str(strata_file)!r}); assert img.size == (64, 48); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO, timeout=120)


def test_load_decodes_every_layer(strata_file, data):
    expected = api.decode(data, device="cpu").image()
    with Image.open(strata_file) as img:
        img.load()
        assert img.info["decoded_layers"] == img.info["layers"]
        assert img.mode == "RGB" and img.size == (64, 48)
        assert np.array_equal(pixels(img), pixels(expected))
        assert img.fp is None  # the file is closed after loading


@pytest.mark.parametrize("layers", [1, 3])
def test_load_fewer_layers(data, layers):
    img = Image.open(io.BytesIO(data))
    img.layers = layers
    converted = img.convert("RGB")  # any pixel access loads
    assert img.info["decoded_layers"] == layers
    assert np.array_equal(pixels(converted), pixels(api.decode(data, layers=layers, device="cpu").image()))


def test_too_many_layers_are_clamped_and_negative_rejected(data):
    img = Image.open(io.BytesIO(data))
    img.layers = 99
    img.load()
    assert img.info["decoded_layers"] == img.info["layers"]
    img = Image.open(io.BytesIO(data))
    img.layers = -1
    with pytest.raises(ValueError):
        img.load()


def test_grayscale_source_opens_as_L(tile):
    data = api.encode(Image.fromarray(tile).convert("L"), device="cpu")
    img = Image.open(io.BytesIO(data))
    assert img.mode == "L" and img.info["source_mode"] == "L"
    img.layers = 1
    img.load()
    assert img.mode == "L" and pixels(img).shape == (48, 64)


def test_save_round_trip(tmp_path, tile):
    path = tmp_path / "saved.strata"
    Image.fromarray(tile).save(path)  # format from the extension, DeepHQ by default
    assert path.read_bytes().startswith(container.MAGIC)
    with Image.open(path) as img:
        assert img.info["codec"] == "deephq" and img.size == (64, 48)
        expected = api.decode(path.read_bytes(), device="cpu").image()
        assert np.array_equal(pixels(img), pixels(expected))
    buffer = io.BytesIO()
    Image.fromarray(tile).save(buffer, "STRATA", codec="deephq")
    assert buffer.getvalue()[:len(container.MAGIC)] == container.MAGIC


def test_save_hc_quality(tile):
    if not registry.weights_file("hc", 2).exists():
        pytest.skip("HC weights hc_q2.pt are not installed")
    buffer = io.BytesIO()
    Image.fromarray(tile).save(buffer, "STRATA", codec="hc", quality=2)
    img = Image.open(io.BytesIO(buffer.getvalue()))
    assert img.info["codec"] == "hc" and img.info["model_id"] == 2
    img.load()


def test_save_at_an_effort_writes_what_the_api_writes(tile):
    buffer = io.BytesIO()
    Image.fromarray(tile).save(buffer, "STRATA", effort=2)
    assert buffer.getvalue() == api.encode(tile, device="cpu", effort=2) != api.encode(tile, device="cpu")
    with pytest.raises(OSError, match="effort is a level from 1"):
        Image.fromarray(tile).save(io.BytesIO(), "STRATA", effort=12)


def test_save_bad_options_raise_and_leave_no_file(tmp_path, tile):
    path = tmp_path / "bad.strata"
    with pytest.raises(OSError, match="single model|one model"):
        Image.fromarray(tile).save(path, quality=3)  # DeepHQ has no quality setting
    assert not path.exists()
    with pytest.raises(OSError, match="unknown codec"):
        Image.fromarray(tile).save(io.BytesIO(), "STRATA", codec="jpeg")


def test_truncated_file(data, monkeypatch):
    header = container.read_header(data)
    cut = header.layer_offset(4) + header.layer_lengths[4] // 2  # inside layer 4
    assert header.layer_lengths[4] > 0
    prefix = data[:cut]
    expected = api.decode(prefix, device="cpu").image()  # layers 0..3

    img = Image.open(io.BytesIO(prefix))  # the header is complete: open succeeds
    with pytest.raises(OSError, match="4 of 8 quality layers intact.*truncated"):
        img.load()

    img = Image.open(io.BytesIO(prefix))
    img.layers = 4  # asks only for what is there
    img.load()
    assert np.array_equal(pixels(img), pixels(expected))

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    img = Image.open(io.BytesIO(prefix))
    img.load()
    assert img.info["decoded_layers"] == 4
    assert np.array_equal(pixels(img), pixels(expected))

    img = Image.open(io.BytesIO(data[:header.size + 3]))  # no complete layer at all
    with pytest.raises(OSError, match="no complete quality layer"):
        img.load()


def test_truncated_header_and_damage(data):
    with pytest.raises(OSError, match="header"):
        Image.open(io.BytesIO(data[:20]))
    damaged = bytearray(data)
    damaged[-6] ^= 0xFF  # last layer's payload
    img = Image.open(io.BytesIO(bytes(damaged)))
    with pytest.raises(SyntaxError, match="corrupted"):
        img.verify()
    Image.open(io.BytesIO(data)).verify()  # an intact file verifies
    img = Image.open(io.BytesIO(bytes(damaged)))
    with pytest.raises(OSError, match="7 of 8 quality layers intact.*corrupted"):
        img.load()


def test_undecodable_layer_with_a_valid_crc(data, monkeypatch):
    header = container.read_header(data)
    start, length = header.layer_offset(4), header.chunks[4][0]  # the first chunk of layer 5
    broken = bytearray(data)
    broken[start:start + length] = b"\xff" * length  # garbage for the entropy decoder, CRC fixed up
    broken[start + length:start + length + 4] = struct.pack("<I", zlib.crc32(b"\xff" * length))
    img = Image.open(io.BytesIO(bytes(broken)))
    with pytest.raises(OSError, match="only 4 of 8 requested quality layers decode"):
        img.load()
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    img = Image.open(io.BytesIO(bytes(broken)))
    img.load()
    assert img.info["decoded_layers"] == 4
    assert np.array_equal(pixels(img), pixels(api.decode(data, layers=4, device="cpu").image()))


def test_pixel_limit_is_a_decompression_bomb(data, monkeypatch):
    monkeypatch.setattr(api, "MAX_IMAGE_PIXELS", 1000)  # the tile has 3072
    img = Image.open(io.BytesIO(data))  # Pillow's own limit is far higher: open works
    with pytest.raises(Image.DecompressionBombError, match="limit of 1,000 pixels"):
        img.load()


def test_other_files_are_not_claimed(tile):
    png = io.BytesIO()
    Image.fromarray(tile).save(png, "PNG")
    assert not pillow_plugin._accept(png.getvalue()[:16])
    assert Image.open(png).format == "PNG"
    stripped = bytes(b & 0x7F for b in container.MAGIC) + b"\0" * 32  # 7-bit mangled magic
    assert not pillow_plugin._accept(stripped)
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(stripped))


def test_load_reads_only_the_layers_it_decodes(data):
    """The plugin read the whole rest of the file whatever it needed (issue 19, item 4)."""
    header = container.read_header(data)
    stream = io.BytesIO(data + bytes(1 << 20))
    img = Image.open(stream)
    assert stream.tell() == header.size  # open reads the header only
    img.layers = 2
    img.load()
    assert img.info["decoded_layers"] == 2 and stream.tell() == header.layer_offset(2)


def test_a_decompression_bomb_is_an_oserror(data):
    """8192x4096 announced over zeros just long enough for layer 0's length check (item 1)."""
    parsed = container.parse_container(data)
    z = registry.load_codec("deephq", 0, "cpu").z_coder
    zeros = bytes(-(-z.min_bytes((z.freqs.shape[0], 64, 128)) // 4) * 4)  # passes the length check
    header = container.Header(**{**parsed.header.__dict__, "width": 8192, "height": 4096,
                                 "layer_lengths": (len(zeros),) + (0,) * 7, "chunk_lengths": None})
    img = Image.open(io.BytesIO(container.write_container(header, [zeros] + [b""] * 7)))
    with pytest.raises(OSError, match="cannot decode Strata file: decoding stops at quality layer 1: layer 1 has .*holds at least"):
        img.load()


def test_running_out_of_memory_is_an_oserror(data, monkeypatch):
    from codec.codecs.deephq import DeepHQLayerDecoder

    def decode_chunk(self, payload, layer, part):
        raise MemoryError("Unable to allocate 13.6 GiB for an array")
    monkeypatch.setattr(DeepHQLayerDecoder, "decode_chunk", decode_chunk)
    with pytest.raises(OSError, match="decoding the 64x48 picture ran out of memory"):
        Image.open(io.BytesIO(data)).load()
