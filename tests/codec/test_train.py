"""Training runs: resumable from a kill, and data-parallel under torchrun (2 gloo processes)."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory, sample_rgb):
    root = tmp_path_factory.mktemp("train")
    data = root / "data"
    data.mkdir()
    for i in range(3):
        Image.fromarray(sample_rgb[i * 100 : i * 100 + 160, i * 150 : i * 150 + 200]).save(data / f"{i}.png")
    return root, data


def write_config(root: Path, data: Path, name: str, codec: str = "deephq", steps: int = 4, extra: str = "") -> Path:
    model = "{ N = 16, M = 24, layers = 8 }" if codec == "deephq" else "{ N = 16, M = 24, lmbda = 0.013 }"
    config = root / f"{name}.toml"
    config.write_text(f"""
name = "{name}"
codec = "{codec}"
model = {model}
steps = {steps}
batch = 2
crop = 64
log_every = 2
eval_every = 2
eval_images = 1
data = "{data}"
eval_data = "{data}"
runs = "{root / 'runs'}"
{extra}
""")
    return config


def train(config: Path, *args: str, launcher: list[str] | None = None) -> subprocess.CompletedProcess:
    command = (launcher or [sys.executable, "-m"]) + ["codec.training.train", str(config), "--threads", "1", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_run_resumes_from_its_checkpoint(tiny_setup):
    root, data = tiny_setup
    config = write_config(root, data, "resume", extra="checkpoint_minutes = 0.0")
    train(config, "--steps", "2")
    ckpt = torch.load(root / "runs/resume/ckpt.pt", weights_only=True)
    assert ckpt["step"] == 2
    result = train(config)
    assert "resumed" in result.stdout and "at step 2" in result.stdout
    records = [json.loads(line) for line in (root / "runs/resume/log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    assert all(np.isfinite(r["loss"]) and r["steps_per_s"] > 0 for r in records)
    assert "eval_psnr" in records[-1]
    assert (root / "runs/resume/weights.pt").exists()


def test_a_fresh_machine_continues_from_the_runs_export(tiny_setup):
    root, data = tiny_setup
    config = write_config(root, data, "cont", steps=2)
    train(config)
    shipped = root / "cont.pt"
    train(config, "--export", str(shipped))
    fresh = write_config(root, data, "cont", steps=4, extra=f'runs = "{root / "fresh"}"\ninit_from = ["{shipped}"]')
    fresh.write_text(fresh.read_text().replace(f'runs = "{root / "runs"}"\n', ""))
    result = train(fresh)
    assert "starting at step 2" in result.stdout
    assert torch.load(root / "fresh/cont/ckpt.pt", weights_only=True)["step"] == 4


def test_a_branch_restarts_from_its_source_and_records_it(tiny_setup):
    root, data = tiny_setup
    train(write_config(root, data, "trunk", steps=2))
    branch = write_config(root, data, "branch", steps=2, extra=f'init_from = ["{root}/runs/trunk/ckpt.pt"]')
    train(branch)
    result = train(branch, "--restart")
    assert "initialised from" in result.stdout and "resumed" not in result.stdout
    train(branch, "--export", str(root / "branch.pt"))
    source = torch.load(root / "branch.pt", weights_only=True)["source"]
    assert source["run"] == "branch" and source["init"]["run"] == "trunk" and source["init"]["step"] == 2
    trunk_again = write_config(root, data, "trunk", steps=3, extra=f'runs = "{root / "fresh2"}"\ninit_from = ["{root}/branch.pt"]')
    trunk_again.write_text(trunk_again.read_text().replace(f'runs = "{root / "runs"}"\n', ""))
    assert "starting at step 2" in train(trunk_again).stdout  # the trunk continues at its own step
    rebranch = write_config(root, data, "branch", steps=2, extra=f'runs = "{root / "fresh3"}"\ninit_from = ["{root}/branch.pt"]')
    rebranch.write_text(rebranch.read_text().replace(f'runs = "{root / "runs"}"\n', ""))
    assert subprocess.run([sys.executable, "-m", "codec.training.train", str(rebranch), "--threads", "1"], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                          timeout=600).stderr.count("needs `branch = true`") == 1  # finished: a clear error
    rebranch.write_text(rebranch.read_text() + "branch = true\n")
    assert "starting at step 0" in train(rebranch).stdout  # a branch starts afresh whatever its lineage
    report = json.loads(train(branch, "--evaluate", "1").stdout)
    assert report["step"] == 2 and len(report["eval_psnr"]) == 1 and report["eval_bpp"][0] > 0


def test_phase2_starts_from_phase1_with_ladder_steps(tiny_setup):
    root, data = tiny_setup
    first = write_config(root, data, "p1", steps=2)
    train(first)
    second = write_config(root, data, "p2", steps=2, extra=f'phase = 2\nlayers_per_step = 2\ninit_from = ["{root}/runs/p1/ckpt.pt"]')
    train(second)
    from codec.weights import build_model

    state = torch.load(root / "runs/p2/ckpt.pt", weights_only=True)["model"]
    steps = build_model("deephq", {"N": 16, "M": 24, "layers": 8}, state).steps().detach()
    assert steps[0].mean() > 5 * steps[-1].mean()  # coarse layer 0, fine layer 7


def test_phase2_with_loss_sampling_keeps_its_running_losses_across_a_resume(tiny_setup):
    root, data = tiny_setup
    train(write_config(root, data, "p1s", steps=2))
    config = write_config(root, data, "p2s", steps=4, extra=f'phase = 2\nlayers_per_step = 3\nlayer_sampling = "loss"\n'
                          f'checkpoint_minutes = 0.0\ninit_from = ["{root}/runs/p1s/ckpt.pt"]')
    train(config, "--steps", "2")
    losses = json.loads(torch.load(root / "runs/p2s/ckpt.pt", weights_only=True)["layer_losses"])
    assert len(losses) == 8 and sum(v is not None for v in losses) >= 3
    assert all(v > 0 for v in losses if v is not None)
    result = train(config)
    assert "at step 2" in result.stdout
    resumed = json.loads(torch.load(root / "runs/p2s/ckpt.pt", weights_only=True)["layer_losses"])
    assert all(v is not None for v, w in zip(resumed, losses) if w is not None)  # carried over, not reset


def test_hc_trains_from_a_deephq_state(tiny_setup):
    root, data = tiny_setup
    base = write_config(root, data, "hcbase", steps=2)
    train(base)
    hc = write_config(root, data, "hc", codec="hc", steps=2, extra=f'drop = 0.5\ninit_from = ["{root}/runs/hcbase/ckpt.pt"]')
    result = train(hc)
    assert "initialised from" in result.stdout and "merge_3.weight" in result.stdout


def test_two_gloo_processes_train_together(tiny_setup):
    root, data = tiny_setup
    config = write_config(root, data, "ddp", steps=2)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m"]
    train(config, launcher=launcher)
    assert torch.load(root / "runs/ddp/ckpt.pt", weights_only=True)["step"] == 2


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_every_stop_signal_is_a_stop_request(signum):
    """SIGHUP (the terminal closed) used to end training at once, in a checkpoint's write too."""
    from codec.training.train import StopRequest

    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        stop = StopRequest()  # a signal it does not handle stays ignored, and the test fails
        os.kill(os.getpid(), signum)
        assert stop.requested
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def test_sigterm_checkpoints_before_stopping(tiny_setup):
    root, data = tiny_setup
    config = write_config(root, data, "term", steps=100_000)
    command = [sys.executable, "-m", "codec.training.train", str(config), "--threads", "1"]
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        while '"step"' not in process.stdout.readline():  # training has started
            assert process.poll() is None, "training ended early"
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=120)[0]
    finally:
        process.kill()
    assert process.returncode == 0 and "stopped by signal" in output
    step = torch.load(root / "runs/term/ckpt.pt", weights_only=True)["step"]
    assert 2 <= step < 100_000 and f"step {step}" in output
    assert not (root / "runs/term/weights.pt").exists()  # an unfinished run is not exported


@pytest.mark.parametrize("native", [False, True])
def test_bf16_autocast_only_where_the_cpu_computes_bf16(monkeypatch, native):
    from codec.precision import bf16_is_native
    from codec.training.train import TrainConfig, autocast

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    cpu = torch.device("cpu")
    assert bf16_is_native(cpu) is native
    conv = torch.nn.Conv2d(3, 4, 3)
    with autocast(TrainConfig(name="t", bf16=True), cpu):
        dtype = conv(torch.rand(1, 3, 8, 8)).dtype
    assert dtype == (torch.bfloat16 if native else torch.float32)
    with autocast(TrainConfig(name="t", bf16=False), cpu):
        assert conv(torch.rand(1, 3, 8, 8)).dtype == torch.float32


def test_a_rate_only_catch_up_trains_only_the_named_parameters(tiny_setup):
    root, data = tiny_setup
    train(write_config(root, data, "catchbase", steps=2, extra="phase = 2\nlayers_per_step = 2"))
    source = torch.load(root / "runs/catchbase/ckpt.pt", weights_only=True)["model"]
    catch_up = write_config(root, data, "catchup", steps=3, extra=(
        'phase = 2\nlayers_per_step = 8\ntrainable = ["h_a", "h_s", "z_prior"]\ndistortion = false\n'
        f'init_from = ["{root}/runs/catchbase/ckpt.pt"]'))
    train(catch_up)
    state = torch.load(root / "runs/catchup/ckpt.pt", weights_only=True)["model"]
    changed = {name.split(".")[0] for name in state if not torch.equal(state[name], source[name])}
    assert changed == {"h_a", "h_s", "h_s_params", "z_prior"}
    record = json.loads((root / "runs/catchup/log.jsonl").read_text().splitlines()[-1])
    assert record["loss"] == record["bpp"] and "psnr" not in record


def test_a_weight_average_is_kept_resumed_and_exported(tiny_setup):
    root, data = tiny_setup
    config = write_config(root, data, "ema", steps=2, extra="ema_decay = 0.5\ncheckpoint_minutes = 0.0")
    train(config, "--steps", "1")
    train(config)
    ckpt = torch.load(root / "runs/ema/ckpt.pt", weights_only=True)
    assert ckpt["step"] == 2 and set(ckpt["ema"]) <= set(ckpt["model"])
    name = "g_a.0.weight"
    assert not torch.equal(ckpt["ema"][name], ckpt["model"][name])
    train(config, "--export", str(root / "ema.pt"), "--ema")
    exported = torch.load(root / "ema.pt", weights_only=True)
    assert torch.equal(exported["state"][name], ckpt["ema"][name].half())
    assert exported["source"]["ema"] == 0.5


def test_held_out_photos_are_never_trained_on(tmp_path, sample_rgb):
    from codec.training.data import load_cached

    for name in ("a.png", "b.png"):
        Image.fromarray(sample_rgb[:64, :64]).save(tmp_path / name)
    images = load_cached(tmp_path, tmp_path / "cache", 64, exclude={"b.png"})
    assert len(images) == 1


def test_a_run_continues_at_its_step_through_a_chain_of_branches():
    from codec.training.train import lineage

    origin = {"run": "catch-up", "step": 900, "init": {"run": "anneal", "step": 300, "init": {"run": "main", "step": 20309}}}
    assert [o["run"] for o in lineage(origin)] == ["catch-up", "anneal", "main"]


@pytest.mark.parametrize("fault", ["nan", "stop"])
def test_ranks_agree_to_skip_a_batch_or_stop(tiny_setup, fault):
    """A non-finite loss or a stop request on one rank of two: both skip the batch (or both stop)
    instead of one waiting forever in the all-reduce."""
    root, data = tiny_setup
    config = write_config(root, data, f"agree_{fault}", steps=3)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(REPO / "tests/codec/helpers/faulty_rank.py"), fault, str(config), "--threads", "1"]
    result = subprocess.run(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    step = torch.load(root / f"runs/agree_{fault}/ckpt.pt", weights_only=True)["step"]
    if fault == "nan":
        assert "non-finite loss (rank 1: nan), batch skipped" in result.stdout and step == 3
    else:
        assert "stopped by signal at step 1" in result.stdout and step == 1
