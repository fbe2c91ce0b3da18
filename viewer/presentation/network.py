"""What the viewer says about a file arriving from a URL: what the fetch is doing, the measured
throughput, why a transfer stopped; pure functions of the state (viewer.state.remote).

Layers are numbered from 0 in code and from 1 in every text here.
"""
from __future__ import annotations

from codec.net import plan
from viewer.presentation.formatting import duration, format_rate, kilobytes
from viewer.state.link import PLAYING, Playback
from viewer.state.session import Stream


def measured_rate(bits_per_second: float | None) -> str:
    """"1.23 Mbit/s measured", "–" before there is a measure."""
    if bits_per_second is None:
        return "rate not measured yet"
    if bits_per_second >= 1e6:
        return f"{bits_per_second / 1e6:.3g} Mbit/s measured"
    return f"{bits_per_second / 1e3:.3g} kbit/s measured"


def _target(stream: Stream) -> int | None:
    """The bytes the fetch is asked to bring (None: not known before reading, a JPEG's scans)."""
    try:
        return plan.prefix_end(stream.header, stream.remote.want)
    except ValueError:  # a byte budget smaller than the first layer
        return None


def fetch_text(stream: Stream) -> str:
    """What the fetch of a URL's stream is doing: "fetching up to layer 5 from host: 12.3 of
    45.6 kB, 1.2 Mbit/s measured", "4 of 8 layers fetched (the limit): move the slider for
    more", "all 8 layers received from host in 0.52 s, ..."."""
    remote, n = stream.remote, stream.header.num_layers
    if remote.fetching:
        target = _target(stream)
        of = f" of {kilobytes(target)}" if target is not None else ""
        return (f"fetching {remote.want.describe()} from {remote.host}: {kilobytes(len(stream.data))}{of}, "
                f"{measured_rate(remote.rate())}")
    if remote.broken:
        return f"the transfer broke off after {stream.intact_layers} of {n} layers: move the slider to try again"
    if not stream.remote.want.whole and len(stream.data) < stream.total:
        return f"{stream.intact_layers} of {n} layers fetched (the limit): move the slider for more"
    return (f"all {n} layers received from {remote.host} in {remote.seconds:.2f} s, "
            f"{measured_rate(remote.rate())}")


def remote_activity(stream: Stream, playback: Playback) -> list[str]:
    """The activity line of a URL's stream: the layer being decoded, a layer the simulated link
    still holds back, and the fetch."""
    parts = []
    if stream.wanted is not None and stream.wanted not in stream.layers:
        parts.append(f"decoding layer {stream.wanted + 1}…")
    held = len(stream.arrived)
    if playback.state == PLAYING and held < stream.intact_layers:
        seconds = playback.seconds_until(stream.layer_end(held))
        parts.append(f"layer {held + 1} is in; the simulated {format_rate(playback.bandwidth)} link brings it "
                     f"in {duration(seconds)}")
    return parts + [fetch_text(stream)]


def placeholder_text(stream: Stream) -> str:
    """What a URL stream's pane says before its first layer is on screen."""
    if stream.remote.broken and not stream.intact_layers:
        return f"Nothing can be shown: {stream.remote.damage}"
    first = stream.layer_end(0) if stream.header.num_layers else None
    of = "" if first is None else f" of {first:,}"
    return f"Fetching layer 1 from {stream.remote.host}… ({len(stream.data):,}{of} bytes)"


def network_lines(streams: list[tuple[int, Stream]]) -> list[str]:
    """The side panel's lines on the files from URLs: "A: photo.strata from host: 45.6 of 67.2 kB
    in 0.52 s, 1.03 Mbit/s measured (3 requests)"."""
    lines = []
    for pane, stream in streams:
        remote = stream.remote
        if remote is None:
            continue
        lines.append(f"{'AB'[pane]}: {remote.name} from {remote.host}: {kilobytes(len(stream.data))} of "
                     f"{kilobytes(stream.total)} in {remote.seconds:.2f} s, {measured_rate(remote.rate())} "
                     f"({remote.requests} request{'s' * (remote.requests != 1)}, {remote.transferred:,} bytes)")
    return lines
