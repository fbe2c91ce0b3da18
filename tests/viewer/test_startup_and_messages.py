"""The window before its workers answer, and what it says about files it cannot open: plain
words, never a traceback (issue 32, items 6 and 7)."""
import struct
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from codec import api
from viewer.backend import protocol
from viewer.backend.worker import StreamJob, Worker
from viewer.control.preferences import Preferences
from viewer.presentation.messages import open_failed, reason
from viewer.state import files
from viewer.state.limits import DEFAULT_MAX_PIXELS
from viewer.widgets import main_window as main_window_module
from viewer.widgets import pixel_limit
from viewer_helpers import HC_QUALITIES, TIMEOUT_MS, needs_hc, run


def record_dialogs(monkeypatch, dialog_class) -> list:
    """The dialogs of dialog_class shown from now on; each closes at once (exec() returns 0)."""
    dialogs = []
    monkeypatch.setattr(dialog_class, "exec", lambda dialog: dialogs.append(dialog) or 0)
    return dialogs


@needs_hc
def test_the_encode_dialog_offers_hc_before_the_worker_answered(qtbot, window, image_path, monkeypatch):
    run(window.open_path(image_path))
    window.capabilities = None  # Ctrl+E in the first seconds: the decoder worker has not answered yet
    dialogs = record_dialogs(monkeypatch, main_window_module.EncodeDialog)
    window.encode_action.trigger()
    (dialog,) = dialogs
    qtbot.addWidget(dialog)
    hc = [b for b in dialog.choice.buttons() if b.text() == "HC"][0]
    assert hc.isEnabled()
    assert [dialog.quality["hc"].itemData(i) for i in range(dialog.quality["hc"].count())] == list(HC_QUALITIES)
    assert "not installed" not in " ".join(label.text() for label in dialog.findChildren(type(dialog.names)))


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory):
    """A 20000x20000 PNG (a 1-bit picture: 48 kB on disk, 400 megapixels)."""
    path = tmp_path_factory.mktemp("huge") / "huge.png"
    Image.new("1", (20000, 20000)).save(path)
    return path


def banner_lines(window) -> list[str]:
    return window.banner.text().splitlines()


def test_the_viewer_limit_is_the_librarys():
    assert DEFAULT_MAX_PIXELS == api.MAX_IMAGE_PIXELS


def test_a_picture_over_the_pixel_limit_is_refused_in_plain_words(qtbot, window, huge_png, monkeypatch):
    asked = []
    monkeypatch.setattr(window.pixel_limit, "ask", lambda text: asked.append(text) or False)
    run(window.open_path(huge_png))
    qtbot.waitUntil(lambda: bool(asked))
    (question,) = asked
    assert question.startswith("huge.png is 20000×20000 pixels (400.0 megapixels), more than the pixel limit "
                               "of 33.6 megapixels.")
    assert banner_lines(window) == [
        "huge.png was not opened: at 20000×20000 pixels (400.0 megapixels) it is over the pixel limit of "
        "33.6 megapixels (File > Pixel Limit… raises it)."]
    assert window.viewer.session.original is None and Preferences().max_pixels() == DEFAULT_MAX_PIXELS


def test_open_anyway_raises_the_limit_and_remembers_it(qtbot, window, image_path, deephq_file, monkeypatch):
    window.pixel_limit.apply(5000)  # the 128x96 test pictures are over it
    monkeypatch.setattr(window.pixel_limit, "ask", lambda text: True)
    run(window.open_path(deephq_file))
    qtbot.waitUntil(lambda: window.viewer.stream(0) is not None, timeout=TIMEOUT_MS)
    wait_shown = window.viewer.stream(0)
    qtbot.waitUntil(lambda: wait_shown.shown == 7, timeout=TIMEOUT_MS)  # the decoder took the raised limit
    assert window.viewer.max_pixels == window.encoding.max_pixels == 128 * 96
    assert Preferences().max_pixels() == 128 * 96 and window.banner.text() == ""


def test_file_pixel_limit_sets_the_limit_in_megapixels(qtbot, window, monkeypatch):
    monkeypatch.setattr(pixel_limit.QInputDialog, "getDouble", lambda *args: (2.5, True))
    window.pixel_limit.action.trigger()
    assert window.viewer.max_pixels == window.encoding.max_pixels == 2_500_000
    assert Preferences().max_pixels() == 2_500_000


def test_the_workers_take_the_limit_and_pillow_does_not_speak_first(huge_png, deephq_file):
    job = StreamJob("s", None, max_pixels=1000)
    job.feed(deephq_file.read_bytes())
    with pytest.raises(api.ImageTooLarge):
        job.step()
    sent = []
    worker = Worker(SimpleNamespace(send=sent.append))
    worker._encode(protocol.Encode(1, str(huge_png), "deephq", None, max_pixels=1000))
    assert isinstance(sent[-1], protocol.Failed)
    # the API's own checks answer (this size is over the format's limits), not Pillow's bomb check
    assert "20000x20000" in sent[-1].message and "decompression bomb" not in sent[-1].message


def test_a_text_file_named_strata_shows_the_librarys_message_alone(qtbot, window, tmp_path):
    path = tmp_path / "notes.strata"
    path.write_text("hello, this is a text file\n")
    with pytest.raises(ValueError) as library:
        files.read_any(path)
    run(window.open_path(path))
    assert banner_lines(window) == [f"Could not open notes.strata: {str(library.value).rstrip('.')}."]


def test_a_missing_file_is_named_without_errno_or_quoted_path(qtbot, window, tmp_path):
    run(window.open_path(tmp_path / "gone.png"))  # Open Recent of a file deleted since
    assert banner_lines(window) == ["Could not open gone.png: no such file or directory."]


@pytest.mark.parametrize("error, words", [(MemoryError(), "there is not enough memory for it"),
                                          (struct.error("unpack requires a buffer"),
                                           "it could not be read (an unexpected error)")])
def test_an_unexpected_failure_while_opening_is_a_message_not_a_traceback(qtbot, window, image_path, monkeypatch,
                                                                          error, words):
    def fail(*args):
        raise error

    monkeypatch.setattr(files, "read_any", fail)
    run(window.open_path(image_path))
    assert banner_lines(window) == [f"Could not open gradient.png: {words}."]


def test_reasons_drop_the_path_the_library_repeats():
    path = Path("/pictures/photo.png")
    assert reason(ValueError(f"{path}: not a readable image"), path) == "not a readable image"
    assert reason(ValueError("not a Strata file"), path) == "not a Strata file"
    assert reason(PermissionError(13, "Permission denied", str(path))) == "permission denied"
    assert open_failed(path, ValueError("the header is damaged.")) == "Could not open photo.png: the header is damaged."
