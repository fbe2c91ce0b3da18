"""Encoding to a byte budget (issue 20, item 3): every codec's file fits, the header describes
what was kept, and a budget too small for the first layer is a clear error."""
import io
import json
import random

import numpy as np
import pytest
from PIL import Image

from codec import api, cli, container, registry
from codec.evaluation import metrics

HC_MODELS = registry.spec("hc").installed_model_ids()


def synthetic_file(lengths, seed=0):
    """A complete file with random payloads of the given lengths (no codec behind it)."""
    rng = random.Random(seed)
    layers = [rng.randbytes(n) for n in lengths]
    header = container.Header("deephq", 0, bytes(8), 640, 480, "RGB", tuple(lengths),
                              tuple(20.0 + i for i in range(len(lengths))), b"\x01" * 6)
    return header, layers, container.write_container(header, layers)


def test_the_longest_prefix_that_fits_is_written_with_its_own_header():
    header, layers, data = synthetic_file([40, 0, 25, 90, 7])
    smallest = container.prefix_header(header, 1).file_size
    for budget in range(smallest, len(data) + 3):
        cut = container.fit_to_budget(data, budget)
        parsed = container.parse_container(cut)
        kept = parsed.header.num_layers
        assert len(cut) <= budget and parsed.complete and parsed.damage is None
        assert parsed.layers == layers[:kept]
        assert parsed.header.layer_psnr == header.layer_psnr[:kept]
        assert parsed.header.params == header.params
        assert kept == header.num_layers or container.prefix_header(header, kept + 1).file_size > budget


def test_a_budget_below_the_first_layer_is_refused_naming_its_size():
    header, _, data = synthetic_file([40, 10])
    first = container.prefix_header(header, 1).file_size
    with pytest.raises(container.BudgetTooSmall, match=f"{first} bytes with the header"):
        container.fit_to_budget(data, first - 1)


def test_only_a_complete_intact_file_is_cut():
    _, _, data = synthetic_file([40, 10])
    with pytest.raises(ValueError, match="complete, intact"):
        container.fit_to_budget(data[:-1], 10_000)


def test_byte_budget_from_bytes_and_bits_per_pixel():
    assert api.byte_budget(64, 48) is None
    assert api.byte_budget(64, 48, max_bytes=500) == 500
    assert api.byte_budget(64, 48, max_bpp=1.0) == 384
    assert api.byte_budget(64, 48, max_bytes=300, max_bpp=1.0) == 300
    with pytest.raises(ValueError, match="at least 1 byte"):
        api.byte_budget(64, 48, max_bpp=0.001)


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.99])
def test_deephq_writes_the_chunks_that_fit(tile, data, fraction):
    budget = int(len(data) * fraction)
    cut = api.encode(tile, device="cpu", max_bytes=budget)
    full, kept = container.parse_container(data), container.parse_container(cut)
    n, parts = container.prefix_within(full.header, budget)
    assert len(cut) <= budget and kept.complete and kept.header.num_layers == n
    assert kept.layers[:-1] == full.layers[:n - 1] and full.layers[n - 1].startswith(kept.layers[-1])
    assert kept.header.chunks == full.header.chunks[:n - 1] + (full.header.chunks[n - 1][:parts],)
    result = api.decode(cut, device="cpu")
    assert result.complete and result.last.rgb.shape == tile.shape and result.last.parts == parts
    # the PSNR of a layer cut short is that of its picture, measured
    assert abs(kept.header.layer_psnr[-1] - metrics.psnr(tile, result.last.rgb)) <= 0.005


def test_bits_per_pixel_and_a_budget_too_small(tile, data):
    cut = api.encode(tile, device="cpu", max_bpp=1.0)
    assert len(cut) <= 64 * 48 / 8
    with pytest.raises(container.BudgetTooSmall, match="does not hold even the first quality layer"):
        api.encode(tile, device="cpu", max_bytes=40)


@pytest.mark.skipif(len(HC_MODELS) < 2, reason="needs two HC models installed")
def test_hc_takes_its_best_model_that_fits(tile):
    sizes = {m: len(api.encode(tile, codec="hc", quality=m, device="cpu", psnr=False)) for m in HC_MODELS}
    for model, size in sizes.items():
        chosen = container.read_header(api.encode(tile, codec="hc", device="cpu", max_bytes=size, psnr=False))
        best = max(m for m, s in sizes.items() if s <= size)
        assert chosen.model_id == best
    lowest = min(HC_MODELS)
    cut = api.encode(tile, codec="hc", device="cpu", max_bytes=sizes[lowest] - 1, psnr=False)
    header = container.read_header(cut)
    assert header.model_id == lowest and header.num_layers < 3 and len(cut) < sizes[lowest]


def test_cli_encode_to_a_budget_and_info_reports_what_was_kept(tmp_path, tile, data, capsys):
    source = tmp_path / "tile.png"
    Image.fromarray(tile).save(source)
    budget = len(data) // 2
    target = tmp_path / "half.strata"
    assert cli.main(["encode", str(source), str(target), "--max-bytes", str(budget), "--device", "cpu"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    kept = container.read_header(target.read_bytes()).num_layers
    assert target.stat().st_size <= budget and f"DeepHQ, {kept} layers kept within {budget} bytes" in out
    assert cli.main(["info", "--json", str(target)]) == cli.EXIT_OK
    info = json.loads(capsys.readouterr().out)
    assert info["num_layers"] == kept < 8 and info["complete"] and info["file_bytes"] <= budget
    assert cli.main(["encode", str(source), str(tmp_path / "tiny.strata"), "--max-bytes", "30", "-q"]) == cli.EXIT_FAILED
    assert "does not hold even the first quality layer" in capsys.readouterr().err
    assert not (tmp_path / "tiny.strata").exists()
    with pytest.raises(SystemExit):
        cli.main(["encode", str(source), "--bpp", "0"])


def test_pillow_plugin_saves_to_a_budget(tile, data):
    import codec.pillow_plugin  # noqa: F401 - registers STRATA

    buffer = io.BytesIO()
    Image.fromarray(tile).save(buffer, "STRATA", max_bytes=len(data) // 2)
    assert 0 < len(buffer.getvalue()) <= len(data) // 2
    with pytest.raises(OSError, match="does not hold even the first"):
        Image.fromarray(tile).save(io.BytesIO(), "STRATA", bpp=0.01)
    assert np.asarray(Image.open(io.BytesIO(buffer.getvalue()))).shape == tile.shape


@pytest.mark.parametrize("spec", registry.CODECS, ids=lambda s: s.name)
def test_every_codec_s_budget_encode_fits(tile, spec):
    """Each codec of the table, learned or classic, writes a file within the budget (its full
    file when that fits), or says the budget is too small."""
    if not spec.installed_model_ids():
        pytest.skip(f"{spec.title} is not installed")
    full = len(api.encode(tile, codec=spec.name, device="cpu", psnr=False))
    for budget in (full // 3, full // 2, full - 1, full + 100):
        try:
            data = api.encode(tile, codec=spec.name, device="cpu", psnr=False, max_bytes=budget)
        except container.BudgetTooSmall as error:
            assert budget < full and "does not hold even the first quality layer" in str(error)
            continue
        assert 0 < len(data) <= budget
