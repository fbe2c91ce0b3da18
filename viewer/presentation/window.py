"""What the window says: pane titles, the status bar's readout, the About text, the end of a
folder, from the session."""
from __future__ import annotations

from pathlib import Path

from codec import registry
from viewer.presentation import streams
from viewer.presentation.formatting import format_rate
from viewer.state.link import Playback
from viewer.state.session import ORIGINAL, Session

SPLIT_HINT = "(Shift+drag moves the split)"


def pane_title(session: Session, pane: int, split: bool = False) -> str:
    """"A: DeepHQ — photo.deephq.strata"; in split view pane A's title names both sides."""
    partner = session.split_partner() if split and pane == 0 else None
    if partner is None:
        return _title(session, pane)
    right = _original_title(session) if partner == ORIGINAL else _title(session, 1)
    return f"{_title(session, 0)}  |  {right}   {SPLIT_HINT}"


def _original_title(session: Session) -> str:
    return f"Original: {session.original.path.name}"


def _title(session: Session, pane: int) -> str:
    stream = session.streams[pane]
    if session.shows_original(pane):
        return _original_title(session)
    if stream is None:
        return "" if pane else "No file"
    notes = [streams.unusable_text(stream), f"error ×{session.error_gain}" if session.shows_error(pane) else None]
    notes = [note for note in notes if note]
    source = stream.path.name if stream.remote is None else f"{stream.path.name} from {stream.remote.host}"
    return (f"{'AB'[pane]}: {streams.label(stream)} — {source}"
            + (f" ({'; '.join(notes)})" if notes else ""))


def status_parts(session: Session, pane: int, playback: Playback, zoom: float) -> list[str]:
    """The status bar's readout of a pane, most important first (a narrow window drops the last
    parts). zoom: 1.0 is 100%."""
    stream, original = session.streams[pane], session.original
    parts = ["Pane B"] if pane else []
    if session.shows_original(pane):
        parts.append("original")
    elif stream is not None:
        parts += streams.layer_readout(stream)
        parts.append(f"received {stream.received:,} / {stream.total:,} B")
    if playback.active:
        parts.append(f"{playback.state} at {format_rate(playback.bandwidth)}")
    size = stream.size if stream is not None else original.size if original is not None else None
    if size:
        parts += [f"{size[0]}×{size[1]}", f"zoom {100 * zoom:.0f}%"]
    return parts


def error_map_unavailable(session: Session) -> str | None:
    """Why no pane can show an error map, in words; None when one can."""
    if session.original is None:
        return "Error map: open the original image first, then encode it or open its layered file for comparison."
    if not any(session.has_error_map(pane) for pane in (0, 1)):
        return (f"Error map: no open layered file was encoded from {session.original.path.name} "
                f"(its size or its pictures differ).")
    return None


def original_unavailable(session: Session) -> str | None:
    """Why Show Original has nothing to switch pane A to, in words; None when it has."""
    if session.original is None:
        return "Show original: no original image is open; open the image, then encode it or open its layered file."
    if session.streams[0] is None:
        return f"Pane A already shows the original, {session.original.path.name}."
    return None


def folder_end_text(path: Path, step: int) -> str:
    """There is no next (step > 0) or previous file of path's kind in its folder."""
    which = "last" if step > 0 else "first"
    return f"{path.name} is the {which} of its kind in {path.parent}."


def about_text(version: str | None) -> str:
    """The About box: what Strata is, its version, its codecs."""
    codecs = ", ".join(spec.title for spec in registry.LEARNED)
    classic = " and ".join(spec.title for spec in registry.CLASSIC)
    shown = f"version {version}" if version else "version unknown (not installed as a package)"
    return (f"Strata Viewer, {shown}\n\nProgressive learned image codecs ({codecs}): pictures "
            f"encoded in layers, streamed over a simulated network and shown layer by layer, "
            f"beside the classic progressive codecs ({classic}).")
