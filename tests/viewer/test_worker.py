"""The decoder worker's scheduling, without Qt or processes: every complete layer is range-decoded,
only the layer to show is synthesized, a picked layer comes first, and failures name the layer."""
import numpy as np
import pytest

from codec import api, container
from viewer.backend import protocol as p
from viewer.backend import worker
from viewer.backend.worker import StreamJob
from viewer_helpers import make_image, run_steps


@pytest.fixture(scope="module")
def data():
    return api.encode(make_image(), device="cpu")


def pictures(messages) -> list[int]:
    return [m.index for m in messages if isinstance(m, p.LayerDecoded)]


def test_a_whole_file_costs_one_synthesis(data):
    job = StreamJob("s", None)
    job.feed(data)
    messages = run_steps(job)
    assert pictures(messages) == [7] and len(messages) == 1
    assert job.decoder.layer == 8  # every layer was range-decoded
    assert np.array_equal(messages[0].rgb, api.decode(data, device="cpu").last.rgb)


@pytest.fixture
def frozen_clock(monkeypatch):
    """The worker's scheduling clock, standing still unless a test moves it (a list of one float)."""
    now = [100.0]
    monkeypatch.setattr(worker, "clock", lambda: now[0])
    return now


def test_layers_overtaken_before_their_synthesis_are_skipped(data, frozen_clock):
    header = container.read_header(data)
    job = StreamJob("s", None)
    job.feed(data[:header.layer_offset(2)])
    assert pictures(run_steps(job)) == [0, 1]  # the first picture as soon as it is decodable
    job.feed(data[header.layer_offset(2):header.layer_offset(5)])  # layers 2, 3, 4 at once
    assert pictures(run_steps(job)) == [4]


def test_while_bytes_arrive_a_picture_comes_first_and_then_every_refresh_interval(data, frozen_clock):
    header = container.read_header(data)
    job = StreamJob("s", None)
    job.feed(data[:header.layer_offset(6)])  # layers 0-5 at once, more to come
    actions = []
    while job.has_work:
        message = job.step()
        actions.append(message.index if message is not None else "decode")
        frozen_clock[0] += 0.3  # each step takes 0.3 s
    first = actions.index(0)
    assert actions[:first] == ["decode", "decode"]  # opening the decoder, layer 0's chunk
    shown = [i for i, a in enumerate(actions) if a != "decode"]
    assert all(b - a <= 5 for a, b in zip(shown, shown[1:]))  # at most 4 decode steps (1.2 s) between pictures
    assert actions[-1] == 5 and len(shown) >= 3


def test_a_whole_file_goes_straight_to_its_last_layer_even_when_decoding_is_slow(data, frozen_clock):
    job = StreamJob("s", None)
    job.feed(data)
    actions = []
    while job.has_work:
        message = job.step()
        actions.append(None if message is None else message.index)
        frozen_clock[0] += 2.0
    assert [a for a in actions if a is not None] == [7]


def test_a_picked_layer_is_synthesized_on_demand_and_once(data):
    job = StreamJob("s", None)
    job.feed(data)
    run_steps(job)
    job.select(3)
    messages = run_steps(job)
    assert pictures(messages) == [3]
    assert np.array_equal(messages[0].rgb, api.decode(data, layers=4, device="cpu").last.rgb)
    job.select(None)  # the newest is already sent
    job.select(3)
    assert not job.has_work


def test_a_damaged_layer_ends_the_stream_after_the_layers_before_it(data):
    header = container.read_header(data)
    broken = bytearray(data)
    broken[header.layer_offset(3)] ^= 0x55
    job = StreamJob("s", None)
    job.feed(bytes(broken))
    messages = run_steps(job)
    assert pictures(messages) == [2]
    failed = messages[-1]
    assert isinstance(failed, p.StreamFailed) and failed.layer == 3
    assert "layer 4 is damaged" in failed.message  # counted from 1 for the user


def test_an_undecodable_layer_names_it_counting_from_one(data):
    parsed = container.parse_container(data)
    params = parsed.header.params  # DeepHQ: K (u16), check (u32), partitions (u8)
    check = int.from_bytes(params[2:6], "little") ^ 1
    forged = container.Header(**{**parsed.header.__dict__, "params": params[:2] + check.to_bytes(4, "little") + params[6:]})
    job = StreamJob("s", None)
    job.feed(container.write_container(forged, parsed.layers))
    messages = run_steps(job)
    assert len(messages) == 1 and messages[0].layer == 0
    assert messages[0].message.startswith("layer 1 cannot be decoded:")


def test_psnr_is_measured_against_a_reference_of_the_same_size(data):
    reference = make_image()
    job = StreamJob("s", reference)
    job.feed(data)
    (message,) = run_steps(job)
    header = container.read_header(data)
    assert message.psnr == pytest.approx(header.layer_psnr[7], abs=0.01)
    assert message.file_psnr == header.layer_psnr[7]
