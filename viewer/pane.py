"""One pane of the window: a title, the canvas, the layer slider and the bytes received."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSlider, QVBoxLayout, QWidget

from viewer.canvas import Canvas
from viewer.session import Stream


def kilobytes(n: int) -> str:
    return f"{n / 1000:.1f} kB"


class PaneView(QWidget):
    """Shows a pane of the Viewer; the slider picks any decoded layer."""

    layerChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold")
        self.canvas = Canvas()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setPageStep(1)
        self.slider.setToolTip("Layer on screen (PgUp / PgDown)")
        self.slider.valueChanged.connect(self.layerChosen)
        self.layer_label = QLabel()
        self.layer_label.setMinimumWidth(90)
        self.received = QProgressBar()
        self.received.setFixedWidth(170)
        row = QHBoxLayout()
        row.addWidget(QLabel("Layer"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.layer_label)
        row.addWidget(self.received)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(row)

    def show_stream(self, stream: Stream | None, title: str) -> None:
        """Title, slider range (decoded layers) and position, bytes received."""
        self.title.setText(title)
        has_layers = stream is not None and stream.latest is not None
        self.slider.blockSignals(True)
        self.slider.setRange(0, stream.latest if has_layers else 0)
        self.slider.setValue(stream.shown if has_layers and stream.shown is not None else 0)
        self.slider.blockSignals(False)
        self.slider.setEnabled(has_layers)
        if stream is None:
            self.layer_label.setText("")
            self.received.hide()
            return
        shown = "–" if stream.shown is None else str(stream.shown + 1)
        self.layer_label.setText(f"{shown} / {stream.header.num_layers}")
        self.received.show()
        self.received.setRange(0, max(1, len(stream.data)))
        self.received.setValue(stream.received)
        self.received.setFormat(f"{kilobytes(stream.received)} of {kilobytes(len(stream.data))}")
