"""What the viewer says, without Qt: titles, placeholders, status texts, readouts, shortcuts."""
from pathlib import Path

import numpy as np

from codec.container import parse_container, write_container
from viewer.presentation.charts import TABLE_COLUMNS, bar_tooltip, not_shown_text, point_tooltip, table_csv
from viewer.presentation.encoding import codec_explanation, folder_problem, quality_item, writes_text
from viewer.presentation.formatting import codec_label, duration, format_rate, kilobytes
from viewer.presentation.panes import activity_parts, readout_parts
from viewer.presentation.shortcuts import GESTURES, shortcut_rows
from viewer.presentation.streams import (EMPTY_HINT, arrival_rows, delay_text, label, layer_text,
                                         placeholder, received_text, slider_tooltip)
from viewer.presentation.window import SPLIT_HINT, about_text, error_map_unavailable, pane_title, status_parts
from viewer.state import files
from viewer.state.link import PAUSED, PLAYING, LinkClock, Playback
from viewer.state.session import Layer, Original, Session, Stream
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
    assert status_parts(session, 0, Playback(), 1.0) == ["original", "16×8", "zoom 100%"]
    s = stream()
    session.streams[0] = s
    arrive(s, 0)
    s.accept(s.generation, layer(0))
    parts = status_parts(session, 0, Playback(PLAYING, 1e6), 2.0)
    assert parts[:3] == ["layer 1 / 4", "0.000 bpp", "PSNR 20.00 dB (from file)"]
    assert parts[4:] == [f"received {s.received:,} / {len(s.data):,} B", "playing at 1 Mbit/s", "16×8", "zoom 200%"]
    session.show_original = True
    assert "bpp" not in " ".join(status_parts(session, 0, Playback(), 1.0))
    assert status_parts(session, 1, Playback(), 1.0) == ["Pane B", "16×8", "zoom 100%"]  # no file in B


def test_arrival_table_and_delays():
    s = stream()
    arrive(s, 0, 1)
    s.painted(0, 0.035)  # layer 0 arrived at wall time 0.0, painted 35 ms later
    assert delay_text(s, 0) == "+35 ms" and delay_text(s, 1) == "…"  # layer 1: not painted yet
    assert arrival_rows([s]) == [("DeepHQ", "1", f"{s.layer_end(0) / 1000:.1f} kB", "0.50 s", "+35 ms", "20.00", ""),
                                 ("DeepHQ", "2", f"{s.layer_end(1) / 1000:.1f} kB", "1.00 s", "…", "21.00", "")]


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


# ---- what a new user looks for in the first minutes (issue 18, item 5) ---------------------

def decoded(s: Stream, index: int, psnr=31.2, measured=True) -> None:
    """Layer index of s decoded and accepted, with that PSNR."""
    s.accept(s.generation, Layer(index, np.zeros((8, 16, 3), np.uint8), s.layer_end(index), s.bpp(index),
                                 psnr, measured, 0.01))


def test_each_pane_has_its_own_readout():
    session = Session(original=original(), streams=[stream("a.strata"), stream("b.strata")])
    a, b = session.streams
    arrive(a, 0, 1, 2)
    decoded(a, 2)
    assert readout_parts(session, 0) == ["A: DeepHQ", "layer 3 / 4", kilobytes(a.layer_end(2)),
                                         f"{a.bpp(2):.3f} bpp", "PSNR 31.20 dB (vs original)"]
    assert readout_parts(session, 1) == ["B: DeepHQ", "layer – / 4"]  # nothing decoded yet
    arrive(b, 0)
    decoded(b, 0, psnr=20.0, measured=False)
    assert readout_parts(session, 1, split=True)[0] == "B (right): DeepHQ"
    assert readout_parts(session, 1)[-1] == "PSNR 20.00 dB (from file)"
    session.show_original = True
    assert readout_parts(session, 0) == ["A: original", "16×8"]
    assert readout_parts(Session(), 0) == []


def test_the_activity_says_what_is_decoded_and_what_the_network_brings():
    s = stream()
    playing = Playback(PLAYING, 56e3, LinkClock(56e3), 0.0)
    assert activity_parts(s, playing) == [f"layer 1 needs {kilobytes(s.layer_end(0))}, about "
                                          f"{8 * s.layer_end(0) / 56e3:.1f} s at 56 kbit/s"]
    arrive(s, 0)
    parts = activity_parts(s, Playback(PAUSED, 56e3, LinkClock(56e3), 1.0))
    assert parts[0] == "decoding layer 1…" and parts[1].startswith("paused: layer 2 needs ")
    decoded(s, 0)
    assert activity_parts(s, Playback()) == ["1 of 4 layers received"]
    arrive(s, 1, 2, 3)
    decoded(s, 3)
    assert activity_parts(s, playing) == ["all 4 layers received"]
    damaged = stream()
    arrive(damaged, 0, 1, 2, 3)
    decoded(damaged, 1)
    damaged.fail(2, "layer 3 cannot be decoded")
    assert activity_parts(damaged, Playback()) == ["4 of 4 layers received; layers 3–4 cannot be shown"]
    assert activity_parts(None, playing) == []


def test_durations_read_naturally():
    assert [duration(t) for t in (0.42, 13.4, 125)] == ["0.4 s", "13 s", "2 min 5 s"]


def test_the_split_title_names_the_original_when_pane_b_is_empty():
    session = Session(original=original(), streams=[stream("photo.deephq.strata"), None])  # both 16x8
    assert pane_title(session, 0, split=True) == (f"A: DeepHQ — photo.deephq.strata  |  Original: photo.png"
                                                  f"   {SPLIT_HINT}")


def test_chart_tooltips_and_layers_that_cannot_be_picked():
    s = stream()
    arrive(s, 0)
    decoded(s, 0, psnr=20.0, measured=False)
    assert bar_tooltip(s, 0) == f"DeepHQ, layer 1: 0.1 of 0.1 kbit received; click to show it"
    assert bar_tooltip(s, 2) == "DeepHQ, layer 3: 0.0 of 0.2 kbit received"  # not arrived: no hint
    assert point_tooltip(s, 0) == f"DeepHQ, layer 1: {s.bpp(0):.3f} bpp, 20.00 dB (from file); click to show it"
    assert not_shown_text(s, 0) is None and not_shown_text(s, 2) == "DeepHQ, layer 3 has not arrived yet."


def test_the_layer_table_as_csv_holds_every_layer():
    import csv
    import io

    s = stream("photo.deephq.strata")
    arrive(s, 0, 1)
    decoded(s, 1, psnr=30.5)
    s.painted(1, 1.25)  # layer 1 (from 0) arrived at wall time 1.0
    rows = list(csv.reader(io.StringIO(table_csv([s]))))
    assert tuple(rows[0]) == TABLE_COLUMNS and len(rows) == 1 + 4
    first, second, last = rows[1], rows[2], rows[4]
    assert first[:5] == ["photo.deephq.strata", "DeepHQ", "1", "10", str(s.layer_end(0))]
    assert first[6:] == ["20.000", "", "", "0.500", "", ""]  # the file's PSNR; not decoded, not painted
    assert second[7:] == ["30.500", "", "1.000", "250", "original"]  # measured against the original
    assert last[9:] == ["", "", ""]  # not arrived


def test_a_psnr_measured_against_an_original_the_file_cannot_confirm_is_unverified():
    from viewer.presentation.streams import psnr_text

    s = stream(data=layered(lengths=(10, 0, 30, 5)))
    arrive(s, 0, 1)
    decoded(s, 0, psnr=20.0)  # measured, and the file records 20 dB: the original is its source
    assert psnr_text(s, s.layers[0]) == "PSNR 20.00 dB (vs original)"
    header = s.header.__class__(**{**s.header.__dict__, "layer_psnr": (None,) * 4})
    blind = stream(data=write_container(header, parse_container(s.data).layers))
    arrive(blind, 0)
    decoded(blind, 0, psnr=25.0)
    assert psnr_text(blind, blind.layers[0]) == "PSNR 25.00 dB (vs original, unverified)"
    assert point_tooltip(blind, 0).endswith("25.00 dB (vs original, unverified); click to show it")
    assert table_csv([blind]).splitlines()[1].endswith(",25.000,,0.500,,\"original, unverified\"")
    decoded(blind, 1, psnr=None, measured=False)
    assert psnr_text(blind, blind.layers[1]) == "PSNR –"


def test_the_encode_dialog_explains_qualities_and_checks_the_folder(tmp_path):
    from codec import registry

    hc, deephq = registry.spec("hc"), registry.spec("deephq")
    assert "quality 1 makes the smallest file" in codec_explanation(hc) and "4 the largest" in codec_explanation(hc)
    assert "layers" in codec_explanation(deephq)
    assert [quality_item(hc, q) for q in (1, 2, 4)] == ["quality 1 (smallest file)", "quality 2",
                                                          "quality 4 (best picture)"]
    assert folder_problem("") == "Choose a folder for the layered files."
    (tmp_path / "file").write_text("x")
    assert "is a file, not a folder" in folder_problem(str(tmp_path / "file"))
    assert folder_problem(str(tmp_path / "new")) is None  # made when the files are written
    assert writes_text(["a.strata"], tmp_path / "new") == f"Writes a.strata into {tmp_path / 'new'} (a new folder)"


def test_about_names_the_version():
    assert about_text("0.1.0").startswith("Strata Viewer, version 0.1.0")
    assert "version unknown" in about_text(None)


def test_the_error_map_is_refused_in_words_without_a_matching_original():
    assert "open the original image first" in error_map_unavailable(Session(streams=[stream(), None]))
    other = Original(Path("/pictures/big.png"), np.zeros((9, 16, 3), np.uint8), "RGB")
    assert "no open layered file was encoded from big.png" in error_map_unavailable(
        Session(original=other, streams=[stream(), None]))
    assert error_map_unavailable(Session(original=original(), streams=[stream(), None])) is None


def test_encode_progress_says_the_percentage_and_the_time_left_once_it_can():
    from viewer.presentation.encoding import progress_text
    assert progress_text("Encoding with DeepHQ", None, 12.4) == "Encoding with DeepHQ… 12 s"
    assert progress_text("Encoding with DeepHQ", 0.01, 0.5) == "Encoding with DeepHQ… 1%, 0 s"
    assert progress_text("Encoding with DeepHQ", 0.25, 10) == "Encoding with DeepHQ… 25%, 10 s, about 30 s left"
    assert progress_text("Encoding", 0.1, 30) == "Encoding… 10%, 30 s, about 4 min 30 s left"
    assert progress_text("Encoding", 1.0, 30) == "Encoding… 100%, 30 s"


def test_effort_levels_are_explained_from_fastest_to_best():
    from viewer.presentation.encoding import effort_text
    assert effort_text(1).startswith("Effort 1 (default): fastest")
    assert "Effort 5: searches" in effort_text(5) and effort_text(9).startswith("Effort 9: best")
