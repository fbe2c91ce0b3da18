"""The error map's scale, drawn over the canvas that shows one: a bar from black (no error) to
white (the error the amplification turns white, and more), in levels of 255, with its title."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter

from viewer.presentation.inspection import error_scale_text

BAR_WIDTH, BAR_HEIGHT = 140, 10
MARGIN, PADDING = 8, 6  # from the canvas's corner; inside the scale's box
BOX_COLOR = QColor(0, 0, 0, 170)
TEXT_COLOR = QColor(235, 235, 235)


def scale_rect(area: QRectF, line_height: float) -> QRectF:
    """Where the scale's box goes: the bottom-left corner of area."""
    height = 2 * line_height + BAR_HEIGHT + 2 * PADDING
    return QRectF(area.left() + MARGIN, area.bottom() - MARGIN - height, BAR_WIDTH + 2 * PADDING, height)


def paint_error_scale(painter: QPainter, area: QRectF, gain: int) -> None:
    """The scale of an error map amplified gain times, in area's bottom-left corner."""
    title, low, high = error_scale_text(gain)
    line = painter.fontMetrics().height()
    box = scale_rect(area, line)
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(BOX_COLOR)
    painter.drawRoundedRect(box, 4, 4)
    left, top = box.left() + PADDING, box.top() + PADDING
    painter.setPen(TEXT_COLOR)
    painter.drawText(QRectF(left, top, BAR_WIDTH, line), Qt.AlignmentFlag.AlignLeft, title)
    bar = QRectF(left, top + line, BAR_WIDTH, BAR_HEIGHT)
    gradient = QLinearGradient(bar.topLeft(), bar.topRight())
    gradient.setColorAt(0, QColor(0, 0, 0))
    gradient.setColorAt(1, QColor(255, 255, 255))
    painter.fillRect(bar, gradient)
    painter.setPen(QColor(128, 128, 128))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(bar)
    painter.setPen(TEXT_COLOR)
    labels = QRectF(QPointF(left, bar.bottom()), QPointF(left + BAR_WIDTH, bar.bottom() + line))
    painter.drawText(labels, Qt.AlignmentFlag.AlignLeft, low)
    painter.drawText(labels, Qt.AlignmentFlag.AlignRight, high)
    painter.restore()
