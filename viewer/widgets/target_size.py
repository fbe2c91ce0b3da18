"""The Encode dialog's target size: no limit, or every file at most so many bytes, kB or bits
per pixel of the picture (the API's max_bytes / max_bpp, given to the worker as bytes), for
every codec; remembered (Preferences). Bits per pixel are offered when the picture's size is
known."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QWidget

from viewer.control.preferences import Preferences
from viewer.presentation.encoding import TARGET_UNITS, target_bytes, target_text

DECIMALS = {"bytes": 0, "kB": 1, "bpp": 3}


class TargetSize(QWidget):
    """"[x] At most [50.0] [kB]  = 50,000 bytes (0.977 bpp) per file"; `changed` on any edit."""

    changed = Signal()

    def __init__(self, size: tuple[int, int] | None, preferences: Preferences, parent: QWidget | None = None):
        super().__init__(parent)
        self.size, self.preferences = size, preferences
        on, value, unit = preferences.encode_target()
        self.enabled = QCheckBox("Target size: at most", checked=on)
        self.value = QDoubleSpinBox(minimum=0.0, maximum=1e9)
        self.unit = QComboBox()
        self.unit.addItems([u for u in TARGET_UNITS if size is not None or u != "bpp"])  # bpp needs the size
        self.unit.setCurrentText(unit)
        self._set_decimals()
        self.value.setValue(value)
        self.result = QLabel()
        self.result.setStyleSheet("color: palette(mid)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.enabled, self.value, self.unit):
            layout.addWidget(widget)
        layout.addWidget(self.result, 1)
        self.enabled.toggled.connect(self._update)
        self.value.valueChanged.connect(self._update)
        self.unit.currentTextChanged.connect(self._on_unit)
        self._update()

    def max_bytes(self) -> int | None:
        """Each file's byte budget; None when off (or disabled: the same size as pane A's)."""
        if not (self.isEnabled() and self.enabled.isChecked()):
            return None
        return target_bytes(self.value.value(), self.unit.currentText(), self.size)

    def problem(self) -> str | None:
        """Why the target cannot be met, in words; None when it can (or is off)."""
        budget = self.max_bytes()
        return None if budget is None or budget >= 1 else target_text(budget, self.size)

    def remember(self) -> None:
        self.preferences.set_encode_target(self.enabled.isChecked(), self.value.value(), self.unit.currentText())

    def _on_unit(self) -> None:
        self._set_decimals()
        self._update()

    def _set_decimals(self) -> None:
        self.value.setDecimals(DECIMALS[self.unit.currentText()])

    def _update(self) -> None:
        on = self.enabled.isChecked()
        for widget in (self.value, self.unit, self.result):
            widget.setEnabled(on)
        budget = target_bytes(self.value.value(), self.unit.currentText(), self.size)
        self.result.setText(target_text(budget, self.size) if on else "no limit")
        self.changed.emit()
