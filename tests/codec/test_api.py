"""The public API on odd inputs: modes, sizes, orientation, and the CLI around it."""
import io
import json
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from codec import api, cli, container, images, memory


def decode_all(data):
    return api.decode(data, device="cpu")


@pytest.mark.filterwarnings("ignore::codec.images.ConversionWarning")
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "I", "1", "F"])
def test_every_mode_encodes_and_decodes(tile, mode):
    image = Image.fromarray(tile)
    if mode == "I;16":
        image = Image.fromarray((np.asarray(image.convert("L")).astype(np.uint16) * 257))
    elif mode == "I":
        image = image.convert("L").convert("I")
    else:
        image = image.convert(mode)
    rgb = images.to_rgb(image)
    assert rgb.dtype == np.uint8 and rgb.shape == (48, 64, 3)
    result = decode_all(api.encode(image, device="cpu"))
    assert result.complete and result.last.rgb.shape == (48, 64, 3)
    expected_mode = images.source_mode(image)
    assert result.header.source_mode == expected_mode
    assert result.image().mode == ("L" if expected_mode in ("L", "LA") else "RGB")


def test_sixteen_bit_gray_keeps_its_range():
    ramp = np.linspace(0, 65535, 64 * 8).reshape(8, 64).astype(np.uint16)
    with pytest.warns(images.ConversionWarning, match="16-bit"):
        rgb = images.to_rgb(Image.fromarray(ramp))
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255


def test_alpha_is_composited_on_white():
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 200  # red, fully transparent
    with pytest.warns(images.ConversionWarning, match="alpha channel"):
        assert np.all(images.to_rgb(Image.fromarray(rgba, "RGBA")) == 255)


# --- what a picture loses on its way to RGB uint8 is said (issue 32, item 8) --------------------

def sixteen_bit_png(path, channels: int = 3) -> None:
    """A 4x2 PNG of 16-bit samples (colour type 2: RGB, 6: RGBA), which Pillow reads as 8-bit."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", 4, 2, 16, {3: 2, 4: 6}[channels], 0, 0, 0)
    rows = b"".join(b"\0" + bytes(range(1, 1 + 8 * channels)) for _ in range(2))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))


def translucent(tile) -> Image.Image:
    rgba = Image.fromarray(tile).convert("RGBA")
    rgba.putpixel((0, 0), (10, 20, 30, 128))
    return rgba


def test_a_translucent_image_says_its_alpha_was_dropped(tmp_path, tile):
    translucent(tile).save(tmp_path / "alpha.png")
    Image.fromarray(tile).convert("RGBA").save(tmp_path / "opaque.png")  # an alpha channel that hides nothing
    assert images.load_image(tmp_path / "alpha.png").notes == (images.ALPHA_NOTE,)
    assert images.load_image(tmp_path / "opaque.png").notes == ()
    with pytest.warns(images.ConversionWarning, match=r"^its transparency \(alpha channel\) was composited onto white"):
        images.open_image(tmp_path / "alpha.png")


@pytest.mark.parametrize("channels, notes", [(3, ("its 16-bit samples were reduced to 8 bits",)),
                                             (4, (images.ALPHA_NOTE, "its 16-bit samples were reduced to 8 bits"))])
def test_sixteen_bit_colour_says_it_was_reduced(tmp_path, channels, notes):
    """Pillow itself reads a 16-bit RGB PNG as 8-bit RGB: only the file's rawmode tells."""
    sixteen_bit_png(tmp_path / "deep.png", channels)
    assert images.load_image(tmp_path / "deep.png").notes == notes


def test_deep_gray_and_float_say_what_they_lost():
    ramp = np.linspace(0, 65535, 64 * 8).reshape(8, 64).astype(np.uint16)
    assert images.conversion_notes(Image.fromarray(ramp)) == ("its 16-bit samples were reduced to 8 bits",)
    exact = Image.fromarray(np.full((4, 4), 7.0, dtype=np.float32))
    assert images.conversion_notes(exact) == ()  # whole levels in 0..255 lose nothing
    with pytest.warns(images.ConversionWarning, match="floating-point samples were clipped"):
        images.to_rgb(Image.fromarray(np.full((4, 4), 7.25, dtype=np.float32)))


def test_the_encoder_warns_what_a_picture_loses(tile):
    with pytest.warns(images.ConversionWarning, match="alpha channel"):
        api.encode(translucent(tile), codec="jpeg-progressive")


def test_exif_orientation_is_applied(tile):
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(tile).save(buffer, "JPEG", exif=exif, quality=95)
    rgb = images.to_rgb(Image.open(buffer))
    assert rgb.shape == (64, 48, 3)


@pytest.mark.parametrize("shape", [(1, 1), (1, 97), (70, 1), (3, 5)])
def test_tiny_and_strip_images(sample_rgb, shape):
    rgb = sample_rgb[: shape[0], : shape[1]].copy()
    result = decode_all(api.encode(rgb, device="cpu"))
    assert result.last.rgb.shape == (*shape, 3)


def test_not_an_image_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(images.ImageInputError, match="not a readable image"):
        api.encode(path)


@pytest.mark.parametrize("content, expected", [
    (b"hello world", 'not a readable image: it holds text ("hello wo...")'),
    (b"", "not a readable image: it holds no bytes at all"),
    (bytes(range(32)), "not a readable image: it holds the bytes 00 01 02 03 04 05 06 07"),
    (b"%PDF-1.7\n" + bytes(40), "not a readable image: it looks like a PDF document, but its contents cannot be read"),
])
def test_an_unreadable_image_is_described_without_its_name(tmp_path, content, expected):
    """Both front-ends put the file's name before the message: it said the name twice, and Pillow's words."""
    path = tmp_path / "picture.png"
    path.write_bytes(content)
    with pytest.raises(images.ImageInputError) as error:
        images.open_image(path)
    assert str(error.value) == expected
    with pytest.raises(images.ImageInputError, match="^no such file$"):
        images.open_image(tmp_path / "missing.png")


def test_progressive_decoder_accepts_pieces_of_any_size(tile):
    data = api.encode(tile, device="cpu")
    decoder = api.ProgressiveDecoder(device="cpu")
    got = []
    rng = np.random.default_rng(0)
    position = 0
    while position < len(data):
        size = int(rng.integers(1, 40))
        got += [(layer.index, layer.parts, layer.complete) for layer in decoder.feed(data[position : position + size])]
        position += size
    assert [index for index, _, complete in got if complete] == list(range(8)) and decoder.done
    assert got == sorted(got) and len(set(got)) == len(got)  # refinements in order, each once
    assert any(not complete for _, _, complete in got)  # some pieces ended inside a layer
    got = [index for index, _, _ in got]
    header = container.read_header(data)
    assert decoder.layers[-1].bytes_used == len(data)
    assert [l.psnr for l in decoder.layers] == list(header.layer_psnr)


def test_open_layer_decoder_makes_the_api_s_checks_and_decodes_alike(data):
    header = container.read_header(data)
    decoder = api.open_layer_decoder(header, device="cpu", history=True)
    parsed = container.parse_container(data)
    assert [decoder.decode_symbols(parsed.layer_chunks(i)) for i in range(8)] == list(range(8))
    expected = api.decode(data, device="cpu").layers
    assert all(np.array_equal(decoder.synthesize(i), layer.rgb) for i, layer in enumerate(expected))
    with pytest.raises(api.ImageTooLarge, match="64x48 picture"):
        api.open_layer_decoder(header, device="cpu", max_pixels=3000)
    other = container.Header(**{**header.__dict__, "weights_digest": bytes(8)})
    with pytest.raises(api.WeightsMismatch, match="encoded with deephq weights 0000000000000000"):
        api.open_layer_decoder(other, device="cpu")


def test_cli_encode_info_decode(tmp_path, tile, capsys):
    source = tmp_path / "tile.png"
    Image.fromarray(tile).save(source)
    assert cli.main(["encode", str(source), "-q", "--device", "cpu"]) == cli.EXIT_OK
    target = tmp_path / "tile.strata"
    assert target.exists()
    assert cli.main(["encode", str(source), "-q"]) == cli.EXIT_FAILED  # exists, not overwritten
    assert cli.main(["info", "--json", str(target)]) == cli.EXIT_OK
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert info["num_layers"] == 8 and info["complete"] and info["file_bytes"] == target.stat().st_size
    assert cli.main(["decode", str(target), "--layers", "2", "-o", str(tmp_path / "out.png"), "-q"]) == cli.EXIT_OK
    assert Image.open(tmp_path / "out.png").size == (64, 48)
    assert cli.main(["encode", str(source), str(tmp_path / "named.strata"), "-q"]) == cli.EXIT_OK
    assert cli.main(["decode", str(tmp_path / "named.strata"), "--layers", "3", str(tmp_path / "named.png"), "-q"]) == cli.EXIT_OK
    assert Image.open(tmp_path / "named.png").size == (64, 48)
    (tmp_path / "bad.strata").write_bytes(b"\x89STRATA\n" + b"\x00" * 20)
    assert cli.main(["info", str(tmp_path / "bad.strata")]) == cli.EXIT_FAILED
    assert "bad.strata" in capsys.readouterr().err


@pytest.mark.parametrize("codec, quality", [("deephq", None), ("hc", 1)])
def test_an_encode_without_psnr_writes_the_same_layers_and_says_psnr_is_unknown(tile, codec, quality):
    measured = container.parse_container(api.encode(tile, codec=codec, quality=quality, device="cpu"))
    unmeasured = container.parse_container(api.encode(tile, codec=codec, quality=quality, device="cpu", psnr=False))
    assert unmeasured.layers == measured.layers and unmeasured.header.params == measured.header.params
    assert all(p is None for p in unmeasured.header.layer_psnr)
    assert all(p is not None and p > 20 for p in measured.header.layer_psnr[-1:])


def test_cli_encode_without_psnr_says_so(tmp_path, tile, capsys):
    source = tmp_path / "tile.png"
    Image.fromarray(tile).save(source)
    assert cli.main(["encode", str(source), "--no-psnr", "--device", "cpu"]) == cli.EXIT_OK
    assert "PSNR not measured" in capsys.readouterr().out


# --- the encoder's pixel and memory budget (issue 19, item 5) ----------------------------------

def test_the_encoder_refuses_a_huge_image_before_decoding_its_pixels(tmp_path):
    """A 12000x12000 PNG of a few kB ended in MemoryError (uncapped it would need about 40 GiB)."""
    path = tmp_path / "huge.png"
    Image.new("1", (12000, 12000)).save(path)
    tracemalloc.start()
    try:
        with pytest.raises(api.ImageTooLarge, match=r"12000x12000 picture \(144,000,000 pixels\), more than "
                                                    r"the limit of 33,554,432 pixels"):
            api.encode(path, device="cpu")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000  # its RGB pixels alone would be 432 MB


def test_the_encoders_pixel_limit_applies_to_every_input_and_can_be_raised(tile, monkeypatch):
    monkeypatch.setattr(api, "MAX_IMAGE_PIXELS", 3000)
    for image in (tile, Image.fromarray(tile)):
        with pytest.raises(api.ImageTooLarge, match="64x48 picture"):
            api.encode(image, device="cpu")
    assert api.decode(api.encode(tile, device="cpu", max_pixels=3072), device="cpu", max_pixels=3072).complete


def test_the_encoder_refuses_a_picture_that_cannot_fit_in_memory(monkeypatch):
    from codec.codecs.deephq import DeepHQCodec

    monkeypatch.setattr(memory, "available_bytes", lambda: 256 * 2**20)
    monkeypatch.setattr(DeepHQCodec, "encode", lambda self, rgb: pytest.fail("the encoder ran"))
    with pytest.raises(memory.InsufficientMemory,
                       match=r"encoding a 2000x2000 picture with deephq needs about [\d.]+ GiB.* only 0.2 GiB"):
        api.encode(np.zeros((2000, 2000, 3), np.uint8), device="cpu")


def test_an_allocation_failure_while_encoding_is_named(tile, monkeypatch):
    from codec.codecs.deephq import DeepHQCodec

    def encode(self, rgb, reconstruct=True, effort=1, progress=None):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 40000000000 bytes")
    monkeypatch.setattr(DeepHQCodec, "encode", encode)
    with pytest.raises(memory.InsufficientMemory, match="encoding the 64x48 picture ran out of memory"):
        api.encode(tile, device="cpu")
