"""Classic-codec anchors on a tiny synthetic image: monotone RD points, JPEG 2000 layer prefixes."""
import io

import numpy as np
import pytest
from PIL import Image, ImageFile

from codec.evaluation import anchors
from codec.evaluation.anchors import ANCHORS, RDPoint, decode, encode, interpolate_psnr, jpeg_scan_prefixes, measure
from codec.evaluation.metrics import psnr


def synthetic_image(height: int = 64, width: int = 64) -> np.ndarray:
    """A uint8 (height, width, 3) image: smooth colour gradients plus noise."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([200 * x + 30, 120 + 90 * np.sin(5 * y), 180 * x * y + 40], axis=2)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def image():
    return synthetic_image()


@pytest.mark.parametrize("name", list(ANCHORS))
def test_more_bytes_never_lower_psnr(name, image):
    points = sorted(measure(name, [image], cache_dir=None), key=lambda p: p.bpp)
    assert len(points) >= 8
    psnrs = [p.psnr for p in points]
    assert psnrs == sorted(psnrs)
    assert all(p.ms_ssim is None and p.encode_ms >= 0 and p.decode_ms >= 0 for p in points)


def decode_first_layers(data: bytes, layers: int) -> np.ndarray:
    """The full codestream decoded to its first `layers` quality layers, via Pillow's tile args."""
    with Image.open(io.BytesIO(data)) as im:
        tile = im.tile[0]
        codec, reduce, _, fd, length = tile.args
        args = (codec, reduce, layers, fd, length)
        im.tile = [ImageFile._Tile(tile.codec_name, tile.extents, tile.offset, args)]
        return np.asarray(im.convert("RGB"))


def test_jpeg2000_prefixes_decode_to_their_layers():
    image = synthetic_image(128, 128)  # at 64x64 the lowest layers are smaller than the headers
    data = encode(image, ANCHORS["jpeg2000"], {})
    prefixes = anchors.j2k_layer_prefixes(data)
    assert len(prefixes) == 12
    assert [len(p) for p in prefixes] == sorted({len(p) for p in prefixes})
    psnrs = []
    for layers, prefix in enumerate(prefixes, start=1):
        decoded = decode(prefix)
        assert np.array_equal(decoded, decode_first_layers(data, layers))
        psnrs.append(psnr(image, decoded))
    assert all(a < b for a, b in zip(psnrs, psnrs[1:])), psnrs


def test_jpeg2000_without_plt_is_refused(image):
    options = {key: value for key, value in ANCHORS["jpeg2000"].options.items() if key != "plt"}
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG2000", **options)
    with pytest.raises(ValueError, match="plt=True"):
        anchors.j2k_layer_prefixes(buffer.getvalue())


def test_progressive_jpeg_is_cut_after_each_of_its_ten_scans(image):
    data = encode(image, ANCHORS["jpeg-progressive"], {})
    prefixes = jpeg_scan_prefixes(data)
    assert len(prefixes) == 10  # libjpeg's default progression script for colour images
    assert prefixes[-1] == data


def test_cache_makes_a_second_measure_skip_coding(image, tmp_path, monkeypatch):
    first = measure("jpeg", [image], cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1
    monkeypatch.setattr(anchors, "_measure_image", lambda *args: pytest.fail("cache not used"))
    assert measure("jpeg", [image], cache_dir=tmp_path) == first


def test_ms_ssim_only_when_asked(tmp_path):
    big = synthetic_image(176, 176)
    measure("jpeg", [big], cache_dir=tmp_path)
    points = measure("jpeg", [big], with_ms_ssim=True, cache_dir=tmp_path)
    assert all(0 < p.ms_ssim <= 1 for p in points)


def test_means_over_images(image):
    flipped = np.ascontiguousarray(image[::-1, ::-1])
    single = [measure("webp", [im], cache_dir=None) for im in (image, flipped)]
    both = measure("webp", [image, flipped], cache_dir=None)
    for a, b, mean in zip(*single, both):
        assert mean.bpp == pytest.approx((a.bpp + b.bpp) / 2)
        assert mean.psnr == pytest.approx((a.psnr + b.psnr) / 2)


def test_interpolate_psnr_in_log_bpp():
    points = [RDPoint(0.5, 30.0, 0, 0), RDPoint(0.125, 24.0, 0, 0), RDPoint(1.0, 31.0, 0, 0)]
    assert interpolate_psnr(points, 0.25) == pytest.approx(27.0)
    assert interpolate_psnr(points, 0.5, "pchip") == pytest.approx(30.0)
    assert 27.0 < interpolate_psnr(points, 0.25, "pchip") < 30.0
    with pytest.raises(ValueError, match="outside"):
        interpolate_psnr(points, 2.0)
