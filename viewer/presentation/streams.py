"""What a layered file being received says about itself: its label, damage, the pane's
placeholder while no picture is up, the layer and byte readouts, the arrival table.

Layers are numbered from 0 in code and from 1 in every text here.
"""
from __future__ import annotations

from codec import container
from viewer.presentation.formatting import codec_label, kilobytes
from viewer.presentation.network import placeholder_text
from viewer.state.session import Layer, Stream

EMPTY_HINT = "Open an image or a .strata file (Ctrl+O), or drop one here"
VS_ORIGINAL, UNVERIFIED, FROM_FILE = "vs original", "vs original, unverified", "from file"  # a PSNR's source


def label(stream: Stream) -> str:
    """The file's codec: "DeepHQ", "HC q2"."""
    return codec_label(stream.header.codec, stream.header.model_id)


def damage_text(name: str, damage: container.ContainerError, num_layers: int) -> str:
    """A file's damage in words."""
    if isinstance(damage, container.LayerCorrupted):
        shown = f"layers 1 to {damage.layer} can be shown" if damage.layer else "nothing can be shown"
        return f"{name}: layer {damage.layer + 1} of {num_layers} is damaged (its checksum does not match); {shown}."
    return f"{name}: {damage}."


def problem(stream: Stream) -> str | None:
    """What is wrong with the file itself (truncated, damaged), in words. A URL's stream arrives
    in parts: what stopped its transfer is said when it happens (viewer.presentation.network)."""
    if stream.remote is not None:
        return None
    name, n, damage = stream.path.name, stream.header.num_layers, stream.damage
    if damage is not None and not isinstance(damage, container.TrailingData):
        return damage_text(name, damage, n)
    if stream.intact_layers < n:
        shown = "showing the complete ones" if stream.intact_layers else "nothing can be shown"
        return (f"{name} is truncated: {len(stream.data)} of {stream.header.file_size} bytes, "
                f"{stream.intact_layers} of {n} layers complete; {shown}.")
    if damage is not None:
        return damage_text(name, damage, n)
    return None


def unusable_text(stream: Stream) -> str | None:
    """Which layers can never be shown (damage, truncation, a decoder failure), in words."""
    usable, n = stream.usable_layers, stream.header.num_layers
    if usable == n:
        return None
    return "nothing can be shown" if usable == 0 else f"layers {usable + 1}–{n} cannot be shown"


def placeholder(stream: Stream | None) -> str:
    """What a pane says while it has no picture."""
    if stream is None:
        return EMPTY_HINT
    n = stream.header.num_layers
    if stream.available:
        return f"Decoding layer {stream.wanted + 1} of {n}…"
    if stream.failure is not None and stream.failed_layer != getattr(stream.damage, "layer", None):
        return f"Nothing can be shown: {stream.failure}"
    if stream.remote is not None:
        return placeholder_text(stream)
    if stream.intact_layers == 0 and stream.received >= min(len(stream.data), stream.layer_end(0)):
        return problem(stream) or ""
    return (f"Waiting for layer 1 of {n}… "
            f"({stream.layer_received(0):,} of {stream.header.layer_lengths[0]:,} bytes)")


def layer_text(stream: Stream) -> str:
    """"3 / 8", and the layer being decoded when it is not the one on screen: "3 / 8 (5…)"."""
    shown = "–" if stream.shown is None else str(stream.shown + 1)
    text = f"{shown} / {stream.header.num_layers}"
    if stream.wanted is not None and stream.wanted != stream.shown:
        text += f" ({stream.wanted + 1}…)"
    return text


def received_text(stream: Stream) -> str:
    """"12.3 / 96.3 kB"."""
    return f"{stream.received / 1000:.1f} / {kilobytes(stream.total)}"


def slider_tooltip(stream: Stream | None) -> str:
    """The layer slider's tooltip, with how many layers have arrived."""
    text = "Layer on screen (PgUp / PgDown)"
    if stream is None:
        return text
    return f"{text}; {stream.available} of {stream.header.num_layers} layers received"


def shown_layer(stream: Stream) -> Layer | None:
    """The decoded layer on screen (or the refinement on the way to it), if any."""
    return stream.on_screen


def original_verified(stream: Stream) -> bool:
    """The open original is the file's source: the file was encoded from it here, or a decoded
    layer's PSNR against it matched the one the file records (a file that records no PSNR, a
    classic one among them, cannot vouch for it)."""
    return stream.from_original or any(layer.psnr_measured and stream.header.layer_psnr[layer.index] is not None
                                       for layer in stream.layers.values())


def psnr_source(stream: Stream, layer: Layer) -> str:
    """Where a layer's PSNR comes from: VS_ORIGINAL, UNVERIFIED (measured against the open image,
    which the file cannot confirm as its source) or FROM_FILE."""
    if not layer.psnr_measured:
        return FROM_FILE
    return VS_ORIGINAL if original_verified(stream) else UNVERIFIED


def psnr_text(stream: Stream, layer: Layer) -> str:
    """"PSNR 31.20 dB (vs original)", "(vs original, unverified)", or "(from file)" when the
    file's own figure is shown."""
    if layer.psnr is None:
        return "PSNR –"
    return f"PSNR {layer.psnr:.2f} dB ({psnr_source(stream, layer)})"


def ms_ssim_value(stream: Stream, index: int) -> str:
    """A layer's MS-SSIM against the original, "0.9934"; "" when not measured."""
    value = stream.ms_ssim_of(index)
    return "" if value is None else f"{value:.4f}"


def layer_readout(stream: Stream) -> list[str]:
    """The layer on screen in words: layer, bpp, PSNR and its source, MS-SSIM (once the worker
    measured it), decode time; [] if none."""
    layer = shown_layer(stream)
    if layer is None:
        return []
    ms_ssim = ms_ssim_value(stream, layer.index) if layer.complete else ""
    return [f"layer {layer.index + 1} / {stream.header.num_layers}", f"{layer.bpp:.3f} bpp", psnr_text(stream, layer),
            *([f"MS-SSIM {ms_ssim}"] if ms_ssim else []), f"decoded in {1000 * layer.decode_seconds:.0f} ms"]


def delay_text(stream: Stream, index: int) -> str:
    """From an arrived layer's last byte to its picture on screen: "+35 ms", "…" while timed,
    "—" when it was not shown on its own."""
    seconds = stream.shown_after(index)
    if seconds is not None:
        return f"+{1000 * seconds:.0f} ms"
    return "…" if index in stream.timed else "—"


def arrival_rows(streams: list[Stream]) -> list[tuple[str, str, str, str, str, str, str]]:
    """The arrival table: file, layer, cumulative size, arrival time, delay to the screen, PSNR
    (measured or the file's; "" when neither) and MS-SSIM (when measured)."""
    return [(label(stream), str(i + 1), kilobytes(stream.layer_end(i)), f"{stream.arrived[i]:.2f} s",
             delay_text(stream, i), _psnr_value(stream, i), ms_ssim_value(stream, i))
            for stream in streams for i in sorted(stream.arrived)]


def _psnr_value(stream: Stream, index: int) -> str:
    psnr = stream.psnr(index)
    return "" if psnr is None else f"{psnr:.2f}"
