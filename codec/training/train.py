"""Train a Strata model from a config file; resumable from any kill.

    python -m codec.training.train configs/deephq_phase1.toml            # train (or resume) on 2 CPU cores
    torchrun --nproc_per_node=4 -m codec.training.train configs/...      # data-parallel (gloo CPU / nccl GPU)
    python -m codec.training.train configs/deephq_phase1.toml --export resources/deephq.pt
    python -m codec.training.train configs/deephq_gpu.toml --minutes 5 --out DIR   # a lent GPU (docs/TRAINING.md)

A run lives in runs/<name>/: ckpt.pt (model, optimiser, step, RNG; written atomically every
`checkpoint_minutes`), log.jsonl (one JSON line per log interval, for plotting) and weights.pt
(the fp16 export). A run with no checkpoint starts from `init_from` (a previous run's checkpoint
or a shipped weights file), else from scratch. `minutes` bounds a run by training time instead of
steps (the schedule runs by whichever ends first), `data` may be a pack of crops
(scripts/gpu_pack.py), and --out DIR also writes the fp16 weights into DIR at every checkpoint,
in parts of at most 15 MiB (codec.training.transfer).
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import signal
import time
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from codec.training.data import is_pack, list_images, load_cached, load_pack, load_rgb, random_crops
from codec.training.sampling import Draw, LayerSampler
from codec.training.transfer import exported_step, write_parts
from codec.resources import cache_dir, checkout
from codec import registry
from codec.precision import bf16_is_native
from codec.weights import atomic_torch_save, build_model, export_weights, read_weights, weights_payload

REPO = checkout() or Path.cwd()  # config paths are relative to it (installed: the current folder)


@dataclass
class TrainConfig:
    """One training run. Paths are relative to REPO (the repository root in a checkout)."""

    name: str
    codec: str = registry.DEFAULT_CODEC  # a name of codec.registry.CODECS
    model: dict = field(default_factory=dict)  # network sizes, e.g. {N = 128, M = 192}
    phase: int = 1  # DeepHQ: 1 base, 2 learned steps and gains, 3 masks
    layers_per_step: int = 8  # phases 2-3: random subset of layers decoded per step
    layer_sampling: str = "uniform"  # or "loss": layers drawn by their share of the loss (training.sampling)
    drop: float = 0.0  # HC: probability of replacing shallower latents by their means
    steps: int = 80_000
    minutes: float = 0.0  # > 0: stop after this much training time (wall clock, over all resumes)
    batch: int = 2
    crop: int = 256  # at 128 z is 2x2 and the hyperprior never sees the inside of a picture
    lr: list = field(default_factory=lambda: [[0.0, 5e-4], [0.85, 1e-4], [0.95, 2e-5]])
    lr_scale: dict = field(default_factory=dict)  # parameter-name prefix -> lr multiplier
    clip: float = 1.0
    trainable: list = field(default_factory=list)  # parameter-name prefixes trained; [] trains all
    distortion: bool = True  # False: rate-only loss, no synthesis (the hyper path's catch-up)
    ema_decay: float = 0.0  # > 0: keep an exponential moving average of the weights (e.g. 0.999)
    bf16: bool = True  # bf16 autocast where the hardware computes bf16 natively (bf16_is_native)
    init_from: list = field(default_factory=list)  # candidates; the first that exists is used
    branch: bool = False  # a branch (an anneal, a catch-up) starts at step 0, whatever its lineage records
    data: str = "../shared/data/train"  # a folder of photos, or a pack of crops (codec.training.data)
    held_out: str = "configs/held_out.txt"  # photos of `data` never trained on (large-photo checks)
    eval_data: str = "../shared/data/kodak"  # monitoring only, never trained on; or a pack's eval.npy
    eval_images: int = 6
    eval_every: int = 2000
    log_every: int = 100
    checkpoint_minutes: float = 5.0
    seed: int = 100
    threads: int = 0  # 0: torch's default
    runs: str = "runs"  # folder of run folders

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        raw = tomllib.loads(Path(path).read_text())
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"{path}: unknown settings {sorted(unknown)}")
        return cls(**raw)

    @property
    def run_dir(self) -> Path:
        return REPO / self.runs / self.name


def progress(cfg: TrainConfig, step: int, seconds: float = 0.0) -> float:
    """How far the run is, 0 to 1: by steps, or by training time when that is further (cfg.minutes)."""
    by_time = seconds / (60 * cfg.minutes) if cfg.minutes > 0 else 0.0
    return max(step / cfg.steps, by_time)


def learning_rate(cfg: TrainConfig, step: int, seconds: float = 0.0) -> float:
    """Piecewise-constant schedule: the last [fraction, lr] pair whose fraction has passed."""
    done = progress(cfg, step, seconds)
    return [lr for start, lr in cfg.lr if done >= start][-1]


def freeze_untrained(model: torch.nn.Module, cfg: TrainConfig) -> None:
    """Parameters outside cfg.trainable's prefixes get no gradient (all train when it is empty)."""
    if not cfg.trainable:
        return
    for name, param in model.named_parameters():
        param.requires_grad_(any(name.startswith(prefix) for prefix in cfg.trainable))
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"no parameter matches trainable = {cfg.trainable}")


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Adam:
    """Adam over the trainable parameters, one group per lr multiplier (cfg.lr_scale maps name
    prefixes to multipliers)."""
    groups: dict[float, list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        scale = next((s for prefix, s in cfg.lr_scale.items() if name.startswith(prefix)), 1.0)
        groups.setdefault(float(scale), []).append(param)
    return torch.optim.Adam([{"params": p, "lr_scale": s} for s, p in groups.items()], lr=cfg.lr[0][1])


class WeightAverage:
    """Exponential moving average of a model's floating-point state (decay d per step)."""

    def __init__(self, model: torch.nn.Module, decay: float, state: dict | None = None):
        self.decay = decay
        self.state = state or {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        current = model.state_dict()
        for name, average in self.state.items():
            average.lerp_(current[name], 1 - self.decay)


def layer_sampler(cfg: TrainConfig, num_layers: int, rng: np.random.Generator,
                  losses: list | None = None) -> LayerSampler | None:
    """The sampler of the layers each step decodes; None in phase 1 (one layer, no choice)."""
    if cfg.phase == 1:
        return None
    return LayerSampler(cfg.layer_sampling, num_layers, cfg.layers_per_step, rng, losses)


def draw_layers(sampler: LayerSampler | None) -> Draw:
    return sampler.draw() if sampler else Draw(None, None)


def total_rate(out: dict) -> torch.Tensor:
    """Estimated bits per pixel of each row of a model's output (codec.models), (S,)."""
    return torch.broadcast_to(sum(out["bpp"].values()), out["lmbda"].shape)


def rate_distortion_loss(out: dict, x: torch.Tensor, weights: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, dict, list[float]]:
    """Mean over the rows of lambda * 255^2 * MSE + bpp (notes, 5; the paper's L = lambda D + R),
    or of bpp alone when the model skipped the synthesis (x_hat None: rate-only training); with
    weights (S,), the weighted sum of the rows instead (training.sampling).

    out: a model's output (codec.models), x: the batch (B, 3, H, W) in [0, 1]. Returns (loss,
    metrics of plain floats: loss, bpp, psnr, and bpp_<part> for every coded part, the loss of
    each row).
    """
    rate = total_rate(out)
    parts = {f"bpp_{name}": bpp.mean().item() for name, bpp in out["bpp"].items()}
    if out["x_hat"] is None:
        rows, metrics = rate, {"bpp": rate.mean().item()}
    else:
        mse = (out["x_hat"] - x.float().unsqueeze(0)).pow(2).flatten(1).mean(1)  # (S,)
        rows = out["lmbda"] * 255**2 * mse + rate
        psnr = -10 * torch.log10(mse.clamp_min(1e-10))
        metrics = {"bpp": rate.mean().item(), "psnr": psnr.mean().item()}
    loss = rows.mean() if weights is None else (rows * weights.to(rows.device)).sum()
    return loss, {"loss": loss.item(), **metrics, **parts}, rows.detach().float().cpu().tolist()


def loss_function(cfg: TrainConfig):
    """(model, x, draw) -> (loss, metrics, row losses): the codec's forward with cfg's options
    (its training_options in the registry) for the draw's layers, then the one rate-distortion
    loss with the draw's weights."""
    options = registry.spec(cfg.codec).training_options

    def loss(model: torch.nn.Module, x: torch.Tensor, draw: Draw) -> tuple[torch.Tensor, dict, list[float]]:
        out = model(x, **options(cfg, draw.layers), synthesize=cfg.distortion)
        return rate_distortion_loss(out, x, draw.weights)

    return loss


def load_initial_state(model: torch.nn.Module, cfg: TrainConfig) -> tuple[int, dict]:
    """Initialise from the first existing run checkpoint or shipped weights file in cfg.init_from;
    new modules keep their initialisation. A DeepHQ phase-1 state (all steps 1) gets the phase-2
    starting steps of the lambda ladder. Returns the step to continue from (the source's step when
    it is an export of this same run or of a branch off it, at any depth: a fresh machine
    continuing from the shipped weights; 0 for a `branch` config or a new run) and where the state
    came from ({"from": path, "run", "step"}).
    """
    source = next((c for c in cfg.init_from if (REPO / c).exists()), None)
    if source is None:
        raise FileNotFoundError(f"none of the initial states exists: {cfg.init_from}")
    path = REPO / source
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if "model" in payload:
        state = payload["model"]
        origin = {"run": json.loads(payload["config"])["name"], "step": payload["step"],
                  "init": json.loads(payload.get("init", "{}"))}
    else:
        weights = read_weights(path)
        state, origin = weights["state"], weights.get("source") or {}
    if hasattr(model, "state_from_deephq") and "log_gain" in state:
        state = model.state_from_deephq(state)
    missing, unexpected = model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=False)
    if unexpected:
        raise ValueError(f"{source}: unexpected parameters {unexpected}")
    if "step_logits" in missing or ("step_logits" in state and not state["step_logits"].any()):
        model.init_steps_from_ladder()  # a phase-1 base: its steps were never trained
    step = 0 if cfg.branch else next((int(o.get("step", 0)) for o in lineage(origin) if o.get("run") == cfg.name), 0)
    if step >= cfg.steps:
        raise ValueError(f"{source} is at step {step} of {cfg.name}, which has {cfg.steps} steps: nothing to train; "
                         f"a branch off it needs `branch = true` in its config, a longer run more `steps`")
    print(f"initialised from {source}; new parameters: {missing or 'none'}; starting at step {step}", flush=True)
    return step, {"from": source, **origin}


def lineage(origin: dict) -> list[dict]:
    """The runs a state came from, newest first: its own, the one it branched from, and so on."""
    chain = []
    while origin and len(chain) < 32:
        chain.append(origin)
        origin = origin.get("init") or {}
    return chain


def autocast(cfg: TrainConfig, device: torch.device) -> torch.autocast:
    """bf16 autocast when the config asks for it and the device computes bf16 natively."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16 and bf16_is_native(device))


@torch.no_grad()
def evaluate(model: torch.nn.Module, images: list[torch.Tensor], cfg: TrainConfig, num_layers: int) -> dict:
    """Estimated bpp (from likelihoods of the rounded latents) and PSNR per layer, mean over images."""
    model.eval()
    options = registry.spec(cfg.codec).training_options(cfg, None if cfg.phase == 1 else list(range(num_layers)))
    bpp, psnr = [], []
    for x in images:
        with autocast(cfg, x.device):
            out = model(x, **options)
        mse = (out["x_hat"].clamp(0, 1) - x).pow(2).flatten(1).mean(1)
        psnr.append((-10 * torch.log10(mse)).tolist())
        bpp.append(total_rate(out).tolist())
    model.train()
    return {"eval_bpp": np.mean(bpp, 0).round(4).tolist(), "eval_psnr": np.mean(psnr, 0).round(3).tolist()}


def eval_pixels(cfg: TrainConfig) -> list[np.ndarray]:
    """The first eval_images monitoring pictures: photos of a folder, or the crops of a pack's eval.npy."""
    path = REPO / cfg.eval_data
    if path.suffix == ".npy":
        return list(np.load(path)[: cfg.eval_images])
    return [load_rgb(p) for p in list_images(path)[: cfg.eval_images]]


def eval_tensors(cfg: TrainConfig, device: torch.device, multiple: int) -> list[torch.Tensor]:
    tensors = []
    for pixels in eval_pixels(cfg):
        h, w = (s // multiple * multiple for s in pixels.shape[:2])
        tensors.append(torch.from_numpy(pixels[:h, :w].copy()).permute(2, 0, 1)[None].float().div(255).to(device))
    return tensors


def training_images(cfg: TrainConfig) -> list[np.ndarray]:
    """The pictures crops are drawn from: a pack's crops, or the photos of cfg.data less the held-out ones."""
    folder = REPO / cfg.data
    if is_pack(folder):
        return load_pack(folder, cfg.crop)
    return load_cached(folder, cache_dir("pixels"), cfg.crop, held_out(cfg))


@dataclass
class Run:
    """A run's state besides its config: what a checkpoint holds."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    rng: np.random.Generator
    step: int = 0
    seconds: float = 0.0  # training time, over all resumes (cfg.minutes)
    init: dict = field(default_factory=dict)  # where the state came from (load_initial_state)
    average: WeightAverage | None = None
    sampler: LayerSampler | None = None


def save_checkpoint(cfg: TrainConfig, run: Run) -> None:
    atomic_torch_save(
        {
            "model": run.model.state_dict(),
            "ema": run.average.state if run.average else None,
            "optimizer": run.optimizer.state_dict(),
            "step": run.step,
            "seconds": run.seconds,
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": json.dumps(run.rng.bit_generator.state),
            "layer_losses": json.dumps(run.sampler.losses if run.sampler else None),
            "config": json.dumps(cfg.__dict__),
            "init": json.dumps(run.init),
        },
        cfg.run_dir / "ckpt.pt",
    )


def restore(cfg: TrainConfig, run: Run, device: torch.device, restart: bool) -> dict:
    """Load the run's checkpoint into run, or (none, or restart) its initial state from init_from.
    Returns what else the checkpoint keeps: "ema" (the weight average) and "layer_losses"."""
    ckpt = cfg.run_dir / "ckpt.pt"
    if ckpt.exists() and not restart:
        state = torch.load(ckpt, map_location=device, weights_only=True)
        run.model.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        run.step, run.seconds = state["step"], state.get("seconds", 0.0)
        torch.set_rng_state(state["torch_rng"])
        run.rng.bit_generator.state = json.loads(state["numpy_rng"])
        run.init = json.loads(state.get("init", "{}"))
        print(f"resumed {ckpt} at step {run.step}", flush=True)
        return {"ema": state.get("ema"), "layer_losses": json.loads(state.get("layer_losses", "null"))}
    if cfg.init_from:
        run.step, run.init = load_initial_state(run.model, cfg)
    return {}


def out_of_time(cfg: TrainConfig, seconds: float) -> bool:
    return cfg.minutes > 0 and seconds >= 60 * cfg.minutes


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def export_parts(cfg: TrainConfig, run: Run, out: str | Path, device: torch.device) -> None:
    """The model's fp16 weights file, as `export` writes it, in parts in out (codec.training.transfer),
    unless out holds this step's already."""
    if exported_step(out, cfg.name) == run.step:
        return
    model = exported_model(cfg, build_model(cfg.codec, asdict(run.model.config), run.model.state_dict()))
    source = {"run": cfg.name, "step": run.step, "init": run.init, "seconds": round(run.seconds),
              "device": device_name(device)}
    paths = write_parts({**weights_payload(model, cfg.codec), "source": source}, out, cfg.name, run.step)
    print(f"step {run.step}: fp16 weights in {len(paths)} part(s) in {out}", flush=True)


def save(cfg: TrainConfig, run: Run, out: str | Path | None, device: torch.device) -> None:
    """Checkpoint, and write the fp16 weights into out when given."""
    save_checkpoint(cfg, run)
    if out:
        export_parts(cfg, run, out, device)


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return (dist.get_rank() if world > 1 else 0), world, device


def agree(world: int, device: torch.device, finite: bool, stop: bool) -> tuple[bool, bool]:
    """(every rank's loss is finite, some rank was asked to stop): all ranks skip a batch or stop
    together, so none waits forever in the gradient all-reduce."""
    if world == 1:
        return finite, stop
    flags = torch.tensor([float(not finite), float(stop)], device=device)
    dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    return flags[0].item() == 0, flags[1].item() > 0


class StopRequest:
    """SIGTERM, SIGINT or SIGHUP (its terminal closed) asks the training loop to checkpoint and
    stop at the next step."""

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))

    def __init__(self):
        self.requested = False
        for sig in self.SIGNALS:
            signal.signal(sig, self._request)

    def _request(self, signum, frame) -> None:
        self.requested = True


def train(cfg: TrainConfig, restart: bool = False, out: str | Path | None = None) -> None:
    """Run (or resume) cfg; restart=True ignores an existing checkpoint and starts from init_from;
    out: a folder that also gets the fp16 weights at every checkpoint (export_parts)."""
    rank, world, device = setup_distributed()
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # the fastest convolutions for the fixed training shapes
    torch.manual_seed(cfg.seed + rank)
    spec = registry.spec(cfg.codec)
    model = spec.model_class(spec.config_class(**cfg.model)).to(device)
    freeze_untrained(model, cfg)
    run = Run(model, make_optimizer(model, cfg), np.random.default_rng(cfg.seed + rank))
    kept = restore(cfg, run, device, restart)
    if cfg.ema_decay > 0:
        run.average = WeightAverage(model, cfg.ema_decay, kept.get("ema"))
    model = model.to(memory_format=torch.channels_last)
    optimizer = run.optimizer
    if rank == 0:
        native = bf16_is_native(device)
        print(f"precision: {'bf16 autocast' if cfg.bf16 and native else 'float32'} "
              f"(config bf16 = {cfg.bf16}, native bf16 on {device.type}: {native}); device: {device_name(device)}",
              flush=True)
    # phase 1 leaves the steps, gains and importance net unused
    trained = DistributedDataParallel(model, find_unused_parameters=True) if world > 1 else model
    loss_fn = loss_function(cfg)
    images = training_images(cfg)
    evals = eval_tensors(cfg, device, model.config.downsampling) if rank == 0 else []
    num_layers = getattr(model.config, "layers", 1)
    run.sampler = sampler = layer_sampler(cfg, num_layers, run.rng, kept.get("layer_losses"))
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    log = (cfg.run_dir / "log.jsonl").open("a") if rank == 0 else None
    sums, counted, interval_start, last_ckpt, saved = {}, 0, time.time(), time.time(), run.step
    if log and evals and cfg.minutes > 0:  # a time-bounded run is judged by its start and end
        write_record(log, evaluation_record(cfg, run, evals, "start"))
    clock, stopping = time.time() - run.seconds, False
    stop = StopRequest()
    model.train()
    while run.step < cfg.steps:
        run.seconds = time.time() - clock
        lr = learning_rate(cfg, run.step, run.seconds)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        x = random_crops(images, cfg.batch, cfg.crop, run.rng, device)
        with autocast(cfg, device):
            draw = draw_layers(sampler)
            loss, metrics, rows = loss_fn(trained, x, draw)
        finite, stopping = agree(world, device, math.isfinite(metrics["loss"]),
                                 stop.requested or out_of_time(cfg, run.seconds))
        if stopping:
            break
        optimizer.zero_grad(set_to_none=True)
        if not finite:
            print(f"step {run.step}: non-finite loss (rank {rank}: {metrics['loss']}), batch skipped", flush=True)
            continue
        if sampler:
            sampler.observe(draw.layers, rows)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.clip)
        optimizer.step()
        if run.average:
            run.average.update(model)
        run.step += 1
        counted += 1
        for k, v in metrics.items():
            sums[k] = sums.get(k, 0.0) + v
        if rank != 0:
            continue
        if run.step % cfg.log_every == 0:
            elapsed = time.time() - interval_start
            record = {"step": run.step, "lr": lr, **{k: round(v / counted, 4) for k, v in sums.items()},
                      "steps_per_s": round(counted / elapsed, 3), "seconds": round(time.time() - clock, 1),
                      "time": round(time.time())}
            if run.step % cfg.eval_every == 0 and evals:
                record.update(evaluate(model, evals, cfg, num_layers))
            write_record(log, record)
            sums, counted, interval_start = {}, 0, time.time()
        if time.time() - last_ckpt > 60 * cfg.checkpoint_minutes:
            save(cfg, run, out, device)
            last_ckpt, saved = time.time(), run.step
    run.seconds = time.time() - clock
    if rank == 0:
        finish(cfg, run, out, device, stopped=stopping, unsaved=run.step != saved, log=log, evals=evals)
    if world > 1:
        # The DDP reducer and the graph of a batch not stepped (a stop) hold gloo work: left to the
        # interpreter's exit, freeing them aborts the process (SIGABRT, "terminate called without
        # an active exception"). Free them now, then leave the group together.
        trained = loss = rows = None
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()


def evaluation_record(cfg: TrainConfig, run: Run, evals: list[torch.Tensor], when: str) -> dict:
    """A log record of the model's estimated bpp and PSNR per layer on the eval pictures."""
    num_layers = getattr(run.model.config, "layers", 1)
    return {"step": run.step, when: True, "seconds": round(run.seconds, 1), "time": round(time.time()),
            **evaluate(run.model, evals, cfg, num_layers)}


def write_record(log, record: dict) -> None:
    print(json.dumps(record), flush=True)
    log.write(json.dumps(record) + "\n")
    log.flush()


def finish(cfg: TrainConfig, run: Run, out: str | Path | None, device: torch.device, stopped: bool,
           unsaved: bool, log, evals: list[torch.Tensor]) -> None:
    """Rank 0 after the loop: checkpoint what is new, say why a stopped run stopped, export a
    finished one (steps or minutes done), evaluate a finished time-bounded one (it ends at a step
    eval_every cannot foresee), and write the weights into out."""
    finished = run.step >= cfg.steps or out_of_time(cfg, run.seconds)
    if unsaved or stopped:
        save_checkpoint(cfg, run)
    if stopped:
        why = f"time limit of {cfg.minutes} minutes reached" if finished else "stopped by signal"
        print(f"{why} at step {run.step}; checkpoint saved", flush=True)
    if finished:
        export(cfg, cfg.run_dir / "weights.pt")
        if evals and cfg.minutes > 0:
            write_record(log, evaluation_record(cfg, run, evals, "final"))
    if out:
        export_parts(cfg, run, out, device)


def held_out(cfg: TrainConfig) -> set[str]:
    """File names listed in cfg.held_out (one per line, # comments), kept out of training."""
    path = REPO / cfg.held_out
    if not cfg.held_out or not path.exists():
        return set()
    return {line.split("#")[0].strip() for line in path.read_text().splitlines()} - {""}


def checkpoint_model(cfg: TrainConfig, ema: bool = False) -> tuple[dict, torch.nn.Module]:
    """The run's latest checkpoint and its model (float32, eval mode, on the CPU); ema=True takes
    the moving average of the weights instead of the raw ones."""
    state = torch.load(cfg.run_dir / "ckpt.pt", map_location="cpu", weights_only=True)
    weights = state["model"]
    if ema:
        if not state.get("ema"):
            raise ValueError(f"{cfg.run_dir / 'ckpt.pt'} keeps no weight average (set ema_decay)")
        weights = {**weights, **state["ema"]}
    return state, build_model(cfg.codec, cfg.model, weights)


def exported_model(cfg: TrainConfig, model: torch.nn.Module) -> torch.nn.Module:
    """model as exported: a phase-1 run of a model with learned steps gets the ladder's steps."""
    if cfg.phase == 1 and hasattr(model, "init_steps_from_ladder"):
        model.init_steps_from_ladder()
    return model


def export(cfg: TrainConfig, target: str | Path, ema: bool = False) -> None:
    """Export the run's latest checkpoint as an fp16 weights file.

    A phase-1 run of a model with learned steps (DeepHQ) has one quantizer step (Delta = 1) for
    all layers; its export gets the phase-2 starting steps (Delta_l = Gamma_l from the lambda
    ladder) so its layers differ.
    """
    state, model = checkpoint_model(cfg, ema)
    model = exported_model(cfg, model)
    init = json.loads(state.get("init", "{}"))
    source = {"run": cfg.name, "step": state["step"], "init": init, **({"ema": cfg.ema_decay} if ema else {})}
    export_weights(model, cfg.codec, target, source=source)
    print(f"exported step {state['step']} of {cfg.name}{' (weight average)' if ema else ''} to {target}")


def evaluate_checkpoint(cfg: TrainConfig, ema: bool = False) -> None:
    """Estimated bpp and PSNR per layer of the run's latest checkpoint (likelihoods, not a codec)."""
    state, model = checkpoint_model(cfg, ema)
    images = eval_tensors(cfg, torch.device("cpu"), model.config.downsampling)
    result = evaluate(model, images, cfg, getattr(model.config, "layers", 1))
    print(json.dumps({"run": cfg.name, "step": state["step"], "images": len(images), **result}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="TOML file with the run's settings (see configs/)")
    parser.add_argument("--export", metavar="PATH", help="export the latest checkpoint and exit")
    parser.add_argument("--steps", type=int, help="override the number of steps (smoke tests)")
    parser.add_argument("--threads", type=int, help="override torch's thread count (share the CPU)")
    parser.add_argument("--minutes", type=float, help="override the training time limit (minutes, over all resumes)")
    parser.add_argument("--out", metavar="DIR", help="also write the fp16 weights into DIR at every checkpoint, "
                        "in parts of at most 15 MiB (codec.training.transfer)")
    parser.add_argument("--evaluate", type=int, metavar="N", nargs="?", const=24,
                        help="print the latest checkpoint's estimated bpp and PSNR on N eval images and exit")
    parser.add_argument("--ema", action="store_true",
                        help="--export / --evaluate the moving average of the weights (ema_decay runs)")
    parser.add_argument("--restart", action="store_true",
                        help="start again from init_from even if the run has a checkpoint (branch runs)")
    args = parser.parse_args()
    cfg = TrainConfig.load(args.config)
    if args.steps:
        cfg.steps = args.steps
    if args.minutes:
        cfg.minutes = args.minutes
    if args.threads:
        cfg.threads = args.threads
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if args.export:
        export(cfg, args.export, args.ema)
    elif args.evaluate:
        cfg.eval_images = args.evaluate
        evaluate_checkpoint(cfg, args.ema)
    else:
        train(cfg, args.restart, args.out)


if __name__ == "__main__":
    main()
