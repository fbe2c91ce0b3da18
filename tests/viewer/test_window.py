"""The real window, offscreen: open, encode, stream, pick layers, read the charts, bad files."""
import os
import random

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from codec.container import Header, parse_container, read_header, write_container
from viewer.control.encoding import Target
from viewer.control.streaming import NetworkSimulator
from viewer.presentation.streams import delay_text
from viewer.widgets.main_window import MainWindow
from viewer_helpers import HC_QUALITIES, TIMEOUT_MS, make_image, needs_hc, run

FAST = 200e3  # bit/s: a 1.6 kB file takes ~70 ms, long enough to see the layers arrive in turn


def open_file(qtbot, window, path, pane=0):
    run(window.open_path(path, pane))


def wait_shown(qtbot, window, index, pane=0):
    """Until layer index (from 0) of a pane is on screen."""
    qtbot.waitUntil(lambda: window.viewer.stream(pane).shown == index, timeout=TIMEOUT_MS)


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
    wait_shown(qtbot, window, 7)
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
    wait_shown(qtbot, window, 7)


def test_stream_layers_arrive_in_order_and_panel_follows_the_file(qtbot, window, deephq_file):
    open_file(qtbot, window, deephq_file)
    header = window.viewer.stream(0).header
    last = header.num_layers - 1
    wait_shown(qtbot, window, last)
    window.set_bandwidth(FAST)
    decoded = []
    stream = window.viewer.stream(0)
    window.viewer.layerDecoded.connect(
        lambda pane, index: decoded.append((index, index in window.viewer.stream(0).layers)))  # False: a refinement
    window.viewer.restart()
    assert window.viewer.network.state == NetworkSimulator.PLAYING
    qtbot.waitUntil(lambda: (last, True) in decoded, timeout=TIMEOUT_MS)
    # each picture is newer than the last one: none is made after a newer one arrived, and a
    # layer shows again only as more of its partitions arrive (a refinement before it is complete)
    indices = [index for index, _ in decoded]
    assert indices == sorted(indices) and decoded[-1] == (last, True)
    assert all(not complete for (index, complete), (following, _) in zip(decoded, decoded[1:]) if index == following)
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
    wait_shown(qtbot, window, 7)
    stream, pane = window.viewer.stream(0), window.panes[0]
    assert list(stream.layers) == [7]  # opening a file synthesizes its last layer only
    assert pane.slider.maximum() == 7 and pane.slider.value() == 7
    pane.slider.setValue(2)
    assert not stream.follow and pane.slider.value() == 2
    wait_shown(qtbot, window, 2)  # synthesized on demand
    shown = pane.canvas.image.convertToFormat(pane.canvas.image.Format.Format_RGB888)
    expected = stream.layers[2].rgb
    assert np.array_equal(np.frombuffer(shown.constBits(), np.uint8).reshape(expected.shape), expected)
    window.step_layer(1)
    wait_shown(qtbot, window, 3)
    window.next_action.trigger()
    window.last_action.trigger()
    assert stream.shown == 7 and stream.follow  # cached: at once
    window.viewer.select_layer(0, 2)
    assert stream.shown == 2 and sorted(stream.layers) == [2, 3, 7]
    window.last_action.trigger()
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
    wait_shown(qtbot, window, 7)
    generation = stream.generation
    window.set_bandwidth(2e3)  # at 100 Mbit/s a slow machine's first tick delivers the whole file
    window.restart_action.trigger()
    assert stream.generation == generation + 1 and network.state == NetworkSimulator.PLAYING
    window.set_bandwidth(100e6)
    wait_shown(qtbot, window, 7)


def test_truncated_file_shows_its_complete_layers(qtbot, window, deephq_file, tmp_path):
    data = deephq_file.read_bytes()
    header = read_header(data)
    cut = tmp_path / "cut.strata"
    cut.write_bytes(data[:header.layer_offset(3) + 2])
    open_file(qtbot, window, cut)
    assert "truncated" in window.banner.text() and "3 of 8 layers" in window.banner.text()
    wait_shown(qtbot, window, 2)
    assert window.viewer.stream(0).available == 3 and window.panes[0].slider.value() == 2
    assert window.panes[0].canvas.image is not None


def test_corrupted_layer_shows_the_layers_before_it(qtbot, window, deephq_file, tmp_path):
    data = bytearray(deephq_file.read_bytes())
    header = read_header(data)
    bad = next(i for i in range(2, header.num_layers) if header.layer_lengths[i])
    data[header.layer_offset(bad)] ^= 0x55
    path = tmp_path / "bad.strata"
    path.write_bytes(bytes(data))
    open_file(qtbot, window, path)
    assert f"layer {bad + 1} of 8 is damaged" in window.banner.text()  # layers counted from 1
    wait_shown(qtbot, window, bad - 1)
    window.banner.dismiss()
    assert window.panes[0].title.text().endswith(f"(layers {bad + 1}–8 cannot be shown)")


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
    wait_shown(qtbot, window, 7)
    window.viewer.select_layer(0, 4)
    wait_shown(qtbot, window, 4)
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
    wait_shown(qtbot, window, 7, pane=1)
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
    wait_shown(qtbot, window, 2, pane=1)
    window.set_bandwidth(FAST)
    window.viewer.restart()
    wait_shown(qtbot, window, 7, pane=0)
    wait_shown(qtbot, window, 2, pane=1)
    window.panel.refresh()
    header = window.viewer.stream(1).header
    points = flat(window.panel.psnr_points(1))
    assert points == pytest.approx(file_points(header), abs=0.01)


def test_gui_modules_never_import_torch():
    import subprocess
    import sys

    code = ("import sys, viewer.app, viewer.widgets.main_window, viewer.backend.client, viewer.widgets.panel; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": os.getcwd()}).returncode == 0


def test_canvas_nearest_pixels_at_high_zoom(qtbot):
    from viewer.widgets.canvas import Canvas

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
    lost = {"I;16": "16-bit samples were reduced to 8 bits", "CMYK": "CMYK colours were converted"}.get(mode)
    assert (lost in window.banner.text()) if lost else window.banner.text() == ""  # issue 32, item 8
    assert window.viewer.session.original.size == (64, 48)
    assert window.panes[0].canvas.image is not None


def test_command_line_arguments():
    from viewer.app import parse_args

    args = parse_args(["photo.png", "--compare", "b.strata"])
    assert (args.file, args.compare) == ("photo.png", "b.strata")
    assert parse_args([]).file is None


def test_encode_dialog_offers_hc_only_when_installed(qtbot, tmp_path):
    from codec.registry import NAMES
    from viewer.control.preferences import Preferences
    from viewer.widgets.dialogs import SIDE_BY_SIDE, EncodeDialog

    image, hc = tmp_path / "photo.png", NAMES.index("hc")
    without = EncodeDialog(image, {"deephq": (0,)}, Preferences())
    qtbot.addWidget(without)
    assert not without.choice.button(hc).isEnabled() and not without.choice.button(SIDE_BY_SIDE).isEnabled()
    assert [(t.codec, t.path.name) for t in without.targets()] == [("deephq", "photo.deephq.strata")]
    with_hc = EncodeDialog(image, {"deephq": (0,), "hc": (2, 3)}, Preferences())
    qtbot.addWidget(with_hc)
    assert with_hc.choice.button(hc).text() == "HC"
    with_hc.choice.button(SIDE_BY_SIDE).setChecked(True)
    with_hc.quality["hc"].setCurrentIndex(1)
    assert [(t.codec, t.quality, t.path.name) for t in with_hc.targets()] == [
        ("deephq", None, "photo.deephq.strata"), ("hc", 3, "photo.hc-q3.strata")]
    assert "photo.hc-q3.strata" in with_hc.names.text()


def test_a_crashed_decoder_is_reported_and_restarted(qtbot, deephq_file, loop):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    open_file(qtbot, window, deephq_file)
    wait_shown(qtbot, window, 7)
    window.set_bandwidth(56e3)
    window.viewer.restart()
    window.service.decoder.process.kill()
    qtbot.waitUntil(lambda: "stopped unexpectedly" in window.banner.text(), timeout=TIMEOUT_MS)
    open_file(qtbot, window, deephq_file)  # a new decoder process starts
    wait_shown(qtbot, window, 7)
    window.close()


# ---- defects found by trying the viewer as a new user (issue 18) ----------------------------

def damaged(source, tmp_path, layer, name="damaged.strata"):
    """A copy of a layered file with a byte of layer `layer` (from 0) flipped."""
    data = bytearray(source.read_bytes())
    data[read_header(data).layer_offset(layer) + 1] ^= 0x55
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return path


def test_a_damaged_first_layer_is_named_in_the_pane(qtbot, window, deephq_file, tmp_path):
    open_file(qtbot, window, damaged(deephq_file, tmp_path, 0))
    assert "layer 1 of 8 is damaged" in window.banner.text()
    window.banner.dismiss()
    window.set_bandwidth(FAST)
    window.play_action.trigger()
    qtbot.waitUntil(lambda: window.viewer.network.state == NetworkSimulator.STOPPED, timeout=TIMEOUT_MS)
    placeholder = window.panes[0].canvas.placeholder
    assert "layer 1 of 8 is damaged" in placeholder and "nothing can be shown" in placeholder
    assert "Waiting" not in placeholder


def test_a_complete_layer_being_decoded_is_not_said_to_be_awaited(qtbot, window, deephq_file, service, monkeypatch):
    monkeypatch.setattr(service, "feed", lambda stream, data: None)  # the decoder never gets a byte
    open_file(qtbot, window, deephq_file)
    assert window.viewer.stream(0).available == 8
    assert window.panes[0].canvas.placeholder == "Decoding layer 8 of 8…"


def test_psnr_against_another_picture_of_the_same_size_is_not_vs_original(qtbot, window, image_path, other_file):
    open_file(qtbot, window, image_path)
    open_file(qtbot, window, other_file, pane=1)
    wait_shown(qtbot, window, 7, pane=1)
    stream = window.viewer.stream(1)
    layer = stream.layers[7]
    assert not layer.psnr_measured and layer.psnr == stream.header.layer_psnr[7]
    assert "gradient.png is not the picture flipped.deephq.strata was encoded from" in window.banner.text()
    window.active_pane = 1
    window._refresh_status()
    assert "(from file)" in window.info.toolTip() and "vs original" not in window.info.toolTip()


def without_psnr(source, folder):
    """A copy of a layered file whose header records no PSNR (as `strata encode --no-psnr` writes)."""
    parsed = parse_container(source.read_bytes())
    header = Header(**{**parsed.header.__dict__, "layer_psnr": (None,) * parsed.header.num_layers})
    path = folder / source.name.replace(".deephq.", ".nopsnr.deephq.")
    path.write_bytes(write_container(header, parsed.layers))
    return path


@pytest.mark.parametrize("source", ["other_file", "deephq_file"])
def test_psnr_against_an_original_a_file_cannot_confirm_is_unverified(qtbot, window, image_path, tmp_path, source,
                                                                      request):
    """A file without PSNR in its header cannot show that the open image is its source (another
    picture of the same size, or its own): its PSNR against it is never plainly "vs original"."""
    path = without_psnr(request.getfixturevalue(source), tmp_path)
    open_file(qtbot, window, image_path)
    open_file(qtbot, window, path, pane=1)
    wait_shown(qtbot, window, 7, pane=1)
    stream = window.viewer.stream(1)
    readout = window.panes[1].controls.readout.full_text()
    assert f"PSNR {stream.layers[7].psnr:.2f} dB (vs original, unverified)" in readout
    assert f"{path.name} records no PSNR of its own" in window.banner.text()
    from viewer.presentation.charts import table_rows

    assert [row[-1] for row in table_rows([stream])][7] == "original, unverified"


def test_a_file_encoded_here_needs_no_psnr_of_its_own_to_be_vs_original(qtbot, window, image_path, tmp_path):
    """A classic file records no PSNR, but one just encoded from the open image was made from
    it: its PSNR is plainly against the original, with no banner about it."""
    open_file(qtbot, window, image_path)
    with qtbot.waitSignal(window.encoding.finished, timeout=TIMEOUT_MS):
        window.encode([Target("jpeg2000", None, tmp_path / "gradient.jp2")])
    stream = window.viewer.stream(0)
    wait_shown(qtbot, window, stream.header.num_layers - 1)
    assert all(v is None for v in stream.header.layer_psnr)
    assert "dB (vs original)" in window.panes[0].controls.readout.full_text()
    assert window.banner.text() == ""


def refinement(stream, index, psnr, complete=False, file_psnr=None):
    """What the decoder sends for a layer's first chunks (or a whole layer): a flat picture."""
    from viewer.backend import protocol as p

    rgb = np.full((stream.size[1], stream.size[0], 3), 128, np.uint8)
    return p.LayerDecoded("s", index, rgb, stream.layer_end(index - 1) + 10, stream.bpp(index - 1), file_psnr, psnr,
                          0.01, 0.01, 1, complete)


@pytest.mark.parametrize("source, foreign", [("other_file", True), ("deephq_file", False)])
def test_a_refinement_is_not_measured_against_an_original_no_whole_layer_confirmed(
        qtbot, window, service, image_path, monkeypatch, request, source, foreign):
    """The first picture of a stream can be a refinement (a layer's first chunks, no PSNR in the
    file to compare): its PSNR against the open image is not shown, nor drawn, until a whole
    layer's PSNR matched the file's."""
    monkeypatch.setattr(service, "feed", lambda stream, data: None)  # only the messages made here
    open_file(qtbot, window, image_path)
    open_file(qtbot, window, request.getfixturevalue(source), pane=1)
    stream, viewer = window.viewer.stream(1), window.viewer
    viewer._on_worker(1, stream, stream.generation, refinement(stream, 2, 10.0))
    assert stream.shown == 2 and stream.on_screen.psnr is None and not stream.refinement_points
    assert "PSNR –" in window.panes[1].controls.readout.full_text()
    recorded = stream.header.layer_psnr[1]
    whole = refinement(stream, 1, 10.0 if foreign else recorded + 0.01, complete=True, file_psnr=recorded)
    viewer._on_worker(1, stream, stream.generation, whole)
    viewer._on_worker(1, stream, stream.generation, refinement(stream, 2, 12.0))
    assert stream.on_screen.psnr_measured is not foreign
    assert stream.refinement_points == ([] if foreign else [(stream.on_screen.bpp, 12.0)])


def test_the_layer_slider_spans_every_layer_of_the_file(qtbot, window, deephq_file):
    open_file(qtbot, window, deephq_file)
    window.set_bandwidth(2e3)  # 250 bytes/s
    window.play_action.trigger()
    stream, slider = window.viewer.stream(0), window.panes[0].slider
    qtbot.waitUntil(lambda: stream.available >= 2, timeout=TIMEOUT_MS)
    window.play_action.trigger()  # pause: no more layers arrive
    assert slider.maximum() == 7 and slider.value() == stream.newest < 7
    slider.setValue(7)  # not arrived: back to the newest arrived layer
    assert slider.value() == stream.newest and stream.follow


def test_restart_keeps_zoom_and_pan(qtbot, window, deephq_file):
    open_file(qtbot, window, deephq_file)
    wait_shown(qtbot, window, 7)
    canvas = window.panes[0].canvas
    canvas.zoom_by(3.0)
    canvas.pan(20, 10)
    zoom, center = canvas.zoom(), canvas.center()
    window.set_bandwidth(FAST)
    window.restart_action.trigger()
    wait_shown(qtbot, window, 7)
    assert canvas.zoom() == pytest.approx(zoom) and canvas.center() == center


def test_layers_are_counted_from_one_in_the_decoders_messages(qtbot, window, deephq_file, tmp_path):
    data = deephq_file.read_bytes()
    parsed = parse_container(data)
    params = parsed.header.params
    forged = Header(**{**parsed.header.__dict__, "params": params[:2] + bytes([params[2] ^ 1]) + params[3:]})
    path = tmp_path / "forged.strata"
    path.write_bytes(write_container(forged, parsed.layers))
    open_file(qtbot, window, path)
    qtbot.waitUntil(lambda: "cannot be decoded" in window.banner.text(), timeout=TIMEOUT_MS)
    assert "forged.strata: layer 1 cannot be decoded" in window.banner.text()
    assert window.panes[0].canvas.placeholder.startswith("Nothing can be shown: layer 1 cannot be decoded")


def test_open_recent_keeps_absolute_paths(qtbot, window, image_path, monkeypatch):
    monkeypatch.chdir(image_path.parent)
    open_file(qtbot, window, image_path.name)
    assert window._recent()[0] == str(image_path.resolve())


def test_the_minimum_width_cuts_no_slider_status_or_axis_title(qtbot, window, deephq_file):
    from PySide6.QtGui import QFontMetrics

    open_file(qtbot, window, deephq_file)
    open_file(qtbot, window, deephq_file, pane=1)
    wait_shown(qtbot, window, 7, pane=1)
    window.resize(window.minimumSizeHint())
    window.panel.refresh()
    qtbot.wait(50)
    assert all(pane.slider.width() >= 100 for pane in window.panes)
    info = window.info
    assert info.text() and QFontMetrics(info.font()).horizontalAdvance(info.text()) <= info.width()
    assert info.toolTip().startswith(info.text())  # whole parts only: a prefix of the full text
    for chart in (window.panel.bits_chart, window.panel.psnr_chart):
        for axis in chart.axes():
            area = chart.plotArea()
            room = area.width() if axis.orientation() == Qt.Orientation.Horizontal else area.height()
            assert QFontMetrics(axis.titleFont()).horizontalAdvance(axis.titleText()) <= room


def test_a_parts_label_shows_whole_parts_only(qtbot):
    """The status bar and the pane readouts drop their last parts when narrow ("decoded in" with
    no number was left at the minimum width): what shows is always a prefix of whole parts."""
    from PySide6.QtGui import QFontMetrics

    from viewer.widgets.labels import PartsLabel

    label = PartsLabel()
    qtbot.addWidget(label)
    parts = ["layer 7 / 8", "0.787 bpp", "PSNR 38.66 dB (vs original)", "decoded in 1203 ms", "768×512"]
    label.show()
    label.set_parts(parts)
    metrics = QFontMetrics(label.font())
    for width in (40, 150, 300, 450, 2000):
        label.resize(width, 20)
        shown = label.text().split(label.separator)
        assert shown == parts[:len(shown)] and label.toolTip() == label.full_text()
        assert len(shown) == 1 or metrics.horizontalAdvance(label.text()) <= width
        assert len(shown) == len(parts) or metrics.horizontalAdvance(label.separator.join(parts[:len(shown) + 1])) > width
    assert label.text() == label.full_text()  # wide enough for all of it
    assert label.minimumSizeHint().width() == 0  # it never widens the window
    label.set_parts(parts, drop_first=(1, 9))  # the bpp goes first (no part 9: ignored), then the last ones
    label.resize(metrics.horizontalAdvance(label.separator.join(parts[:1] + parts[2:])), 20)
    assert label.text().split(label.separator) == parts[:1] + parts[2:]
    label.resize(metrics.horizontalAdvance(label.separator.join(parts[:1] + parts[2:4])) + 5, 20)
    assert label.text().split(label.separator) == parts[:1] + parts[2:4]


def test_the_banner_keeps_a_warning_when_later_news_arrives(qtbot):
    """A truncated file's warning stayed on screen only until its first layer's remark replaced
    it (CI saw the order change): the banner keeps the latest three messages, newest last, and
    news on a topic takes away only that topic's messages."""
    from viewer.widgets.labels import Banner

    banner = Banner()
    qtbot.addWidget(banner)
    assert banner.text() == "" and banner.isHidden()
    banner.show_message("cut.jp2 is truncated", "file")
    banner.show_message("no PSNR of its own", "file")
    banner.show_message("the encode was cancelled", "encode")
    assert banner.text().split("\n") == ["cut.jp2 is truncated", "no PSNR of its own", "the encode was cancelled"]
    assert not banner.isHidden()
    banner.show_message("cut.jp2 is truncated", "file")  # said again: once, as the newest
    assert banner.text().split("\n") == ["no PSNR of its own", "the encode was cancelled", "cut.jp2 is truncated"]
    banner.show_message("a fourth", "original")
    assert banner.text().split("\n") == ["the encode was cancelled", "cut.jp2 is truncated", "a fourth"]
    banner.resolve("file")
    assert banner.text().split("\n") == ["the encode was cancelled", "a fourth"]
    banner.dismiss()
    assert banner.text() == "" and banner.isHidden()


def test_both_readouts_are_whole_at_the_default_size_and_keep_the_psnr_when_narrow(qtbot, window, image_path,
                                                                                    deephq_file, other_file):
    """A new user compares the panes' PSNR: at the window's default size each pane's readout
    shows every part (codec, layer, kB, bpp, PSNR); narrower, the kB and bpp go before the PSNR."""
    from viewer.state import files

    open_file(qtbot, window, image_path)
    window.viewer.load_encoded([files.read_layered(deephq_file), files.read_layered(other_file)])
    wait_shown(qtbot, window, 7)
    wait_shown(qtbot, window, 7, pane=1)
    qtbot.wait(50)
    readouts = [window.panes[pane].controls.readout for pane in (0, 1)]
    for readout in readouts:
        assert readout.isVisible() and readout.text() == readout.full_text() and "PSNR" in readout.text()
    window.resize(window.minimumSizeHint())
    qtbot.wait(50)
    for readout in readouts:
        assert readout.text() != readout.full_text() and "PSNR" in readout.text() and " kB" not in readout.text()


def test_bits_chart_is_logarithmic_with_plain_labels_and_marks_in_the_codecs_colour(qtbot, window, deephq_file):
    from PySide6.QtCharts import QLogValueAxis

    from viewer.widgets.panel import PANE_COLORS

    open_file(qtbot, window, deephq_file)
    open_file(qtbot, window, deephq_file, pane=1)
    wait_shown(qtbot, window, 7, pane=1)
    window.panel.refresh()
    (axis,) = window.panel.bits_chart.axes(Qt.Orientation.Vertical)
    assert isinstance(axis, QLogValueAxis) and axis.labelFormat() == "%g"
    smallest = min(v for v in window.panel.bits_values(0) if v > 0)
    assert axis.min() <= smallest and axis.max() >= max(window.panel.bits_values(0))
    for pane in (0, 1):
        marked = window.panel.bar_sets[pane].selectedColor()
        assert marked != PANE_COLORS[pane] and marked.hue() == PANE_COLORS[pane].hue()
        assert window.panel.bar_sets[pane].selectedBars() == [7]


def test_the_psnr_chart_leaves_room_for_the_ring_of_the_largest_file(qtbot, window, service, tmp_path, monkeypatch):
    """The ring around the layer on screen was cut in half when the file's last point fell on
    the axis' end (1.478 bpp on an axis to 1.5); here the file ends at exactly 20 bpp."""
    from viewer_helpers import layered
    from viewer.widgets.panel import RING_ROOM

    monkeypatch.setattr(service, "feed", lambda stream, data: None)  # header-only points: nothing to decode
    path = tmp_path / "round.strata"
    path.write_bytes(layered(lengths=(10, 0, 30, 204)))  # 320 bytes of a 16x8 picture: 20.0 bpp
    open_file(qtbot, window, path)
    window.panel.refresh()
    (axis,) = window.panel.psnr_chart.axes(Qt.Orientation.Horizontal)
    assert axis.max() >= 20.0 * (1 + RING_ROOM)


def test_two_files_of_one_codec_are_told_apart_in_the_legends(qtbot, window, deephq_file):
    open_file(qtbot, window, deephq_file)
    window.panel.refresh()
    assert [s.label() for s in window.panel.bits_chart.series()[0].barSets()] == ["DeepHQ"]
    open_file(qtbot, window, deephq_file, pane=1)
    window.panel.refresh()
    assert [s.label() for s in window.panel.bits_chart.series()[0].barSets()] == ["A: DeepHQ", "B: DeepHQ"]
    assert [window.panel.psnr_series[pane].name() for pane in (0, 1)] == ["A: DeepHQ", "B: DeepHQ"]


def test_show_original_says_why_when_there_is_nothing_to_switch_to(qtbot, window, image_path, deephq_file):
    from viewer.state import files

    open_file(qtbot, window, deephq_file)
    window.original_action.trigger()
    assert not window.original_action.isChecked() and not window.viewer.session.show_original
    assert "no original image is open" in window.banner.text()
    open_file(qtbot, window, image_path)
    window.original_action.trigger()
    assert not window.original_action.isChecked() and "Pane A already shows the original" in window.banner.text()
    window.viewer.load_encoded([files.read_layered(deephq_file)])  # as after an encode
    window.original_action.trigger()
    assert window.original_action.isChecked() and window.viewer.session.shows_original(0)
    assert window.banner.text() == ""


def test_a_cancelled_encode_banner_goes_with_the_next_encode(qtbot, window, image_path, tmp_path):
    open_file(qtbot, window, image_path)
    with qtbot.waitSignal(window.encoding.stage, timeout=TIMEOUT_MS):
        window.encode([Target("deephq", None, tmp_path / "never.strata")])
    with qtbot.waitSignal(window.encoding.cancelled, timeout=TIMEOUT_MS):
        window.cancel_action.trigger()
    assert "cancelled" in window.banner.text()
    with qtbot.waitSignal(window.encoding.finished, timeout=TIMEOUT_MS):
        window.encode([Target("deephq", None, tmp_path / "done.strata")])
    assert window.banner.text() == ""


def test_the_press_space_hint_goes_when_streaming_starts(qtbot, window, image_path, tmp_path):
    open_file(qtbot, window, image_path)
    with qtbot.waitSignal(window.encoding.finished, timeout=TIMEOUT_MS):
        window.encode([Target("deephq", None, tmp_path / "hint.strata")])
    assert window.statusBar().currentMessage().endswith("Press Space to stream.")
    window.set_bandwidth(FAST)
    window.play_action.trigger()
    assert window.statusBar().currentMessage() == ""  # the status bar's readout shows again


def test_the_nothing_to_stream_banner_goes_when_streaming_starts(qtbot, window, image_path, deephq_file):
    from viewer.state import files

    open_file(qtbot, window, image_path)
    window.play_action.trigger()
    assert "Open or encode a layered file" in window.banner.text()
    window.viewer.load_encoded([files.read_layered(deephq_file)])  # as after an encode
    window.set_bandwidth(FAST)
    window.play_action.trigger()
    assert window.banner.text() == ""


def test_show_original_drops_the_layer_readout(qtbot, window, image_path, deephq_file):
    from viewer.state import files

    open_file(qtbot, window, image_path)
    window.viewer.load_encoded([files.read_layered(deephq_file)])
    wait_shown(qtbot, window, 7)
    assert "bpp" in window.info.text() and "PSNR" in window.info.text()
    window.original_action.setChecked(True)
    assert "original" in window.info.text()
    assert "bpp" not in window.info.text() and "PSNR" not in window.info.text()


def test_a_layer_shown_after_a_pick_has_no_shown_after_delay(qtbot, window, deephq_file):
    open_file(qtbot, window, deephq_file)
    wait_shown(qtbot, window, 7)
    window.set_bandwidth(8e3)  # 1 kB/s
    window.viewer.restart()
    stream = window.viewer.stream(0)
    qtbot.waitUntil(lambda: len(stream.arrived) >= 2, timeout=TIMEOUT_MS)
    window.viewer.select_layer(0, 0)  # pinned while streaming
    qtbot.waitUntil(lambda: stream.complete and stream.shown == 0, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.panes[0].canvas.shown, timeout=TIMEOUT_MS):  # layer 8 painted
        window.last_action.trigger()
    assert stream.shown == 7 and delay_text(stream, 7) == "—" and 7 not in stream.shown_wall
    window.panel.refresh()
    row = next(r for r in range(window.panel.table.rowCount()) if window.panel.table.item(r, 1).text() == "8")
    assert window.panel.table.item(row, 4).text() == "—"


def test_the_shortcut_list_holds_every_key_of_every_action_read_only_with_a_close_button(qtbot, window):
    """F1 opens the list built from the window's own actions, so no shortcut can be missing."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QKeySequence
    from PySide6.QtWidgets import QAbstractItemView, QApplication, QDialogButtonBox, QTableWidget

    listed = {}

    def read_and_close():
        dialog = QApplication.activeModalWidget()
        table = dialog.findChild(QTableWidget)
        listed["editable"] = table.editTriggers() != QAbstractItemView.EditTrigger.NoEditTriggers
        listed["rows"] = [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]
        listed["cut"] = table.horizontalScrollBar().maximum() > 0  # a description behind a scroll bar
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Close).click()

    QTimer.singleShot(0, read_and_close)
    window.shortcuts_action.trigger()  # returns once the Close button closed the dialog
    keys = {key for cell, _ in listed["rows"] for key in cell.split(" / ")}
    for action in window.actions():
        for key in action.shortcuts():
            assert key.toString(QKeySequence.SequenceFormat.NativeText) in keys, action.text()
    assert {"[", "]", "Ctrl+W", "Ctrl+Shift+W", "Ctrl+Q", "F1"} <= keys
    assert ("Space", "Play / pause the stream") in listed["rows"]
    assert not listed["cut"]
    assert not listed["editable"]


def test_a_refinement_on_screen_is_not_timed_as_its_layer(qtbot, window, deephq_file):
    """The delay from a layer's last byte to the screen ends with the layer's own picture, not
    with a refinement of its first partitions shown on the way (viewer_bench read that as the
    final layer)."""
    import dataclasses

    open_file(qtbot, window, deephq_file)
    wait_shown(qtbot, window, 7)
    stream = window.viewer.stream(0)
    assert window.viewer.paint_token(0) == (stream, stream.generation, 7)
    stream.refinement = dataclasses.replace(stream.layers.pop(7), complete=False)
    assert stream.on_screen is stream.refinement and window.viewer.paint_token(0) is None


def test_an_encode_at_a_higher_effort_shows_its_percentage_and_time_left(qtbot, window, image_path, tmp_path):
    open_file(qtbot, window, image_path)
    fractions = []
    window.encoding.stage.connect(lambda text, fraction: fractions.append(fraction))
    target = tmp_path / "searched.strata"
    with qtbot.waitSignal(window.encoding.finished, timeout=TIMEOUT_MS):
        window.encode([Target("deephq", None, target, effort=3)])
    known = [f for f in fractions if f is not None]
    assert known and known == sorted(known) and known[-1] == pytest.approx(1.0)
    assert read_header(target.read_bytes()).num_layers == 8


def test_the_encode_dialog_remembers_the_effort_and_passes_it_on(qtbot, tmp_path):
    from PySide6.QtCore import QSettings
    from viewer.control.preferences import Preferences
    from viewer.widgets.dialogs import EncodeDialog

    preferences = Preferences(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    image = tmp_path / "photo.png"
    dialog = EncodeDialog(image, {"deephq": (0,)}, preferences)
    qtbot.addWidget(dialog)
    assert dialog.effort.value() == 1 and "Effort 1 (default): fastest" in dialog.effort_text.text()
    dialog.effort.setValue(6)
    assert "Effort 6" in dialog.effort_text.text()
    assert all(t.effort == 6 for t in dialog.targets())
    dialog.accept()
    assert EncodeDialog(image, {"deephq": (0,)}, preferences).effort.value() == 6


def test_a_picture_that_loses_its_alpha_says_so_when_opened(qtbot, window, tmp_path):
    rgba = np.dstack([make_image(), np.full((96, 128), 100, np.uint8)])  # translucent everywhere
    path = tmp_path / "translucent.png"
    Image.fromarray(rgba, "RGBA").save(path)
    open_file(qtbot, window, path)
    assert window.viewer.session.original.notes
    assert "translucent.png:" in window.banner.text() and "alpha" in window.banner.text().lower()
    opaque = tmp_path / "opaque.png"
    Image.fromarray(make_image()).save(opaque)
    open_file(qtbot, window, opaque)
    assert "alpha" not in window.banner.text().lower()
