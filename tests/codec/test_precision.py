"""bf16 synthesis: chosen where the hardware computes bf16 natively, close to float32 in PSNR."""
import numpy as np
import pytest
import torch

from codec import api, precision
from codec.evaluation.metrics import psnr


@pytest.mark.parametrize("native", [False, True])
def test_auto_synthesizes_in_bf16_only_where_it_is_native(monkeypatch, native):
    monkeypatch.delenv("STRATA_PRECISION", raising=False)
    monkeypatch.setattr(precision, "bf16_is_native", lambda device: native)
    expected = torch.bfloat16 if native else torch.float32
    assert precision.synthesis_dtype(torch.device("cpu")) == expected


@pytest.mark.parametrize("choice, dtype", [("float32", torch.float32), ("bf16", torch.bfloat16)])
def test_strata_precision_overrides_the_hardware(monkeypatch, choice, dtype):
    monkeypatch.setenv("STRATA_PRECISION", choice)
    monkeypatch.setattr(precision, "bf16_is_native", lambda device: dtype == torch.float32)
    assert precision.synthesis_dtype(torch.device("cpu")) == dtype


def test_an_unknown_precision_is_named(monkeypatch):
    monkeypatch.setenv("STRATA_PRECISION", "fp8")
    with pytest.raises(ValueError, match="STRATA_PRECISION='fp8'"):
        precision.synthesis_dtype(torch.device("cpu"))


def test_a_codec_that_does_not_allow_bf16_synthesizes_in_float32(monkeypatch):
    monkeypatch.setenv("STRATA_PRECISION", "bf16")
    assert precision.synthesis_dtype(torch.device("cpu"), bf16_ok=False) == torch.float32


def decoded_pictures(monkeypatch, data: bytes) -> dict[str, list[np.ndarray]]:
    """STRATA_PRECISION choice -> every layer's picture of data."""
    pictures = {}
    for choice in ("float32", "bf16"):
        monkeypatch.setenv("STRATA_PRECISION", choice)
        pictures[choice] = [layer.rgb for layer in api.decode(data, device="cpu").layers]
    return pictures


def test_hc_pictures_are_float32_whatever_the_setting(monkeypatch, tile):
    pictures = decoded_pictures(monkeypatch, api.encode(tile, codec="hc", quality=1, device="cpu"))
    assert all(np.array_equal(a, b) for a, b in zip(pictures["float32"], pictures["bf16"]))


def test_deephq_bf16_pictures_stay_close_to_float32(monkeypatch, tile, data):
    pictures = decoded_pictures(monkeypatch, data)
    for fp32, bf16 in zip(pictures["float32"], pictures["bf16"]):
        # a 48x64 tile at 42 dB: 0.29 dB at most with the session-12 weights (Kodak-24: BENCHMARKS.md)
        assert abs(psnr(tile, fp32) - psnr(tile, bf16)) < 0.5
        # docs/FORMAT.md: bf16 and float32 pictures differ by at most 3 levels (measured)
        assert np.abs(fp32.astype(np.int16) - bf16).max() <= 3
    assert any(not np.array_equal(a, b) for a, b in zip(pictures["float32"], pictures["bf16"]))  # bf16 ran


def test_the_picture_layer_runs_in_float32_under_bf16_autocast():
    """Rounding the output pixels to bf16's 8-bit mantissa cost 0.05-0.08 dB at 40 dB: the last
    layer gets the float32 values of the layers before it and computes in float32."""
    from torch import nn

    from codec.models.layers import float32_output

    torch.manual_seed(0)
    layers = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))
    x = torch.randn(1, 4, 16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = float32_output(layers, x)
        hidden = layers[:-1](x)
    assert hidden.dtype == torch.bfloat16 and out.dtype == torch.float32
    assert torch.equal(out, layers[-1](hidden.float()))
