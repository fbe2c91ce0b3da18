"""Dialogs: choosing what to encode and where, and the list of keyboard shortcuts."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox,
                               QFileDialog, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QRadioButton, QSlider, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from codec import registry
from codec.effort import EFFORTS
from codec.resources import RESOURCES
from viewer.control.encoding import Target
from viewer.control.preferences import Preferences
from viewer.presentation.encoding import (codec_explanation, effort_text, folder_problem, quality_item, same_size_text,
                                          writes_text)
from viewer.state import files, folders
from viewer.state.session import Stream
from viewer.widgets.target_size import TargetSize

PAIR = registry.LEARNED[:2]  # what "side by side" encodes: one file for each of the two panes
BESIDE = 1  # the pane of a file encoded to the size of pane A's
SIDE_BY_SIDE = len(registry.CODECS)  # the id of that choice; codec i of the table has id i
PAIR_CHOICE = "side by side"  # how Preferences remembers that choice (a codec by its name)


def pictures_folder() -> Path:
    """The user's pictures folder (the home folder where there is none)."""
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(location) if location and Path(location).is_dir() else Path.home()


def choice_id(remembered: str | None) -> int:
    """The dialog's choice for a remembered one (a codec name or PAIR_CHOICE); 0 for anything else."""
    if remembered == PAIR_CHOICE:
        return SIDE_BY_SIDE
    return registry.NAMES.index(remembered) if remembered in registry.NAMES else 0


class EncodeDialog(QDialog):
    """One codec of the table (a family at a chosen quality; the classic ones too: JPEG 2000,
    progressive JPEG), or the first two learned ones side by side; into a chosen folder.
    installed: codec name -> installed model ids (registry.installed_models()). With `beside`
    (pane A's file), one codec can be encoded to at most that file's size and shown beside it in
    pane B: an equal-bytes comparison; otherwise every file can be given a target size (bytes,
    kB, or bpp of the picture's size, when given). The choice, the qualities, the target size and
    the folder are remembered (Preferences) when accepted."""

    def __init__(self, image: Path, installed: dict[str, tuple[int, ...]], preferences: Preferences,
                 parent: QWidget | None = None, beside: Stream | None = None,
                 size: tuple[int, int] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Encode")
        self.image, self.preferences, self.beside = image, preferences, beside
        self.choice = QButtonGroup(self)
        self.quality: dict[str, QComboBox] = {}  # a family's installed qualities
        folder = folders.encode_folder(image, preferences.folder("encode"), pictures_folder())
        self.folder = QLineEdit(str(folder))
        self.same_size = QCheckBox(same_size_text(beside.path.name if beside else None,
                                                  len(beside.data) if beside else None))
        self.effort = QSlider(Qt.Orientation.Horizontal, minimum=EFFORTS[0], maximum=EFFORTS[-1], pageStep=1,
                              tickPosition=QSlider.TickPosition.TicksBelow, value=preferences.effort())
        self.effort_text = QLabel(wordWrap=True)
        self.effort.valueChanged.connect(lambda level: self.effort_text.setText(effort_text(level)))
        self.effort_text.setText(effort_text(self.effort.value()))
        self.target_size = TargetSize(size, preferences)
        self.names = QLabel(wordWrap=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.encode_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.encode_button.setText("Encode")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Encode {image.name}"))
        layout.addLayout(self._codec_grid(installed))
        layout.addWidget(self.target_size)
        layout.addWidget(self.same_size)
        layout.addLayout(self._effort_row())
        layout.addWidget(self.effort_text)
        layout.addLayout(self._folder_row())
        layout.addWidget(self.names)
        layout.addWidget(self.buttons)
        self._restore_choice()
        for signal in (self.choice.idClicked, self.folder.textChanged, self.same_size.toggled,
                       self.target_size.changed,
                       *(combo.currentIndexChanged for combo in self.quality.values())):
            signal.connect(self._show_names)
        self._show_names()

    # ---- building -----------------------------------------------------------------------

    def _codec_grid(self, installed: dict[str, tuple[int, ...]]) -> QGridLayout:
        grid, row = QGridLayout(), 0
        for number, spec in enumerate(registry.CODECS):
            row = self._add_codec(grid, row, number, spec, installed.get(spec.name, ()))
        pair = QRadioButton(" and ".join(spec.title for spec in PAIR) + ", side by side")
        pair.setEnabled(all(self.choice.button(registry.CODECS.index(spec)).isEnabled() for spec in PAIR))
        self.choice.addButton(pair, SIDE_BY_SIDE)
        grid.addWidget(pair, row, 0, 1, 2)
        return grid

    def _add_codec(self, grid: QGridLayout, row: int, number: int, spec: registry.CodecSpec,
                   models: tuple[int, ...]) -> int:
        """A codec's choice and what it makes; a family's needs an installed quality, which a
        list beside it picks. Returns the next free row."""
        button = QRadioButton(spec.title)
        self.choice.addButton(button, number)
        grid.addWidget(button, row, 0)
        explanation = QLabel(codec_explanation(spec), wordWrap=True)
        explanation.setStyleSheet("color: palette(mid)")
        grid.addWidget(explanation, row + 1, 0, 1, 2)
        if not spec.learned:
            button.setEnabled(bool(spec.installed_model_ids()))  # Pillow has the codec's library
            return row + 2
        if not spec.is_family:
            return row + 2
        combo = QComboBox()
        for q in models:
            combo.addItem(quality_item(spec, q), q)
        self.quality[spec.name] = combo
        grid.addWidget(combo, row, 1)
        button.setEnabled(bool(models))
        if models:
            return row + 2
        weights = spec.weights_name.format(model_id="*")
        grid.addWidget(QLabel(f"{spec.title} weights are not installed ({RESOURCES / weights})."), row + 2, 0, 1, 2)
        return row + 3

    def _effort_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Effort"))
        row.addWidget(QLabel("fastest"))
        row.addWidget(self.effort, 1)
        row.addWidget(QLabel("best"))
        return row

    def _folder_row(self) -> QHBoxLayout:
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Folder"))
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        return row

    def _restore_choice(self) -> None:
        """The choice and qualities of the last encode, where they are still offered."""
        for codec, combo in self.quality.items():
            index = combo.findData(self.preferences.quality(codec))
            if index >= 0:
                combo.setCurrentIndex(index)
        button = self.choice.button(choice_id(self.preferences.encode_choice()))
        (button if button.isEnabled() else self.choice.button(0)).setChecked(True)

    # ---- results ------------------------------------------------------------------------

    def targets(self) -> list[Target]:
        choice = self.choice.checkedId()
        specs = PAIR if choice == SIDE_BY_SIDE else (registry.CODECS[choice],)
        return [self._target(spec) for spec in specs]

    def equal_bytes(self) -> bool:
        """The one file chosen is encoded to the size of pane A's, for pane B."""
        return self.same_size.isEnabled() and self.same_size.isChecked()

    def _target(self, spec: registry.CodecSpec) -> Target:
        quality = self.quality[spec.name].currentData() if spec.is_family else None
        equal = self.equal_bytes()
        budget, pane = (len(self.beside.data), BESIDE) if equal else (self.target_size.max_bytes(), None)
        name = files.encoded_name(self.image, spec.name, quality, budget).name
        return Target(spec.name, quality, self._folder() / name, budget, pane, self.effort.value())

    def _folder(self) -> Path:
        return Path(self.folder.text().strip()).expanduser()

    def accept(self) -> None:
        """Remember the choice, the qualities and the folder, then close."""
        if folder_problem(self.folder.text()) is not None or self.target_size.problem() is not None:
            return
        self.target_size.remember()
        choice = self.choice.checkedId()
        self.preferences.set_encode_choice(PAIR_CHOICE if choice == SIDE_BY_SIDE else registry.NAMES[choice])
        for codec, combo in self.quality.items():
            if combo.count():
                self.preferences.set_quality(codec, combo.currentData())
        self.preferences.set_folder("encode", str(self._folder().resolve()))
        self.preferences.set_effort(self.effort.value())
        super().accept()

    def _show_names(self) -> None:
        self.same_size.setEnabled(self.beside is not None and self.choice.checkedId() != SIDE_BY_SIDE)
        self.target_size.setEnabled(not self.equal_bytes())
        problem = folder_problem(self.folder.text()) or self.target_size.problem()
        self.encode_button.setEnabled(problem is None)
        self.names.setText(problem or writes_text([t.path.name for t in self.targets()], self._folder()))

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
    table.setWordWrap(True)
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    width = table.horizontalHeader().length() + table.verticalScrollBar().sizeHint().width() + 2 * table.frameWidth()
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    layout.addWidget(buttons)
    dialog.resize(min(width + 24, 960), 620)  # every description on one line where the screen allows
    table.resizeRowsToContents()
    return dialog
