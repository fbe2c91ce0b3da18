"""What the window says: pane titles and the status bar's readout, from the session."""
from __future__ import annotations

from viewer.presentation import streams
from viewer.presentation.formatting import format_rate
from viewer.state.session import Session

SPLIT_HINT = "(Shift+drag moves the split)"


def pane_title(session: Session, pane: int, split: bool = False) -> str:
    """"A: DeepHQ — photo.deephq.strata"; in split view pane A's title names both sides."""
    if split and pane == 0 and session.streams[1] is not None:
        return f"{_title(session, 0)}  |  {_title(session, 1)}   {SPLIT_HINT}"
    return _title(session, pane)


def _title(session: Session, pane: int) -> str:
    stream = session.streams[pane]
    if session.shows_original(pane):
        return f"Original: {session.original.path.name}"
    if stream is None:
        return "" if pane else "No file"
    unusable = streams.unusable_text(stream)
    return f"{'AB'[pane]}: {streams.label(stream)} — {stream.path.name}" + (f" ({unusable})" if unusable else "")


def status_parts(session: Session, pane: int, playback: str | None, bandwidth: float,
                 zoom: float) -> list[str]:
    """The status bar's readout of a pane, most important first (a narrow window drops the last
    parts). playback: "playing" or "paused", None when stopped; zoom: 1.0 is 100%."""
    stream, original = session.streams[pane], session.original
    parts = ["Pane B"] if pane else []
    if session.shows_original(pane):
        parts.append("original")
    elif stream is not None:
        parts += streams.layer_readout(stream)
        parts.append(f"received {stream.received:,} / {len(stream.data):,} B")
    if playback is not None:
        parts.append(f"{playback} at {format_rate(bandwidth)}")
    size = stream.size if stream is not None else original.size if original is not None else None
    if size:
        parts += [f"{size[0]}×{size[1]}", f"zoom {100 * zoom:.0f}%"]
    return parts
