"""Encode and per-layer decode times of the learned codecs on a folder of images (issue 18, items 2-3).

For each image: one encode without and one with the reconstructions whose PSNR the header
records (analysis, the layers' range coding, one synthesis per layer), then every layer decoded
in order, timing its range decoding (decode_symbols) and its synthesis separately. Prints the
medians and the CPU's bf16 capability.

    python scripts/bench_codec.py ../shared/data/kodak --limit 6 --threads 2
    STRATA_PRECISION=float32 python scripts/bench_codec.py ../shared/data/kodak --codec hc --quality 4
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from codec import precision, registry  # noqa: E402
from codec.training.data import list_images, load_rgb  # noqa: E402


def timed(fn, *args):
    """(fn(*args), seconds)."""
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def bench_image(codec, rgb) -> tuple[float, float, list[float], list[float]]:
    """(encode s, encode s without the reconstructions, per-layer range-decoding s, per-layer
    synthesis s) of one image."""
    bare_s = timed(codec.encode, rgb, False)[1]
    encoded, encode_s = timed(codec.encode, rgb)
    decoder = codec.decoder(rgb.shape[1], rgb.shape[0], encoded.params)
    symbols, synthesis = [], []
    for layer in range(len(encoded.layers)):
        symbols.append(timed(decoder.decode_symbols, encoded.layer_chunks(layer))[1])
        synthesis.append(timed(decoder.synthesize)[1])
    return encode_s, bare_s, symbols, synthesis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--codec", default=registry.DEFAULT_CODEC, choices=registry.NAMES)
    parser.add_argument("--quality", type=int, default=None, help="HC model (default: the codec's default)")
    parser.add_argument("--limit", type=int, default=6, help="first N images")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    spec = registry.spec(args.codec)
    codec = registry.load_codec(args.codec, spec.model_for(args.quality), "cpu")
    cpu = torch.device("cpu")
    print(f"{spec.label(spec.model_for(args.quality))}, {args.threads} threads, native bf16: "
          f"{precision.bf16_is_native(cpu)}, synthesis in {precision.synthesis_dtype(cpu)}", flush=True)
    codec.encode(load_rgb(list_images(args.folder)[0]))  # warm-up: oneDNN primitives, caches
    encodes, bare, symbols, synthesis = [], [], [], []
    for path in list_images(args.folder)[: args.limit]:
        encode_s, bare_s, sym, syn = bench_image(codec, load_rgb(path))
        encodes.append(encode_s)
        bare.append(bare_s)
        symbols.append(sym)
        synthesis.append(syn)
        print(f"{path.name}: encode {encode_s * 1000:.0f} ms, layers (range decoding + synthesis) "
              + " ".join(f"{(a + b) * 1000:.0f}" for a, b in zip(sym, syn)) + " ms", flush=True)
    per_layer = [a + b for sym, syn in zip(symbols, synthesis) for a, b in zip(sym, syn)]
    ms = lambda values: f"{statistics.median(values) * 1000:.0f} ms"  # noqa: E731
    print(f"median encode {ms(encodes)} ({ms(bare)} without the reconstructions); median layer decode {ms(per_layer)} (range decoding "
          f"{ms([a for s in symbols for a in s])}, synthesis {ms([b for s in synthesis for b in s])})")


if __name__ == "__main__":
    main()
