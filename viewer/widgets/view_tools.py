"""Tools for looking closely, each a menu for the View menu and a widget for the toolbar or the
status bar: the error map's amplification (×1 to ×32, remembered), zoom presets (25% to 800%,
or a zoom typed in), and the pixel values under the mouse in every pane."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QComboBox, QLabel, QMenu, QToolButton, QWidget

from viewer.control.controller import Viewer
from viewer.control.preferences import Preferences
from viewer.presentation.inspection import ZOOM_PRESETS, parse_zoom, pixel_parts, zoom_text
from viewer.state.pixels import ERROR_GAINS, white_at
from viewer.widgets.canvas import Canvas
from viewer.widgets.toolbar import ShortcutsThrough

FIT = "Fit"


class ErrorGainChoice(QObject):
    """The error map's amplification: a radio list (`menu`) and a toolbar button showing the one
    chosen (`button`); `chosen` gives the new gain."""

    chosen = Signal(int)

    def __init__(self, parent: QWidget, preferences: Preferences):
        super().__init__(parent)
        self.preferences = preferences
        self.menu = QMenu("Error Map &Amplification", parent)
        self.group = QActionGroup(self)
        for gain in ERROR_GAINS:
            action = QAction(f"×{gain} (white at an error of {white_at(gain)})", parent, checkable=True)
            action.setData(gain)
            self.group.addAction(action)
            self.menu.addAction(action)
        self.button = QToolButton(toolTip="Error map amplification: how many times the error is magnified")
        self.button.setMenu(self.menu)
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.group.triggered.connect(lambda action: self.set_gain(action.data()))
        self._show(preferences.error_gain())

    def gain(self) -> int:
        return self.group.checkedAction().data()

    def set_gain(self, gain: int) -> None:
        """Choose gain (one of ERROR_GAINS): remembered, shown, and said by `chosen`."""
        self._show(gain)
        self.preferences.set_error_gain(gain)
        self.chosen.emit(gain)

    def _show(self, gain: int) -> None:
        next(a for a in self.group.actions() if a.data() == gain).setChecked(True)
        self.button.setText(f"×{gain}")


class ZoomChoice(QObject):
    """Zoom presets: a menu (`menu`) and an editable list for the toolbar (`box`) that shows the
    zoom and takes one typed in ("150", "150%"). `chosen` gives a zoom (1.0: 100%), `fit` asks
    for fit to window."""

    chosen = Signal(float)
    fit = Signal()

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.menu = QMenu("&Zoom", parent)
        for percent in ZOOM_PRESETS:
            self.menu.addAction(f"{percent}%").setData(percent)
        self.menu.triggered.connect(lambda action: self.chosen.emit(action.data() / 100))
        self.box = QComboBox(editable=True, toolTip="Zoom: pick a preset or type a percentage")
        self.box.addItems([FIT] + [f"{percent}%" for percent in ZOOM_PRESETS])
        self.box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.box.setMinimumContentsLength(5)
        self._filter = ShortcutsThrough(self)  # single-key shortcuts still work while it has focus
        self.box.lineEdit().installEventFilter(self._filter)
        self.box.activated.connect(lambda index: self._take(self.box.itemText(index)))
        self.box.lineEdit().returnPressed.connect(lambda: self._take(self.box.currentText()))

    def show_zoom(self, zoom: float) -> None:
        """Show the zoom of the pictures (unless the user is typing one)."""
        if not self.box.lineEdit().hasFocus():
            self.box.setEditText(zoom_text(zoom))

    def _take(self, text: str) -> None:
        if text == FIT:
            self.fit.emit()
            return
        zoom = parse_zoom(text)
        if zoom is not None:
            self.chosen.emit(zoom)


class PixelReadout(QLabel):
    """The status bar's pixel values under the mouse, of every pane (and the original)."""

    def __init__(self, viewer: Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = viewer

    def show_pixel(self, pixel: tuple[int, int] | None) -> None:
        parts = [] if pixel is None else pixel_parts(self.viewer.session, *pixel)
        self.setText("   ·   ".join(parts))


class ViewTools(QObject):
    """The three tools of a window, wired to its viewer and its panes' canvases; `active` gives
    the canvas that zoom presets apply to (linked canvases follow it)."""

    def __init__(self, parent: QWidget, viewer: Viewer, preferences: Preferences, canvases: list[Canvas],
                 active: Callable[[], Canvas]):
        super().__init__(parent)
        self.active = active
        self.error_gain = ErrorGainChoice(parent, preferences)
        self.zoom = ZoomChoice(parent)
        self.pixel = PixelReadout(viewer)
        viewer.set_error_gain(self.error_gain.gain())
        self.error_gain.chosen.connect(viewer.set_error_gain)
        self.zoom.chosen.connect(lambda zoom: active().set_zoom(zoom))
        self.zoom.fit.connect(lambda: active().fit())
        for canvas in canvases:
            canvas.zoomChanged.connect(self._show_zoom)
            canvas.hovered.connect(self.pixel.show_pixel)

    def _show_zoom(self) -> None:
        """The zoom of the active canvas's picture (the canvas telling its zoom may have none)."""
        canvas = self.active()
        if canvas.image is not None:
            self.zoom.show_zoom(canvas.zoom())
