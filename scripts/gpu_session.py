"""Train on a lent GPU machine for a fixed wall time: the one command of docs/TRAINING.md, "When a
GPU is lent".

    PYTHONPATH=. python3 scripts/gpu_session.py --minutes 9 --out "$OUT" configs/deephq_gpu.toml=5.5 configs/hc_q4_gpu.toml

Checks and prints what the machine has (Python, torch, CUDA, the crop pack, the weights each run
starts from), then runs each config in turn with codec.training.train, the same script as on the
CPU: CONFIG=M trains for at most M minutes, a CONFIG with no minutes gets what is left, and a run
that would get under a minute is skipped; the whole session ends within --minutes. Each run writes
its fp16 weights into --out every minute (in parts, codec.training.transfer). Every line of output
is stamped with the clock and the seconds since the start, and kept in <out>/session.log.
Stops with a clear message where torch has no CUDA, unless --allow-cpu (the suite's check).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
START = time.time()
RESERVE_S = 40  # of a run's wall time outside its training loop: start (imports, CUDA, weights) and end (exports)
MIN_RUN_S = 60


class Log:
    """Prints lines stamped with the clock and the seconds since START, and appends them to a file."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("a")

    def __call__(self, line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {time.time() - START:6.0f}s {line.rstrip()}"
        print(stamped, flush=True)
        self.file.write(stamped + "\n")
        self.file.flush()


def check_python(log: Log) -> list[str]:
    log(f"python {sys.version.split()[0]} at {sys.executable}")
    return [] if sys.version_info >= (3, 11) else ["Python 3.11 or later is needed (tomllib)"]


def check_torch(log: Log, allow_cpu: bool) -> list[str]:
    """torch, numpy and Pillow present; a CUDA device unless allow_cpu."""
    try:
        import numpy
        import PIL
        import torch
    except ImportError as exc:
        return [f"a package is missing: {exc}"]
    log(f"torch {torch.__version__} (CUDA build {torch.version.cuda}), numpy {numpy.__version__}, Pillow {PIL.__version__}")
    if not torch.cuda.is_available():
        log(f"no CUDA device for torch {torch.__version__} (CUDA build {torch.version.cuda}, "
            f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')})")
        return [] if allow_cpu else ["no CUDA device: nothing is trained (--allow-cpu trains on the CPU, slowly)"]
    props = torch.cuda.get_device_properties(0)
    log(f"GPU {props.name}, {props.total_memory / 2**30:.0f} GiB, bf16: {torch.cuda.is_bf16_supported()}")
    return []


def check_config(log: Log, path: str) -> list[str]:
    """The config loads, a weights file it starts from and its data pack are here."""
    from codec.training.data import is_pack, read_manifest
    from codec.training.train import TrainConfig

    cfg = TrainConfig.load(REPO / path)
    start = next((c for c in cfg.init_from if (REPO / c).exists()), None)
    problems = [] if start or not cfg.init_from else [f"{path}: none of {cfg.init_from} is here"]
    if not is_pack(REPO / cfg.data):
        return problems + [f"{path}: no crop pack at {cfg.data} (make it with scripts/gpu_pack.py, carry it)"]
    manifest = read_manifest(REPO / cfg.data)
    log(f"{path}: {cfg.codec} from {start}, batch {cfg.batch} x {cfg.crop}^2 from {len(manifest['train']['photos'])} "
        f"crops of {manifest['crop']}^2 in {cfg.data}")
    return problems


def parse_plan(items: list[str]) -> list[tuple[str, float | None]]:
    """CONFIG=MINUTES or CONFIG (what is left) -> (config, minutes or None)."""
    plan = []
    for item in items:
        config, _, minutes = item.partition("=")
        plan.append((config, float(minutes) if minutes else None))
    return plan


def run_config(log: Log, config: str, seconds: float, out: Path, threads: int | None) -> tuple[int, list[str]]:
    """codec.training.train on config for `seconds` of training, its output relayed to the log;
    stopped by SIGTERM (it checkpoints and writes its weights) if it overruns its start and end.
    Returns its exit status and the evaluations it printed."""
    command = [sys.executable, "-u", "-m", "codec.training.train", str(REPO / config),
               "--minutes", f"{seconds / 60:.4f}", "--out", str(out)] + (["--threads", str(threads)] if threads else [])
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    guard = threading.Timer(seconds + RESERVE_S + 30, process.send_signal, (signal.SIGTERM,))
    guard.start()
    evals = []
    for line in process.stdout:
        log(line)
        evals += [line.strip()] if '"eval_psnr"' in line else []
    guard.cancel()
    return process.wait(), evals


def summary(log: Log, out: Path, evals: dict[str, list[str]]) -> None:
    """The files in out and the first and last evaluation of each run."""
    for path in sorted(out.iterdir()):
        log(f"out: {path.name} {path.stat().st_size / 2**20:.2f} MiB")
    for config, records in evals.items():
        for record in records[:1] + records[1:][-1:]:
            log(f"{config}: {record}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan", nargs="+", metavar="CONFIG[=MINUTES]")
    parser.add_argument("--minutes", type=float, default=9.0, help="wall time of the whole session")
    parser.add_argument("--out", required=True, help="folder for the weights parts and session.log")
    parser.add_argument("--allow-cpu", action="store_true", help="train even where torch has no CUDA")
    parser.add_argument("--threads", type=int, help="torch threads of each run (the CPU)")
    args = parser.parse_args()
    out = Path(args.out)
    log = Log(out / "session.log")
    plan = parse_plan(args.plan)
    problems = check_python(log)
    problems = problems or check_torch(log, args.allow_cpu)
    problems = problems or [p for config, _ in plan for p in check_config(log, config)]
    for problem in problems:
        log(f"cannot train: {problem}")
    if problems:
        return 3
    deadline, evals, failed = START + 60 * args.minutes, {}, False
    for config, minutes in plan:
        left = deadline - time.time() - RESERVE_S
        seconds = min(left, 60 * minutes) if minutes else left
        if seconds < MIN_RUN_S:
            log(f"{config}: skipped, {max(left, 0):.0f} s left of the session")
            continue
        log(f"{config}: training for {seconds:.0f} s")
        status, evals[config] = run_config(log, config, seconds, out, args.threads)
        log(f"{config}: exit status {status}")
        failed |= status != 0
    summary(log, out, evals)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
