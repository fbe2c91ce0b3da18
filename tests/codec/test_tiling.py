"""Tiled transforms equal untiled ones (no seams) and bound the working size."""
import torch

from codec.coding import tiling
from codec.models.deephq import DeepHQ, DeepHQConfig


def test_tiled_analysis_and_synthesis_match_the_whole_image(monkeypatch):
    torch.manual_seed(0)
    model = DeepHQ(DeepHQConfig(N=16, M=24)).eval()
    x = torch.rand(1, 3, 16 * 20, 16 * 13)
    with torch.no_grad():
        y_whole = model.g_a(x)
        support = torch.rand(1, 36, 20, 13)
        x_whole = model.synthesize(y_whole, support)
        monkeypatch.setattr(tiling, "UNTILED_UNITS", 0)
        monkeypatch.setattr(tiling, "TILE", 6)
        sizes = []
        (y_tiled,) = tiling.run_tiled(lambda t: (sizes.append(t.shape[-1]) or model.g_a(t),), [(x, 16)], [1])
        (x_tiled,) = tiling.run_tiled(lambda a, b: (model.synthesize(a, b),), [(y_whole, 1), (support, 1)], [16])
    assert max(sizes) <= 16 * (6 + 2 * tiling.MARGIN) and len(sizes) == 4 * 3
    assert torch.allclose(y_tiled, y_whole, atol=1e-4)
    assert torch.allclose(x_tiled, x_whole, atol=1e-4)
