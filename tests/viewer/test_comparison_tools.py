"""What an image comparison viewer is expected to have (issue 32, items 9 and 10 and the missing
pieces): the arrival table holding a file's layers, the error map's amplification and scale,
pixel values under the cursor, zoom presets, full screen, MS-SSIM, a target size for encoding."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtTest import QTest

from codec import api, registry
from codec.evaluation import metrics
from viewer.backend import protocol
from viewer.backend.worker import StreamJob
from viewer.control.preferences import Preferences
from viewer.presentation.charts import point_tooltip
from viewer.presentation.inspection import error_scale_text, parse_zoom, pixel_parts
from viewer.state import files
from viewer.state.pixels import error_map
from viewer.state.session import Layer, Original, Session, Stream
from viewer.widgets.dialogs import EncodeDialog
from viewer.widgets.error_scale import scale_rect
from viewer.widgets.main_window import MainWindow
from viewer_helpers import TIMEOUT_MS, layered, make_image, run, run_steps


def pixels(canvas) -> np.ndarray:
    """The picture a canvas holds, as RGB uint8."""
    image = canvas.image
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())[
        :, :3 * image.width()].reshape(image.height(), image.width(), 3)


def wait_shown(qtbot, window, index, pane=0):
    qtbot.waitUntil(lambda: window.viewer.stream(pane).shown == index, timeout=TIMEOUT_MS)


def open_both(qtbot, window, image_path, first, second):
    """The original, and two layered files of it side by side, every layer arrived."""
    run(window.open_path(image_path))
    window.viewer.load_encoded([files.read_layered(first), files.read_layered(second)])
    window.side_action.setChecked(True)
    wait_shown(qtbot, window, 7)
    wait_shown(qtbot, window, 7, pane=1)


def visible_rows(table) -> list[int]:
    """Rows of a table wholly inside its viewport."""
    height = table.viewport().height()
    return [row for row in range(table.rowCount())
            if table.rowViewportPosition(row) >= 0 and table.rowViewportPosition(row) + table.rowHeight(row) <= height]


def test_the_arrival_table_holds_a_files_layers_at_the_default_size(qtbot, window, image_path, deephq_file,
                                                                    other_file):
    assert (window.width(), window.height()) == (1400, 860)
    open_both(qtbot, window, image_path, deephq_file, other_file)
    window.panel.refresh()
    qtbot.wait(50)
    table = window.panel.table
    assert table.rowCount() == 16
    assert len(visible_rows(table)) >= 12  # one file's 8 layers, or a JPEG 2000 file's 12
    assert table.horizontalScrollBar().isHidden() or not table.horizontalScrollBar().isVisible()
    table.scrollToTop()
    assert visible_rows(table)[:8] == list(range(8))  # layer 1 of pane A's file among them


def gain_action(window, gain):
    return next(a for a in window.view_tools.error_gain.group.actions() if a.data() == gain)


def test_the_error_map_amplification_is_chosen_and_its_scale_shown(qtbot, window, image_path, deephq_file, service):
    open_both(qtbot, window, image_path, deephq_file, deephq_file)
    window.error_action.trigger()
    session, canvas = window.viewer.session, window.panes[0].canvas
    decoded = window.viewer.stream(0).on_screen.rgb
    assert np.array_equal(session.displayed(0), error_map(decoded, session.original.rgb, 8))
    gain_action(window, 32).trigger()
    assert np.array_equal(session.displayed(0), error_map(decoded, session.original.rgb, 32))
    assert np.array_equal(pixels(canvas), session.displayed(0))
    assert "error ×32" in window.panes[0].title.text() and window.view_tools.error_gain.button.text() == "×32"
    assert canvas.error_gain == window.panes[1].canvas.error_gain == 32
    grabbed = canvas.grab().toImage()
    box = scale_rect(QRectF(canvas.rect()), canvas.fontMetrics().height())
    bar_y = int(box.top() + 6 + canvas.fontMetrics().height() + 5)
    left, right = grabbed.pixelColor(int(box.left()) + 8, bar_y), grabbed.pixelColor(int(box.right()) - 8, bar_y)
    assert left.value() < 30 and right.value() > 225  # black for no error, white at 8 levels of 255 and more
    window.error_action.trigger()
    assert canvas.error_gain is None
    assert Preferences().error_gain() == 32
    again = MainWindow(service)
    qtbot.addWidget(again)
    assert again.viewer.session.error_gain == 32 and again.view_tools.error_gain.button.text() == "×32"
    again.close()


def test_zoom_presets_and_a_typed_zoom(qtbot, window, image_path, deephq_file):
    open_both(qtbot, window, image_path, deephq_file, deephq_file)
    canvases, box = [pane.canvas for pane in window.panes], window.view_tools.zoom.box
    assert box.currentText() == f"{100 * canvases[0].fit_zoom():.0f}%" != "100%"
    menu = window.view_tools.zoom.menu
    assert [a.text() for a in menu.actions()] == ["25%", "50%", "100%", "200%", "400%", "800%"]
    next(a for a in menu.actions() if a.text() == "400%").trigger()
    assert [c.zoom() for c in canvases] == [4.0, 4.0] and box.currentText() == "400%"
    box.lineEdit().setText("150")
    box.lineEdit().returnPressed.emit()
    assert canvases[0].zoom() == 1.5 and "zoom 150%" in window.info.full_text()
    box.activated.emit(box.findText("Fit"))
    assert canvases[0].view.fit


def test_full_screen_with_f11(qtbot, window):
    assert window.full_screen_action.shortcut().toString() == "F11"
    window.full_screen_action.trigger()
    assert window.windowState() & Qt.WindowState.WindowFullScreen
    window.full_screen_action.trigger()
    assert not window.windowState() & Qt.WindowState.WindowFullScreen
    rows = window.shortcut_rows()
    assert ("F11", "Full screen on / off") in rows
    assert ("Mouse over a picture", "Pixel values of both panes (status bar)") in rows


def test_the_pixel_values_of_both_panes_under_the_mouse(qtbot, window, image_path, deephq_file, other_file):
    open_both(qtbot, window, image_path, deephq_file, other_file)
    canvas = window.panes[1].canvas
    point = QPoint(canvas.width() // 2 + 3, canvas.height() // 2 - 2)
    QTest.mouseMove(canvas, point)
    x, y = canvas.pixel_at(QPointF(point))
    a, b = (window.viewer.stream(pane).on_screen.rgb[y, x] for pane in (0, 1))
    original = window.viewer.session.original.rgb[y, x]
    qtbot.waitUntil(lambda: window.view_tools.pixel.text() != "")
    assert window.view_tools.pixel.text() == "   ·   ".join([
        f"x {x}, y {y}", "A " + " ".join(map(str, a)), "B " + " ".join(map(str, b)),
        "original " + " ".join(map(str, original))])
    window.view_tools.pixel.show_pixel(None)  # the mouse left the picture
    assert window.view_tools.pixel.text() == ""


def test_pixel_readouts_and_scale_texts():
    session = Session(original=Original(Path("o.png"), np.full((8, 16, 3), 100, np.uint8), "RGB"))
    assert pixel_parts(session, 1, 1) == ["x 1, y 1", "A 100 100 100"]  # pane A shows the original
    assert pixel_parts(session, 16, 0) == []
    stream = Stream.from_bytes(Path("/p/a.strata"), layered())  # 16x8
    stream.arrive(0, 0.0, 0.0)
    stream.accept(0, Layer(0, np.full((8, 16, 3), 97, np.uint8), 10, 0.1, 30.0, True, 0.0))
    session.streams[0] = stream
    assert pixel_parts(session, 2, 1) == ["x 2, y 1", "A 97 97 97", "original 100 100 100"]
    session.error_map, session.error_gain = True, 4
    assert pixel_parts(session, 2, 1) == ["x 2, y 1", "A error 3 3 3", "original 100 100 100"]
    assert error_scale_text(8) == ("|error| ×8", "0", "≥ 32 of 255") and error_scale_text(1)[2] == "≥ 255 of 255"
    assert parse_zoom("150%") == 1.5 and parse_zoom("25") == 0.25 and parse_zoom("x") is None
    assert parse_zoom("0") is None


def test_every_codec_takes_a_target_size_in_bytes_kb_or_bpp(qtbot, tmp_path):
    image = tmp_path / "photo.png"
    dialog = EncodeDialog(image, registry.installed_models(), Preferences(), size=(128, 96))
    qtbot.addWidget(dialog)
    target = dialog.target_size
    assert not target.enabled.isChecked() and all(t.max_bytes is None for t in dialog.targets())
    target.enabled.setChecked(True)
    target.unit.setCurrentText("bpp")
    target.value.setValue(0.5)
    assert target.result.text() == "At most 768 bytes (0.500 bpp) per file."
    offered = [b for b in dialog.choice.buttons() if b.isEnabled()]
    assert len(offered) >= 3  # DeepHQ, JPEG 2000, progressive JPEG at least
    for button in offered:
        button.click()
        targets = dialog.targets()
        assert targets and all(t.max_bytes == 768 and t.pane is None for t in targets)
        assert all(t.path.name.endswith(f".768-bytes{registry.spec(t.codec).suffix}") for t in targets)
    target.unit.setCurrentText("kB")
    target.value.setValue(2.5)
    assert {t.max_bytes for t in dialog.targets()} == {2500}
    target.value.setValue(0)
    assert not dialog.encode_button.isEnabled() and dialog.names.text() == "A target size must be at least 1 byte."
    target.value.setValue(3)
    dialog.accept()
    again = EncodeDialog(image, registry.installed_models(), Preferences())  # no picture size: no bpp
    qtbot.addWidget(again)
    assert again.target_size.enabled.isChecked() and again.target_size.value.value() == 3.0
    assert [again.target_size.unit.itemText(i) for i in range(again.target_size.unit.count())] == ["bytes", "kB"]


def test_same_size_as_pane_a_overrides_the_target_size(qtbot, tmp_path, deephq_file):
    beside = files.read_layered(deephq_file)
    dialog = EncodeDialog(tmp_path / "photo.png", registry.installed_models(), Preferences(), beside=beside,
                          size=(128, 96))
    qtbot.addWidget(dialog)
    dialog.target_size.enabled.setChecked(True)
    dialog.same_size.setChecked(True)
    assert not dialog.target_size.isEnabled()
    assert [(t.max_bytes, t.pane) for t in dialog.targets()] == [(len(beside.data), 1)]


def test_an_encode_with_a_target_size_fits_it(qtbot, window, image_path, tmp_path, monkeypatch):
    run(window.open_path(image_path))

    def choose(dialog):
        dialog.folder.setText(str(tmp_path))
        dialog.choice.button(registry.NAMES.index("deephq")).click()
        dialog.target_size.enabled.setChecked(True)
        dialog.target_size.unit.setCurrentText("bpp")
        dialog.target_size.value.setValue(0.3)
        return 1

    monkeypatch.setattr(EncodeDialog, "exec", choose)
    with qtbot.waitSignal(window.encoding.finished, timeout=TIMEOUT_MS):
        window.encode_action.trigger()
    (written,) = tmp_path.iterdir()
    budget = int(0.3 * 128 * 96 / 8)
    assert written.name == f"gradient.deephq.{budget}-bytes.strata" and 0 < written.stat().st_size <= budget


@pytest.fixture(scope="module")
def measurable(service, tmp_path_factory):
    """A picture large enough for MS-SSIM (176x168: every side at least 161) and its DeepHQ file."""
    folder = tmp_path_factory.mktemp("measurable")
    image = folder / "large.png"
    Image.fromarray(make_image(176, 168, seed=3)).save(image)
    layered_file = folder / "large.deephq.strata"
    layered_file.write_bytes(run(service.encode(image, "deephq", None)).data)
    return image, layered_file


def test_the_worker_measures_ms_ssim_after_the_picture_and_a_picked_layer_goes_first(measurable):
    image, layered_file = measurable
    reference = np.asarray(Image.open(image).convert("RGB"))
    job = StreamJob("s", reference)
    job.feed(layered_file.read_bytes())
    decoded = job.step()
    while not isinstance(decoded, protocol.LayerDecoded):
        decoded = job.step()
    job.select(3)  # picked while the last layer's MS-SSIM is due: the picture comes first
    messages = run_steps(job)
    assert [(type(m).__name__, m.index) for m in messages] == [("LayerDecoded", 3), ("LayerMeasured", 3),
                                                                ("LayerMeasured", 7)]
    assert messages[2].ms_ssim == metrics.ms_ssim(reference, decoded.rgb)
    small = StreamJob("t", make_image())  # 128x96: too small for MS-SSIM's five scales
    small.feed(api.encode(make_image(), device="cpu"))
    assert [type(m).__name__ for m in run_steps(small)] == ["LayerDecoded"]


def test_ms_ssim_beside_psnr_in_the_status_bar_the_table_and_the_tooltips(qtbot, window, measurable):
    image, layered_file = measurable
    run(window.open_path(image))
    window.viewer.load_encoded([files.read_layered(layered_file)])
    stream = window.viewer.stream(0)
    qtbot.waitUntil(lambda: 7 in stream.ms_ssim, timeout=TIMEOUT_MS)
    value = f"{stream.ms_ssim[7]:.4f}"
    assert 0.5 < stream.ms_ssim[7] < 1
    assert f"PSNR {stream.layers[7].psnr:.2f} dB (vs original)   ·   MS-SSIM {value}" in window.info.full_text()
    window.panel.refresh()
    table = window.panel.table
    assert [table.horizontalHeaderItem(c).text() for c in (5, 6)] == ["PSNR", "MS-SSIM"]
    assert (table.item(7, 5).text(), table.item(7, 6).text()) == (f"{stream.layers[7].psnr:.2f}", value)
    assert table.item(0, 6).text() == ""  # layer 1 was overtaken, never shown: not measured
    assert f"MS-SSIM {value}" in point_tooltip(stream, 7)
    assert table.horizontalScrollBar().maximum() == 0  # the two columns fit the panel


def test_ms_ssim_is_shown_only_where_the_psnr_is_measured_against_the_original():
    stream = Stream.from_bytes(Path("/p/a.strata"), layered())
    stream.arrive(0, 0.0, 0.0)
    stream.ms_ssim[0] = 0.95
    assert stream.ms_ssim_of(0) is None  # not decoded here
    stream.accept(0, Layer(0, np.zeros((8, 16, 3), np.uint8), 10, 0.1, 20.0, False, 0.0))
    assert stream.ms_ssim_of(0) is None  # its PSNR is the file's: the original is not its source
    stream.layers[0] = Layer(0, np.zeros((8, 16, 3), np.uint8), 10, 0.1, 20.0, True, 0.0)
    assert stream.ms_ssim_of(0) == 0.95
    stream.foreign_original = True
    assert stream.ms_ssim_of(0) is None
    stream.restart()
    assert stream.ms_ssim == {}
