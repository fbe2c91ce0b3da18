"""Write BENCHMARKS.md's rate-distortion section from the current eval results, and redraw the plot.

    python scripts/write_benchmarks.py            # rewrites the part between the rd markers

The current results are the `strata eval` JSON files of docs/eval/ (one per codec and image set:
kodak_deephq.json, kodak_hc.json, kodak_deephq_effort7.json, large3_deephq.json, ...); every
curve's BD-rate against every anchor of the same file is listed, and the per-layer points of the
learned codecs. The dated record of earlier results lives in docs/history/.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from codec.evaluation.anchors import ANCHORS, RDPoint  # noqa: E402
from codec.evaluation.evaluate import plot  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "eval"
BEGIN, END = "<!-- rd:begin (scripts/write_benchmarks.py) -->", "<!-- rd:end -->"


def bd_rows(name: str, result: dict) -> list[str]:
    """One table row per learned curve: its BD-rate against each anchor measured with it."""
    rows = []
    anchors = [a for a in ANCHORS if a in result["curves"]]
    for curve in result["curves"]:
        if curve in ANCHORS:
            continue
        cells = []
        for anchor in ("jpeg2000", "webp", "heic", "avif"):
            value = result["bd_rate"].get(f"{curve} vs {anchor}", {}).get("percent") if anchor in anchors else None
            cells.append("-" if value is None else f"{value:+.2f}%")
        top = result["curves"][curve][-1]
        effort = result.get("effort", 1)
        rows.append(f"| {name} | {curve} | {effort} | {len(result['images'])} | {' | '.join(cells)} | "
                    f"{top['bpp']:.3f} / {top['psnr']:.2f} |")
    return rows


def layer_rows(name: str, result: dict) -> list[str]:
    """The per-layer (bpp / PSNR) of each learned curve, one row per curve."""
    rows = []
    for curve, points in result["curves"].items():
        if curve not in ANCHORS:
            cells = " ".join(f"{p['bpp']:.3f}/{p['psnr']:.2f}" for p in points)
            rows.append(f"| {name} | {curve} | {result.get('effort', 1)} | {cells} |")
    return rows


def section(results: dict[str, dict]) -> str:
    lines = ["| result (docs/eval/) | curve | effort | images | vs JPEG 2000 | vs WebP | vs HEIC | vs AVIF 4:4:4 | top: bpp / dB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, result in results.items():
        lines += bd_rows(name, result)
    lines += ["", "Per layer, bpp / PSNR-RGB dB (every byte counted):", "",
              "| result | curve | effort | layers |", "|---|---|---|---|"]
    for name, result in results.items():
        lines += layer_rows(name, result)
    return "\n".join(lines)


def main() -> None:
    results = {path.stem: json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))}
    benchmarks = ROOT / "BENCHMARKS.md"
    text = benchmarks.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{benchmarks} has no {BEGIN} ... {END} markers")
    benchmarks.write_text(pattern.sub(lambda _: f"{BEGIN}\n{section(results)}\n{END}", text))
    kodak = {}
    for name in ("kodak_deephq", "kodak_deephq_effort7", "kodak_hc"):
        if name in results:
            suffix = "" if results[name].get("effort", 1) == 1 else f" (effort {results[name]['effort']})"
            for curve, points in results[name]["curves"].items():
                if curve not in kodak or suffix:
                    key = curve + (suffix if curve not in ANCHORS else "")
                    kodak[key] = [RDPoint(**p) for p in points]
    plot(kodak, ROOT / "docs" / "rd_kodak.png", "Kodak, 24 images (docs/eval/)")
    print(f"wrote {benchmarks} and docs/rd_kodak.png from {len(results)} results")


if __name__ == "__main__":
    main()
