"""`strata eval` on a folder: learned curves, anchors, BD-rates, and reusing earlier curves."""
import json

from PIL import Image

from codec import cli, evaluate


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
