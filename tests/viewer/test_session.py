"""Qt-free parts: the link clock, streams (arrivals, truncation, stale results), atomic writes."""
import os

import pytest

from viewer.presentation.streams import problem
from viewer.state import files
from viewer.state.link import LinkClock
from viewer.state.session import Stream
from viewer_helpers import layer, layered


def test_link_clock_latency_then_bandwidth():
    clock = LinkClock(8000, latency=0.5)  # 1000 bytes/s
    assert clock.budget(0.4) == 0
    assert clock.budget(1.5) == pytest.approx(1000)
    assert clock.time_of(1000) == pytest.approx(1.5)


def test_link_clock_bandwidth_change_keeps_delivered_bytes():
    clock = LinkClock(8000)
    clock.set_bandwidth(16000, 2.0)  # 2000 bytes delivered, then 2000 bytes/s
    assert clock.budget(2.0) == pytest.approx(2000)
    assert clock.budget(3.0) == pytest.approx(4000)
    assert clock.time_of(3000) == pytest.approx(2.5)
    with pytest.raises(ValueError):
        clock.set_bandwidth(0, 3.0)


def test_stream_advance_reports_each_completed_layer_once():
    data = layered()
    stream = Stream.from_bytes("a.strata", data)
    ends = [stream.layer_end(i) for i in range(4)]
    chunk, done = stream.advance(ends[0])
    assert chunk == data[:ends[0]] and done == [0]
    chunk, done = stream.advance(ends[2])  # layer 1 is empty: it completes with its CRC
    assert done == [1, 2] and stream.layer_received(2) == 30
    assert stream.advance(ends[2]) == (b"", [])
    chunk, done = stream.advance(10**9)
    assert done == [3] and stream.complete and problem(stream) is None


def test_truncated_stream_delivers_only_its_complete_layers():
    data = layered()
    full = Stream.from_bytes("a.strata", data)
    stream = Stream.from_bytes("cut.strata", data[:full.layer_end(2) + 3])
    assert stream.intact_layers == 3
    assert stream.advance(10**9)[1] == [0, 1, 2]
    assert "truncated" in problem(stream) and "3 of 4 layers" in problem(stream)


def test_damaged_stream_names_the_layer():
    data = bytearray(layered())
    stream = Stream.from_bytes("a.strata", bytes(data))
    data[stream.header.layer_offset(2)] ^= 0xFF
    damaged = Stream.from_bytes("b.strata", bytes(data))
    assert damaged.intact_layers == 2
    assert "layer 3 of 4 is damaged" in problem(damaged) and "layers 1 to 2 can be shown" in problem(damaged)


def arrive(stream: Stream, *indices: int) -> None:
    for i in indices:
        stream.arrive(i, float(i), float(i))


def test_restart_drops_stale_results_and_follow_selects_latest():
    stream = Stream.from_bytes("a.strata", layered())
    old = stream.generation
    arrive(stream, 0)
    assert stream.accept(old, layer(0)) and stream.shown == 0
    stream.restart()
    assert not stream.accept(old, layer(1)) and not stream.layers and stream.available == 0
    arrive(stream, 0, 1, 2)
    for i in range(3):
        stream.accept(stream.generation, layer(i))
    assert stream.shown == 2
    assert stream.select(0) and not stream.follow
    arrive(stream, 3)
    stream.accept(stream.generation, layer(3))
    assert stream.shown == 0  # pinned: a new layer does not move the view
    assert stream.select(3) and stream.follow
    assert not stream.select(9)  # not arrived


def test_a_picked_layer_shows_once_decoded_and_newer_ones_replace_older_ones():
    stream = Stream.from_bytes("a.strata", layered())
    arrive(stream, 0, 1, 2)
    stream.accept(stream.generation, layer(2))
    assert stream.shown == 2 and stream.wanted == 2
    assert stream.select(0) and stream.shown == 2 and stream.wanted == 0  # until its picture comes
    stream.accept(stream.generation, layer(1))
    assert stream.shown == 2  # not the one picked
    stream.accept(stream.generation, layer(0))
    assert stream.shown == 0
    assert stream.select(2) and stream.follow and stream.shown == 2  # cached: at once
    stream.accept(stream.generation, layer(1))
    assert stream.shown == 2  # following: an older picture never replaces a newer one


def test_write_atomically_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "x.strata"
    target.write_bytes(b"old")
    files.write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["x.strata"]


def test_write_atomically_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "x.strata"
    target.write_bytes(b"old")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", fail)
    with pytest.raises(OSError):
        files.write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["x.strata"]


def test_encoded_names(tmp_path):
    image = tmp_path / "photo.png"
    assert files.encoded_name(image, "deephq", None).name == "photo.deephq.strata"
    assert files.encoded_name(image, "hc", 2).name == "photo.hc-q2.strata"


def test_singletons_survive_the_pyside_reference_leak():
    import sys

    from viewer.refcounts import EXTRA_REFS, pin_singletons

    pin_singletons()
    if sys.version_info < (3, 12):
        assert all(sys.getrefcount(s) > EXTRA_REFS for s in (None, True, False))
    pin_singletons()  # idempotent
    assert sys.getrefcount(None) < 2 * EXTRA_REFS or sys.version_info >= (3, 12)
