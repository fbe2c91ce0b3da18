"""Qt-free parts: the link clock, streams (arrivals, truncation, stale results), atomic writes."""
import os
from pathlib import Path

import numpy as np
import pytest

from viewer.presentation.streams import delay_text, problem
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


def test_a_layer_painted_after_a_pick_has_no_shown_after_delay():
    """Layers arrive while following; the user pins layer 1 before layer 3 is painted and later,
    long after layer 3 arrived, goes back to following: layer 3 reaches the screen by that pick,
    so its "shown after" is no decode latency (it read +24683 ms)."""
    stream = Stream.from_bytes("a.strata", layered(lengths=(10, 20, 30, 5)))
    stream.advance(stream.layer_end(2))
    for i, wall in enumerate((1.0, 2.0, 3.0)):
        stream.arrive(i, wall, wall)
    for i in (0, 1):
        stream.accept(stream.generation, layer(i))
        stream.painted(i, i + 1.5)
    assert stream.shown_after(1) == pytest.approx(0.5) and stream.timed == {2}  # layer 3 is being decoded
    stream.select(0)  # pinned before layer 3 is on screen
    stream.painted(0, 3.5)
    stream.accept(stream.generation, layer(2))
    assert stream.select(2) and stream.follow  # back to the newest, 24.7 s after layer 3 arrived
    stream.painted(2, 27.683)
    assert stream.shown_after(2) is None and delay_text(stream, 2) == "—"
    assert stream.shown_after(1) == pytest.approx(0.5)  # the layers painted on their own keep theirs


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


# ---- error map, split partner, folders, version (issue 18, item 5) -------------------------

def test_error_map_is_the_amplified_largest_channel_error():
    from viewer.state.pixels import ERROR_GAIN, error_map

    original = np.zeros((2, 3, 3), np.uint8)
    decoded = original.copy()
    decoded[0, 0] = (2, 5, 1)  # largest channel error 5
    decoded[1, 2] = (0, 0, 200)  # saturates
    result = error_map(decoded, original)
    assert result.dtype == np.uint8 and result.shape == (2, 3, 3)
    assert result[0, 0].tolist() == [5 * ERROR_GAIN] * 3 and result[1, 2].tolist() == [255] * 3
    assert result[0, 1].tolist() == [0, 0, 0]
    assert np.array_equal(error_map(original, decoded), result)  # |a - b|: no uint8 wrap-around
    with pytest.raises(ValueError, match="different sizes"):
        error_map(decoded, np.zeros((3, 3, 3), np.uint8))


def session_with_original():
    from viewer.state.session import Original, Session

    s = Stream.from_bytes("a.strata", layered())  # 16x8
    rgb = np.full((8, 16, 3), 100, np.uint8)
    return Session(original=Original(Path("/p/photo.png"), rgb, "RGB"), streams=[s, None]), s


def test_session_shows_the_error_map_only_against_the_files_own_original():
    session, s = session_with_original()
    arrive(s, 0)
    s.accept(s.generation, layer(0))  # black: 100 levels from the original everywhere
    assert session.displayed(0) is s.layers[0].rgb
    session.error_map = True
    shown = session.displayed(0)
    assert shown.max() == 255 and session.displayed(0) is shown  # computed once per picture
    session.show_original = True
    assert session.displayed(0) is session.original.rgb  # the original itself, not its error
    session.show_original = False
    s.foreign_original = True  # another picture of the same size
    assert session.displayed(0) is s.layers[0].rgb and not session.has_error_map(0)


def test_split_view_compares_with_pane_b_else_the_original():
    from viewer.state.session import ORIGINAL, PANE_B, Session

    session, s = session_with_original()
    assert session.split_partner() == ORIGINAL and session.split_right() is session.original.rgb
    session.streams[1] = Stream.from_bytes("b.strata", layered(seed=1))
    assert session.split_partner() == PANE_B and session.split_right() is None  # B has no picture yet
    session.streams[1] = None
    session.show_original = True  # the original on both sides would show nothing
    assert session.split_partner() is None
    assert Session().split_partner() is None and Session().main_path() is None
    assert session.main_path() == Path("/p/photo.png")


def test_next_and_previous_file_of_the_folder(tmp_path):
    from viewer.state import folders

    for name in ("kodim10.png", "kodim2.png", "kodim1.jpg", "notes.txt", "kodim2.deephq.strata", "z.strata"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.png").mkdir()  # a folder, not an image
    images = tmp_path / "kodim2.png"
    assert folders.neighbour(images, 1) == tmp_path / "kodim10.png"  # natural order
    assert folders.neighbour(images, -1) == tmp_path / "kodim1.jpg"
    assert folders.neighbour(tmp_path / "kodim10.png", 1) is None
    assert folders.neighbour(tmp_path / "kodim1.jpg", -1) is None
    assert folders.neighbour(tmp_path / "kodim2.deephq.strata", 1) == tmp_path / "z.strata"  # same kind
    (tmp_path / "kodim2.png").unlink()  # the file open was deleted: its place still counts
    assert folders.neighbour(images, 1) == tmp_path / "kodim10.png"
    with pytest.raises(OSError):
        folders.neighbour(tmp_path / "gone" / "x.png", 1)


def test_encoded_files_go_to_the_remembered_folder_else_beside_the_image_unless_it_is_shipped(tmp_path):
    from codec.resources import RESOURCES
    from viewer.state import folders

    fallback, chosen = tmp_path / "pictures", tmp_path / "chosen"
    chosen.mkdir()
    image = tmp_path / "photo.png"
    assert folders.encode_folder(image, str(chosen), fallback) == chosen
    assert folders.encode_folder(image, str(tmp_path / "gone"), fallback) == tmp_path
    assert folders.encode_folder(RESOURCES / "sample.png", None, fallback) == fallback


def test_the_version_comes_from_the_package_or_the_checkout(tmp_path, monkeypatch):
    from importlib import metadata

    from viewer.state import version

    assert version.strata_version()  # installed, or this checkout's pyproject.toml

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(version.metadata, "version", not_installed)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "strata"\nversion = "9.8.7"\n')
    assert version.strata_version(pyproject) == "9.8.7"
    pyproject.write_text("not toml [")
    assert version.strata_version(pyproject) is None
    assert version.strata_version(tmp_path / "missing.toml") is None
