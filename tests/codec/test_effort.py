"""Encoder effort levels: the latent search changes what the encoder picks, never the decoder."""
import numpy as np
import pytest

from codec import api, cli, container, effort, registry
from codec.coding import tiling
from codec.evaluation import metrics
from codec.models.deephq import LAMBDAS


@pytest.fixture(scope="module")
def crop(sample_rgb) -> np.ndarray:
    """A 64x96 crop of the sample with texture and edges, RGB uint8."""
    return sample_rgb[180:244, 300:396].copy()


def decoded_layers(data: bytes) -> list[np.ndarray]:
    decoder = api.ProgressiveDecoder(device="cpu")
    return [layer.rgb for layer in decoder.feed(data) if layer.complete]


def rd_cost(rgb: np.ndarray, data: bytes, layer: int, lmbda: float) -> float:
    """lambda 255^2 MSE + bpp of one layer of a file, measured by decoding it."""
    picture = decoded_layers(data)[layer]
    used = container.read_header(data).layer_offset(layer + 1)
    mse = np.mean((picture.astype(float) - rgb.astype(float)) ** 2) / 255**2
    return lmbda * 255**2 * mse + 8 * used / (rgb.shape[0] * rgb.shape[1])


@pytest.mark.parametrize("bad", [0, 10, -1, True, 2.0, "3"])
def test_an_effort_outside_1_to_9_is_refused_by_name(tile, bad):
    with pytest.raises(effort.InvalidEffort, match="from 1 .* to 9"):
        api.encode(tile, device="cpu", effort=bad)


def test_the_effort_table_grows_and_starts_without_search():
    steps = [effort.steps_of(level) for level in effort.EFFORTS]
    assert steps[0] == 0 and steps == sorted(steps) and len(set(steps)) == len(steps)


@pytest.mark.parametrize("codec, quality", [("deephq", None), ("hc", 2)])
def test_a_searched_file_decodes_to_the_pictures_its_header_promises(crop, codec, quality):
    plain = api.encode(crop, codec=codec, quality=quality, device="cpu")
    searched = api.encode(crop, codec=codec, quality=quality, device="cpu", effort=2)
    assert searched != plain
    header = container.read_header(searched)
    for picture, psnr in zip(decoded_layers(searched), header.layer_psnr):
        assert metrics.psnr(crop, picture) == pytest.approx(psnr, abs=0.006)  # the header keeps 0.01 dB


def test_the_search_is_deterministic(crop):
    assert api.encode(crop, device="cpu", effort=2) == api.encode(crop, device="cpu", effort=2)


@pytest.mark.parametrize("codec, quality, layer", [("deephq", None, 6), ("hc", 3, 2)])
def test_a_higher_effort_lowers_the_real_rate_distortion_cost_of_a_high_layer(crop, codec, quality, layer):
    lmbda = LAMBDAS[layer] if codec == "deephq" else registry.load_codec(codec, quality, "cpu").config.lmbda
    plain = api.encode(crop, codec=codec, quality=quality, device="cpu")
    searched = api.encode(crop, codec=codec, quality=quality, device="cpu", effort=5)
    assert rd_cost(crop, searched, layer, lmbda) < 0.98 * rd_cost(crop, plain, layer, lmbda)


def test_large_pictures_are_searched_tile_by_tile_without_seams(crop, monkeypatch):
    monkeypatch.setattr(tiling, "UNTILED_UNITS", 4)  # the 4x6-unit crop becomes several tiles
    monkeypatch.setattr(tiling, "TILE", 2)
    monkeypatch.setattr(tiling, "MARGIN", 1)
    data = api.encode(crop, device="cpu", effort=2)
    top = decoded_layers(data)[-1]
    assert metrics.psnr(crop, top) == pytest.approx(container.read_header(data).layer_psnr[-1], abs=0.006)
    assert metrics.psnr(crop, top) > 30


@pytest.mark.parametrize("codec, quality", [("deephq", None), ("hc", 1)])
def test_progress_rises_to_one_and_a_raise_cancels_the_encode(tile, codec, quality):
    seen = []
    api.encode(tile, codec=codec, quality=quality, device="cpu", effort=2, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and len(seen) > 8

    class Cancelled(Exception):
        pass

    def cancel(fraction):
        if fraction > 0.2:
            raise Cancelled

    with pytest.raises(Cancelled):
        api.encode(tile, codec=codec, quality=quality, device="cpu", effort=2, progress=cancel)


def test_tile_core_pixels_leave_out_margins_and_padding():
    tile = tiling.Tile(rows=(1, 4), cols=(0, 3), core_rows=(2, 4), core_cols=(0, 2))
    region = np.zeros((3 * 16, 3 * 16))
    region[tile.core_pixels((60, 20))] = 1  # the picture ends inside the core's last row and column
    assert region.sum() == (60 - 32) * 20
    assert region[16:44, 0:20].all()


def test_the_cli_encodes_at_an_effort_and_refuses_a_bad_one(tmp_path, tile, capsys):
    source = tmp_path / "tile.png"
    from PIL import Image
    Image.fromarray(tile).save(source)
    assert cli.main(["encode", str(source), str(tmp_path / "a.strata"), "--effort", "2", "-q"]) == cli.EXIT_OK
    assert (tmp_path / "a.strata").read_bytes() == api.encode(tile, device="cpu", effort=2)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["encode", str(source), str(tmp_path / "b.strata"), "--effort", "10"])
    assert exit_info.value.code == 2
