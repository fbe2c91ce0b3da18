"""Weights files are verified before use: damage, edits and malformed content are WeightsErrors
that name the file (issue 19, item 2), and what export_weights writes loads."""
import io
import shutil
import struct
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

import codec.pillow_plugin  # noqa: F401 - registers the STRATA format
from codec import api, cli, registry
from codec.models.hc import HC, HCConfig
from codec.weights import (WeightsError, atomic_torch_save, content_digest, export_weights, read_weights,
                           save_weights, weights_digest, weights_payload)

REPO_WEIGHTS = registry.RESOURCES / "deephq.pt"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small seeded HC model written by export_weights."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "hc_small.pt"
    export_weights(HC(HCConfig(N=32, M=48)), "hc", path, source={"run": "test", "step": 0})
    return path


def payload_of(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def largest_tensor_offset(path):
    """File offset of the middle of the largest tensor record in a torch zip archive."""
    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    with open(path, "rb") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", f.read(4))
    return info.header_offset + 30 + name_len + extra_len + info.file_size // 2


def flip_bytes(path, offset, count=16):
    data = bytearray(path.read_bytes())
    for i in range(offset, offset + count):
        data[i] ^= 0xA5
    path.write_bytes(bytes(data))


def test_export_records_the_content_digest_and_the_file_loads(exported):
    payload = payload_of(exported)
    assert payload["sha256"] == content_digest(payload)
    assert read_weights(exported)["source"] == {"run": "test", "step": 0}
    assert registry.load_codec("hc", 1, "cpu", weights=exported).digest == weights_digest(payload)


def test_a_file_without_a_recorded_digest_still_loads(tmp_path):
    """Files exported before the digest was recorded (like the shipped ones) rest on the CRC-32s."""
    torch.manual_seed(1)
    path = tmp_path / "legacy.pt"
    atomic_torch_save({**weights_payload(HC(HCConfig(N=32, M=48)), "hc"), "source": {}}, path)
    assert "sha256" not in payload_of(path)
    assert read_weights(path)["codec"] == "hc"


@pytest.mark.parametrize("name", ["deephq.pt", "hc_q1.pt"])
def test_the_shipped_weights_pass_every_check(name):
    assert read_weights(registry.RESOURCES / name)["format"] == "strata-weights"


def test_bytes_flipped_inside_a_tensor_are_caught_by_the_archive_crcs(exported, tmp_path):
    damaged = tmp_path / "damaged.pt"
    shutil.copy(exported, damaged)
    flip_bytes(damaged, largest_tensor_offset(damaged))
    assert payload_of(damaged)["state"]  # torch.load itself does not notice
    with pytest.raises(WeightsError, match=rf"{damaged}.*damaged.*does not match its CRC-32"):
        read_weights(damaged)


def test_damaged_shipped_weights_fail_the_cli_and_pillow_by_name(tmp_path, monkeypatch, sample_rgb):
    """The issue's probe: 16 bytes flipped inside a tensor of resources/deephq.pt made
    `strata encode` exit 0 with a 2 dB file."""
    folder = tmp_path / "resources"
    folder.mkdir()
    shutil.copy(REPO_WEIGHTS, folder / "deephq.pt")
    flip_bytes(folder / "deephq.pt", largest_tensor_offset(folder / "deephq.pt"))
    monkeypatch.setattr(registry, "RESOURCES", folder)
    source = tmp_path / "tile.png"
    Image.fromarray(sample_rgb[:48, :64]).save(source)
    assert cli.main(["encode", str(source), "-q", "--device", "cpu"]) == cli.EXIT_FAILED
    assert not (tmp_path / "tile.strata").exists()
    with pytest.raises(OSError, match=r"deephq\.pt is damaged"):
        Image.open(source).save(io.BytesIO(), "STRATA")
    with pytest.raises(WeightsError, match="CRC-32"):
        api.encode(source, device="cpu")


def test_content_edited_after_export_fails_the_recorded_digest(exported, tmp_path):
    payload = payload_of(exported)
    name = next(iter(payload["state"]))
    payload["state"][name] = payload["state"][name] + 1  # re-saved: the zip CRCs are fresh
    edited = tmp_path / "edited.pt"
    atomic_torch_save(payload, edited)
    with pytest.raises(WeightsError, match=rf"{edited} is damaged or was edited: its content's SHA-256"):
        read_weights(edited)


def _drop_state_key(p):
    del p["state"][sorted(p["state"])[0]]


def _reshape_tensor(p):
    name = next(k for k, v in p["state"].items() if v.ndim == 4)
    p["state"][name] = p["state"][name][:, :-1]


def _unknown_config_key(p):
    p["config"]["bogus"] = 1


def _drop_table(p):
    del p["tables"]["z_offsets"]


def _drop_tables(p):
    del p["tables"]


def _bad_config_value(p):
    p["config"]["N"] = "wide"


@pytest.mark.parametrize("edit, message", [
    (_drop_state_key, r"state.*missing \['"),
    (_reshape_tensor, r"state .* has shape \("),
    (_unknown_config_key, r"unknown hc config keys \['bogus'\]"),
    (_drop_table, r"coding tables do not match the model: missing \['z_offsets'\]"),
    (_drop_tables, r"lacks tables"),
    (_bad_config_value, r"impossible hc config"),
])
def test_malformed_weights_are_weights_errors_naming_the_file(exported, tmp_path, edit, message):
    """Before, these escaped as KeyError, RuntimeError or TypeError while the codec was built."""
    payload = payload_of(exported)
    del payload["sha256"]
    edit(payload)
    path = tmp_path / "malformed.pt"
    atomic_torch_save(payload, path)
    with pytest.raises(WeightsError, match=rf"{path}.*{message}"):
        registry.load_codec("hc", 1, "cpu", weights=path)


def test_malformed_weights_are_oserrors_through_pillow(exported, tmp_path, monkeypatch, sample_rgb):
    payload = payload_of(exported)
    _unknown_config_key(payload)
    folder = tmp_path / "resources"
    save_weights(payload, folder / "hc_q1.pt")
    monkeypatch.setattr(registry, "RESOURCES", folder)
    with pytest.raises(OSError, match=r"hc_q1\.pt: unknown hc config keys"):
        Image.fromarray(sample_rgb[:48, :64]).save(io.BytesIO(), "STRATA", codec="hc", quality=1)


def test_checking_a_file_leaves_the_global_random_state_alone(exported):
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    read_weights(exported)  # builds a freshly initialised model to compare shapes with
    assert torch.equal(torch.rand(3), expected)


def test_not_a_weights_archive_is_named(tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(WeightsError, match=rf"{path} is damaged: not a readable archive"):
        read_weights(path)
