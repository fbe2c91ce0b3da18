"""What a file seems to be, from its first bytes, in words for messages to people.

The container uses it to say what a file that is not a Strata file is instead (a PNG image,
text), the image reader to say what a file that is not an image holds. Pure bytes; no I/O.
"""
from __future__ import annotations

# Formats' first bytes (an ISO media file has "ftyp" at byte 4: kind_of)
SIGNATURES = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
              (b"RIFF", "a RIFF file (WebP image, WAV, AVI)"), (b"II*\0", "a TIFF image"),
              (b"MM\0*", "a TIFF image"), (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive"),
              (b"\x1f\x8b", "a gzip archive"))


def kind_of(start: bytes) -> str | None:
    """The format whose signature the bytes start with ("a PNG image"), or None."""
    if start[4:8] == b"ftyp":
        return "an ISO media file (HEIC, AVIF, MP4)"
    return next((name for signature, name in SIGNATURES if start.startswith(signature)), None)


def as_text(start: bytes) -> str | None:
    """The bytes as one line of text when they are UTF-8 text (a character cut at the end
    allowed), else None."""
    for cut in range(4):
        try:
            text = start[:len(start) - cut].decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            continue
        line = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
        return line if line and line.isprintable() else None
    return None


def holds(start: bytes) -> str:
    """What the bytes hold, as the end of a sentence: 'text ("hello wo...")', 'the bytes 00 01 02'."""
    if not start:
        return "no bytes at all"
    text = as_text(start)
    return f'text ("{text}...")' if text else f"the bytes {start.hex(' ')}"
