"""`strata eval` on a folder: learned curves, anchors, BD-rates, and reusing earlier curves."""
import json

import pytest
from PIL import Image

from codec import cli
from codec.evaluation import evaluate


def test_eval_measures_and_reuses_curves(tmp_path, sample_rgb, monkeypatch):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(sample_rgb[100:228, 200:392]).save(folder / "crop.png")
    first = tmp_path / "first.json"
    assert cli.main(["eval", str(folder), "--codecs", "deephq", "--anchors", "jpeg2000", "--device", "cpu",
                     "--json", str(first)]) == 0
    result = json.loads(first.read_text())
    points = result["curves"]["deephq"]
    assert len(points) == 8 and all(b["bpp"] > a["bpp"] for a, b in zip(points, points[1:]))
    assert set(result["bd_rate"]) == {"deephq vs jpeg2000"}

    def refuse(*_):
        raise AssertionError("a reused curve was measured again")

    monkeypatch.setattr(evaluate, "measure_layers", refuse)
    second = tmp_path / "second.json"
    assert cli.main(["eval", str(folder), "--codecs", "deephq", "--anchors", "jpeg2000", "--device", "cpu",
                     "--json", str(second), "--reuse", str(first)]) == 0
    assert json.loads(second.read_text())["curves"]["deephq"] == points


def test_single_rate_curve_alone_with_progress(tmp_path, sample_rgb, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(sample_rgb[i * 64 : i * 64 + 128, 200:328]).save(folder / f"crop{i}.png")
    out = tmp_path / "single.json"
    assert cli.main(["eval", str(folder), "--codecs", "deephq-single", "--anchors", "", "--device", "cpu",
                     "--json", str(out)]) == 0
    curves = json.loads(out.read_text())["curves"]
    assert list(curves) == ["deephq-single"] and len(curves["deephq-single"]) == 8
    progress = [line for line in capsys.readouterr().err.splitlines() if line.startswith("deephq-single:")]
    assert [line.split(",")[0] for line in progress] == ["deephq-single: 1/2 images", "deephq-single: 2/2 images"]


@pytest.mark.parametrize("option, name", [("--codecs", "hc-q7"), ("--codecs", "deepqh"), ("--anchors", "jpeg3000")])
def test_an_unknown_curve_is_a_usage_error_naming_the_known_ones(tmp_path, capsys, option, name):
    """--codecs hc-q7 measured nothing and exited 0; --anchors jpeg3000 ended in a KeyError."""
    argv = ["eval", str(tmp_path), "--codecs", "deephq", "--anchors", "", option, name]
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    known = "deephq, deephq-single, hc, hc-q1, hc-q2, hc-q3, hc-q4" if option == "--codecs" else "jpeg, jpeg-progressive, jpeg2000"
    assert err.startswith(f"strata: error: {option}: unknown {name}; known: {known}")
