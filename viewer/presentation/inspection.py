"""What the viewer says when the user looks closely: the pixel values under the cursor in every
pane, the error map's scale, zoom levels."""
from __future__ import annotations

import numpy as np

from viewer.presentation.panes import PANE_NAMES
from viewer.state.pixels import white_at
from viewer.state.session import Session

ZOOM_PRESETS = (25, 50, 100, 200, 400, 800)  # percent


def zoom_text(zoom: float) -> str:
    """1.5 -> "150%"."""
    return f"{100 * zoom:.0f}%"


def parse_zoom(text: str) -> float | None:
    """"150%" or "150" -> 1.5; None for anything that is no positive number."""
    try:
        percent = float(text.strip().rstrip("%").strip())
    except ValueError:
        return None
    return percent / 100 if percent > 0 else None


def _values(rgb: np.ndarray) -> str:
    return " ".join(str(int(v)) for v in rgb)


def pixel_parts(session: Session, x: int, y: int) -> list[str]:
    """The pixel (x, y) in words: its position, then each pane's values ("A 201 143 87"; a
    pane showing its error map gives |decoded − original| per channel, "A error 3 0 5"), then
    the original's when no pane shows it; [] outside the pictures."""
    parts = []
    for pane, name in enumerate(PANE_NAMES):
        part = _pane_pixel(session, pane, x, y)
        if part:
            parts.append(f"{name} {part}")
    original = session.original
    if original is not None and not session.shows_original(0) and _inside(original.rgb, x, y):
        parts.append(f"original {_values(original.rgb[y, x])}")
    return [f"x {x}, y {y}"] + parts if parts else []


def _inside(rgb: np.ndarray, x: int, y: int) -> bool:
    return 0 <= y < rgb.shape[0] and 0 <= x < rgb.shape[1]


def _pane_pixel(session: Session, pane: int, x: int, y: int) -> str | None:
    shown = session.displayed(pane)
    if shown is None or not _inside(shown, x, y):
        return None
    if session.shows_error(pane):
        decoded = session.streams[pane].on_screen.rgb[y, x].astype(np.int16)
        return f"error {_values(np.abs(decoded - session.original.rgb[y, x]))}"
    return _values(shown[y, x])


def error_scale_text(gain: int) -> tuple[str, str, str]:
    """The error map's scale: its title and the errors at its black and white ends, in levels
    of 255: ("|error| ×8", "0", "≥ 32 of 255")."""
    return f"|error| ×{gain}", "0", f"≥ {white_at(gain)} of 255"
