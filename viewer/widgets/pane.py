"""One pane of the window: a title, the canvas, the layer slider and the bytes received."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSlider, QVBoxLayout, QWidget

from viewer.presentation.streams import layer_text, received_text, slider_tooltip
from viewer.state.session import Stream
from viewer.widgets.canvas import Canvas

SLIDER_MIN_WIDTH = 100  # narrower, the slider is a bare handle


class PaneView(QWidget):
    """Shows a pane of the Viewer; the slider spans the file's layers and picks any arrived one."""

    layerChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold")
        self.canvas = Canvas()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setPageStep(1)
        self.slider.valueChanged.connect(self.layerChosen)
        self.slider.setMinimumWidth(SLIDER_MIN_WIDTH)
        self.layer_label = QLabel()
        self.layer_label.setMinimumWidth(80)
        self.received = QProgressBar()
        self.received.setMinimumWidth(110)
        self.received.setMaximumWidth(170)
        row = QHBoxLayout()
        row.addWidget(QLabel("Layer"))
        row.addWidget(self.slider, 2)
        row.addWidget(self.layer_label)
        row.addWidget(self.received, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(row)

    def show_stream(self, stream: Stream | None, title: str) -> None:
        """Title, slider (every layer of the file, at the one wanted), layer and bytes received."""
        self.title.setText(title)
        wanted = None if stream is None else stream.wanted
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0 if stream is None else stream.header.num_layers - 1)
        self.slider.setValue(0 if wanted is None else wanted)
        self.slider.blockSignals(False)
        self.slider.setEnabled(wanted is not None)
        self.slider.setToolTip(slider_tooltip(stream))
        if stream is None:
            self.layer_label.setText("")
            self.received.hide()
            return
        self.layer_label.setText(layer_text(stream))
        self.received.show()
        self.received.setRange(0, max(1, len(stream.data)))
        self.received.setValue(stream.received)
        self.received.setFormat(received_text(stream))

