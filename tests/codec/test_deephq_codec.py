"""Whole-codec round trips with the shipped DeepHQ weights."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from codec import api, container
from codec.registry import load_codec

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def encoded(small_rgb):
    codec = load_codec("deephq", 0, "cpu")
    return codec, codec.encode(small_rgb)


def test_decoder_reproduces_the_encoders_reconstructions(small_rgb, encoded):
    codec, enc = encoded
    decoder = codec.decoder(small_rgb.shape[1], small_rgb.shape[0], enc.params)
    for layer, payload in enumerate(enc.layers):
        assert np.array_equal(decoder.decode_layer(payload), enc.reconstructions[layer])


def test_layers_add_bits_and_quality(small_rgb, encoded):
    _, enc = encoded
    errors = [np.mean((r.astype(float) - small_rgb) ** 2) for r in enc.reconstructions]
    assert len(enc.layers) == 8
    assert errors[-1] < errors[0]
    assert all(b <= a * 1.02 for a, b in zip(errors, errors[1:]))  # never clearly worse


def test_prefixes_of_a_real_file_decode_to_their_complete_layers(small_rgb):
    data = api.encode(small_rgb, device="cpu")
    header = container.read_header(data)
    full = api.decode(data, device="cpu")
    with pytest.raises(container.ContainerError):
        api.decode(data[: header.layer_offset(1) - 1], device="cpu")
    for layers in (1, 4, 7):
        cut = header.layer_offset(layers + 1) - 1  # one byte short of the next layer
        result = api.decode(data[:cut], device="cpu")
        assert len(result.layers) == layers and not result.complete
        assert np.array_equal(result.last.rgb, full.layers[layers - 1].rgb)


def test_flipped_bit_is_reported_by_layer(small_rgb):
    data = bytearray(api.encode(small_rgb, device="cpu"))
    header = container.read_header(bytes(data))
    target = next(i for i in range(1, 8) if header.layer_lengths[i] > 0)
    data[header.layer_offset(target) + header.layer_lengths[target] // 2] ^= 0x10
    result = api.decode(bytes(data), device="cpu")
    assert len(result.layers) == target
    assert isinstance(result.damage, container.LayerCorrupted) and result.damage.layer == target
    assert f"layer {target}" in str(result.damage)


def test_random_bytes_give_a_clear_error():
    with pytest.raises(container.NotStrataFile):
        api.decode(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())


def test_other_weights_are_named_in_the_error(small_rgb):
    data = bytearray(api.encode(small_rgb, device="cpu"))
    header = container.read_header(bytes(data))
    forged = container.write_container(
        container.Header(**{**header.__dict__, "weights_digest": b"\x01" * 8}),
        container.parse_container(bytes(data)).layers,
    )
    with pytest.raises(api.WeightsMismatch, match="0101010101010101"):
        api.decode(forged, device="cpu")


DECODE_IN_CHILD = """
import sys, hashlib, torch
torch.set_num_threads(int(sys.argv[2]))
from codec import api
result = api.decode(open(sys.argv[1], "rb").read(), device="cpu")
print(" ".join(hashlib.sha256(l.rgb.tobytes()).hexdigest() for l in result.layers))
"""


def test_decoding_in_another_process_with_other_threads_is_identical(small_rgb, tmp_path):
    import torch

    torch.set_num_threads(1)
    try:
        data = api.encode(small_rgb, device="cpu")
    finally:
        torch.set_num_threads(2)
    path = tmp_path / "x.strata"
    path.write_bytes(data)
    import hashlib
    expected = " ".join(hashlib.sha256(l.rgb.tobytes()).hexdigest() for l in api.decode(data, device="cpu").layers)
    child = subprocess.run([sys.executable, "-c", DECODE_IN_CHILD, str(path), "2"], capture_output=True, text=True,
                           cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=300)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == expected.split()


def test_selective_masks_round_trip(small_rgb):
    """Phase-3 bitstream: partial masks, elements selected for the first time at late layers."""
    import torch
    from codec.deephq_codec import DeepHQCodec
    from codec.models.deephq import DeepHQ, DeepHQConfig
    from codec.weights import weights_payload

    torch.manual_seed(0)
    model = DeepHQ(DeepHQConfig(N=32, M=48, selective=True))
    with torch.no_grad():
        model.init_steps_from_ladder()
        model.importance[-1].bias.fill_(-5.0)  # m around sigmoid(0): masks decided by gamma
        model.mask_exponent.copy_(torch.linspace(3.0, 0.2, 8)[:, None].expand(8, 48))
    codec = DeepHQCodec(weights_payload(model, "deephq"), torch.device("cpu"))
    encoded = codec.encode(small_rgb)
    decoder = codec.decoder(small_rgb.shape[1], small_rgb.shape[0], encoded.params)
    for layer, payload in enumerate(encoded.layers):
        assert np.array_equal(decoder.decode_layer(payload), encoded.reconstructions[layer])
    masks = decoder.params.masks
    assert masks[0].mean() < 0.9 and masks[-1].mean() > masks[0].mean()  # selection grows
    assert np.all(masks[1:] >= masks[:-1])
