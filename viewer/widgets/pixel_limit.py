"""The pixel limit in the window (viewer/state/limits.py): File > Pixel Limit… sets it, and a
picture over it opens only when the user says so, which raises the limit to that picture. The
limit is remembered (Preferences) and applies to opening, decoding and encoding."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from viewer.control.controller import Viewer
from viewer.control.encoding import Encoding
from viewer.control.preferences import Preferences
from viewer.presentation.messages import over_limit_question, over_limit_refused
from viewer.state.limits import OverPixelLimit
from viewer.widgets.labels import Banner

MEGA = 1e6
LARGEST_MEGAPIXELS = 100_000.0  # what File > Pixel Limit… accepts


class PixelLimit(QObject):
    """The limit's menu action (`action`), the question for a picture over it, and the limit
    given to the viewer and the encoder."""

    def __init__(self, parent: QWidget, viewer: Viewer, encoding: Encoding, preferences: Preferences,
                 banner: Banner, open_path: Callable[[Path, int], object]):
        super().__init__(parent)
        self.parent_widget, self.viewer, self.encoding = parent, viewer, encoding
        self.preferences, self.banner, self.open_path = preferences, banner, open_path
        self.action = QAction("Pixel &Limit…", parent)
        self.action.setToolTip("The largest picture opened, decoded and encoded without asking")
        self.action.triggered.connect(self.choose)
        # queued: the question's own event loop runs after the open's task, not inside it
        viewer.overLimit.connect(self.offer, Qt.ConnectionType.QueuedConnection)
        self.apply(preferences.max_pixels())

    def limit(self) -> int:
        return self.viewer.max_pixels

    def apply(self, pixels: int) -> None:
        """Use and remember a limit of pixels."""
        self.viewer.max_pixels = self.encoding.max_pixels = pixels
        self.preferences.set_max_pixels(pixels)

    def offer(self, error: OverPixelLimit, pane: int) -> None:
        """Ask whether to open a picture over the limit; yes raises the limit and opens it."""
        if self.ask(over_limit_question(error)):
            self.apply(max(error.pixels, self.limit()))
            self.open_path(error.path, pane)
        else:
            self.banner.show_message(over_limit_refused(error), "file")

    def ask(self, text: str) -> bool:
        answer = QMessageBox.question(self.parent_widget, "Open a large picture?", text,
                                      QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Open

    def choose(self) -> None:
        """File > Pixel Limit…: the limit in megapixels."""
        value, ok = QInputDialog.getDouble(
            self.parent_widget, "Pixel limit", "Largest picture to open, decode and encode without asking "
            "(megapixels):", self.limit() / MEGA, 0.1, LARGEST_MEGAPIXELS, 1)
        if ok:
            self.apply(round(value * MEGA))
