"""`strata info --original`: PSNR and MS-SSIM of every layer against the original picture."""
import json

import numpy as np
import pytest
from PIL import Image

from codec import api, cli
from codec.evaluation import metrics


@pytest.fixture(scope="module")
def measurable(sample_rgb, tmp_path_factory):
    """A 176x168 crop of the sample (large enough for MS-SSIM), as PNG, and its DeepHQ file."""
    folder = tmp_path_factory.mktemp("original")
    rgb = sample_rgb[100:268, 200:376].copy()
    Image.fromarray(rgb).save(folder / "crop.png")
    (folder / "crop.strata").write_bytes(api.encode(rgb, device="cpu"))
    return folder / "crop.png", folder / "crop.strata"


def test_info_with_the_original_prints_psnr_and_ms_ssim_of_every_layer(measurable, capsys):
    original, layered = measurable
    assert cli.main(["info", str(layered), "--original", str(original)]) == cli.EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    table = lines[lines.index(f"  against {original}:") + 2:]
    decoded = api.decode(layered.read_bytes(), device="cpu").layers
    rgb = np.asarray(Image.open(original).convert("RGB"))
    assert [line.split() for line in table] == [
        [str(i + 1), f"{metrics.psnr(rgb, layer.rgb):.2f}", f"{metrics.ms_ssim(rgb, layer.rgb):.4f}"]
        for i, layer in enumerate(decoded)]
    assert len(table) == 8


def test_info_json_with_the_original_and_a_picture_too_small_for_ms_ssim(tmp_path, data, tile, capsys):
    Image.fromarray(tile).save(tmp_path / "tile.png")
    (tmp_path / "tile.strata").write_bytes(data)
    assert cli.main(["info", str(tmp_path / "tile.strata"), "--json", "--original", str(tmp_path / "tile.png")]) == 0
    measured = json.loads(capsys.readouterr().out)["measured"]
    assert [row["layer"] for row in measured] == list(range(1, 9))
    assert all(row["ms_ssim"] is None and row["psnr"] > 15 for row in measured)


def test_info_with_another_pictures_size_fails_naming_it(measurable, tmp_path, capsys):
    _, layered = measurable
    other = tmp_path / "other.png"
    Image.new("RGB", (20, 10)).save(other)
    assert cli.main(["info", str(layered), "--original", str(other)]) == cli.EXIT_FAILED
    assert f"{other} is not the file's picture: it is 20x10" in capsys.readouterr().err
