"""Files opened from URLs in the real window (issue 31), from a real server on 127.0.0.1: the
bytes arrive from the network into the same streaming path as a local file, each layer shows
once its last byte is in, a fetch limit stops early and the slider fetches the next ranges,
bad servers leave their complete layers on screen with a message saying what is missing, and
only a save writes anything."""
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtWidgets import QApplication

from codec import api, container, layered
from codec.net.plan import Want
from http_server import FileServer
from viewer.presentation.network import fetch_text, network_lines
from viewer.state.link import UNLIMITED
from viewer_helpers import TIMEOUT_MS, run


@pytest.fixture
def server():
    with FileServer() as running:
        yield running


def wait_layers(qtbot, window, count, pane=0):
    """Until layer `count` (from 1) of the pane's stream is decoded and on screen."""
    qtbot.waitUntil(lambda: window.viewer.stream(pane) is not None and window.viewer.stream(pane).shown == count - 1
                    and count - 1 in window.viewer.stream(pane).layers, timeout=TIMEOUT_MS)


def wait_fetched(qtbot, window, pane=0):
    qtbot.waitUntil(lambda: window.viewer.stream(pane) is not None and not window.viewer.stream(pane).remote.fetching,
                    timeout=TIMEOUT_MS)


def open_limited(qtbot, window, url, layers):
    """Open url with no simulated link and a fetch limit of `layers`, until its first `layers`
    layers are on screen."""
    window.set_bandwidth(UNLIMITED)
    window.fetch_fields.set_limit(Want(layers=layers))
    run(window.open_path(url))
    wait_layers(qtbot, window, layers)


def test_a_url_streams_every_layer_from_the_network(qtbot, window, server, deephq_file):
    data = deephq_file.read_bytes()
    url = server.add("gradient.strata", data, rate=20_000)
    window.set_bandwidth(UNLIMITED)
    run(window.open_path(url))
    stream = window.viewer.stream(0)
    assert stream.remote is not None and stream.path.name == "gradient.strata"
    wait_layers(qtbot, window, 8)
    wait_fetched(qtbot, window)
    assert bytes(stream.data) == data and server.sent("gradient.strata") == len(data)
    arrived = [stream.arrived[i] for i in range(8)]
    assert arrived == sorted(arrived) and arrived[-1] - arrived[0] > 0.5 * (len(data) - stream.layer_end(0)) / 20_000
    expected = api.decode(data, device="cpu").last.rgb
    assert np.array_equal(stream.layers[7].rgb, expected)
    window.panel.refresh()
    assert window.panel.network.isVisible() and "measured" in window.panel.network.text()
    assert "all 8 layers received from 127.0.0.1" in fetch_text(stream)


def test_a_fetch_limit_stops_at_its_layer_and_the_slider_fetches_more(qtbot, window, server, deephq_file):
    data = deephq_file.read_bytes()
    header = container.read_header(data)
    url = server.add("limited.strata", data)
    open_limited(qtbot, window, url, 2)
    wait_fetched(qtbot, window)
    assert server.sent("limited.strata") == header.layer_offset(2)
    assert "2 of 8 layers fetched (the limit)" in fetch_text(window.viewer.stream(0))
    window.panes[0].slider.setValue(5)  # past the layers received: asks for layers 3 to 6
    wait_layers(qtbot, window, 6)
    wait_fetched(qtbot, window)
    assert server.sent("limited.strata") == header.layer_offset(6)  # each byte once
    window.fetch_fields.set_limit(Want())
    wait_layers(qtbot, window, 8)
    assert server.sent("limited.strata") == len(data)


def test_a_reset_mid_layer_keeps_the_complete_layers_on_screen(qtbot, window, server, deephq_file):
    data = deephq_file.read_bytes()
    header = container.read_header(data)
    url = server.add("reset.strata", data, reset_after=header.layer_offset(4) - header.size + 3)
    window.set_bandwidth(UNLIMITED)
    run(window.open_path(url))
    wait_layers(qtbot, window, 4)
    wait_fetched(qtbot, window)
    qtbot.waitUntil(lambda: "layers 5–8 are missing" in window.banner.text(), timeout=TIMEOUT_MS)
    assert "Connection reset" in window.banner.text() and window.viewer.stream(0).available == 4
    assert "cannot be shown" in window.panes[0].title.text()


def test_a_missing_file_and_a_web_page_are_named_in_the_banner(qtbot, window, server):
    run(window.open_path(server.url("nothing.strata")))
    assert "404 Not Found" in window.banner.text() and window.viewer.stream(0) is None
    url = server.add("page.html", b"<!DOCTYPE html><p>hello</p>", content_type="text/html")
    run(window.open_path(url))
    assert "is not a layered file (the server sent text/html)" in window.banner.text()


def test_a_stalled_server_names_its_timeout(qtbot, window, server, deephq_file):
    window.viewer.fetch_timeout = 0.5
    data = deephq_file.read_bytes()
    header = container.read_header(data)
    url = server.add("stall.strata", data, stall_after=header.layer_offset(3) - header.size + 1, stall_seconds=3)
    window.set_bandwidth(UNLIMITED)
    window.viewer.open_url(url)
    qtbot.waitUntil(lambda: "read timeout" in window.banner.text(), timeout=TIMEOUT_MS)
    assert "layers 4–8 are missing" in window.banner.text()
    wait_layers(qtbot, window, 3)


def test_a_jpeg_2000_url_streams_its_quality_layers(qtbot, window, server, sample_rgb):
    data = api.encode(sample_rgb[:256, :384].copy(), codec="jpeg2000")  # layer 1 ends past the header's window
    url = server.add("tile.jp2", data)
    open_limited(qtbot, window, url, 3)
    wait_fetched(qtbot, window)
    assert server.sent("tile.jp2") == layered.parse(data).header.layer_offset(3)
    assert window.viewer.stream(0).header.num_layers == 12 and window.viewer.stream(0).available == 3


def test_saving_writes_the_complete_layers_received_and_nothing_else_is_written(qtbot, window, server, deephq_file,
                                                                                tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = deephq_file.read_bytes()
    url = server.add("saved.strata", data)
    open_limited(qtbot, window, url, 3)
    assert list(tmp_path.iterdir()) == []
    window.save_received(tmp_path / "saved.layers1-3.strata")
    saved = container.parse_container((tmp_path / "saved.layers1-3.strata").read_bytes())
    assert saved.complete and saved.header.num_layers == 3
    assert saved.layers == container.parse_container(data).layers[:3]
    assert [p.name for p in tmp_path.iterdir()] == ["saved.layers1-3.strata"]  # no temporary left


def test_a_url_dropped_or_pasted_opens(qtbot, window, server, deephq_file):
    url = server.add("dropped.strata", deephq_file.read_bytes())
    window.set_bandwidth(UNLIMITED)
    mime = QMimeData()
    mime.setUrls([QUrl(url)])
    from viewer.widgets.main_window import _dropped

    assert _dropped(mime) == [url]
    run(window._open_sequence(_dropped(mime)))
    assert window.viewer.stream(0).remote.url == url
    window.viewer.clear()
    clipboard = QApplication.clipboard()
    clipboard.setText(url.replace("dropped", "pasted"))
    server.add("pasted.strata", deephq_file.read_bytes())
    try:
        window.paste_action.trigger()
        qtbot.waitUntil(lambda: window.viewer.stream(0) is not None, timeout=TIMEOUT_MS)
    finally:
        clipboard.clear()  # clipboard data left at exit crashes Qt's teardown (a shared QObject)
    assert window.viewer.stream(0).path.name == "pasted.strata"
    assert network_lines(window.viewer.streams())[0].startswith("A: pasted.strata from 127.0.0.1")


def test_a_progressive_jpeg_url_streams_its_scans_as_they_are_found(qtbot, window, server, sample_rgb):
    data = api.encode(sample_rgb[:256, :384].copy(), codec="jpeg-progressive")
    url = server.add("tile.jpg", data)
    window.set_bandwidth(UNLIMITED)
    window.fetch_fields.set_limit(Want(layers=2))
    run(window.open_path(url))
    wait_fetched(qtbot, window)
    stream = window.viewer.stream(0)
    assert 2 <= stream.intact_layers < 10 and server.sent("tile.jpg") < len(data)  # scans known as they arrive
    wait_layers(qtbot, window, stream.intact_layers)  # the window read past scan 2 shows what it holds
    window.fetch_fields.set_limit(Want())
    wait_fetched(qtbot, window)
    wait_layers(qtbot, window, 10)
    assert bytes(stream.data) == data and stream.header.num_layers == 10
