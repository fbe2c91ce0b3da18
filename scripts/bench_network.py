"""Decoding layered files from a URL (codec/net, issue 31): bytes fetched and time to the first
picture for `strata decode URL --layers K` (K = 1, 4, 8) against fetching the whole file.

    python scripts/bench_network.py [--rate BYTES_PER_S] [--layers 1,4,8] [--large PATH|none]

The files are DeepHQ encodings (8 layers) of kodim23 (resources/sample.png) and of a large photo
(the first entry of configs/held_out.txt, found under ../shared/data; left out when absent),
made once and cached in .cache/bench_network/. Each is served over real HTTP on 127.0.0.1 by the
tests' range-capable server (tests/http_server.py), throttled to --rate (default 250,000 bytes/s,
2 Mbit/s), and fetched as the CLI does: the header in small range requests, then one range up
to the end of layer K; then the picture of those K layers is made on the CPU (every chunk
range-decoded, one synthesis). "to picture" is from the first request to that picture. The last row per file streams the whole file and times
the first layer's picture (codec.api.ProgressiveDecoder fed as the bytes arrive).
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from codec import api, layered  # noqa: E402
from codec.net import plan, remote  # noqa: E402
from codec.resources import RESOURCES, cache_dir  # noqa: E402
from http_server import FileServer  # noqa: E402

SHARED_DATA = ROOT.parent / "shared" / "data"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=250_000, help="the server's rate, bytes/s (default 250000)")
    parser.add_argument("--layers", default="1,4,8", help="layer limits to fetch (default 1,4,8)")
    parser.add_argument("--large", default=None, help="the large photo (default: configs/held_out.txt's first "
                                                      "entry under ../shared/data); 'none' leaves it out")
    return parser.parse_args()


def large_photo(choice: str | None) -> Path | None:
    """The large photo: given, or the first entry of configs/held_out.txt found under ../shared/data."""
    if choice == "none":
        return None
    if choice:
        return Path(choice)
    lines = (ROOT / "configs" / "held_out.txt").read_text().splitlines()
    name = next(line.split("#")[0].strip() for line in lines if line.split("#")[0].strip())
    return next(SHARED_DATA.rglob(name), None) if SHARED_DATA.is_dir() else None


def encoded(picture: Path) -> bytes:
    """The picture's DeepHQ file, encoded once and cached."""
    cached = cache_dir("bench_network") / f"{picture.stem}.deephq.strata"
    if not cached.exists():
        print(f"encoding {picture.name} with DeepHQ (once; cached in {cached.parent}) ...", flush=True)
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(api.encode(picture, device="cpu"))
    return cached.read_bytes()


def picture(data: bytes, layers: int | None):
    """The picture of the first `layers` layers (None: all): every chunk range-decoded, one synthesis."""
    parsed = layered.parse(data)
    count = min(layers or parsed.header.num_layers, len(parsed.layers))
    decoder = api.open_layer_decoder(parsed.header, device="cpu")
    for index in range(count):
        for part, payload in enumerate(parsed.layer_chunks(index)):
            decoder.decode_chunk(payload, index, part)
    return decoder.synthesize(count - 1)


def fetch_and_decode(url: str, layers: int | None) -> tuple[remote.Fetched, float, float]:
    """Fetch as `strata decode URL --layers K` does, then make the picture of those layers:
    (what was fetched, fetch seconds, seconds to the picture)."""
    start = time.perf_counter()
    fetched = remote.fetch(url, plan.Want(layers=layers))
    fetched_at = time.perf_counter()
    picture(fetched.data, layers)
    return fetched, fetched_at - start, time.perf_counter() - start


def first_picture_streamed(url: str) -> tuple[int, float]:
    """Stream the whole file into a ProgressiveDecoder: (bytes received, seconds) at its first picture."""
    start = time.perf_counter()
    decoder = api.ProgressiveDecoder(device="cpu", refinements=False)
    with remote.RemoteFile(url) as file:
        file.read_header()
        for piece in itertools.chain([bytes(file.data)], file.pieces()):
            if next(iter(decoder.feed(piece)), None) is not None:
                return len(file.data), time.perf_counter() - start
    raise RuntimeError(f"{url} gave no picture")


def bench(server: FileServer, name: str, data: bytes, limits: list[int], rate: float) -> None:
    url = server.add(name, data, rate=rate)
    print(f"\n{name}: {len(data):,} bytes, served at {rate * 8 / 1e6:g} Mbit/s")
    print(f"  {'fetch':<16} {'client bytes':>12} {'server sent':>12} {'requests':>8} {'fetch s':>8} "
          f"{'to picture s':>12}")
    for layers in [*limits, None]:
        before = server.sent(name)
        fetched, fetch_s, total_s = fetch_and_decode(url, layers)
        what = f"--layers {layers}" if layers else "whole file"
        print(f"  {what:<16} {fetched.transferred:>12,} {server.sent(name) - before:>12,} "
              f"{len(fetched.requests):>8} {fetch_s:>8.2f} {total_s:>12.2f}")
    received, seconds = first_picture_streamed(url)
    print(f"  {'whole, streamed':<16} {received:>12,} {'':>12} {'':>8} {'':>8} {seconds:>12.2f}"
          f"   (first layer's picture while the rest arrives)")


def main() -> int:
    args = parse_args()
    limits = [int(k) for k in args.layers.split(",")]
    files = [("kodim23.deephq.strata", RESOURCES / "sample.png")]
    large = large_photo(args.large)
    if large is not None and large.exists():
        files.append((f"{large.stem[:12]}.deephq.strata", large))
    elif args.large != "none":
        print("the large photo (configs/held_out.txt, ../shared/data) is absent: kodim23 only")
    with FileServer() as server:
        for name, picture in files:
            bench(server, name, encoded(picture), limits, args.rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
