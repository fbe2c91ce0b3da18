"""The real window, offscreen: open, encode, stream, pick layers, read the charts, bad files."""
import os
import random

import numpy as np
import pytest
from PIL import Image

from codec.container import Header, read_header, write_container
from viewer_helpers import HC_QUALITIES, TIMEOUT_MS, make_image, needs_hc, run
from viewer.encoding import Target
from viewer.main_window import MainWindow
from viewer.streaming import NetworkSimulator

FAST = 200e3  # bit/s: a 1.6 kB file takes ~70 ms, long enough to see the layers arrive in turn


def open_file(qtbot, window, path, pane=0):
    run(window.open_path(path, pane))


def wait_layers(qtbot, window, count, pane=0):
    qtbot.waitUntil(lambda: len(window.viewer.stream(pane).layers) == count, timeout=TIMEOUT_MS)


def file_points(header):
    """(cumulative bpp, PSNR) of every layer from the header, flattened for pytest.approx."""
    pixels = header.width * header.height
    return [v for i, psnr in enumerate(header.layer_psnr) for v in (8 * header.layer_offset(i + 1) / pixels, psnr)]


def flat(points):
    return [v for pt in points for v in (pt.x(), pt.y())]


def test_open_image_then_encode_deephq(qtbot, window, image_path, tmp_path):
    open_file(qtbot, window, image_path)
    assert window.viewer.session.original.size == (128, 96)
    assert window.panes[0].canvas.image.width() == 128
    target = tmp_path / "gradient.deephq.strata"
    with qtbot.waitSignal(window.encoding.finished, timeout=TIMEOUT_MS):
        assert window.encode([Target("deephq", None, target)])
    assert sorted(os.listdir(tmp_path)) == ["gradient.deephq.strata"]  # no temporary left
    header = read_header(target.read_bytes())
    assert header.codec == "deephq" and header.num_layers == 8
    wait_layers(qtbot, window, 8)
    window.panel.refresh()
    points = flat(window.panel.psnr_points(0))
    # measured against the open original, which is what the encoder measured
    assert points == pytest.approx(file_points(header), abs=0.01)
    assert all(layer.psnr_measured for layer in window.viewer.stream(0).layers.values())


def test_encode_asks_before_overwriting(qtbot, window, image_path, tmp_path, monkeypatch):
    open_file(qtbot, window, image_path)
    target = tmp_path / "kept.strata"
    target.write_bytes(b"precious")
    monkeypatch.setattr(window, "_confirm_overwrite", lambda names: False)
    assert not window.encode([Target("deephq", None, target)])
    assert target.read_bytes() == b"precious" and not window.encoding.running


def test_cancel_encode_leaves_nothing(qtbot, window, image_path, tmp_path, service):
    open_file(qtbot, window, image_path)
    with qtbot.waitSignal(window.encoding.stage, timeout=TIMEOUT_MS):  # the worker has the job
        window.encode([Target("deephq", None, tmp_path / "never.strata")])
    process = service.encoder.process
    with qtbot.waitSignal(window.encoding.cancelled, timeout=TIMEOUT_MS):
        window.cancel_action.trigger()
    assert os.listdir(tmp_path) == []
    assert not service.encoder.running and not process.is_alive()
    assert "cancelled" in window.banner.text()


def test_opening_another_file_cancels_the_encode(qtbot, window, image_path, deephq_file, tmp_path, service):
    open_file(qtbot, window, image_path)
    with qtbot.waitSignal(window.encoding.stage, timeout=TIMEOUT_MS):
        window.encode([Target("deephq", None, tmp_path / "never.strata")])
    with qtbot.waitSignal(window.encoding.cancelled, timeout=TIMEOUT_MS):
        open_file(qtbot, window, deephq_file)
    assert os.listdir(tmp_path) == [] and not service.encoder.running
    wait_layers(qtbot, window, 8)


def test_stream_layers_arrive_in_order_and_panel_follows_the_file(qtbot, window, deephq_file):
    open_file(qtbot, window, deephq_file)
    header = window.viewer.stream(0).header
    wait_layers(qtbot, window, header.num_layers)
    window.set_bandwidth(FAST)
    decoded = []
    window.viewer.layerDecoded.connect(lambda pane, index: decoded.append(index))
    window.viewer.restart()
    assert window.viewer.network.state == NetworkSimulator.PLAYING
    for index in range(header.num_layers):
        qtbot.waitUntil(lambda: index in decoded, timeout=TIMEOUT_MS)
    assert decoded == list(range(header.num_layers))
    stream = window.viewer.stream(0)
    assert stream.complete and window.viewer.network.state == NetworkSimulator.STOPPED
    arrivals = [stream.arrived[i] for i in range(header.num_layers)]
    assert arrivals == pytest.approx([8 * header.layer_offset(i + 1) / FAST for i in range(header.num_layers)])
    window.panel.refresh()
    points = flat(window.panel.psnr_points(0))
    assert points == pytest.approx(file_points(header))  # no original open: the file's statistics
    assert window.panel.bits_values(0) == pytest.approx([8 * n / 1000 for n in header.layer_lengths])
    assert window.panel.table.rowCount() == header.num_layers
    qtbot.waitUntil(lambda: 7 in stream.shown_wall, timeout=TIMEOUT_MS)  # the last layer was painted


def test_slider_shows_any_decoded_layer(qtbot, window, deephq_file):
    open_file(qtbot, window, deephq_file)
    wait_layers(qtbot, window, 8)
    stream, pane = window.viewer.stream(0), window.panes[0]
    assert pane.slider.maximum() == 7 and pane.slider.value() == 7
    pane.slider.setValue(2)
    assert stream.shown == 2 and not stream.follow
    shown = pane.canvas.image.convertToFormat(pane.canvas.image.Format.Format_RGB888)
    expected = stream.layers[2].rgb
    assert np.array_equal(np.frombuffer(shown.constBits(), np.uint8).reshape(expected.shape), expected)
    window.step_layer(1)
    assert stream.shown == 3
    window.next_action.trigger()
    window.last_action.trigger()
    assert stream.shown == 7 and stream.follow
    window.panel.refresh()
    marker = flat(window.panel.markers[0].points())
    assert marker == pytest.approx([stream.layers[7].bpp, stream.layers[7].psnr])
    dots = flat(window.panel.psnr_dots[0].points())
    assert dots == flat(window.panel.psnr_points(0)) and len(dots) == 2 * 8


def test_pause_resume_restart(qtbot, window, deephq_file):
    open_file(qtbot, window, deephq_file)
    window.set_bandwidth(2e3)  # 250 bytes/s: several seconds for the file
    window.play_action.trigger()
    network, stream = window.viewer.network, window.viewer.stream(0)
    qtbot.waitUntil(lambda: stream.received > 0, timeout=TIMEOUT_MS)
    window.play_action.trigger()
    assert network.state == NetworkSimulator.PAUSED
    frozen = network.now()
    qtbot.wait(50)  # time passes, the simulated clock does not
    assert network.now() == frozen
    window.play_action.trigger()
    assert network.state == NetworkSimulator.PLAYING
    window.set_bandwidth(100e6)
    wait_layers(qtbot, window, 8)
    generation = stream.generation
    window.restart_action.trigger()
    assert stream.generation == generation + 1 and network.state == NetworkSimulator.PLAYING
    wait_layers(qtbot, window, 8)


def test_truncated_file_shows_its_complete_layers(qtbot, window, deephq_file, tmp_path):
    data = deephq_file.read_bytes()
    header = read_header(data)
    cut = tmp_path / "cut.strata"
    cut.write_bytes(data[:header.layer_offset(3) + 2])
    open_file(qtbot, window, cut)
    assert "truncated" in window.banner.text() and "3 of 8 layers" in window.banner.text()
    wait_layers(qtbot, window, 3)
    assert window.panes[0].slider.maximum() == 2
    assert window.panes[0].canvas.image is not None


def test_corrupted_layer_shows_the_layers_before_it(qtbot, window, deephq_file, tmp_path):
    data = bytearray(deephq_file.read_bytes())
    header = read_header(data)
    bad = next(i for i in range(2, header.num_layers) if header.layer_lengths[i])
    data[header.layer_offset(bad)] ^= 0x55
    path = tmp_path / "bad.strata"
    path.write_bytes(bytes(data))
    open_file(qtbot, window, path)
    assert f"layer {bad}" in window.banner.text() and "corrupted" in window.banner.text()
    wait_layers(qtbot, window, bad)


@pytest.mark.parametrize("name, content, words", [
    ("noise.png", bytes(range(256)) * 4, "not a readable image"),
    ("empty.strata", b"", "ends inside the Strata header"),
    ("short.strata", b"\x89STRATA\n\x01", "ends inside the Strata header"),
    ("text.strata", b"hello, world", "not a Strata file"),
])
def test_bad_files_give_a_message_and_keep_the_app_usable(qtbot, window, tmp_path, image_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    open_file(qtbot, window, path)
    assert words in window.banner.text()
    open_file(qtbot, window, image_path)
    assert window.viewer.session.original is not None and window.banner.text() == ""


def test_undecodable_file_reports_the_worker_error(qtbot, window, tmp_path):
    header = Header("hc", 7, bytes(8), 64, 48, "RGB", (20, 20, 20), (30.0, 31.0, 32.0), b"")
    path = tmp_path / "odd.strata"
    rng = random.Random(1)
    path.write_bytes(write_container(header, [rng.randbytes(20) for _ in range(3)]))
    open_file(qtbot, window, path)
    qtbot.waitUntil(lambda: "odd.strata:" in window.banner.text(), timeout=TIMEOUT_MS)
    assert not window.viewer.stream(0).layers


def test_export_displayed_layer(qtbot, window, deephq_file, tmp_path):
    open_file(qtbot, window, deephq_file)
    wait_layers(qtbot, window, 8)
    window.viewer.select_layer(0, 4)
    target = tmp_path / "layer5.png"
    window.export_png(target)
    assert np.array_equal(np.asarray(Image.open(target).convert("RGB")), window.viewer.stream(0).layers[4].rgb)


def test_recent_files_and_drop(qtbot, window, deephq_file, image_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    open_file(qtbot, window, image_path)
    assert window._recent()[0] == str(image_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(deephq_file))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.viewer.stream(0) is not None, timeout=TIMEOUT_MS)
    assert window._recent()[:2] == [str(deephq_file), str(image_path)]


def test_side_by_side_links_the_canvases(qtbot, window, deephq_file):
    open_file(qtbot, window, deephq_file)
    open_file(qtbot, window, deephq_file, pane=1)  # any two files of one size can be compared
    assert window.panes[1].isVisible()
    wait_layers(qtbot, window, 8, pane=1)
    a, b = window.panes[0].canvas, window.panes[1].canvas
    a.zoom_by(4.0)
    assert b.zoom() == pytest.approx(a.zoom()) and b.center() == a.center()
    b.pan(30, 0)
    assert a.center() == b.center()
    window.split_action.setChecked(True)
    assert not window.panes[1].isVisible() and a.compare is not None
    window.panel.refresh()
    assert len(window.panel.psnr_series) == 2


def test_close_mid_stream_ends_the_workers(qtbot, deephq_file, loop):
    window = MainWindow()  # owns its workers
    qtbot.addWidget(window)
    window.show()
    open_file(qtbot, window, deephq_file)
    window.set_bandwidth(56e3)
    window.viewer.restart()
    processes = [window.service.decoder.process]
    window.close()
    assert all(not process.is_alive() for process in processes)
    assert not window.service.decoder.running and not window.service.encoder.running


def test_close_mid_encode(qtbot, image_path, tmp_path, loop):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    open_file(qtbot, window, image_path)
    window.encode([Target("deephq", None, tmp_path / "x.strata")])
    qtbot.waitUntil(lambda: window.service.encoder.running, timeout=TIMEOUT_MS)
    encoder = window.service.encoder.process
    window.close()
    assert not encoder.is_alive() and os.listdir(tmp_path) == []


@needs_hc
def test_encode_both_codecs_side_by_side(qtbot, window, image_path, tmp_path):
    open_file(qtbot, window, image_path)
    quality = HC_QUALITIES[0]
    targets = [Target("deephq", None, tmp_path / "a.strata"), Target("hc", quality, tmp_path / "b.strata")]
    with qtbot.waitSignal(window.encoding.finished, timeout=2 * TIMEOUT_MS):
        window.encode(targets)
    assert read_header((tmp_path / "b.strata").read_bytes()).codec == "hc"
    assert window.panes[1].isVisible()
    wait_layers(qtbot, window, 3, pane=1)
    window.set_bandwidth(FAST)
    window.viewer.restart()
    wait_layers(qtbot, window, 8, pane=0)
    wait_layers(qtbot, window, 3, pane=1)
    window.panel.refresh()
    header = window.viewer.stream(1).header
    points = flat(window.panel.psnr_points(1))
    assert points == pytest.approx(file_points(header), abs=0.01)


def test_gui_modules_never_import_torch():
    import subprocess
    import sys

    code = ("import sys, viewer.app, viewer.main_window, viewer.client, viewer.panel; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": os.getcwd()}).returncode == 0


def test_canvas_nearest_pixels_at_high_zoom(qtbot):
    from viewer.canvas import Canvas

    canvas = Canvas()
    qtbot.addWidget(canvas)
    canvas.resize(200, 200)
    rgb = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 255]]], np.uint8)
    canvas.set_image(rgb)
    canvas.view.set(50.0, canvas.center())  # each image pixel is a 50x50 block
    grab = canvas.grab().toImage()
    scale = grab.width() / canvas.width()
    for (x, y), colour in {(75, 75): (255, 0, 0), (125, 75): (0, 255, 0), (75, 125): (0, 0, 255)}.items():
        pixel = grab.pixelColor(int(x * scale), int(y * scale))
        assert (pixel.red(), pixel.green(), pixel.blue()) == colour
    canvas.fit()
    assert canvas.zoom() == pytest.approx(100.0)
    canvas.actual_size()
    assert canvas.zoom() == 1.0


@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16", "P", "CMYK"])
def test_images_of_other_modes_open(qtbot, window, tmp_path, mode):
    image = Image.fromarray(make_image(64, 48))
    image = image.convert("I").point(lambda v: v * 256).convert("I;16") if mode == "I;16" else image.convert(mode)
    path = tmp_path / ("image.jpg" if mode == "CMYK" else "image.png")
    image.save(path)
    open_file(qtbot, window, path)
    assert window.banner.text() == ""
    assert window.viewer.session.original.size == (64, 48)
    assert window.panes[0].canvas.image is not None


def test_command_line_arguments():
    from viewer.app import parse_args

    args = parse_args(["photo.png", "--compare", "b.strata"])
    assert (args.file, args.compare) == ("photo.png", "b.strata")
    assert parse_args([]).file is None


def test_encode_dialog_offers_hc_only_when_installed(qtbot, tmp_path):
    from viewer.dialogs import BOTH, HC, EncodeDialog

    image = tmp_path / "photo.png"
    without = EncodeDialog(image, ())
    qtbot.addWidget(without)
    assert not without.choice.button(HC).isEnabled() and not without.choice.button(BOTH).isEnabled()
    assert [(t.codec, t.path.name) for t in without.targets()] == [("deephq", "photo.deephq.strata")]
    with_hc = EncodeDialog(image, (2, 3))
    qtbot.addWidget(with_hc)
    with_hc.choice.button(BOTH).setChecked(True)
    with_hc.quality.setCurrentIndex(1)
    assert [(t.codec, t.quality, t.path.name) for t in with_hc.targets()] == [
        ("deephq", None, "photo.deephq.strata"), ("hc", 3, "photo.hc-q3.strata")]
    assert "photo.hc-q3.strata" in with_hc.names.text()


def test_a_crashed_decoder_is_reported_and_restarted(qtbot, deephq_file, loop):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    open_file(qtbot, window, deephq_file)
    wait_layers(qtbot, window, 8)
    window.set_bandwidth(56e3)
    window.viewer.restart()
    window.service.decoder.process.kill()
    qtbot.waitUntil(lambda: "stopped unexpectedly" in window.banner.text(), timeout=TIMEOUT_MS)
    open_file(qtbot, window, deephq_file)  # a new decoder process starts
    wait_layers(qtbot, window, 8)
    window.close()
