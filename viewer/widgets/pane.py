"""One pane of the window: a title and the canvas (PaneView), and under it its own controls
(LayerControls): the layer slider, the bytes received, the pane's readout and what is happening
to its stream. The window places the controls, so that in split view both sides keep theirs."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSlider, QVBoxLayout, QWidget

from viewer.presentation.panes import READOUT_DROP_FIRST
from viewer.presentation.streams import layer_text, received_text, slider_tooltip
from viewer.state.session import Stream
from viewer.widgets.canvas import Canvas
from viewer.widgets.labels import ElidedLabel, PartsLabel

SLIDER_MIN_WIDTH = 100  # narrower, the slider is a bare handle


class LayerControls(QWidget):
    """A pane's slider (every layer of the file; it picks any arrived one), layer and bytes
    received, its readout and its activity line."""

    layerChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setPageStep(1)
        self.slider.valueChanged.connect(self.layerChosen)
        self.slider.setMinimumWidth(SLIDER_MIN_WIDTH)
        self.layer_label = QLabel()
        self.layer_label.setMinimumWidth(80)
        self.received = QProgressBar(textVisible=False, maximumHeight=8)  # text over the bar's fill was unreadable
        self.received.setMinimumWidth(60)
        self.received.setMaximumWidth(120)
        self.received_label = QLabel()
        self.readout = PartsLabel("  ·  ")
        self.activity = PartsLabel("  ·  ")
        self.activity.setStyleSheet("color: palette(mid)")
        row = QHBoxLayout()
        row.addWidget(QLabel("Layer"))
        row.addWidget(self.slider, 2)
        row.addWidget(self.layer_label)
        row.addWidget(self.received, 1)
        row.addWidget(self.received_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 2)
        layout.setSpacing(1)
        layout.addLayout(row)
        layout.addWidget(self.readout)
        layout.addWidget(self.activity)

    def show_stream(self, stream: Stream | None, readout: list[str], activity: list[str]) -> None:
        """Slider (every layer of the file, at the one wanted), layer, bytes, readout, activity."""
        wanted = None if stream is None else stream.wanted
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0 if stream is None else stream.header.num_layers - 1)
        self.slider.setValue(0 if wanted is None else wanted)
        self.slider.blockSignals(False)
        self.slider.setEnabled(wanted is not None)
        self.slider.setToolTip(slider_tooltip(stream))
        self.readout.set_parts(readout, READOUT_DROP_FIRST)
        self.activity.set_parts(activity)
        if stream is None:
            self.layer_label.setText("")
            self.received.hide()
            self.received_label.setText("")
            return
        self.layer_label.setText(layer_text(stream))
        self.received.show()
        self.received.setRange(0, max(1, stream.total))
        self.received.setValue(stream.received)
        self.received_label.setText(received_text(stream))


class PaneView(QWidget):
    """A pane's title and canvas; its LayerControls are `controls`, placed by the window."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = ElidedLabel()
        self.title.setStyleSheet("font-weight: bold")
        self.canvas = Canvas()
        self.controls = LayerControls()
        self.layerChosen = self.controls.layerChosen
        self.slider = self.controls.slider
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.canvas, 1)
