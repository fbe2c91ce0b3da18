"""Range coding of categorical symbols with constriction, and the deterministic parameter grids.

Symbols are coded in chunks of at most CHUNK elements and CHUNK_CELLS probabilities, each chunk with
its own probability rows (n, K), so memory stays bounded and other threads get the GIL between
chunks. constriction quantizes the
float64 rows to integers (leaky: every symbol keeps a non-zero probability), deterministically
for bit-identical rows.

Gaussian parameters are snapped to fixed grids before any PMF is built: mu to multiples of
1/MU_SCALE, sigma to SIGMA_TABLE (a geometric table built with multiplications only). Encoder and
decoder then agree unless a value lies within float noise of a grid decision boundary, which the
check value (CRC32 of the grid indices and masks, stored in the file) turns into a clear error.
"""
from __future__ import annotations

import zlib
from typing import Callable

import constriction
import numpy as np

CHUNK = 4096  # elements per constriction call at most
CHUNK_CELLS = 1 << 21  # probability entries per call at most (16 MiB of float64)
MU_SCALE = 128.0
SIGMA_MIN = 0.02
SIGMA_RATIO = 1.0905077326652577  # 2 ** (1 / 8)
SIGMA_LEVELS = 192


def _sigma_table() -> np.ndarray:
    table = np.empty(SIGMA_LEVELS)
    table[0] = SIGMA_MIN
    for k in range(1, SIGMA_LEVELS):
        table[k] = table[k - 1] * SIGMA_RATIO
    return table


SIGMA_TABLE = _sigma_table()
_SIGMA_SPLITS = np.sqrt(SIGMA_TABLE[:-1] * SIGMA_TABLE[1:])  # geometric midpoints
_MODEL = constriction.stream.model.Categorical(perfect=False)


class CorruptStream(ValueError):
    """Entropy-coded data that cannot be decoded."""


def quantize_mu(mu: np.ndarray) -> np.ndarray:
    """Grid index of each mean, int32; the mean itself is index / MU_SCALE."""
    return np.round(np.asarray(mu, dtype=np.float64) * MU_SCALE).astype(np.int32)


def quantize_sigma(sigma: np.ndarray) -> np.ndarray:
    """Index into SIGMA_TABLE of the nearest (geometrically) table value, uint8."""
    return np.searchsorted(_SIGMA_SPLITS, np.asarray(sigma, dtype=np.float64)).astype(np.uint8)


def check_value(*arrays: np.ndarray) -> int:
    """CRC32 of the arrays' bytes: what the encoder and decoder both derived."""
    crc = 0
    for a in arrays:
        crc = zlib.crc32(np.ascontiguousarray(a).tobytes(), crc)
    return crc


RowsFn = Callable[[slice], np.ndarray]


def chunks(sizes: np.ndarray) -> list[slice]:
    """Split elements with alphabet sizes (N,) into slices of bounded rows x max size."""
    parts, start, n = [], 0, len(sizes)
    while start < n:
        stop = min(start + CHUNK, n)
        while stop - start > 1 and (stop - start) * int(sizes[start:stop].max()) > CHUNK_CELLS:
            stop = start + max(1, (stop - start) // 2)
        parts.append(slice(start, stop))
        start = stop
    return parts


def encode_symbols(encoder: constriction.stream.queue.RangeEncoder, symbols: np.ndarray, sizes: np.ndarray, rows: RowsFn) -> None:
    """Append symbols (N,) with alphabet sizes (N,) to encoder; rows(slice) gives their
    probability rows (n, K)."""
    for part in chunks(sizes):
        encoder.encode(np.ascontiguousarray(symbols[part], dtype=np.int32), _MODEL, rows(part))


def decode_symbols(decoder: "RangeDecoder", sizes: np.ndarray, rows: RowsFn) -> np.ndarray:
    """Read len(sizes) symbols from decoder, int64 (N,)."""
    out = np.empty(len(sizes), dtype=np.int64)
    try:
        for part in chunks(sizes):
            out[part] = decoder.decode(rows(part))
    except (RuntimeError, ValueError, OverflowError, AssertionError) as exc:
        # constriction raises AssertionError for data that is invalid under the model
        raise CorruptStream(f"entropy-coded data is invalid ({exc})") from exc
    return out


def new_encoder() -> constriction.stream.queue.RangeEncoder:
    return constriction.stream.queue.RangeEncoder()


def finish(encoder: constriction.stream.queue.RangeEncoder) -> bytes:
    """The compressed bytes (little-endian 32-bit words)."""
    return encoder.get_compressed().astype("<u4").tobytes()


def new_decoder(data: bytes) -> "RangeDecoder":
    if len(data) % 4:
        raise CorruptStream(f"entropy-coded data of {len(data)} bytes is not a whole number of 32-bit words")
    return RangeDecoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))


class RangeDecoder:
    """constriction's RangeDecoder over one stream that also encodes again every symbol it
    decodes, with the same probabilities, so that `finish` can tell whether the stream is
    exactly what the encoder writes for those symbols.

    A range coder's stream ends with the words that seal its final state (constriction: the
    point lower + 2^32 - 1 of the final interval, and a zero word when the interval's upper end
    shares that word), so a stream with bytes added, removed, replaced or swapped decodes to
    symbols whose stream differs from it, even where every symbol decodes; constriction's own
    `maybe_exhausted` misses a zero word added or removed at the end. The second encoding costs
    about 2% of a DeepHQ layer's range decoding (the probability rows are computed once).
    """

    def __init__(self, words: np.ndarray):
        self._words = words
        self._decoder = constriction.stream.queue.RangeDecoder(words)
        self._mirror = constriction.stream.queue.RangeEncoder()

    def decode(self, probabilities: np.ndarray) -> np.ndarray:
        """The next symbols, one per row of probabilities (n, K)."""
        symbols = self._decoder.decode(_MODEL, probabilities)
        self._mirror.encode(symbols, _MODEL, probabilities)
        return symbols

    def finish(self, what: str) -> None:
        """CorruptStream naming `what` (a layer, or a chunk of one) unless the stream holds
        exactly the words its decoded symbols encode to."""
        sealed = self._mirror.get_compressed()
        if len(sealed) != len(self._words):
            raise CorruptStream(f"{what} holds {4 * len(self._words):,} bytes of range-coded data, but the symbols "
                                f"it decodes to take {4 * len(sealed):,}: bytes were added, removed or damaged")
        if not np.array_equal(sealed, self._words):
            raise CorruptStream(f"{what} does not end in the state its range encoder leaves after the symbols it "
                                f"decodes to: its data is damaged")


def stream_name(layer: int, part: int = 0, parts: int = 1) -> str:
    """A layer's chunk as people count it: "quality layer 3 (chunk 2 of 4)"."""
    return f"quality layer {layer + 1}" + (f" (chunk {part + 1} of {parts})" if parts > 1 else "")


def table_rows(freqs: np.ndarray, row_of: np.ndarray) -> tuple[np.ndarray, RowsFn]:
    """Alphabet sizes and rows of symbols coded with integer frequency tables (C, K): element i
    uses row row_of[i]."""
    probabilities = freqs.astype(np.float64) / freqs.sum(axis=1, keepdims=True)
    sizes = np.full(len(row_of), freqs.shape[1])
    return sizes, lambda part: probabilities[row_of[part]]
