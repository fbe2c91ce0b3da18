"""The toolbar's network fields: bandwidth (presets or a custom rate) and latency, remembered
between runs, and how far a file opened from a URL is fetched. They let the window's single-key shortcuts through (R, Space, F, [ ] ...): only
digits and the keys that edit a number stay in a field, and Enter or a choice in the list hands
the keyboard back to the picture (`done`)."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from codec.container import MAX_LAYERS
from codec.net.plan import Want
from viewer.control.preferences import Preferences
from viewer.presentation.formatting import format_rate
from viewer.state.link import PRESETS

CUSTOM = "Custom…"
NUMBER_TEXT = set("0123456789.,")


class ShortcutsThrough(QObject):
    """Event filter of a number field: a key that types no part of a number (a letter, Space,
    brackets, + or -) goes to the window's shortcuts instead of the field."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride:
            return False
        modifiers = event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
        text = event.text()
        types_other = bool(text) and text.isprintable() and not set(text) <= NUMBER_TEXT
        return modifiers == Qt.KeyboardModifier.NoModifier and types_other  # True: the field never sees it


class NetworkFields(QWidget):
    """Bandwidth and latency; `bandwidthChanged` (bit/s), `latencyChanged` (seconds)."""

    bandwidthChanged = Signal(float)
    latencyChanged = Signal(float)
    done = Signal()  # the user finished with a field: the keyboard goes back to the picture

    def __init__(self, preferences: Preferences, parent: QWidget | None = None):
        super().__init__(parent)
        self.preferences = preferences
        self.bandwidth = QComboBox(toolTip="Simulated bandwidth")
        for rate in PRESETS:
            self.bandwidth.addItem(format_rate(rate), rate)
        self.bandwidth.addItem(CUSTOM, None)
        self.custom_rate = QDoubleSpinBox(suffix=" kbit/s", decimals=1, minimum=1.0, maximum=1e6, value=128.0,
                                          toolTip="Custom bandwidth")
        self.latency = QSpinBox(suffix=" ms", minimum=0, maximum=10000, singleStep=50,
                                value=preferences.latency_ms(),
                                toolTip="Latency before the first byte (applies from the next restart)")
        self._filter = ShortcutsThrough(self)
        for field in (self.custom_rate, self.latency):
            field.installEventFilter(self._filter)
            field.lineEdit().installEventFilter(self._filter)
            field.editingFinished.connect(lambda f=field: f.hasFocus() and self.done.emit())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel(" Bandwidth "), self.bandwidth, self.custom_rate, QLabel(" Latency "), self.latency):
            layout.addWidget(widget)
        self.set_rate(preferences.bandwidth())
        self.bandwidth.currentIndexChanged.connect(self._on_rate)
        self.bandwidth.activated.connect(lambda _index: self.done.emit())
        self.custom_rate.valueChanged.connect(self._on_rate)
        self.latency.valueChanged.connect(self._on_latency)

    def rate(self) -> float:
        """The bandwidth chosen, in bit/s."""
        return self.bandwidth.currentData() or self.custom_rate.value() * 1000

    def set_rate(self, bits_per_second: float) -> None:
        """Select a preset, or Custom with that rate."""
        index = self.bandwidth.findData(bits_per_second)
        if index < 0:
            self.custom_rate.setValue(bits_per_second / 1000)
            index = self.bandwidth.findText(CUSTOM)
        self.bandwidth.setCurrentIndex(index)
        self._on_rate()

    def _on_rate(self) -> None:
        self.custom_rate.setEnabled(self.bandwidth.currentData() is None)
        self.preferences.set_bandwidth(self.rate())
        self.bandwidthChanged.emit(self.rate())

    def _on_latency(self, ms: int) -> None:
        self.preferences.set_latency_ms(ms)
        self.latencyChanged.emit(ms / 1000)


class FetchLimitFields(QWidget):
    """How far a file opened from a URL is fetched: every layer, up to layer K, or the whole
    layers within a byte budget; `limitChanged` gives a codec.net.plan.Want. Moving a pane's
    slider past the layers fetched asks for more."""

    limitChanged = Signal(object)
    done = Signal()
    ALL, BUDGET = "all layers", "byte budget"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.choice = QComboBox(toolTip="How far a file opened from a URL is fetched (the slider asks for more)")
        self.choice.addItem(self.ALL, None)
        for layers in range(1, MAX_LAYERS + 1):
            self.choice.addItem(f"stop at layer {layers}", layers)
        self.choice.addItem(self.BUDGET, self.BUDGET)
        self.budget = QSpinBox(suffix=" kB", minimum=1, maximum=10_000_000, value=50, singleStep=10,
                               toolTip="Fetch the whole layers within this many kB (1 kB = 1000 bytes)")
        self._filter = ShortcutsThrough(self)
        for widget in (self.budget, self.budget.lineEdit()):
            widget.installEventFilter(self._filter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel(" Fetch "), self.choice, self.budget):
            layout.addWidget(widget)
        self.budget.setVisible(False)  # shown with "byte budget" only: the toolbar is full
        self.choice.currentIndexChanged.connect(self._changed)
        self.choice.activated.connect(lambda _index: self.done.emit())
        self.budget.valueChanged.connect(self._changed)
        self.budget.editingFinished.connect(lambda: self.budget.hasFocus() and self.done.emit())

    def limit(self) -> Want:
        """The limit chosen."""
        data = self.choice.currentData()
        if data == self.BUDGET:
            return Want(max_bytes=self.budget.value() * 1000)
        return Want(layers=data)

    def set_limit(self, want: Want) -> None:
        """Show a limit: layers, a budget (in kB, rounded down), or all."""
        if want.max_bytes is not None:
            self.budget.setValue(max(1, want.max_bytes // 1000))
            self.choice.setCurrentIndex(self.choice.findData(self.BUDGET))
        else:
            self.choice.setCurrentIndex(self.choice.findData(want.layers))

    def _changed(self) -> None:
        self.budget.setVisible(self.choice.currentData() == self.BUDGET)
        self.limitChanged.emit(self.limit())
