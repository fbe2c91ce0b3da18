"""Make the weights a lent GPU machine returned ready for `strata eval` (docs/TRAINING.md, "When a
GPU is lent").

    python scripts/gpu_import.py FILES_AT [--to runs/gpu_returned] [--no-offsets] [--install]

FILES_AT is the folder the device tool put $OUT's files in. For each run with parts there, the
newest complete export is joined and checked (codec.training.transfer), written as the weights
file <to>/<run>.pt and read back with codec.weights.read_weights; session.log is copied beside.
A DeepHQ file then gets its decoder's reconstruction offsets fitted on training photos, as every
DeepHQ shipment does (scripts/reconstruction_offset.py --write; --no-offsets skips it). `strata
eval` measures the files in resources/: --install copies each over the shipped file of the same
model (`git checkout resources/` puts the shipped ones back). Prints the commands that judge them.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from codec import registry  # noqa: E402
from codec.training.train import REPO  # noqa: E402
from codec.training.transfer import join_parts, newest_sets  # noqa: E402
from codec.weights import read_weights, save_weights  # noqa: E402

TRAIN_PHOTOS = "../shared/data/train"
KODAK = "../shared/data/kodak"


def shipped_model(payload: dict) -> tuple[str, Path]:
    """The tag (strata eval's name: deephq, hc-q4) and shipped weights file of the model the
    payload is a version of: its codec's installed model of the same config."""
    spec = registry.spec(payload["codec"])
    for model_id in spec.installed_model_ids():
        path = spec.weights_file(model_id)
        if read_weights(path)["config"] == payload["config"]:
            return spec.tag(model_id), path
    raise ValueError(f"no shipped {payload['codec']} file has the config {payload['config']}")


def import_run(parts: list[Path], to: Path) -> Path:
    """Join a run's parts into the weights file to/<run>.pt, checked by reading it back."""
    payload = join_parts(parts)
    target = to / f"{payload['source']['run']}.pt"
    save_weights(payload, target)
    source = read_weights(target)["source"]
    print(f"{target}: {payload['codec']} from run {source['run']}, step {source['step']}, "
          f"{source.get('seconds', '?')} s on {source.get('device', '?')}")
    return target


def fit_offsets(path: Path) -> None:
    """DeepHQ's reconstruction offsets, measured on training photos and written into path."""
    command = [sys.executable, str(REPO / "scripts/reconstruction_offset.py"), TRAIN_PHOTOS,
               "--limit", "16", "--weights", str(path), "--write"]
    subprocess.run(command, cwd=REPO, check=True)


def eval_command(tag: str) -> str:
    """The `strata eval` command that judges a model installed in resources/ (as in BENCHMARKS.md)."""
    anchors = "jpeg2000,webp,heic,avif" if tag == "deephq" else "jpeg2000"
    return f"strata eval {KODAK} --codecs {tag} --anchors {anchors} --device cpu"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files_at", type=Path, help="the folder the device tool returned $OUT's files in")
    parser.add_argument("--to", type=Path, default=REPO / "runs/gpu_returned")
    parser.add_argument("--no-offsets", dest="offsets", action="store_false",
                        help="leave DeepHQ's reconstruction offsets at 0 (they need ../shared/data/train)")
    parser.add_argument("--install", action="store_true", help="copy each file over the shipped one it replaces")
    args = parser.parse_args()
    runs = newest_sets(args.files_at)
    if not runs:
        parser.error(f"no complete set of weights parts in {args.files_at}")
    args.to.mkdir(parents=True, exist_ok=True)
    if (args.files_at / "session.log").exists():
        shutil.copyfile(args.files_at / "session.log", args.to / "session.log")
    for parts in runs.values():
        path = import_run(parts, args.to)
        tag, shipped = shipped_model(read_weights(path))
        if tag == "deephq" and args.offsets:
            fit_offsets(path)
        if args.install:
            shutil.copyfile(path, shipped)
        print(f"    {'installed as' if args.install else 'would replace'} {shipped}; judge it with:\n"
              f"    {eval_command(tag)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
