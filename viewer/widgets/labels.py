"""Labels of the window: the dismissable banner and a one-line label of whole parts."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget


class Banner(QFrame):
    """A dismissable box above the panes of the latest messages (at most MAX_MESSAGES, one per
    line, newest last), so that news arriving after a warning (a decoded layer's remark after a
    truncated file's) does not take the warning away."""

    MAX_MESSAGES = 3

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setStyleSheet("Banner { background: #fff3cd; border: 1px solid #e0c36c; } QLabel { color: #533f03; }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        self.messages: list[tuple[str, str]] = []  # (topic, text), oldest first
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str, topic: str = "") -> None:
        """Add text (once); topic names what it is about, so that news on it can take it away."""
        kept = [m for m in self.messages if m[1] != text][-(self.MAX_MESSAGES - 1):]
        self.messages = kept + [(topic, text)]
        self._update()

    def resolve(self, topic: str) -> None:
        """Take away the messages about topic (they no longer hold)."""
        self.messages = [m for m in self.messages if m[0] != topic]
        self._update()

    def dismiss(self) -> None:
        """Take every message away."""
        self.messages = []
        self._update()

    def text(self) -> str:
        """The messages shown, one per line (also while the window itself is not on screen); ""
        when there are none."""
        return "\n".join(text for _, text in self.messages)

    def _update(self) -> None:
        self.label.setText(self.text())
        self.setVisible(bool(self.messages))


class PartsLabel(QLabel):
    """A one-line label of parts joined by a separator that shows as many whole parts as fit its
    width (never one cut in the middle); the full text is its tooltip. When narrow it leaves out
    the parts of drop_first (indices, in that order) first, then the last ones."""

    def __init__(self, separator: str = "   ·   ", parent: QWidget | None = None):
        super().__init__(parent)
        self.separator = separator
        self.parts: list[str] = []
        self.drop_first: tuple[int, ...] = ()

    def set_parts(self, parts: list[str], drop_first: tuple[int, ...] = ()) -> None:
        self.parts, self.drop_first = list(parts), tuple(drop_first)
        self.setToolTip(self.separator.join(self.parts))
        self._fit()

    def full_text(self) -> str:
        return self.separator.join(self.parts)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        metrics, shown = self.fontMetrics(), list(range(len(self.parts)))
        order = [i for i in self.drop_first if i < len(self.parts)] + shown[::-1]
        text = self.separator.join
        while len(shown) > 1 and metrics.horizontalAdvance(text(self.parts[i] for i in shown)) > self.width():
            shown.remove(next(i for i in order if i in shown))
        self.setText(text(self.parts[i] for i in shown))


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with "…" to fit its width instead of widening
    the window; text() and the tooltip give the whole text."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._full = ""

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._fit()

    def text(self) -> str:
        return self._full

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self._full), super().sizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, self.width()))
