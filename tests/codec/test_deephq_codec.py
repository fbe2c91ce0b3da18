"""Whole-codec round trips with the shipped DeepHQ weights."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from codec import api, container
from codec.codecs.deephq import DeepHQCodec, fitted_partitions
from codec.coding.latent_coding import NestedState, reconstruction
from codec.resources import RESOURCES
from codec.weights import read_weights
from codec.registry import load_codec

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def encoded(small_rgb):
    codec = load_codec("deephq", 0, "cpu")
    return codec, codec.encode(small_rgb)


def test_decoder_reproduces_the_encoders_reconstructions(small_rgb, encoded):
    codec, enc = encoded
    decoder = codec.decoder(small_rgb.shape[1], small_rgb.shape[0], enc.params)
    for layer in range(len(enc.layers)):
        assert np.array_equal(decoder.decode_layer(enc.layer_chunks(layer)), enc.reconstructions[layer])


def test_range_decoding_then_synthesis_of_any_layer(small_rgb, encoded):
    """With history, every layer range-decoded first can be synthesized later, in any order;
    without, only the newest."""
    codec, enc = encoded
    width, height = small_rgb.shape[1], small_rgb.shape[0]
    keeping = codec.decoder(width, height, enc.params, history=True)
    assert [keeping.decode_symbols(enc.layer_chunks(i)) for i in range(8)] == list(range(8))
    for layer in (7, 0, 4):
        assert np.array_equal(keeping.synthesize(layer), enc.reconstructions[layer])
    newest_only = codec.decoder(width, height, enc.params)
    for layer in range(3):
        newest_only.decode_symbols(enc.layer_chunks(layer))
    assert np.array_equal(newest_only.synthesize(), enc.reconstructions[2])
    with pytest.raises(IndexError):
        newest_only.synthesize(1)


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
        assert np.array_equal(result.layers[-1].rgb, full.layers[layers - 1].rgb)
        # the chunks of the next layer that are complete refine the picture
        assert result.refinement.index == layers and result.refinement.parts == len(header.chunks[layers]) - 1
        assert result.last is result.refinement and result.refinement.bytes_used == header.chunk_end(layers, result.refinement.parts - 1)


def test_flipped_bit_is_reported_by_layer(small_rgb):
    data = bytearray(api.encode(small_rgb, device="cpu"))
    header = container.read_header(bytes(data))
    target = next(i for i in range(1, 8) if header.layer_lengths[i] > 0)
    data[header.layer_offset(target) + header.layer_lengths[target] // 2] ^= 0x10
    result = api.decode(bytes(data), device="cpu")
    assert len(result.layers) == target
    assert isinstance(result.damage, container.LayerCorrupted) and result.damage.layer == target
    assert f"quality layer {target + 1} is corrupted" in str(result.damage)


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
import sys, numpy as np, torch
torch.set_num_threads(int(sys.argv[2]))
from codec import container
from codec.registry import load_codec
parsed = container.parse_container(open(sys.argv[1], "rb").read())
h = parsed.header
decoder = load_codec(h.codec, h.model_id, "cpu").decoder(h.width, h.height, h.params)
pictures, cells = [], []
for layer in range(h.num_layers):
    pictures.append(decoder.decode_layer(parsed.layer_chunks(layer)))
    cells.append(np.stack([decoder.state.lower, decoder.state.upper]))  # what the symbols decoded to
np.savez(sys.argv[3], pictures=np.stack(pictures), cells=np.stack(cells), threads=torch.get_num_threads())
"""


def decode_in_child(path, threads, out):
    child = subprocess.run([sys.executable, "-c", DECODE_IN_CHILD, str(path), str(threads), str(out)],
                           capture_output=True, text=True, cwd=REPO, timeout=300,
                           env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": str(threads)})
    assert child.returncode == 0, child.stderr
    result = np.load(out)
    assert int(result["threads"]) == threads
    return result


def test_decoding_with_1_and_2_threads_gives_the_same_symbols_and_pixels_within_one_level(small_rgb, tmp_path):
    """docs/FORMAT.md's guarantee: every decoded symbol (hence every cell and latent value) is
    identical whatever the thread count; pixels come from a float32 synthesis whose sums may run
    in another order, so a pixel may differ by one 8-bit level, never more. (The test this
    replaces decoded with 2 threads on both sides.)"""
    path = tmp_path / "x.strata"
    path.write_bytes(api.encode(small_rgb, device="cpu"))
    one, two = (decode_in_child(path, n, tmp_path / f"{n}.npz") for n in (1, 2))
    assert np.array_equal(one["cells"], two["cells"])
    difference = np.abs(one["pictures"].astype(np.int16) - two["pictures"].astype(np.int16))
    assert difference.max() <= 1
    assert np.mean(difference > 0) < 1e-3


def test_selective_masks_round_trip(small_rgb):
    """Phase-3 bitstream: partial masks, elements selected for the first time at late layers."""
    import torch
    from codec.codecs.deephq import DeepHQCodec
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
    for layer in range(len(encoded.layers)):
        assert np.array_equal(decoder.decode_layer(encoded.layer_chunks(layer)), encoded.reconstructions[layer])
    masks = decoder.params.masks
    assert masks[0].mean() < 0.9 and masks[-1].mean() > masks[0].mean()  # selection grows
    assert np.all(masks[1:] >= masks[:-1])


def test_fitted_partitions_keep_chunks_above_the_minimum():
    assert fitted_partitions(100, 4, 0) == 4  # no minimum
    assert [fitted_partitions(n, 4, 1000) for n in (0, 999, 1000, 2999, 3000, 4000, 10**6)] == [1, 1, 1, 2, 3, 4, 4]
    assert fitted_partitions(10**6, 1, 1000) == 1


def test_small_layers_get_fewer_partitions_and_the_same_pictures(small_rgb, encoded):
    """A minimum chunk size merges the partitions of small layers: the counts in the parameters
    follow the chunks, the symbols (so the pictures) stay those of the fully partitioned file,
    and the state restored before re-coding a layer leaves the later layers unchanged."""
    codec, uniform = encoded
    least = sorted(map(len, uniform.layers[1:]))[3] // 4 + 1  # the 3 smallest layers fall below 4 chunks
    fitted = codec.encode_partitioned(small_rgb, 4, min_chunk_bytes=least)
    counts = tuple(map(len, fitted.chunk_lengths[1:]))
    assert fitted.params[6:] == bytes(counts)
    assert counts == tuple(fitted_partitions(len(layer), 4, least) for layer in uniform.layers[1:])
    assert 1 <= min(counts) < 4 == max(counts)
    assert sum(map(len, fitted.layers)) < sum(map(len, uniform.layers))
    decoder = codec.decoder(small_rgb.shape[1], small_rgb.shape[0], fitted.params)
    for layer in range(8):
        assert np.array_equal(decoder.decode_layer(fitted.layer_chunks(layer)), uniform.reconstructions[layer])


def test_reconstruction_offsets_move_the_decoded_values_and_the_encoder_agrees(small_rgb):
    """A weights file's reconstruction_offsets change the pictures (the symbols do not), the
    encoder's reconstructions are the decoder's pictures, and offsets of 0 give the midpoints."""
    weights = read_weights(RESOURCES / "deephq.pt")

    def with_offsets(value: float) -> DeepHQCodec:
        tables = {**weights["tables"], "reconstruction_offsets": torch.full((8,), value, dtype=torch.float64)}
        return DeepHQCodec({**weights, "tables": tables}, torch.device("cpu"))

    midpoints, moved = with_offsets(0.0).encode(small_rgb), with_offsets(0.5)
    enc = moved.encode(small_rgb)
    assert enc.layers == midpoints.layers
    decoder = moved.decoder(small_rgb.shape[1], small_rgb.shape[0], enc.params)
    for layer in range(8):
        picture = decoder.decode_layer(enc.layer_chunks(layer))
        assert np.array_equal(picture, enc.reconstructions[layer])
        assert not np.array_equal(picture, midpoints.reconstructions[layer]) or layer == 0
    state = NestedState(np.array([0.0, 1.0]), np.array([1.0, 3.0]), np.array([0.5, 2.0]))
    assert np.array_equal(reconstruction(state, np.ones(2), 0.0), state.value)
    assert np.all(reconstruction(state, np.ones(2), 0.5) > state.value)  # away from the mean, up here
