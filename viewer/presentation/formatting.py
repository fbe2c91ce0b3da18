"""Units and names as the user reads them: rates, sizes, codec labels."""
from __future__ import annotations

from codec import registry
from viewer.state.link import UNLIMITED


def format_rate(bits_per_second: float) -> str:
    """1e6 -> "1 Mbit/s"; UNLIMITED -> "no limit"."""
    if bits_per_second >= UNLIMITED:
        return "no limit"
    if bits_per_second >= 1e6:
        return f"{bits_per_second / 1e6:g} Mbit/s"
    return f"{bits_per_second / 1e3:g} kbit/s"


def kilobytes(n: int) -> str:
    """12345 -> "12.3 kB"."""
    return f"{n / 1000:.1f} kB"


def codec_label(codec: str, model_id: int | None = None) -> str:
    """"DeepHQ" or "HC q2", from the codec table."""
    return registry.spec(codec).label(model_id)


def duration(seconds: float) -> str:
    """How long, roughly: "0.4 s", "13 s", "2 min 5 s"."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"
