"""The image canvas: fit to window, 1:1, wheel and key zoom around a point, drag to pan,
nearest-neighbour pixels at high zoom. Canvases that share a ViewState zoom and pan together.
A canvas can also compare two pictures with a split line that the user drags (Shift+drag), say
which picture pixel is under the mouse (`hovered`) and draw the error map's scale.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from viewer.widgets.error_scale import paint_error_scale

ZOOM_STEP = 1.25
MAX_ZOOM = 64.0
SMOOTH_BELOW = 2.0  # zoom under which pixels are interpolated
PAN_STEP = 64  # screen pixels per arrow key press
BACKGROUND = QColor(40, 40, 44)


def to_qimage(rgb: np.ndarray) -> QImage:
    """An RGB uint8 (H, W, 3) array as a QImage that owns its pixels."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class ViewState(QObject):
    """Zoom and centre (in image pixels) shared by linked canvases; fit follows the window."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.fit = True
        self.zoom = 1.0
        self.center = QPointF()

    def set(self, zoom: float, center: QPointF) -> None:
        self.fit, self.zoom, self.center = False, zoom, QPointF(center)
        self.changed.emit()

    def set_fit(self) -> None:
        self.fit = True
        self.changed.emit()


class Canvas(QWidget):
    """Shows one picture (optionally split with a second one) under a ViewState."""

    shown = Signal(object)  # the token given with an image, once it has been painted
    zoomChanged = Signal(float)
    hovered = Signal(object)  # (x, y): the picture pixel under the mouse; None: none

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(160, 120)
        self.setMouseTracking(True)  # `hovered` without a button pressed
        self.error_gain: int | None = None  # the error map's amplification, when its scale is drawn
        self.image: QImage | None = None
        self.compare: QImage | None = None  # shown right of the split line
        self.split = 0.5
        self.placeholder = ""
        self._rgb: np.ndarray | None = None  # the array shown, to skip repeated conversions
        self._size = None  # of the last picture shown, also while none is
        self._token = None
        self._drag: tuple[QPointF, QPointF] | None = None  # (mouse, centre) at press
        self._splitting = False
        self.view = ViewState(self)
        self.view.changed.connect(self._on_view_changed)

    # ---- content ------------------------------------------------------------------------

    def set_image(self, rgb: np.ndarray | None, token=None) -> None:
        """Show rgb (None: the placeholder); `shown` fires with token once it is painted."""
        if rgb is self._rgb:
            return
        self._rgb = rgb
        image, had_image = None if rgb is None else to_qimage(rgb), self.image is not None
        self.image, self._token = image, token  # before set_fit: zoomChanged tells the new picture's fit
        if image is not None and image.size() != self._size:
            self._size = image.size()
            self.view.set_fit()  # a new picture size; the same size (a restart) keeps zoom and pan
        elif image is not None and not had_image:
            self.zoomChanged.emit(self.zoom())  # the window may have changed while there was no picture
        self.update()

    def set_compare(self, rgb: np.ndarray | None) -> None:
        """A second picture of the same size, shown right of the split line (None: off)."""
        self.compare = None if rgb is None else to_qimage(rgb)
        self.update()

    def set_error_scale(self, gain: int | None) -> None:
        """Draw the scale of an error map amplified gain times (None: no scale)."""
        if gain != self.error_gain:
            self.error_gain = gain
            self.update()

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.update()

    def link(self, other: "Canvas") -> None:
        """Zoom and pan together with other from now on."""
        self.view.changed.disconnect(self._on_view_changed)
        self.view = other.view
        self.view.changed.connect(self._on_view_changed)
        self.update()

    # ---- geometry -----------------------------------------------------------------------

    def fit_zoom(self) -> float:
        if self.image is None:
            return 1.0
        return min(self.width() / self.image.width(), self.height() / self.image.height())

    def zoom(self) -> float:
        return self.fit_zoom() if self.view.fit else self.view.zoom

    def center(self) -> QPointF:
        if self.view.fit and self.image is not None:
            return QPointF(self.image.width() / 2, self.image.height() / 2)
        return self.view.center

    def to_image(self, point: QPointF) -> QPointF:
        """Widget coordinates -> image pixel coordinates."""
        return self.center() + (point - self._widget_center()) / self.zoom()

    def to_widget(self, point: QPointF) -> QPointF:
        return self._widget_center() + (point - self.center()) * self.zoom()

    def _widget_center(self) -> QPointF:
        return QPointF(self.width() / 2, self.height() / 2)

    # ---- zoom and pan -------------------------------------------------------------------

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the image point under anchor (default: the middle) in place."""
        if self.image is None:
            return
        anchor = self._widget_center() if anchor is None else anchor
        fixed = self.to_image(anchor)
        lowest = min(1.0, self.fit_zoom()) / 2
        zoom = min(MAX_ZOOM, max(lowest, self.zoom() * factor))
        self.view.set(zoom, fixed - (anchor - self._widget_center()) / zoom)

    def zoom_in(self) -> None:
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / ZOOM_STEP)

    def actual_size(self) -> None:
        """1:1: one image pixel per screen pixel."""
        if self.image is not None:
            self.view.set(1.0, self.center())

    def fit(self) -> None:
        self.view.set_fit()

    def set_zoom(self, zoom: float) -> None:
        """Zoom to zoom (1.0: 1:1) around the middle of the view."""
        if self.image is not None:
            self.view.set(min(MAX_ZOOM, zoom), self.center())

    def pan(self, dx: float, dy: float) -> None:
        """Move the picture by (dx, dy) screen pixels."""
        if self.image is not None:
            self.view.set(self.zoom(), self.center() - QPointF(dx, dy) / self.zoom())

    def resizeEvent(self, event) -> None:
        if self.view.fit:
            self.zoomChanged.emit(self.zoom())

    def _on_view_changed(self) -> None:
        self.zoomChanged.emit(self.zoom())
        self.update()

    # ---- painting -----------------------------------------------------------------------

    def image_rect(self) -> QRectF:
        """Where the whole picture lies, in widget coordinates."""
        top_left = self.to_widget(QPointF(0, 0))
        zoom = self.zoom()
        return QRectF(top_left.x(), top_left.y(), self.image.width() * zoom, self.image.height() * zoom)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self.image is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.placeholder)
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom() < SMOOTH_BELOW)
        if self.compare is None:
            self._draw(painter, self.image, QRectF(self.rect()))
        else:
            self._draw_split(painter)
        if self.error_gain is not None:
            paint_error_scale(painter, QRectF(self.rect()), self.error_gain)
        painter.end()
        if self._token is not None:
            token, self._token = self._token, None
            self.shown.emit(token)

    def _draw(self, painter: QPainter, image: QImage, clip: QRectF) -> None:
        """Draw the part of image visible inside clip (widget coordinates), whole pixels only."""
        zoom, whole = self.zoom(), self.image_rect()
        visible = whole.intersected(clip)
        if visible.isEmpty():
            return
        left = math.floor((visible.left() - whole.left()) / zoom)
        top = math.floor((visible.top() - whole.top()) / zoom)
        right = min(image.width(), math.ceil((visible.right() - whole.left()) / zoom))
        bottom = min(image.height(), math.ceil((visible.bottom() - whole.top()) / zoom))
        source = QRectF(left, top, right - left, bottom - top)
        target = QRectF(whole.left() + left * zoom, whole.top() + top * zoom,
                        source.width() * zoom, source.height() * zoom)
        painter.save()
        painter.setClipRect(clip)
        painter.drawImage(target, image, source)
        painter.restore()

    def _draw_split(self, painter: QPainter) -> None:
        x = self.width() * self.split
        self._draw(painter, self.image, QRectF(0, 0, x, self.height()))
        self._draw(painter, self.compare, QRectF(x, 0, self.width() - x, self.height()))
        painter.setPen(QPen(QColor(255, 255, 255, 200), 2))
        painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))

    # ---- input --------------------------------------------------------------------------

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(ZOOM_STEP ** steps, event.position())

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self._splitting = self.compare is not None and bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if self._splitting:
            self._move_split(event.position().x())
        elif self.image is not None:
            self._drag = (event.position(), self.center())
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:
        self.hovered.emit(self.pixel_at(event.position()))
        if self._splitting:
            self._move_split(event.position().x())
        elif self._drag is not None:
            start, center = self._drag
            self.view.set(self.zoom(), center - (event.position() - start) / self.zoom())

    def leaveEvent(self, event) -> None:
        self.hovered.emit(None)
        super().leaveEvent(event)

    def pixel_at(self, point: QPointF) -> tuple[int, int] | None:
        """The picture pixel (x, y) at a widget point; None outside the picture."""
        if self.image is None:
            return None
        at = self.to_image(point)
        x, y = math.floor(at.x()), math.floor(at.y())
        return (x, y) if 0 <= x < self.image.width() and 0 <= y < self.image.height() else None

    def mouseReleaseEvent(self, event) -> None:
        self._drag, self._splitting = None, False
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event) -> None:
        """Double click toggles between fit and 1:1 around the clicked point."""
        if self.view.fit:
            self.zoom_by(1.0 / self.zoom(), event.position())
        else:
            self.fit()

    def keyPressEvent(self, event) -> None:
        moves = {Qt.Key.Key_Left: (PAN_STEP, 0), Qt.Key.Key_Right: (-PAN_STEP, 0),
                 Qt.Key.Key_Up: (0, PAN_STEP), Qt.Key.Key_Down: (0, -PAN_STEP)}
        if event.key() in moves:
            self.pan(*moves[event.key()])
        else:
            super().keyPressEvent(event)

    def _move_split(self, x: float) -> None:
        self.split = min(1.0, max(0.0, x / max(1, self.width())))
        self.update()
