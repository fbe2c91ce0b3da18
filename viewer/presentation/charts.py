"""What the side panel's charts and table say: tooltips of the bits and PSNR charts, what a
click on a layer that cannot be shown means, and the per-layer table as CSV."""
from __future__ import annotations

import csv
import io

from viewer.presentation.panes import PANE_NAMES
from viewer.presentation.streams import FROM_FILE, UNVERIFIED, VS_ORIGINAL, label, ms_ssim_value, psnr_source
from viewer.state.session import Stream

CLICK_HINT = "click to show it"
TABLE_COLUMNS = ("file", "codec", "layer", "layer bytes", "bytes (cum.)", "bpp (cum.)", "PSNR in file (dB)",
                 "PSNR measured (dB)", "MS-SSIM measured", "arrived (s)", "shown after (ms)", "measured against")
AGAINST = {VS_ORIGINAL: "original", UNVERIFIED: "original, unverified"}  # a measured PSNR's source, in the CSV


def series_name(stream: Stream, pane: int, files: int) -> str:
    """A file's name in the charts' legends: "DeepHQ", or with two files open "A: DeepHQ" (two
    files of one codec are told apart)."""
    return f"{PANE_NAMES[pane]}: {label(stream)}" if files > 1 else label(stream)


def bar_tooltip(stream: Stream, index: int) -> str:
    """"DeepHQ, layer 3: 12.3 of 12.3 kbit received; click to show it"."""
    received, total = 8 * stream.layer_received(index) / 1000, 8 * stream.header.layer_lengths[index] / 1000
    text = f"{label(stream)}, layer {index + 1}: {received:.1f} of {total:.1f} kbit received"
    return f"{text}; {CLICK_HINT}" if index < stream.available else text


def point_tooltip(stream: Stream, index: int) -> str:
    """"DeepHQ, layer 3: 0.412 bpp, 31.20 dB (vs original), MS-SSIM 0.9712; click to show it"
    (MS-SSIM once measured)."""
    layer = stream.layers.get(index)
    source = FROM_FILE if layer is None else psnr_source(stream, layer)
    ms_ssim = ms_ssim_value(stream, index)
    return (f"{label(stream)}, layer {index + 1}: {stream.bpp(index):.3f} bpp, "
            f"{stream.psnr(index):.2f} dB ({source}){f', MS-SSIM {ms_ssim}' if ms_ssim else ''}; {CLICK_HINT}")


def not_shown_text(stream: Stream, index: int) -> str | None:
    """Why a layer picked in a chart cannot be shown; None when it can."""
    if index < stream.available:
        return None
    if index >= stream.usable_layers:
        return f"{label(stream)}, layer {index + 1} cannot be shown (the file is damaged or cut short)."
    return f"{label(stream)}, layer {index + 1} has not arrived yet."


def table_rows(streams: list[Stream]) -> list[tuple]:
    """Every layer of every file: sizes, bpp, the file's PSNR, the PSNR (and MS-SSIM) measured
    against the open original when decoded, when it arrived, how long it took to reach the screen, and what
    the PSNR was measured against ("original", or "original, unverified" when the file records
    no PSNR that confirms the original as its source); '' for what is not known."""
    return [row for stream in streams for row in _file_rows(stream)]


def _file_rows(stream: Stream) -> list[tuple]:
    rows = []
    for i, length in enumerate(stream.header.layer_lengths):
        layer, psnr = stream.layers.get(i), stream.header.layer_psnr[i]
        measured = layer is not None and layer.psnr_measured
        against = AGAINST[psnr_source(stream, layer)] if measured else ""
        arrived = f"{stream.arrived[i]:.3f}" if i in stream.arrived else ""
        seconds = stream.shown_after(i)
        shown = "" if seconds is None else f"{1000 * seconds:.0f}"
        rows.append((stream.path.name, label(stream), i + 1, length, stream.layer_end(i), f"{stream.bpp(i):.4f}",
                     "" if psnr is None else f"{psnr:.3f}", f"{layer.psnr:.3f}" if measured else "",
                     ms_ssim_value(stream, i), arrived, shown, against))
    return rows


def table_csv(streams: list[Stream]) -> str:
    """The per-layer table (table_rows) as CSV with a header line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TABLE_COLUMNS)
    writer.writerows(table_rows(streams))
    return buffer.getvalue()
