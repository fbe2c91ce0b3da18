"""What the viewer remembers between runs, in QSettings: recent files, the folders last used
(open, encode, export), the simulated network (bandwidth, latency), the encode choices and the
pixel limit.

Values read back are checked: a setting of the wrong type (an edited or older settings file)
reads as unset, never as an error.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from codec.effort import DEFAULT_EFFORT, EFFORTS
from viewer.presentation.encoding import TARGET_UNITS
from viewer.state.limits import DEFAULT_MAX_PIXELS
from viewer.state.link import DEFAULT_BANDWIDTH
from viewer.state.pixels import ERROR_GAIN, ERROR_GAINS

MAX_RECENT = 8
FOLDERS = ("open", "encode", "export")


class Preferences:
    """Typed access to the settings of the application (QSettings() by default)."""

    def __init__(self, settings: QSettings | None = None):
        self.settings = settings or QSettings()

    # ---- recent files and folders -------------------------------------------------------

    def recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [v for v in values if isinstance(v, str) and v]

    def add_recent(self, path: str) -> None:
        """path first, without repeats, at most MAX_RECENT; its folder is the open folder."""
        self.settings.setValue("recent", ([path] + [p for p in self.recent() if p != path])[:MAX_RECENT])
        self.set_folder("open", str(Path(path).parent))

    def folder(self, use: str) -> str | None:
        """The folder last used to open, encode or export (FOLDERS), while it exists."""
        value = self.settings.value(f"folders/{use}")
        return value if isinstance(value, str) and value and Path(value).is_dir() else None

    def set_folder(self, use: str, folder: str) -> None:
        if use not in FOLDERS:
            raise ValueError(f"unknown folder use {use!r}; known: {', '.join(FOLDERS)}")
        self.settings.setValue(f"folders/{use}", folder)

    # ---- the simulated network ----------------------------------------------------------

    def bandwidth(self) -> float:
        """Bits per second; DEFAULT_BANDWIDTH when unset or unusable."""
        value = self._number("network/bandwidth", float)
        return value if value is not None and value > 0 else DEFAULT_BANDWIDTH

    def set_bandwidth(self, bits_per_second: float) -> None:
        self.settings.setValue("network/bandwidth", float(bits_per_second))

    def latency_ms(self) -> int:
        value = self._number("network/latency_ms", int)
        return value if value is not None and value >= 0 else 0

    def set_latency_ms(self, ms: int) -> None:
        self.settings.setValue("network/latency_ms", int(ms))

    # ---- encode choices -----------------------------------------------------------------

    def encode_choice(self) -> str | None:
        """The codec name (or the side-by-side pair) chosen last in the Encode dialog."""
        value = self.settings.value("encode/choice")
        return value if isinstance(value, str) else None

    def set_encode_choice(self, choice: str) -> None:
        self.settings.setValue("encode/choice", choice)

    def quality(self, codec: str) -> int | None:
        """The quality of a codec family chosen last."""
        return self._number(f"encode/quality/{codec}", int)

    def set_quality(self, codec: str, quality: int) -> None:
        self.settings.setValue(f"encode/quality/{codec}", int(quality))

    def effort(self) -> int:
        """The encoder effort chosen last (codec/effort.py), DEFAULT_EFFORT when unset or invalid."""
        value = self._number("encode/effort", int)
        return value if value in EFFORTS else DEFAULT_EFFORT

    def set_effort(self, effort: int) -> None:
        self.settings.setValue("encode/effort", int(effort))

    def encode_target(self) -> tuple[bool, float, str]:
        """The Encode dialog's target size last chosen: (on, value, unit); off at 50 kB when unset."""
        value, unit = self._number("encode/target/value", float), self.settings.value("encode/target/unit")
        on = self._number("encode/target/on", int) == 1
        return (on, value if value is not None and value > 0 else 50.0,
                unit if unit in TARGET_UNITS else "kB")

    def set_encode_target(self, on: bool, value: float, unit: str) -> None:
        for key, setting in (("on", int(on)), ("value", float(value)), ("unit", unit)):
            self.settings.setValue(f"encode/target/{key}", setting)

    # ---- the view ------------------------------------------------------------------------

    def error_gain(self) -> int:
        """The error map's amplification (one of ERROR_GAINS); ERROR_GAIN when unset or unusable."""
        value = self._number("view/error_gain", int)
        return value if value in ERROR_GAINS else ERROR_GAIN

    def set_error_gain(self, gain: int) -> None:
        self.settings.setValue("view/error_gain", int(gain))

    # ---- the pixel limit -----------------------------------------------------------------

    def max_pixels(self) -> int:
        """The largest picture opened, decoded and encoded without asking; DEFAULT_MAX_PIXELS
        when unset or unusable."""
        value = self._number("limits/max_pixels", int)
        return value if value is not None and value > 0 else DEFAULT_MAX_PIXELS

    def set_max_pixels(self, pixels: int) -> None:
        self.settings.setValue("limits/max_pixels", int(pixels))

    def _number(self, key: str, kind: type):
        """The setting as kind (int or float), or None when unset or not a number."""
        try:
            value = self.settings.value(key)
            return None if value is None else kind(value)
        except (TypeError, ValueError):
            return None
