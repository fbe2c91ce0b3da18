"""The window before its workers answer, and what it says about files it cannot open: plain
words, never a traceback (issue 32, items 6 and 7)."""
import pytest

from viewer.widgets import main_window as main_window_module
from viewer_helpers import HC_QUALITIES, needs_hc, run


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
