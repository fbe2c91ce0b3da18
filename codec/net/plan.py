"""How many bytes of a layered file a reader needs: for its header, for its first K layers, or
for the whole layers (with partitions, the whole chunks) within a byte budget. Pure arithmetic
on a file's layout (codec.layered.LayeredFile), no network code.

A `.strata` or JPEG 2000 header says where every layer ends, so a reader asks for exactly those
bytes. A progressive JPEG says nothing in advance: a scan's end is found by reading it, so its
bytes are read in growing windows until the scans asked for are in (`scan_window`), and a byte
budget reads at most that many bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

from codec import container, layered

HEAD_PROBE = 16  # first request: tells the kind (12 bytes) and a .strata header's length (11)
HEAD_WINDOW = 1024  # a classic file's headers are read in windows from this size, doubling
MAX_HEAD_BYTES = 1 << 20  # headers longer than this are refused (no layered file has them)
SCAN_WINDOW = 16 * 1024  # a progressive JPEG's scans are read in windows from this size ...
MAX_SCAN_WINDOW = 1 << 20  # ... growing up to this
MAX_SIZE = 512 * 1024 * 1024  # the most bytes one fetch holds in memory (codec.net.remote)


@dataclass(frozen=True)
class Want:
    """What a fetch asks for: the first `layers` layers, the whole layers (chunks) within
    `max_bytes`, both (the smaller), or neither: the whole file."""

    layers: int | None = None
    max_bytes: int | None = None

    def __post_init__(self):
        for name in ("layers", "max_bytes"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")

    @property
    def whole(self) -> bool:
        return self.layers is None and self.max_bytes is None

    def describe(self) -> str:
        """"the first 3 layers", "the whole layers within 10,000 bytes", "the whole file"."""
        parts = [f"the first {self.layers} layers" if self.layers > 1 else "the first layer"] if self.layers else []
        parts += [f"the whole layers within {self.max_bytes:,} bytes"] if self.max_bytes else []
        return " and ".join(parts) or "the whole file"


def ends_known(layout: layered.LayeredFile) -> bool:
    """The header says where every layer ends (.strata, JPEG 2000); a progressive JPEG's scans
    are only known once read."""
    return getattr(layout, "kind", None) != "jpeg"


def strata_header_size(start) -> int | None:
    """A `.strata` file's header size from its first 11 bytes (docs/FORMAT.md: magic, version,
    header_len, then the body and its CRC); None while fewer have arrived."""
    if len(start) < 11:
        return None
    return 11 + int.from_bytes(bytes(start[9:11]), "little") + 4


def chunk_ends(layout: layered.LayeredFile) -> list[tuple[int, int, int]]:
    """(layer, chunks of it, file offset after them) for every chunk of the file, in order."""
    return [(i, part + 1, layout.chunk_end(i, part)) for i in range(layout.num_layers)
            for part in range(len(layout.chunks[i]))]


def within(layout: layered.LayeredFile, max_bytes: int) -> int:
    """The end of the last whole chunk (of a classic file: layer) within max_bytes; raises
    container.BudgetTooSmall when not even the first one fits."""
    fitting = [end for _, _, end in chunk_ends(layout) if end <= max_bytes]
    if not fitting:
        first = layout.chunk_end(0, 0)
        raise container.BudgetTooSmall(f"a budget of {max_bytes:,} bytes does not hold even the first "
                                       f"{'chunk' if len(layout.chunks[0]) > 1 else 'layer'} of this file "
                                       f"({first:,} bytes with the header)")
    return max(fitting)


def prefix_end(layout: layered.LayeredFile, want: Want) -> int | None:
    """Where the bytes the want needs end; None when not known before reading (a progressive
    JPEG without a byte budget: read on until its scans are in)."""
    if not ends_known(layout):
        return want.max_bytes
    ends = [layout.file_size]
    if want.layers is not None:
        ends.append(layout.layer_offset(min(want.layers, layout.num_layers)))
    if want.max_bytes is not None:
        ends.append(within(layout, want.max_bytes))
    return min(ends)


def layers_within(layout: layered.LayeredFile, end: int) -> int:
    """How many whole layers the first `end` bytes hold."""
    return sum(layout.layer_offset(i + 1) <= end for i in range(layout.num_layers))


def head_window(received: int) -> int:
    """How many more bytes to ask for while a classic file's headers are incomplete."""
    return max(HEAD_WINDOW, received)


def scan_window(received: int) -> int:
    """How many more bytes to ask for while a progressive JPEG's scans asked for are not in: half
    as many as have arrived (so at most a third of what is read lies past the scan that ends it)."""
    return max(SCAN_WINDOW, min(received // 2, MAX_SCAN_WINDOW))
