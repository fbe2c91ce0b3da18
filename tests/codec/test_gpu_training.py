"""Training on a lent GPU: the crop pack, time-bounded runs, weights returned in parts, and the
one command of docs/TRAINING.md run on the CPU (a few steps of a tiny model)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from codec.models.deephq import DeepHQ, DeepHQConfig
from codec.training.train import TrainConfig, learning_rate
from codec.training.transfer import exported_step, join_parts, newest_sets, write_parts
from codec.weights import build_model, content_digest, read_weights, save_weights, weights_payload

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *command], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert not check or result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def pack(tmp_path_factory, sample_rgb) -> Path:
    """A pack of 64x64 crops (5 training, 1 eval) of four photos cut from the sample."""
    root = tmp_path_factory.mktemp("gpu")
    photos = root / "photos"
    photos.mkdir()
    for i in range(4):
        Image.fromarray(sample_rgb[i * 90 : i * 90 + 150, i * 140 : i * 140 + 200]).save(photos / f"{i}.png")
    crop_bytes = 64 * 64 * 3
    mib = (6.5 * crop_bytes + 64 * 1024) / 2**20  # 6 crops
    run("scripts/gpu_pack.py", "--data", str(photos), "--out", str(root / "pack"), "--crop", "64",
        "--mib", str(mib), "--eval-crops", "1", "--held-out", "")
    return root / "pack"


def tiny_config(pack: Path, name: str) -> Path:
    config = pack.parent / f"{name}.toml"
    config.write_text(f"""
name = "{name}"
codec = "deephq"
model = {{ N = 16, M = 24, layers = 8, selective = true }}
phase = 3
layers_per_step = 2
steps = 3
batch = 2
crop = 64
data = "{pack}"
eval_data = "{pack / 'eval.npy'}"
eval_images = 1
log_every = 1
eval_every = 2
checkpoint_minutes = 0.0
runs = "{pack.parent / 'runs'}"
""")
    return config


def test_the_pack_holds_uint8_crops_and_evaluates_on_other_photos(pack):
    manifest = json.loads((pack / "pack.json").read_text())
    crops = np.concatenate([np.load(pack / name) for name in manifest["train"]["files"]])
    assert crops.shape == (5, 64, 64, 3) and crops.dtype == np.uint8
    assert np.load(pack / "eval.npy").shape == (1, 64, 64, 3)
    assert not set(manifest["eval"]["photos"]) & set(manifest["train"]["photos"])
    assert len(set(manifest["train"]["photos"])) == 3  # one crop a photo, round after round


def test_the_gpu_command_trains_on_the_pack_and_returns_loadable_fp16_weights(pack):
    """scripts/gpu_session.py, the one command of a lent GPU, on the CPU: 3 steps of a tiny DeepHQ."""
    out = pack.parent / "out"
    result = run("scripts/gpu_session.py", "--allow-cpu", "--threads", "1", "--minutes", "3", "--out", str(out),
                 str(tiny_config(pack, "gpu_tiny")))
    log = (out / "session.log").read_text()
    assert log.strip().splitlines()[-1] in result.stdout
    assert re.search(r"^\d\d:\d\d:\d\d +\d+s python 3", log, re.M)  # stamped lines
    records = [json.loads(line.split("s ", 1)[1]) for line in log.splitlines() if "s {" in line]
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3]
    assert records[0]["start"] and records[-1]["final"] and len(records[-1]["eval_psnr"]) == 8
    parts = newest_sets(out)["gpu_tiny"]
    assert sorted(p.name for p in out.glob("*.pt")) == [p.name for p in parts]  # step 1 and 2's removed
    assert all(p.stat().st_size < 16 * 2**20 for p in parts)
    save_weights(join_parts(parts), pack.parent / "returned.pt")
    weights = read_weights(pack.parent / "returned.pt")
    assert weights["source"]["step"] == 3 and weights["source"]["run"] == "gpu_tiny"
    assert all(t.dtype == torch.float16 for t in weights["state"].values() if t.is_floating_point())
    build_model("deephq", weights["config"], weights["state"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_the_gpu_command_stops_with_a_clear_message(pack):
    out = pack.parent / "nocuda"
    result = run("scripts/gpu_session.py", "--minutes", "1", "--out", str(out), str(tiny_config(pack, "nocuda")),
                 check=False)
    assert result.returncode == 3
    assert "cannot train: no CUDA device: nothing is trained" in (out / "session.log").read_text()
    assert not list(out.glob("*.pt"))


def tiny_payload(seed: int = 0) -> dict:
    torch.manual_seed(seed)
    model = DeepHQ(DeepHQConfig(N=16, M=24)).eval()
    return {**weights_payload(model, "deephq"), "source": {"run": "r", "step": 7}}


def test_weights_parts_join_to_the_weights_they_were_cut_from(tmp_path):
    payload = tiny_payload()
    paths = write_parts(payload, tmp_path, "r", 7, max_bytes=50_000)
    assert len(paths) > 2 and exported_step(tmp_path, "r") == 7
    joined = join_parts(paths)
    assert content_digest(joined) == content_digest(payload) and joined["source"] == payload["source"]
    with pytest.raises(ValueError, match="not the .* parts of one export"):
        join_parts(paths[:-1])
    with pytest.raises(ValueError, match="more than a part's 1000"):
        write_parts(payload, tmp_path, "r", 8, max_bytes=1000)


def test_a_new_export_replaces_the_old_parts_and_an_incomplete_one_is_ignored(tmp_path):
    old = write_parts(tiny_payload(0), tmp_path, "r", 7, max_bytes=50_000)
    new = write_parts(tiny_payload(1), tmp_path, "r", 9, max_bytes=50_000)
    assert not any(p.exists() for p in old) and newest_sets(tmp_path) == {"r": new}
    torch.save({}, tmp_path / "r.s000011.p1of2.pt")  # a machine stopped while writing step 11's parts
    assert newest_sets(tmp_path) == {"r": new}


def test_damaged_parts_are_refused(tmp_path):
    paths = write_parts(tiny_payload(), tmp_path, "r", 7, max_bytes=50_000)
    part = torch.load(paths[0], weights_only=True)
    name = next(iter(part["state"]))
    part["state"][name] = part["state"][name] + 1
    torch.save(part, paths[0])
    with pytest.raises(ValueError, match="damaged"):
        join_parts(paths)


def test_a_time_bounded_run_follows_its_schedule_by_time():
    cfg = TrainConfig(name="t", steps=1_000_000, minutes=10, lr=[[0.0, 1e-4], [0.6, 2e-5], [0.85, 6e-6]])
    assert [learning_rate(cfg, 50, 60 * m) for m in (0, 5.9, 6, 8.6)] == [1e-4, 1e-4, 2e-5, 6e-6]
    assert learning_rate(TrainConfig(name="s", steps=100, lr=cfg.lr), 60, 1e9) == 2e-5  # no minutes: steps


def lent_gpu_section() -> str:
    text = (REPO / "docs/TRAINING.md").read_text()
    return text.split("## When a GPU is lent", 1)[1].split("\n## ", 1)[0]


def test_the_documented_gpu_command_fits_the_tool_and_names_what_it_needs():
    """docs/TRAINING.md's command is at most 2,000 characters, its configs train on the carried,
    git-ignored pack and start from weights that travel."""
    section = lent_gpu_section()
    command = next(line.strip() for line in section.splitlines() if "scripts/gpu_session.py --minutes" in line)
    carry = json.loads(re.search(r"carry: `(\[.*?\])`", section).group(1))
    assert len(command) <= 2000 and '--out "$OUT"' in command and command.startswith("PYTHONPATH=.")
    configs = re.findall(r"(configs/\S+\.toml)", command)
    assert configs
    for config in configs:
        cfg = TrainConfig.load(REPO / config)
        assert any(cfg.data == path or cfg.data.startswith(path + "/") for path in carry)
        assert cfg.minutes > 0 and cfg.checkpoint_minutes <= 1 and (REPO / cfg.init_from[0]).exists()
    ignored = subprocess.run(["git", "check-ignore", *carry], cwd=REPO, capture_output=True, text=True).stdout.split()
    assert ignored == carry
