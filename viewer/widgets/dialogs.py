"""Dialogs: choosing what to encode and where, and the list of keyboard shortcuts."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QComboBox, QDialog, QDialogButtonBox,
                               QFileDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QRadioButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from viewer.control.encoding import Target
from viewer.state import files

DEEPHQ, HC, BOTH = 0, 1, 2


class EncodeDialog(QDialog):
    """DeepHQ, HC at a chosen quality, or both side by side; into a chosen folder."""

    def __init__(self, image: Path, hc_qualities: tuple[int, ...], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Encode")
        self.image = image
        self.choice = QButtonGroup(self)
        self.quality = QComboBox()
        for q in hc_qualities:
            self.quality.addItem(f"quality {q}", q)
        self.folder = QLineEdit(str(image.parent))
        self.names = QLabel()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        grid = QGridLayout()
        labels = ("DeepHQ (8 layers)", "HC (3 layers)", "DeepHQ and HC, side by side")
        for row, text in enumerate(labels):
            button = QRadioButton(text)
            button.setEnabled(row == DEEPHQ or bool(hc_qualities))
            self.choice.addButton(button, row)
            grid.addWidget(button, row, 0)
        grid.addWidget(self.quality, 1, 1)
        if not hc_qualities:
            grid.addWidget(QLabel("HC weights are not installed (resources/hc_q*.pt)."), 3, 0, 1, 2)
        self.choice.button(DEEPHQ).setChecked(True)
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
        for signal in (self.choice.idClicked, self.quality.currentIndexChanged, self.folder.textChanged):
            signal.connect(self._show_names)
        self._show_names()

    def targets(self) -> list[Target]:
        folder, choice, quality = Path(self.folder.text()), self.choice.checkedId(), self.quality.currentData()
        picks = {DEEPHQ: [("deephq", None)], HC: [("hc", quality)], BOTH: [("deephq", None), ("hc", quality)]}
        return [Target(codec, q, folder / files.encoded_name(self.image, codec, q).name)
                for codec, q in picks[choice]]

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
