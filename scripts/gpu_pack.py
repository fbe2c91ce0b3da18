"""Pack training crops for a lent GPU machine, which cannot read ../shared (docs/TRAINING.md,
"When a GPU is lent").

    python scripts/gpu_pack.py            # runs/gpu_pack/: 24 MiB of 256x256 crops of ../shared/data/train
    python scripts/gpu_pack.py --check    # only add up what the device tool would send

Random crops, one a photo, of the training photos (those of configs/held_out.txt left out, never
Kodak) go into uint8 .npy files under runs/gpu_pack/ (git-ignored: the call names it in `carry`),
and a few eval crops from photos that no training crop comes from (codec.training.data, write_pack).
The device tool sends the whole working tree, tracked files included, and at most 64 MiB of it, so
the pack is sized to fit beside the weights the machine starts from; the script adds up what would
travel and names the weights files to move aside first.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from codec.training.data import write_pack  # noqa: E402
from codec.training.train import REPO, TrainConfig, held_out  # noqa: E402

MIB = 2**20
TRAVEL_LIMIT = 64 * MIB  # what the device tool sends at most: tracked + untracked + carried files
KODAK = (REPO / "../shared/data/kodak").resolve()  # monitoring only: never packed


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def git_files(*options: str) -> list[Path]:
    listing = subprocess.run(["git", "ls-files", "-z", *options], cwd=REPO, check=True,
                             capture_output=True).stdout.decode()
    return [REPO / name for name in listing.split("\0") if name]


def unneeded_weights() -> list[Path]:
    """Shipped weights files that no GPU config (configs/*_gpu.toml) starts from."""
    needed = {(REPO / c).resolve() for cfg in REPO.glob("configs/*_gpu.toml") for c in TrainConfig.load(cfg).init_from}
    return sorted(p for p in (REPO / "resources").glob("*.pt") if p.resolve() not in needed)


def report_travel(carry: Path) -> bool:
    """Print what the device tool would send; True when it fits its 64 MiB."""
    tracked = sum(p.stat().st_size for p in git_files() if p.is_file())
    untracked = sum(p.stat().st_size for p in git_files("--others", "--exclude-standard") if p.is_file())
    total = tracked + untracked + folder_bytes(carry)
    print(f"would travel: tracked {tracked / MIB:.1f} MiB + untracked {untracked / MIB:.1f} MiB + carried "
          f"{os.path.relpath(carry, REPO)} {folder_bytes(carry) / MIB:.1f} MiB = {total / MIB:.1f} MiB "
          f"(the device tool's limit: {TRAVEL_LIMIT / MIB:.0f} MiB)")
    extra = [p for p in unneeded_weights() if p.exists()]
    if total > TRAVEL_LIMIT and extra:
        names = " ".join(str(p.relative_to(REPO)) for p in extra)
        print(f"too much: move aside the weights no GPU config starts from, then check again:\n"
              f"    mkdir -p runs/gpu_aside && mv {names} runs/gpu_aside/")
    return total <= TRAVEL_LIMIT


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/train", help="folder of training photos")
    parser.add_argument("--out", default="runs/gpu_pack", help="the pack's folder (git-ignored)")
    parser.add_argument("--mib", type=float, default=24.0, help="size of the pack, training and eval crops")
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--eval-crops", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--held-out", default="configs/held_out.txt", help="photos never packed")
    parser.add_argument("--check", action="store_true", help="only add up what would travel")
    args = parser.parse_args()
    out = REPO / args.out
    if args.check:
        return 0 if report_travel(out) else 1
    data = (REPO / args.data).resolve()
    if data == KODAK or KODAK in data.parents:
        parser.error(f"{args.data} is the Kodak set, which is never trained on")
    count = int(args.mib * MIB - 64 * 1024) // (args.crop**2 * 3)  # room for the .npy headers and pack.json
    start = time.time()
    manifest = write_pack(data, out, args.crop, count - args.eval_crops, args.eval_crops, args.seed,
                          held_out(TrainConfig(name="pack", held_out=args.held_out)))
    photos = len(set(manifest["train"]["photos"]))
    print(f"{out}: {count - args.eval_crops} training crops of {args.crop}^2 from {photos} photos, "
          f"{args.eval_crops} eval crops, {folder_bytes(out) / MIB:.1f} MiB in {time.time() - start:.0f} s")
    if (REPO / ".git").exists():
        report_travel(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
