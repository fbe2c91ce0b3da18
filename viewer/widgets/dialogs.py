"""Dialogs: choosing what to encode and where, and the list of keyboard shortcuts."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QComboBox, QDialog, QDialogButtonBox,
                               QFileDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QRadioButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from codec import registry
from codec.resources import RESOURCES
from viewer.control.encoding import Target
from viewer.state import files

PAIR = registry.CODECS[:2]  # what "side by side" encodes: one file for each of the two panes
SIDE_BY_SIDE = len(registry.CODECS)  # the id of that choice; codec i of the table has id i


class EncodeDialog(QDialog):
    """One codec of the table (a family at a chosen quality), or the first two side by side; into
    a chosen folder. installed: codec name -> installed model ids (the worker's Capabilities)."""

    def __init__(self, image: Path, installed: dict[str, tuple[int, ...]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Encode")
        self.image = image
        self.choice = QButtonGroup(self)
        self.quality: dict[str, QComboBox] = {}  # a family's installed qualities
        self.folder = QLineEdit(str(image.parent))
        self.names = QLabel()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        grid = QGridLayout()
        for row, spec in enumerate(registry.CODECS):
            self._add_codec(grid, row, spec, installed.get(spec.name, ()))
        pair = QRadioButton(" and ".join(spec.title for spec in PAIR) + ", side by side")
        pair.setEnabled(all(self.choice.button(registry.CODECS.index(spec)).isEnabled() for spec in PAIR))
        self.choice.addButton(pair, SIDE_BY_SIDE)
        grid.addWidget(pair, SIDE_BY_SIDE, 0)
        self.choice.button(0).setChecked(True)
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Folder"))
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Encode")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Encode {image.name}"))
        layout.addLayout(grid)
        layout.addLayout(folder_row)
        layout.addWidget(self.names)
        layout.addWidget(buttons)
        for signal in (self.choice.idClicked, self.folder.textChanged,
                       *(combo.currentIndexChanged for combo in self.quality.values())):
            signal.connect(self._show_names)
        self._show_names()

    def _add_codec(self, grid: QGridLayout, row: int, spec: registry.CodecSpec, models: tuple[int, ...]) -> None:
        """A codec's choice; a family's needs an installed quality, which a list beside it picks."""
        button = QRadioButton(spec.title)
        self.choice.addButton(button, row)
        grid.addWidget(button, row, 0)
        if not spec.is_family:
            return
        combo = QComboBox()
        for q in models:
            combo.addItem(f"quality {q}", q)
        self.quality[spec.name] = combo
        grid.addWidget(combo, row, 1)
        button.setEnabled(bool(models))
        if not models:
            weights = spec.weights_name.format(model_id="*")
            grid.addWidget(QLabel(f"{spec.title} weights are not installed ({RESOURCES / weights})."),
                           len(registry.CODECS) + 1 + row, 0, 1, 2)

    def targets(self) -> list[Target]:
        choice = self.choice.checkedId()
        specs = PAIR if choice == SIDE_BY_SIDE else (registry.CODECS[choice],)
        return [self._target(spec) for spec in specs]

    def _target(self, spec: registry.CodecSpec) -> Target:
        quality = self.quality[spec.name].currentData() if spec.is_family else None
        name = files.encoded_name(self.image, spec.name, quality).name
        return Target(spec.name, quality, Path(self.folder.text()) / name)

    def _show_names(self) -> None:
        self.names.setText("Writes " + ", ".join(t.path.name for t in self.targets()))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the layered files", self.folder.text())
        if folder:
            self.folder.setText(folder)


def shortcuts_dialog(parent: QWidget, rows: list[tuple[str, str]]) -> QDialog:
    """The keyboard shortcuts (F1): a read-only table of (keys, what they do) and a Close button."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Keyboard shortcuts")
    table = QTableWidget(len(rows), 2)
    table.setHorizontalHeaderLabels(("Keys", "Action"))
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    for row, cells in enumerate(rows):
        for column, text in enumerate(cells):
            table.setItem(row, column, QTableWidgetItem(text))
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    layout.addWidget(buttons)
    dialog.resize(460, 620)
    return dialog
