"""The viewer as a new user finds it (issue 18, items 4 and 5), offscreen: keys that keep working
in the toolbar's fields, side by side or split (a layer control on each side, against pane B or
the original), the Encode dialog's folder and memory, file modes, each pane's readout and
activity, chart tooltips and clicks, the layer table as CSV, the error map, the folder's next
image, remembered settings, About."""
import csv
import io
import os
import shutil
import stat

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from codec.resources import RESOURCES
from viewer.control.encoding import Target
from viewer.control.preferences import Preferences
from viewer.presentation.charts import TABLE_COLUMNS, bar_tooltip
from viewer.state import files
from viewer.state.pixels import error_map
from viewer.widgets.dialogs import EncodeDialog
from viewer.widgets.main_window import MainWindow
from viewer_helpers import TIMEOUT_MS, run

SLOW = 4e3  # bit/s: 500 bytes/s, a 4 kB file takes 8 s


def wait_shown(qtbot, window, index, pane=0):
    qtbot.waitUntil(lambda: window.viewer.stream(pane).shown == index, timeout=TIMEOUT_MS)


def as_array(image) -> np.ndarray:
    """A QImage as RGB uint8."""
    image = image.convertToFormat(image.Format.Format_RGB888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.width(), 3).copy()


def pixels(canvas) -> np.ndarray:
    """The picture a canvas holds (left of a split line), as RGB uint8."""
    return as_array(canvas.image)


def with_original(qtbot, window, image_path, deephq_file):
    """The image open in pane A with its DeepHQ file, as after an encode; its last layer shown."""
    run(window.open_path(image_path))
    window.viewer.load_encoded([files.read_layered(deephq_file)])
    wait_shown(qtbot, window, 7)


# ---- item 4: the defects still found --------------------------------------------------------

def test_single_key_shortcuts_work_while_a_toolbar_field_has_focus(qtbot, window, deephq_file):
    run(window.open_path(deephq_file))
    wait_shown(qtbot, window, 7)
    fired = []
    for action in (window.restart_action, window.play_action, window.actual_action):
        action.triggered.connect(lambda _=False, a=action: fired.append(a))
    latency = window.network_fields.latency
    latency.setFocus()
    qtbot.waitUntil(latency.hasFocus)
    field = window.focusWidget()
    QTest.keyClick(field, Qt.Key.Key_R)
    QTest.keyClick(field, Qt.Key.Key_Space)
    assert fired == [window.restart_action, window.play_action]  # not typed into the field
    QTest.keyClicks(field, "5")  # a digit edits the number
    assert fired == [window.restart_action, window.play_action] and "5" in latency.text()
    QTest.keyClick(field, Qt.Key.Key_Return)  # done with the field: the keys go back to the picture
    assert window.panes[0].canvas.hasFocus()
    QTest.keyClick(window.focusWidget(), Qt.Key.Key_1)
    assert fired[-1] is window.actual_action


def test_side_by_side_and_split_view_exclude_each_other_and_split_keeps_both_sliders(qtbot, window, deephq_file):
    run(window.open_path(deephq_file))
    run(window.open_path(deephq_file, pane=1))
    wait_shown(qtbot, window, 7, pane=1)
    assert window.side_action.isChecked() and window.panes[1].isVisible()
    window.split_action.trigger()
    assert window.split_action.isChecked() and not window.side_action.isChecked()
    assert not window.panes[1].isVisible() and window.panes[0].canvas.compare is not None
    controls = window.panes[1].controls
    assert controls.isVisible() and controls.slider.isVisible() and controls.slider.isEnabled()
    controls.slider.setValue(2)  # pane B's layer, right of the split line
    wait_shown(qtbot, window, 2, pane=1)
    assert window.viewer.stream(0).shown == 7
    assert np.array_equal(as_array(window.panes[0].canvas.compare), window.viewer.stream(1).layers[2].rgb)
    window.side_action.trigger()
    assert not window.split_action.isChecked() and window.panes[1].isVisible()
    assert window.panes[0].canvas.compare is None
    window.side_action.trigger()  # neither: pane A alone
    assert not window.panes[1].isVisible() and not controls.isVisible()


def test_the_encode_dialog_keeps_the_sample_out_of_resources_and_remembers_folder_and_quality(qtbot, tmp_path):
    from PySide6.QtWidgets import QLabel

    installed = {"deephq": (0,), "hc": (1, 2, 3, 4)}
    first = EncodeDialog(RESOURCES / "sample.png", installed, Preferences())
    qtbot.addWidget(first)
    assert first.targets()[0].path.parent.resolve() != RESOURCES.resolve()
    texts = " ".join(label.text() for label in first.findChildren(QLabel))
    assert "quality 1 makes the smallest file" in texts and "4 the largest file and the best picture" in texts
    assert first.quality["hc"].itemText(3) == "quality 4 (best picture)"
    (tmp_path / "out").mkdir()  # the folder the encode writes into
    first.folder.setText(str(tmp_path / "out"))
    first.choice.button(1).setChecked(True)  # HC
    first.quality["hc"].setCurrentIndex(2)
    first.accept()
    second = EncodeDialog(tmp_path / "photo.png", installed, Preferences())
    qtbot.addWidget(second)
    assert [(t.codec, t.quality, t.path) for t in second.targets()] == [
        ("hc", 3, tmp_path / "out" / "photo.hc-q3.strata")]


def test_the_encode_dialog_refuses_a_folder_that_is_a_file(qtbot, tmp_path):
    (tmp_path / "taken").write_text("x")
    dialog = EncodeDialog(tmp_path / "photo.png", {"deephq": (0,)}, Preferences())
    qtbot.addWidget(dialog)
    dialog.folder.setText(str(tmp_path / "taken"))
    assert not dialog.encode_button.isEnabled() and "is a file, not a folder" in dialog.names.text()
    dialog.folder.setText("")
    assert not dialog.encode_button.isEnabled() and dialog.names.text() == "Choose a folder for the layered files."
    dialog.accept()  # Enter in the field: nothing happens, nothing is remembered
    assert dialog.result() == 0 and Preferences().folder("encode") is None


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_encoded_and_exported_files_get_the_umasks_mode(qtbot, window, image_path, tmp_path, umask_022):
    run(window.open_path(image_path))
    target = tmp_path / "photo.deephq.strata"
    with qtbot.waitSignal(window.encoding.finished, timeout=TIMEOUT_MS):
        window.encode([Target("deephq", None, target)])
    wait_shown(qtbot, window, 7)
    window.export_png(tmp_path / "layer.png")
    window.export_table(tmp_path / "layers.csv")
    for name in ("photo.deephq.strata", "layer.png", "layers.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


# ---- item 5: what a new user looks for ------------------------------------------------------

def test_both_panes_show_their_own_readout_at_once(qtbot, window, image_path, deephq_file, other_file):
    with_original(qtbot, window, image_path, deephq_file)
    run(window.open_path(other_file, pane=1))
    wait_shown(qtbot, window, 7, pane=1)
    window.viewer.select_layer(1, 3)
    wait_shown(qtbot, window, 3, pane=1)
    a, b = (window.panes[pane].controls.readout for pane in (0, 1))
    assert a.isVisible() and b.isVisible()
    layer_a, layer_b = window.viewer.stream(0).layers[7], window.viewer.stream(1).layers[3]
    assert a.full_text().split("  ·  ") == ["A: DeepHQ", "layer 8 / 8", f"{layer_a.bytes_used / 1000:.1f} kB",
                                            f"{layer_a.bpp:.3f} bpp", f"PSNR {layer_a.psnr:.2f} dB (vs original)"]
    assert b.full_text().startswith("B: DeepHQ  ·  layer 4 / 8  ·  ") and "(from file)" in b.full_text()


def test_the_activity_line_says_what_the_stream_is_doing(qtbot, window, deephq_file, service, monkeypatch):
    run(window.open_path(deephq_file))
    wait_shown(qtbot, window, 7)
    activity = window.panes[0].controls.activity
    assert activity.full_text() == "all 8 layers received"
    window.set_bandwidth(SLOW)
    window.restart_action.trigger()
    first = window.viewer.stream(0).layer_end(0)
    qtbot.waitUntil(lambda: activity.full_text().startswith("layer 1 needs "), timeout=TIMEOUT_MS)
    assert activity.full_text().endswith(" at 4 kbit/s") and ", about " in activity.full_text()
    window.play_action.trigger()  # pause
    assert activity.full_text().startswith("paused: layer ")
    monkeypatch.setattr(service, "feed", lambda stream, data: None)  # the decoder gets no byte more
    window.set_bandwidth(100e6)
    window.play_action.trigger()  # resume: every layer arrives, none is decoded
    qtbot.waitUntil(lambda: window.viewer.stream(0).complete, timeout=TIMEOUT_MS)
    assert activity.full_text() == "decoding layer 8…" and first > 0


def test_split_view_against_the_original_has_the_layer_control_of_its_file(qtbot, window, image_path, deephq_file):
    with_original(qtbot, window, image_path, deephq_file)
    assert window.split_action.isEnabled()  # no pane B: the original is the other side
    window.split_action.trigger()
    canvas = window.panes[0].canvas
    assert np.array_equal(as_array(canvas.compare), window.viewer.session.original.rgb)
    assert "|  Original: gradient.png" in window.panes[0].title.text()
    window.panes[0].controls.slider.setValue(1)
    wait_shown(qtbot, window, 1)
    assert np.array_equal(pixels(canvas), window.viewer.stream(0).layers[1].rgb)


def bar_position(panel, pane, index):
    """Where a pane's bar of a layer is, in the bits chart view's viewport (one file open)."""
    chart = panel.bits_chart
    (series,) = chart.series()
    value = panel.bits_values(pane)[index]
    low = chart.axes(Qt.Orientation.Vertical)[0].min()
    scene = chart.mapToPosition(QPointF(index, (low * value) ** 0.5), series)
    return panel.bits_view.mapFromScene(scene)


def test_chart_tooltips_and_clicks_pick_a_layer(qtbot, window, deephq_file):
    run(window.open_path(deephq_file))
    wait_shown(qtbot, window, 7)
    panel, stream = window.panel, window.viewer.stream(0)
    panel.refresh()
    QTest.mouseMove(panel.bits_view.viewport(), bar_position(panel, 0, 2))  # the mouse over the third bar
    qtbot.waitUntil(lambda: panel.hover_text == bar_tooltip(stream, 2), timeout=TIMEOUT_MS)
    assert "click to show it" in panel.hover_text
    QTest.mouseClick(panel.bits_view.viewport(), Qt.MouseButton.LeftButton, pos=bar_position(panel, 0, 2))
    wait_shown(qtbot, window, 2)  # the third bar was clicked: layer 3 on screen
    dots = panel.psnr_dots[0]
    point = dots.points()[5]
    where = panel.psnr_view.mapFromScene(panel.psnr_chart.mapToPosition(point, dots))
    QTest.mouseMove(panel.psnr_view.viewport(), where)  # the mouse over layer 6's point
    qtbot.waitUntil(lambda: panel.hover_text.startswith("DeepHQ, layer 6: "), timeout=TIMEOUT_MS)
    assert " dB (from file)" in panel.hover_text
    QTest.mouseClick(panel.psnr_view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    wait_shown(qtbot, window, 5)


def test_a_chart_click_on_a_layer_not_arrived_says_so(qtbot, window, deephq_file):
    run(window.open_path(deephq_file))
    wait_shown(qtbot, window, 7)
    window.set_bandwidth(SLOW)
    window.restart_action.trigger()
    window.play_action.trigger()  # paused before layer 8
    window.panel.refresh()
    window.panel.pick(0, 7)
    assert window.statusBar().currentMessage() == "DeepHQ, layer 8 has not arrived yet."
    assert window.viewer.stream(0).follow


def test_the_layer_table_exports_as_csv(qtbot, window, image_path, deephq_file, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    with_original(qtbot, window, image_path, deephq_file)
    target = tmp_path / "table.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(target), ""))
    window.table_action.trigger()
    rows = list(csv.reader(io.StringIO(target.read_text())))
    stream = window.viewer.stream(0)
    assert tuple(rows[0]) == TABLE_COLUMNS and len(rows) == 1 + 8
    assert [int(r[2]) for r in rows[1:]] == list(range(1, 9))
    assert [int(r[4]) for r in rows[1:]] == [stream.layer_end(i) for i in range(8)]
    assert float(rows[8][7]) == pytest.approx(stream.layers[7].psnr, abs=1e-3)  # measured: decoded vs original
    assert Preferences().folder("export") == str(tmp_path)  # the next export starts there
    assert window.table_action in window.panel.table.actions()  # also on the table's right click


def test_the_error_map_shows_the_amplified_difference(qtbot, window, image_path, deephq_file):
    with_original(qtbot, window, image_path, deephq_file)
    window.error_action.trigger()
    stream, original = window.viewer.stream(0), window.viewer.session.original
    expected = error_map(stream.layers[7].rgb, original.rgb)
    assert np.array_equal(pixels(window.panes[0].canvas), expected) and expected.any()
    assert "error ×8" in window.panes[0].title.text()
    window.viewer.select_layer(0, 0)
    wait_shown(qtbot, window, 0)
    assert np.array_equal(pixels(window.panes[0].canvas), error_map(stream.layers[0].rgb, original.rgb))
    window.error_action.trigger()
    assert np.array_equal(pixels(window.panes[0].canvas), stream.layers[0].rgb)


def test_the_error_map_needs_the_original(qtbot, window, deephq_file):
    run(window.open_path(deephq_file))
    wait_shown(qtbot, window, 7)
    window.error_action.trigger()
    assert not window.error_action.isChecked() and "open the original image first" in window.banner.text()
    assert np.array_equal(pixels(window.panes[0].canvas), window.viewer.stream(0).layers[7].rgb)


def test_next_and_previous_image_of_the_folder(qtbot, window, image_path, tmp_path):
    for name in ("a.png", "b.png"):
        shutil.copy(image_path, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    run(window.open_path(tmp_path / "a.png"))
    run(window.open_neighbour(1))
    assert window.viewer.session.original.path == tmp_path / "b.png"
    assert window.open_neighbour(1) is None
    assert window.statusBar().currentMessage() == f"b.png is the last of its kind in {tmp_path}."
    QTest.keyClick(window.panes[0].canvas, Qt.Key.Key_P)  # the key of Previous Image
    qtbot.waitUntil(lambda: window.viewer.session.original.path == tmp_path / "a.png", timeout=TIMEOUT_MS)


def test_bandwidth_latency_and_folders_are_remembered(qtbot, window, service, image_path):
    window.set_bandwidth(1e6)
    window.network_fields.latency.setValue(300)
    run(window.open_path(image_path))
    again = MainWindow(service)
    qtbot.addWidget(again)
    assert again.viewer.network.bandwidth == 1e6 and again.network_fields.rate() == 1e6
    assert again.viewer.network.latency == pytest.approx(0.3) and again.network_fields.latency.value() == 300
    assert again._folder("open") == str(image_path.parent)
    again.close()


def test_a_damaged_settings_file_reads_as_unset(qtbot):
    preferences = Preferences()
    preferences.settings.setValue("network/bandwidth", "fast")
    preferences.settings.setValue("network/latency_ms", [1, 2])
    preferences.settings.setValue("encode/quality/hc", "high")
    preferences.settings.setValue("folders/open", "/no/such/folder")
    assert preferences.bandwidth() == 256e3 and preferences.latency_ms() == 0
    assert preferences.quality("hc") is None and preferences.folder("open") is None


def test_about_names_the_version(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from viewer.state.version import strata_version

    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    window.about_action.trigger()
    assert shown and f"version {strata_version()}" in shown[0] and "DeepHQ" in shown[0]
