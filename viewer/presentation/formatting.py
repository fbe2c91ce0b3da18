"""Units and names as the user reads them: rates, sizes, codec labels."""
from __future__ import annotations

CODEC_NAMES = {"deephq": "DeepHQ", "hc": "HC"}


def format_rate(bits_per_second: float) -> str:
    """1e6 -> "1 Mbit/s"."""
    if bits_per_second >= 1e6:
        return f"{bits_per_second / 1e6:g} Mbit/s"
    return f"{bits_per_second / 1e3:g} kbit/s"


def kilobytes(n: int) -> str:
    """12345 -> "12.3 kB"."""
    return f"{n / 1000:.1f} kB"


def codec_label(codec: str, model_id: int | None = None) -> str:
    """"DeepHQ" or "HC q2"."""
    name = CODEC_NAMES.get(codec, codec)
    return f"{name} q{model_id}" if codec == "hc" and model_id is not None else name
