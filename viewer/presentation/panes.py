"""What each pane says under its picture, for both panes at once: its readout (codec, layer,
size, bpp, PSNR) and what is happening to its stream ("decoding layer 3", "layer 4 needs
12.3 kB, about 1.8 s at 56 kbit/s")."""
from __future__ import annotations

from viewer.presentation.formatting import duration, format_rate, kilobytes
from viewer.presentation.network import remote_activity
from viewer.presentation.streams import label, psnr_text, shown_layer, unusable_text
from viewer.state.link import PAUSED, PLAYING, Playback
from viewer.state.session import Session, Stream

PANE_NAMES = ("A", "B")
READOUT_DROP_FIRST = (2, 3, 1)  # narrow: no kB (the bytes bar has them), bpp, layer (the slider has it); PSNR stays
SIDES = ("left", "right")  # of the split line


def pane_name(pane: int, split: bool = False) -> str:
    """"A", or "A (left)" in split view."""
    return f"{PANE_NAMES[pane]} ({SIDES[pane]})" if split else PANE_NAMES[pane]


def readout_parts(session: Session, pane: int, split: bool = False) -> list[str]:
    """The pane's readout: "A: DeepHQ", "layer 3 / 8", "12.3 kB", "0.412 bpp", "PSNR 31.20 dB
    (vs original)"; [] for a pane with nothing open. A narrow pane leaves out READOUT_DROP_FIRST
    first, then the last parts."""
    stream, name = session.streams[pane], pane_name(pane, split)
    if session.shows_original(pane):
        width, height = session.original.size
        return [f"{name}: original", f"{width}×{height}"]
    if stream is None:
        return []
    parts = [f"{name}: {label(stream)}"]
    layer = shown_layer(stream)
    if layer is None:
        return parts + [f"layer – / {stream.header.num_layers}"]
    parts += [f"layer {layer.index + 1} / {stream.header.num_layers}", kilobytes(layer.bytes_used),
              f"{layer.bpp:.3f} bpp", psnr_text(stream, layer)]
    if session.shows_error(pane):
        parts.append(f"error ×{session.error_gain}")
    return parts


def activity_parts(stream: Stream | None, playback: Playback) -> list[str]:
    """What is happening to a stream, in words: the layer being decoded, the layer the network
    is bringing and how long it takes, or how the stream ended."""
    if stream is None:
        return []
    if stream.remote is not None:
        return remote_activity(stream, playback)
    parts = []
    if stream.wanted is not None and stream.wanted not in stream.layers:
        parts.append(f"decoding layer {stream.wanted + 1}…")
    upcoming = len(stream.arrived)  # the next layer to arrive, counted from 0
    if playback.active and upcoming < stream.usable_layers:
        parts.append(_arrival_text(stream, upcoming, playback))
    elif not parts:
        parts.append(_end_text(stream))
    return parts


def _arrival_text(stream: Stream, index: int, playback: Playback) -> str:
    """"layer 4 needs 12.3 kB, about 1.8 s at 56 kbit/s" ("paused: ..." while paused)."""
    end = stream.layer_end(index)
    text = f"layer {index + 1} needs {kilobytes(end - stream.received)}"
    if playback.state == PLAYING:
        return f"{text}, about {duration(playback.seconds_until(end))} at {format_rate(playback.bandwidth)}"
    return f"paused: {text}" if playback.state == PAUSED else text


def _end_text(stream: Stream) -> str:
    """How a stream stands when nothing is under way: every layer there, or which are missing."""
    n, arrived = stream.header.num_layers, len(stream.arrived)
    unusable = unusable_text(stream)
    if unusable:
        return f"{arrived} of {n} layers received; {unusable}"
    return f"all {n} layers received" if arrived == n else f"{arrived} of {n} layers received"
