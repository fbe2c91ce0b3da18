"""Training steps/s of a config under each precision and memory-format setting, on this machine.

    python scripts/bench_training.py configs/deephq_phase2.toml --threads 1 --steps 6

Times `--steps` optimiser steps (after 2 warm-up steps) of random crops, from a freshly built
model of the config's sizes, for bf16 autocast on/off x channels-last on/off, and prints steps/s
and the CPU's capability. Whether bf16 pays depends on the CPU: native bf16 instructions
(AVX512-BF16, AMX) make it faster; on AVX2-only CPUs it is emulated and far slower.
"""
from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch

from codec import registry
from codec.training.train import TrainConfig, draw_layers, layer_sampler, loss_function, make_optimizer


def steps_per_second(cfg: TrainConfig, bf16: bool, channels_last: bool, steps: int) -> float:
    """Optimiser steps per second of cfg's loss on random (batch, 3, crop, crop) inputs."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    spec = registry.spec(cfg.codec)
    model = spec.model_class(spec.config_class(**cfg.model))
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    optimizer = make_optimizer(model, cfg)
    loss_fn = loss_function(cfg)
    sampler = layer_sampler(cfg, getattr(model.config, "layers", 1), rng)
    start = 0.0
    for i in range(steps + 2):
        if i == 2:
            start = time.perf_counter()
        x = torch.rand(cfg.batch, 3, cfg.crop, cfg.crop).contiguous(memory_format=memory_format)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss, _, _ = loss_fn(model, x, draw_layers(sampler))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = TrainConfig.load(args.config)
    print(f"CPU capability {torch.backends.cpu.get_cpu_capability()}, {args.threads} thread(s), "
          f"batch {cfg.batch} x {cfg.crop}x{cfg.crop}")
    for bf16, channels_last in itertools.product((False, True), repeat=2):
        rate = steps_per_second(cfg, bf16, channels_last, args.steps)
        print(f"bf16 {bf16!s:5} channels_last {channels_last!s:5} {rate:.3f} steps/s", flush=True)


if __name__ == "__main__":
    main()
