"""What the viewer says, without Qt: titles, placeholders, status texts, readouts, shortcuts."""
from pathlib import Path

import numpy as np

from viewer.presentation.formatting import codec_label, format_rate, kilobytes
from viewer.presentation.shortcuts import GESTURES, shortcut_rows
from viewer.presentation.streams import (EMPTY_HINT, arrival_rows, delay_text, label, layer_text,
                                         placeholder, received_text, slider_tooltip)
from viewer.presentation.window import SPLIT_HINT, pane_title, status_parts
from viewer.state import files
from viewer.state.session import Original, Session, Stream
from viewer_helpers import layer, layered


def stream(name="a.strata", data=None) -> Stream:
    return Stream.from_bytes(Path("/pictures") / name, layered() if data is None else data)


def arrive(s: Stream, *indices: int) -> None:
    s.advance(s.layer_end(max(indices)))
    for i in indices:
        s.arrive(i, 0.5 * (i + 1), float(i))


def original() -> Original:
    return Original(Path("/pictures/photo.png"), np.zeros((8, 16, 3), np.uint8), "RGB")


def test_units_and_codec_labels():
    assert format_rate(56e3) == "56 kbit/s" and format_rate(100e6) == "100 Mbit/s"
    assert kilobytes(96295) == "96.3 kB"
    assert codec_label("deephq", 0) == "DeepHQ" and codec_label("hc", 2) == "HC q2"
    assert label(stream()) == "DeepHQ"


def test_placeholder_says_what_the_pane_waits_for():
    s = stream()
    assert placeholder(None) == EMPTY_HINT
    assert placeholder(s) == "Waiting for layer 1 of 4… (0 of 10 bytes)"
    s.advance(s.header.layer_offset(0) + 4)
    assert placeholder(s) == "Waiting for layer 1 of 4… (4 of 10 bytes)"
    arrive(s, 0)
    assert placeholder(s) == "Decoding layer 1 of 4…"
    s.fail(0, "layer 1 cannot be decoded")
    assert placeholder(s) == "Nothing can be shown: layer 1 cannot be decoded"


def test_placeholder_of_a_file_cut_inside_its_first_layer_names_the_truncation():
    data = layered()
    cut = stream("cut.strata", data[:stream().layer_end(0) - 1])
    cut.advance(10**9)
    assert "cut.strata is truncated" in placeholder(cut) and "nothing can be shown" in placeholder(cut)


def test_layer_readouts_of_a_pane():
    s = stream()
    assert layer_text(s) == "– / 4"
    assert slider_tooltip(s).endswith("0 of 4 layers received") and slider_tooltip(None).startswith("Layer")
    arrive(s, 0, 1)
    s.accept(s.generation, layer(0))
    assert layer_text(s) == "1 / 4 (2…)"  # layer 2 is being decoded
    s.accept(s.generation, layer(1))
    assert layer_text(s) == "2 / 4"
    assert received_text(s) == f"{s.received / 1000:.1f} / {len(s.data) / 1000:.1f} kB"


def test_pane_titles():
    session = Session()
    assert pane_title(session, 0) == "No file" and pane_title(session, 1) == ""
    session.original = original()
    assert pane_title(session, 0) == "Original: photo.png"
    session.streams = [stream("a.strata"), stream("b.strata")]
    assert pane_title(session, 0) == "A: DeepHQ — a.strata" and pane_title(session, 1) == "B: DeepHQ — b.strata"
    assert pane_title(session, 0, split=True) == f"A: DeepHQ — a.strata  |  B: DeepHQ — b.strata   {SPLIT_HINT}"
    session.show_original = True
    assert pane_title(session, 0) == "Original: photo.png" and pane_title(session, 1).startswith("B:")


def test_a_title_names_the_layers_that_can_never_be_shown():
    data = layered()
    session = Session(streams=[stream("cut.strata", data[:stream().layer_end(1) + 3]), None])
    assert pane_title(session, 0) == "A: DeepHQ — cut.strata (layers 3–4 cannot be shown)"


def test_status_parts_most_important_first():
    session = Session(original=original())
    assert status_parts(session, 0, None, 256e3, 1.0) == ["original", "16×8", "zoom 100%"]
    s = stream()
    session.streams[0] = s
    arrive(s, 0)
    s.accept(s.generation, layer(0))
    parts = status_parts(session, 0, "playing", 1e6, 2.0)
    assert parts[:3] == ["layer 1 / 4", "0.000 bpp", "PSNR 20.00 dB (from file)"]
    assert parts[4:] == [f"received {s.received:,} / {len(s.data):,} B", "playing at 1 Mbit/s", "16×8", "zoom 200%"]
    session.show_original = True
    assert "bpp" not in " ".join(status_parts(session, 0, None, 1e6, 1.0))
    assert status_parts(session, 1, None, 1e6, 1.0) == ["Pane B", "16×8", "zoom 100%"]  # no file in B


def test_arrival_table_and_delays():
    s = stream()
    arrive(s, 0, 1)
    s.painted(0, 0.035)  # layer 0 arrived at wall time 0.0, painted 35 ms later
    assert delay_text(s, 0) == "+35 ms" and delay_text(s, 1) == "…"  # layer 1: not painted yet
    assert arrival_rows([s]) == [("DeepHQ", "1", f"{s.layer_end(0) / 1000:.1f} kB", "0.50 s", "+35 ms"),
                                 ("DeepHQ", "2", f"{s.layer_end(1) / 1000:.1f} kB", "1.00 s", "…")]


def test_shortcut_rows_list_every_action_with_keys_then_the_gestures():
    actions = [("Open", ["Ctrl+O"]), ("About", []), ("Previous Layer", ["PgUp", "["])]
    assert shortcut_rows(actions) == [("Ctrl+O", "Open"), ("PgUp / [", "Previous Layer"), *GESTURES]


def test_export_names():
    session = Session(original=original())
    assert files.export_name(session, 0) == Path("/pictures/photo.original.png")
    s = stream("photo.deephq.strata")
    session.streams[0] = s
    arrive(s, 0, 1, 2)
    s.accept(s.generation, layer(2))
    assert files.export_name(session, 0) == Path("/pictures/photo.deephq.layer3.png")
