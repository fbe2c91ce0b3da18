"""Round trips of the nested layer coding through the range coder (no model involved)."""
import numpy as np
import pytest

from codec.coding import entropy_coding as ec
from codec.coding import nested
from codec.codecs.deephq import chunk_passes, partitions
from codec.coding.latent_coding import NestedState, decode_pass, encode_pass

STEPS = [3.0, 1.7, 1.0, 0.62, 0.4, 0.25, 0.16, 0.1]


def run_round_trip(y_star, sigma, masks, K, parts=1):
    """Encode all layers (each of its partitions in a stream of its own), decode them, return the
    encoded states."""
    n = y_star.size
    half = K * STEPS[0] / 2
    enc_state = NestedState(np.full(n, -half), np.full(n, half), np.zeros(n))
    dec_state = NestedState(np.full(n, -half), np.full(n, half), np.zeros(n))
    for layer in range(len(STEPS)):
        for elements in partitions(masks, sigma, layer, parts):
            encoder = ec.new_encoder()
            for coded, j in chunk_passes(masks, elements, layer):
                encode_pass(encoder, enc_state, coded, np.full(coded.size, STEPS[j]), sigma[coded], y_star[coded])
            before = (enc_state.lower.copy(), enc_state.upper.copy())
            decoder = ec.new_decoder(ec.finish(encoder))
            for coded, j in chunk_passes(masks, elements, layer):
                decode_pass(decoder, dec_state, coded, np.full(coded.size, STEPS[j]), sigma[coded])
            assert np.array_equal(dec_state.lower, before[0]) and np.array_equal(dec_state.upper, before[1])
            assert np.array_equal(dec_state.value, enc_state.value)
    return enc_state


@pytest.mark.parametrize("seed, parts", [(0, 1), (1, 1), (2, 5)])
def test_round_trip_with_tiny_sigma_far_tails_and_late_selection(seed, parts):
    rng = np.random.default_rng(seed)
    n = 20_000
    sigma = ec.SIGMA_TABLE[rng.integers(0, 80, n)]  # 0.02 (the smallest scale) to 20
    y_star = rng.normal(0, 1, n) * sigma
    y_star[:50] = rng.choice([-1, 1], 50) * rng.uniform(20, 40, 50)  # far tail: |y*| / sigma up to 2000
    K = 2 * int(np.ceil(np.abs(y_star).max() / STEPS[0])) + 1
    first_layer = rng.integers(0, 8, n)  # elements selected for the first time at every layer
    masks = np.arange(8)[:, None] >= first_layer[None, :]
    state = run_round_trip(y_star, sigma, masks, K, parts)
    final = masks[-1]
    assert np.all((state.lower[final] <= y_star[final]) & (y_star[final] <= state.upper[final]))
    assert np.all(state.upper[final] - state.lower[final] < (1 + 2 * nested.T) * STEPS[-1])  # late ones too
    assert np.all(state.value[~final] == 0)


def test_partitions_cover_the_selection_by_sigma_largest_first():
    rng = np.random.default_rng(4)
    sigma = ec.SIGMA_TABLE[rng.integers(0, 120, 1003)]
    masks = np.stack([rng.random(1003) < 0.3, np.ones(1003, bool)])
    assert [p.tolist() for p in partitions(masks, sigma, 0, 4)] == [np.flatnonzero(masks[0]).tolist()]
    parts = partitions(masks, sigma, 1, 4)
    assert [p.size for p in parts] == [251, 251, 251, 250]
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(1003))
    assert all(np.all(np.diff(p) > 0) for p in parts)  # index order inside a partition
    assert all(sigma[a].min() >= sigma[b].max() for a, b in zip(parts, parts[1:]))
    new = chunk_passes(masks, parts[0], 1)
    assert [j for _, j in new] == [0, 1] and np.array_equal(new[0][0], parts[0][~masks[0][parts[0]]])


def test_sigma_grid_is_monotone_and_snaps_to_nearest():
    assert np.all(np.diff(ec.SIGMA_TABLE) > 0)
    values = np.exp(np.random.default_rng(2).uniform(np.log(0.03), np.log(1000), 1000))
    snapped = ec.SIGMA_TABLE[ec.quantize_sigma(values)]
    assert np.all(np.abs(np.log(snapped / values)) <= np.log(ec.SIGMA_RATIO) / 2 + 1e-12)


def test_garbage_words_do_not_crash_the_decoder():
    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, 400, dtype=np.uint8).tobytes()
    n = 500
    state = NestedState(np.full(n, -10.0), np.full(n, 10.0), np.zeros(n))
    try:
        decode_pass(ec.new_decoder(data), state, np.arange(n), np.full(n, 1.0), np.full(n, 2.0))
    except ec.CorruptStream:
        return
    assert np.all((state.lower >= -10) & (state.upper <= 10))


def test_odd_length_payload_is_reported():
    with pytest.raises(ec.CorruptStream):
        ec.new_decoder(b"\x00\x01\x02")
