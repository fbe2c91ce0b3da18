"""Memory for encoding and decoding: refusing what cannot fit, and naming allocation failures.

Encoding and decoding keep per-pixel state of the whole picture (latents, their entropy
parameters and nested intervals, in float64), so their memory grows with the picture. The costs
below are measured peak RSS growths (numbers in docs/fuzzing.md); `require` compares such an
estimate with the memory this process can still get before anything of that size is allocated,
and `guard` turns an allocation failure that happens anyway (an estimate is not a bound) into
InsufficientMemory.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

from codec import registry

try:
    import resource
except ImportError:  # not a POSIX system: no address-space limit to read
    resource = None

# Peak RSS growth of a whole encode or decode (every layer), measured at 1, 4.2 and 8.4 MP with
# one thread (docs/fuzzing.md, "Memory"): each codec's (bytes per pixel, fixed bytes) where the
# transforms run in tiles (CodecSpec.encode_cost and decode_cost in codec/registry.py), and
# UNTILED_BYTES_PER_PIXEL up to UNTILED_PIXELS, where they run in one piece.
UNTILED_BYTES_PER_PIXEL = 680
UNTILED_PIXELS = 4096 * 16 * 16  # codec.coding.tiling.UNTILED_UNITS units of 16x16 pixels (a test checks)
# A decode holds the file's bytes several times (the caller's, the parse's layers, the streaming
# reader's, the layer decoder's, the prefix Pillow decodes): measured 5.3 times for a 12 MB JPEG.
FILE_COPIES = 6


def encode_bytes(codec: str, pixels: int) -> int:
    """Estimated memory (bytes) that encoding a picture of this many pixels takes."""
    spec = registry.spec(codec)
    return _estimate(spec.encode_cost, pixels, spec.learned)


def decode_bytes(codec: str, pixels: int, file_bytes: int = 0) -> int:
    """Estimated memory (bytes) that decoding every layer of such a picture, from a file of
    file_bytes, takes (a classic file's pictures are decoded one at a time: codec/api.py)."""
    spec = registry.spec(codec)
    return _estimate(spec.decode_cost, pixels, spec.learned) + FILE_COPIES * file_bytes


def _estimate(cost: tuple[int, int], pixels: int, transforms: bool = True) -> int:
    """cost applied to pixels; with transforms (a learned codec's), at least what they take
    untiled on a small picture."""
    per_pixel, fixed = cost
    untiled = UNTILED_BYTES_PER_PIXEL * min(pixels, UNTILED_PIXELS) if transforms else 0
    return max(per_pixel * pixels + fixed, untiled)


class InsufficientMemory(ValueError):
    """The picture needs more memory than this process can get."""


def available_bytes() -> int | None:
    """Memory this process can still allocate: the kernel's MemAvailable, lowered by an
    address-space limit (RLIMIT_AS) if one is set; None where neither is known."""
    limits = [v for v in (_mem_available(), _address_space_left()) if v is not None]
    return min(limits) if limits else None


def _mem_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _address_space_left() -> int | None:
    if resource is None:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
    return max(soft - used, 0)


def require(needed: int, what: str) -> None:
    """Raise InsufficientMemory if needed bytes (an estimate for `what`) exceed what is available."""
    available = available_bytes()
    if available is not None and needed > available:
        raise InsufficientMemory(
            f"{what} needs about {_gib(needed)} of memory, but this process can get only "
            f"{_gib(available)}; free memory, or use a machine with more")


def is_allocation_failure(error: BaseException) -> bool:
    """numpy's MemoryError, torch's out-of-memory error, or a torch allocator failure."""
    if isinstance(error, MemoryError):
        return True
    if not isinstance(error, RuntimeError):
        return False
    message = str(error)
    return type(error).__name__ == "OutOfMemoryError" or "can't allocate memory" in message or "out of memory" in message


@contextlib.contextmanager
def guard(what: str) -> Iterator[None]:
    """Turn an allocation failure inside the block into InsufficientMemory about `what`."""
    try:
        yield
    except (MemoryError, RuntimeError) as error:
        if not is_allocation_failure(error):
            raise
        raise InsufficientMemory(f"{what} ran out of memory ({_first_line(error)})") from error


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
