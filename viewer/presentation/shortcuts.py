"""The keyboard shortcut list (F1), built from the window's own actions so that it cannot drift
from the keys that work."""
from __future__ import annotations

from typing import Iterable

# Mouse and canvas keys: handled by the canvas itself, not by actions.
GESTURES = (
    ("Wheel", "Zoom in / out"),
    ("Arrows, drag", "Pan"),
    ("Double click", "Toggle fit / 1:1"),
    ("Shift+drag", "Move the split (split view)"),
    ("Mouse over a picture", "Pixel values of both panes (status bar)"),
)


def shortcut_rows(actions: Iterable[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    """(keys, what they do) for every (description, key sequences) of an action that has keys,
    in the order given, then the canvas gestures."""
    return [(" / ".join(keys), description) for description, keys in actions if keys] + list(GESTURES)
