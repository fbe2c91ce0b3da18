"""JPEG 2000 and progressive JPEG streams in the real window, offscreen (issue 20, item 1): beside a
.strata file at the same simulated bandwidth, with the same canvas, slider, per-layer table and
charts; encoded to the size of pane A's file; which files open as streams and which as images;
bad files give a message."""
import io

import numpy as np
import pytest
from PIL import Image

from codec import layered
from viewer.control.encoding import Target
from viewer.state.session import Stream
from viewer_helpers import TIMEOUT_MS, make_image, run

FAST = 400e3  # bit/s: the files of these tests take 0.1-0.3 s


@pytest.fixture(scope="session")
def jp2_file(service, image_path, tmp_path_factory):
    """image_path as a JPEG 2000 file with quality layers, made by the encoder worker."""
    result = run(service.encode(image_path, "jpeg2000", None))
    path = tmp_path_factory.mktemp("classic") / "gradient.jpeg2000.jp2"
    path.write_bytes(result.data)
    return path


def jpeg(rgb, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def open_file(window, path, pane=0):
    run(window.open_path(path, pane))


def wait_last(qtbot, window, pane):
    stream = window.viewer.stream(pane)
    qtbot.waitUntil(lambda: stream.shown == stream.usable_layers - 1 and stream.shown in stream.layers,
                    timeout=TIMEOUT_MS)


def test_a_jp2_streams_beside_a_strata_file_at_the_same_bandwidth(qtbot, window, deephq_file, jp2_file):
    open_file(window, deephq_file)
    open_file(window, jp2_file, pane=1)
    strata, j2k = window.viewer.stream(0), window.viewer.stream(1)
    assert j2k.header.codec == "jpeg2000" and j2k.header.num_layers == 12 and j2k.size == strata.size
    assert window.panes[0].title.text().startswith("A: DeepHQ") and window.panes[1].title.text().startswith(
        "B: JPEG 2000 — gradient.jpeg2000.jp2")
    wait_last(qtbot, window, 0)
    wait_last(qtbot, window, 1)
    window.set_bandwidth(FAST)
    shown = []
    window.viewer.layerDecoded.connect(lambda pane, index: shown.append(index) if pane == 1 else None)
    window.viewer.restart()
    qtbot.waitUntil(lambda: strata.complete and j2k.complete, timeout=TIMEOUT_MS)
    wait_last(qtbot, window, 0)
    wait_last(qtbot, window, 1)
    assert shown == sorted(shown) and shown[-1] == 11  # newer layers only, as for .strata files
    # one clock for both files: a layer arrives when its last byte has, at the same rate
    for stream in (strata, j2k):
        n = stream.header.num_layers
        assert [stream.arrived[i] for i in range(n)] == pytest.approx(
            [8 * stream.layer_end(i) / FAST for i in range(n)])
    assert j2k.layer_end(11) == len(j2k.data) == j2k.header.file_size
    # the same slider, table and charts
    assert window.panes[1].slider.maximum() == 11
    window.viewer.select_layer(1, 3)
    qtbot.waitUntil(lambda: j2k.shown == 3, timeout=TIMEOUT_MS)
    picked = window.viewer.session.displayed(1)
    assert picked.shape == (96, 128, 3) and not np.array_equal(picked, j2k.layers[11].rgb)
    window.panel.refresh()
    assert window.panel.table.rowCount() == 8 + 12
    assert window.panel.bits_values(1) == pytest.approx([8 * n / 1000 for n in j2k.header.layer_lengths])
    assert window.panel.psnr_points(1) == []  # no original open, and the file records no PSNR


def test_encode_jpeg2000_to_the_size_of_pane_a_beside_it(qtbot, window, image_path, tmp_path):
    from viewer.control.preferences import Preferences
    from viewer.widgets.dialogs import SIDE_BY_SIDE, EncodeDialog

    open_file(window, image_path)
    with qtbot.waitSignal(window.encoding.finished, timeout=TIMEOUT_MS):
        window.encode([Target("deephq", None, tmp_path / "gradient.deephq.strata")])
    deephq = window.viewer.stream(0)
    dialog = EncodeDialog(image_path, {"deephq": (0,), "hc": (1, 2)}, Preferences(), beside=deephq)
    qtbot.addWidget(dialog)
    dialog.folder.setText(str(tmp_path))
    dialog.choice.button(2).setChecked(True)  # JPEG 2000
    assert dialog.choice.button(2).text() == "JPEG 2000" and dialog.same_size.isEnabled()
    assert f"{len(deephq.data):,} bytes" in dialog.same_size.text()
    dialog.same_size.setChecked(True)
    (target,) = dialog.targets()
    assert (target.codec, target.max_bytes, target.pane) == ("jpeg2000", len(deephq.data), 1)
    assert target.path.name == f"gradient.jpeg2000.{len(deephq.data)}-bytes.jp2"
    dialog.choice.button(SIDE_BY_SIDE).click()
    assert not dialog.same_size.isEnabled() and all(t.max_bytes is None for t in dialog.targets())
    with qtbot.waitSignal(window.encoding.finished, timeout=TIMEOUT_MS):
        window.encode([target])
    assert window.viewer.stream(0) is deephq and window.panes[1].isVisible()
    j2k = window.viewer.stream(1)
    assert j2k.header.codec == "jpeg2000" and target.path.stat().st_size <= len(deephq.data)
    assert len(j2k.data) >= 0.9 * len(deephq.data)  # the rate control fills the budget
    wait_last(qtbot, window, 1)
    layers = [j2k.layers[i] for i in sorted(j2k.layers)]
    assert all(layer.psnr_measured and layer.psnr is not None for layer in layers)  # against the original
    for index in range(j2k.header.num_layers):  # the file records no PSNR: each is measured once decoded
        window.viewer.select_layer(1, index)
        qtbot.waitUntil(lambda: index in j2k.layers, timeout=TIMEOUT_MS)
    window.panel.refresh()
    curve = [point.y() for point in window.panel.psnr_points(1)]
    assert len(curve) == 12 and curve == sorted(curve) and curve[-1] > curve[0] + 5


def test_which_files_stream_and_which_open_as_images(qtbot, window, image_path, deephq_file, tmp_path):
    rgb = make_image()
    progressive = tmp_path / "progressive.jpg"
    progressive.write_bytes(jpeg(rgb, progressive=True, quality=90))
    baseline = tmp_path / "baseline.jpg"
    baseline.write_bytes(jpeg(rgb, quality=90))
    single = tmp_path / "single.jp2"
    Image.fromarray(rgb).save(single, "JPEG2000", quality_mode="rates", quality_layers=[20])
    # File > Open: every JPEG is a picture to encode, so is a JPEG 2000 file of one layer
    for path in (progressive, baseline, single):
        open_file(window, path)
        assert window.viewer.session.original.path == path and window.viewer.stream(0) is None
    # Open for Comparison streams a progressive JPEG beside pane A's file, scan by scan
    open_file(window, deephq_file)
    open_file(window, progressive, pane=1)
    stream = window.viewer.stream(1)
    assert stream.header.codec == "jpeg-progressive" and stream.header.num_layers == 10
    assert window.panes[1].title.text().startswith("B: Progressive JPEG")
    wait_last(qtbot, window, 1)
    for path, words in ((baseline, "cannot be streamed: it is a baseline JPEG, not a progressive one"),
                        (single, "cannot be streamed: it is a JPEG 2000 codestream of a single quality layer")):
        open_file(window, path, pane=1)
        assert words in window.banner.text() and "File > Open opens it as an image" in window.banner.text()
        assert window.viewer.stream(1) is stream  # the comparison stays


def test_bad_classic_files_give_a_message_and_keep_what_they_can(qtbot, window, image_path, jp2_file, tmp_path):
    data = jp2_file.read_bytes()
    layout = layered.parse(data).header
    truncated = tmp_path / "cut.jp2"
    truncated.write_bytes(data[:layout.layer_ends[4] + 10])
    open_file(window, truncated)
    stream = window.viewer.stream(0)
    assert stream.intact_layers == 5 and stream.header.num_layers == 12
    assert "cut.jp2 is truncated" in window.banner.text() and "5 of 12 layers complete" in window.banner.text()
    wait_last(qtbot, window, 0)
    assert stream.shown == 4 and window.panes[0].title.text().endswith("(layers 6–12 cannot be shown)")
    for name, content, words in (("headers.jp2", data[:60], "inside its JPEG 2000 headers"),
                                 ("garbage.jp2", data[:12] + bytes(200), "JP2 box")):
        path = tmp_path / name
        path.write_bytes(content)
        open_file(window, path)
        assert words in window.banner.text(), window.banner.text()
    # a progressive JPEG whose markers break after its 4th scan: the scans before it are shown
    rgb = make_image()
    scans = bytearray(jpeg(rgb, progressive=True, quality=90))
    ends = layered.parse(bytes(scans)).header.data_ends
    scans[ends[3]:ends[3] + 4] = b"\xff\xc4\x00\x01"
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(bytes(scans))
    open_file(window, image_path)
    open_file(window, broken, pane=1)
    stream = window.viewer.stream(1)
    assert isinstance(stream, Stream) and stream.intact_layers == 4
    assert "broken.jpg" in window.banner.text() and "announces 1 bytes" in window.banner.text()
    wait_last(qtbot, window, 1)
    assert stream.shown == 3
    open_file(window, image_path)
    assert window.viewer.session.original is not None and window.banner.text() == ""


def test_file_rules_and_names_without_qt(tmp_path):
    from viewer.state import files

    rgb = make_image()
    cases = {"p.jpg": jpeg(rgb, progressive=True), "b.jpg": jpeg(rgb), "x.strata": b"", "t.png": b""}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    Image.fromarray(rgb).save(tmp_path / "t.png")
    assert [files.file_kind(tmp_path / n) for n in cases] == ["jpeg", "jpeg", "strata", None]
    assert isinstance(files.read_any(tmp_path / "p.jpg"), files.Original)
    assert isinstance(files.read_any(tmp_path / "p.jpg", pane=1), Stream)
    with pytest.raises(files.NotStreamable, match="baseline JPEG"):
        files.read_any(tmp_path / "b.jpg", pane=1)
    assert isinstance(files.read_any(tmp_path / "t.png", pane=1), files.Original)  # the controller refuses it
    image = tmp_path / "photo.png"
    assert files.encoded_name(image, "jpeg2000", None).name == "photo.jpeg2000.jp2"
    assert files.encoded_name(image, "jpeg-progressive", None).name == "photo.jpeg-progressive.jpg"
    assert files.encoded_name(image, "hc", 2, 5000).name == "photo.hc-q2.5000-bytes.strata"
    assert "*.jp2" in files.COMPARE_FILTER and "*.jpg" in files.COMPARE_FILTER and "*.jp2" in files.OPEN_FILTER
