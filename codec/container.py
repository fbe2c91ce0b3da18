"""The `.strata` layered container: one image as a header plus N quality layers.

The container is codec-agnostic: it carries opaque payloads and a small codec-specific parameter
blob, each guarded by a CRC32. A layer is one or more chunks (version 2; version 1 files, one
chunk per layer, still read), each with its own CRC, so a prefix ending inside a layer still
gives the chunks complete in it. Any prefix of a file is valid and decodes to every complete
chunk in it; damaged or hostile input raises a ContainerError (never struct.error or IndexError)
and never makes the reader allocate according to a size field. The byte layout, limits and error
semantics are specified in docs/FORMAT.md.
"""
from __future__ import annotations

import dataclasses
import os
import stat
import struct
import zlib
from dataclasses import dataclass
from typing import NamedTuple

from codec import registry, sniff

MAGIC = b"\x89STRATA\n"
VERSION = 2  # what this writer writes
READABLE_VERSIONS = (1, 2)  # 1: one chunk per layer, fixed-size lengths (docs/FORMAT.md)
SOURCE_MODES = ("RGB", "L", "RGBA", "LA", "other")  # index = mode code in the file

MAX_HEADER_LEN = 4096  # bytes of header body
MAX_LAYERS = 16
MAX_CHUNKS = 64  # per layer
MAX_SIDE = 65535  # pixels
MAX_PIXELS = 2**28
PSNR_UNKNOWN = 0xFFFF
PSNR_MAX_CENTI = 0xFFFE  # 655.34 dB; higher values (e.g. inf for a lossless layer) saturate

_PREAMBLE = struct.Struct("<8sBH")  # magic, version, header_len
_FIXED = struct.Struct("<BB8sIIBB")  # codec_id, model_id, weights, width, height, mode, num_layers
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_CRC_SIZE = 4
_PER_LAYER = 6  # version 1: u32 length + u16 psnr
_MIN_HEADER_LEN = {1: _FIXED.size + _PER_LAYER + _U16.size,  # one layer, no params
                   2: _FIXED.size + 1 + 1 + 2 + _U16.size}  # one layer of one empty chunk
MAX_CHUNK_LEN = 2**32 - 1
# A reader's bound on the payloads of a picture, per pixel of the picture padded to 64-pixel
# blocks: no codec of the table writes more than 18 (24 bits a symbol at most, constriction's
# precision, and at most 6 symbols a pixel: DeepHQ's 0.75 latent values a pixel, coded once in
# each of 8 layers; a test checks). A chunk past it is LayerTooLong, and is never read.
MAX_PAYLOAD_BYTES_PER_PIXEL = 32


class ContainerError(ValueError):
    """A `.strata` file that cannot be read; the message is a sentence for end users."""


class NotStrataFile(ContainerError):
    """The data does not start with the Strata magic bytes."""


class UnsupportedVersion(ContainerError):
    """The file uses a container version this reader does not know."""


class UnsupportedCodec(ContainerError):
    """The header names a codec id that this reader does not know."""


class HeaderCorrupted(ContainerError):
    """The header fails its CRC or holds an absurd field (the message names the field)."""


class TruncatedHeader(ContainerError):
    """The data ends before the header does, so nothing can be decoded."""


class TrailingData(ContainerError):
    """Bytes follow the last layer's CRC; every layer is intact."""


class BudgetTooSmall(ValueError):
    """Not even the first layer of a file fits the byte budget it is to be cut to."""


class LayerCorrupted(ContainerError):
    """A chunk does not match its CRC32; earlier chunks are intact. `layer` and `part` are the
    indices (from 0) of the layer and of the chunk in it; the message counts from 1, as everything
    shown to people does."""

    def __init__(self, layer: int, expected_crc: int, actual_crc: int, part: int = 0, parts: int = 1):
        self.layer = layer
        self.part = part
        self.expected_crc = expected_crc
        self.actual_crc = actual_crc
        where = f" (chunk {part + 1} of {parts})" if parts > 1 else ""
        before = "the layers before it" if part == 0 else "the layers and chunks before it"
        super().__init__(
            f"quality layer {layer + 1} is corrupted{where}: its CRC32 is 0x{actual_crc:08x} "
            f"but the file records 0x{expected_crc:08x}; only {before} can be decoded"
        )


class LayerTooLong(ContainerError):
    """A chunk whose length takes the payloads past max_payload_bytes of the picture: a lying
    length (no codec writes that much), never read. `layer` and `part` as in LayerCorrupted."""

    def __init__(self, layer: int, part: int, parts: int, total: int, width: int, height: int):
        self.layer, self.part = layer, part
        where = f" (chunk {part + 1} of {parts})" if parts > 1 else ""
        super().__init__(
            f"quality layer {layer + 1}{where} takes the file's layers to {total:,} bytes, more than the "
            f"{max_payload_bytes(width, height):,} any codec writes for a {width}x{height} picture; its "
            f"length is a lie, and only the layers before it can be decoded")


def max_payload_bytes(width: int, height: int) -> int:
    """The most payload bytes (all chunks together) a reader accepts for a width x height picture."""
    return MAX_PAYLOAD_BYTES_PER_PIXEL * -(-width // 64) * 64 * -(-height // 64) * 64


class Chunk(NamedTuple):
    """A complete, CRC-checked chunk: chunk `part` of layer `layer` (both from 0); `last` when it
    completes its layer."""

    layer: int
    part: int
    payload: bytes
    last: bool


@dataclass(frozen=True)
class Header:
    """Everything before the first layer payload. Sizes and offsets are in bytes."""

    codec: str
    model_id: int
    weights_digest: bytes
    width: int
    height: int
    source_mode: str
    layer_lengths: tuple[int, ...]  # payload bytes of each layer (its chunks' payloads together)
    layer_psnr: tuple[float | None, ...]  # PSNR-RGB in dB, None = unknown; stored to 0.01 dB
    params: bytes = b""
    chunk_lengths: tuple[tuple[int, ...], ...] | None = None  # per layer its chunks'; None: one chunk each
    version: int = VERSION  # the layout read or to be written (version 1: one chunk per layer)

    @property
    def num_layers(self) -> int:
        return len(self.layer_lengths)

    @property
    def chunks(self) -> tuple[tuple[int, ...], ...]:
        """The payload length of every chunk, per layer."""
        return self.chunk_lengths if self.chunk_lengths is not None else tuple((n,) for n in self.layer_lengths)

    @property
    def body_len(self) -> int:
        """Length of the header body (the `header_len` field)."""
        n, fixed = self.num_layers, _FIXED.size + _U16.size + len(self.params)
        if self.version == 1:
            return fixed + _PER_LAYER * n
        return fixed + n + sum(len(varint(c)) for layer in self.chunks for c in layer) + 2 * n

    @property
    def size(self) -> int:
        """Total header bytes: magic, version, header_len, body and header CRC."""
        return _PREAMBLE.size + self.body_len + _CRC_SIZE

    def layer_offset(self, i: int) -> int:
        """File offset of layer i's first chunk (i may equal num_layers: the end of the file)."""
        if not 0 <= i <= self.num_layers:
            raise IndexError(f"layer {i} out of range 0..{self.num_layers}")
        return self.size + sum(self.layer_lengths[:i]) + _CRC_SIZE * sum(map(len, self.chunks[:i]))

    def chunk_end(self, i: int, part: int) -> int:
        """File offset just after chunk `part` of layer i and its CRC."""
        lengths = self.chunks[i]
        if not 0 <= part < len(lengths):
            raise IndexError(f"layer {i} has chunks 0..{len(lengths) - 1}, not {part}")
        return self.layer_offset(i) + sum(lengths[:part + 1]) + _CRC_SIZE * (part + 1)

    @property
    def file_size(self) -> int:
        """Size of the complete file."""
        return self.layer_offset(self.num_layers)


@dataclass
class ParsedFile:
    """The result of parse_container: the header, the complete CRC-verified layers (each the
    payloads of its chunks together) and the complete chunks of the first incomplete one."""

    header: Header
    layers: list[bytes]
    complete: bool
    damage: ContainerError | None = None
    partial: list[bytes] = dataclasses.field(default_factory=list)  # chunk payloads of layer len(layers)

    def layer_chunks(self, layer: int) -> list[bytes]:
        """The chunk payloads of a complete layer."""
        return _split(self.layers[layer], self.header.chunks[layer])


# ---------------------------------------------------------------------------------------------
# Writing


def _psnr_to_centi(psnr: float | None) -> int:
    """dB -> stored u16 in centi-dB (saturating at 655.34 dB; None -> unknown)."""
    if psnr is None:
        return PSNR_UNKNOWN
    if not psnr >= 0:  # also rejects NaN
        raise ValueError(f"layer PSNR must be >= 0 dB or None, got {psnr}")
    if psnr >= PSNR_MAX_CENTI / 100:
        return PSNR_MAX_CENTI
    return round(psnr * 100)


def varint(value: int) -> bytes:
    """value as an unsigned LEB128 number: 7 bits a byte, low first, the high bit = "more"."""
    out = bytearray()
    while True:
        out.append(value & 0x7F | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def _chunk_problem(h: Header) -> str | None:
    """What is wrong with the chunk lengths, in words, or None."""
    chunks = h.chunks
    if len(chunks) != h.num_layers or any(not 1 <= len(c) <= MAX_CHUNKS for c in chunks):
        return f"every layer must have 1..{MAX_CHUNKS} chunks, found {tuple(map(len, chunks))}"
    if tuple(map(sum, chunks)) != tuple(h.layer_lengths):
        return f"chunk lengths {chunks} do not add up to the layer lengths {tuple(h.layer_lengths)}"
    if any(not 0 <= c <= MAX_CHUNK_LEN for layer in chunks for c in layer):
        return "a chunk must be smaller than 4 GiB"
    if h.version == 1 and any(len(c) > 1 for c in chunks):
        return "a version 1 file has one chunk per layer"
    return None


def _field_problem(h: Header) -> str | None:
    """The first header field outside its valid range, described in words, or None."""
    if h.version not in READABLE_VERSIONS:
        return f"version {h.version} is not one of {READABLE_VERSIONS}"
    if h.codec not in registry.LEARNED_NAMES:
        return f"codec {h.codec!r} is not one of {sorted(registry.LEARNED_NAMES)} (the codecs of .strata files)"
    if not 0 <= h.model_id <= 255:
        return f"model_id {h.model_id} is outside 0..255"
    if len(h.weights_digest) != 8:
        return f"weights_digest is {len(h.weights_digest)} bytes, expected 8"
    if not 1 <= h.width <= MAX_SIDE:
        return f"width {h.width} is outside 1..{MAX_SIDE}"
    if not 1 <= h.height <= MAX_SIDE:
        return f"height {h.height} is outside 1..{MAX_SIDE}"
    if h.width * h.height > MAX_PIXELS:
        return f"width x height = {h.width * h.height} pixels exceeds {MAX_PIXELS}"
    if h.source_mode not in SOURCE_MODES:
        return f"source_mode {h.source_mode!r} is not one of {SOURCE_MODES}"
    if not 1 <= h.num_layers <= MAX_LAYERS:
        return f"num_layers {h.num_layers} is outside 1..{MAX_LAYERS}"
    return _chunk_problem(h)


def _pack_body(h: Header) -> bytes:
    """The header body (the bytes counted by header_len)."""
    n = h.num_layers
    fixed = _FIXED.pack(registry.spec(h.codec).container_id, h.model_id, h.weights_digest, h.width, h.height,
                        SOURCE_MODES.index(h.source_mode), n)
    psnr = struct.pack(f"<{n}H", *map(_psnr_to_centi, h.layer_psnr))
    if h.version == 1:
        lengths = struct.pack(f"<{n}I", *h.layer_lengths)
    else:
        lengths = bytes(map(len, h.chunks)) + b"".join(varint(c) for layer in h.chunks for c in layer)
    return fixed + lengths + psnr + _U16.pack(len(h.params)) + h.params


def _check_writable(header: Header, layers: list[bytes]) -> None:
    """Raise ValueError unless header and layers describe a valid file."""
    problem = _field_problem(header)
    if problem:
        raise ValueError(problem)
    if len(layers) != header.num_layers or len(header.layer_psnr) != header.num_layers:
        raise ValueError(f"header announces {header.num_layers} layers, got {len(layers)} payloads "
                         f"and {len(header.layer_psnr)} PSNR values")
    actual = tuple(len(layer) for layer in layers)
    if actual != tuple(header.layer_lengths):
        raise ValueError(f"header layer_lengths {tuple(header.layer_lengths)} != payload sizes {actual}")
    if header.body_len > MAX_HEADER_LEN:
        raise ValueError(f"params is {len(header.params)} bytes; the header body would be "
                         f"{header.body_len} bytes, more than {MAX_HEADER_LEN}")


def pack_header(header: Header) -> bytes:
    """The header's bytes (magic to header CRC) in header.version's layout; no checks."""
    body = _pack_body(header)
    covered = struct.pack("<BH", header.version, len(body)) + body
    return MAGIC + covered + _U32.pack(zlib.crc32(covered))


def write_container(header: Header, layers: list[bytes]) -> bytes:
    """Serialize a complete `.strata` file in header.version's layout; each layer's payload is
    its chunks' payloads together, cut by header.chunks. Raise ValueError if header and layers
    disagree."""
    _check_writable(header, layers)
    parts = [pack_header(header)]
    for payload, lengths in zip(layers, header.chunks):
        for chunk in _split(bytes(payload), lengths):
            parts += [chunk, _U32.pack(zlib.crc32(chunk))]
    return b"".join(parts)


def _split(payload: bytes, lengths: tuple[int, ...]) -> list[bytes]:
    """A layer's payload cut into its chunks."""
    ends = [sum(lengths[:k + 1]) for k in range(len(lengths))]
    return [payload[end - n:end] for end, n in zip(ends, lengths)]


def prefix_header(header: Header, count: int, parts: int | None = None) -> Header:
    """The header of the file made of the first `count` layers (1..num_layers), the last of them
    cut to its first `parts` chunks (None: all): a complete file that describes only those. The
    PSNR of a cut layer becomes unknown."""
    if not 1 <= count <= header.num_layers:
        raise ValueError(f"a prefix keeps 1..{header.num_layers} layers, not {count}")
    chunks, psnr = header.chunks[:count], header.layer_psnr[:count]
    parts = len(chunks[-1]) if parts is None else parts
    if not 1 <= parts <= len(chunks[-1]):
        raise ValueError(f"layer {count} has 1..{len(chunks[-1])} chunks to keep, not {parts}")
    if parts < len(chunks[-1]):
        chunks, psnr = chunks[:-1] + (chunks[-1][:parts],), psnr[:-1] + (None,)
    return dataclasses.replace(header, layer_lengths=tuple(map(sum, chunks)), layer_psnr=psnr,
                               chunk_lengths=None if header.chunk_lengths is None else chunks)


def prefix_within(header: Header, max_bytes: int) -> tuple[int, int] | None:
    """The longest prefix that fits in max_bytes as a file of its own: (layers, chunks of the
    last one), or None when not even the first chunk fits."""
    prefixes = ((count, parts) for count in range(1, header.num_layers + 1)
                for parts in range(1, len(header.chunks[count - 1]) + 1))
    return max((prefix for prefix in prefixes if prefix_header(header, *prefix).file_size <= max_bytes), default=None)


def fit_to_budget(data: bytes, max_bytes: int) -> bytes:
    """The longest prefix of a complete file (whole chunks) that fits in max_bytes, written as a
    complete file of its own (header rewritten: its layer and chunk counts, lengths, PSNR values;
    a cut layer's PSNR unknown). Raises BudgetTooSmall when not even the first chunk fits,
    ContainerError for a bad file."""
    parsed = parse_container(data)
    if not parsed.complete or parsed.damage is not None:
        raise ValueError("only a complete, intact file can be cut to a byte budget")
    header = parsed.header
    if header.file_size <= max_bytes:
        return bytes(data)
    prefix = prefix_within(header, max_bytes)
    if prefix is None:
        first = prefix_header(header, 1, 1).file_size
        raise BudgetTooSmall(f"a budget of {max_bytes:,} bytes does not hold even the first quality "
                             f"layer of this picture ({first:,} bytes with the header)")
    kept = prefix_header(header, *prefix)
    layers = parsed.layers[:prefix[0]]
    layers[-1] = layers[-1][:kept.layer_lengths[-1]]
    return write_container(kept, layers)


# ---------------------------------------------------------------------------------------------
# Reading


def _damage_hint(start: bytes) -> str:
    """The transfer damage a magic shows, or ''."""
    if start[:1] == b"\x09" and MAGIC[1:].startswith(start[1:]):
        return ("the top bit of each byte was stripped (sent over a 7-bit link?); copy it again "
                "as binary")
    if start == MAGIC[:7] + b"\r":
        return "its line endings were converted (copied in text mode?); copy it again as binary"
    return ""


def _what_it_is(start: bytes) -> str:
    """What a file that is not a Strata file seems to be, in words, from its first bytes."""
    kind = sniff.kind_of(start)
    if kind:
        return f"it is {kind}; a picture becomes a Strata file by encoding it"
    if sniff.as_text(start):
        return f"it holds {sniff.holds(start)}, not a picture"
    return (f"its first bytes ({start.hex(' ')}) are not the signature every Strata file starts "
            f"with; was another file renamed, or this one damaged?")


def _check_magic(data) -> None:
    """Raise NotStrataFile as soon as the received bytes diverge from the magic."""
    start = bytes(data[:len(MAGIC)])
    if not MAGIC.startswith(start):
        damage = _damage_hint(start)
        raise NotStrataFile(f"not a Strata file any more: {damage}" if damage else
                            f"not a Strata file: {_what_it_is(start)}")


def _read_header_len(data) -> int:
    """Validate version and header_len (data holds at least the preamble); return header_len."""
    _, version, header_len = _PREAMBLE.unpack_from(data)
    if version not in READABLE_VERSIONS:
        known = " and ".join(map(str, READABLE_VERSIONS))
        raise UnsupportedVersion(f"Strata container version {version} is not supported "
                                 f"(this reader reads versions {known}); try a newer Strata")
    least = _MIN_HEADER_LEN[version]
    if not least <= header_len <= MAX_HEADER_LEN:
        raise HeaderCorrupted(f"header corrupted: header_len {header_len} is outside "
                              f"{least}..{MAX_HEADER_LEN}")
    return header_len


def _check_header_crc(data, header_len: int) -> None:
    """Compare the CRC32 of version..body with the stored header_crc."""
    end = _PREAMBLE.size + header_len
    expected = _U32.unpack_from(data, end)[0]
    actual = zlib.crc32(memoryview(data)[len(MAGIC):end])
    if actual != expected:
        raise HeaderCorrupted(f"header corrupted: its CRC32 is 0x{actual:08x} but the file "
                              f"records 0x{expected:08x}")


def _corrupted(problem: str) -> HeaderCorrupted:
    return HeaderCorrupted(f"header corrupted: {problem}")


def _read_varint(body: memoryview, pos: int) -> tuple[int, int]:
    """An unsigned LEB128 number at pos and the position after it; HeaderCorrupted when it runs
    past the body, is longer than 5 bytes, has a needless last byte 0, or exceeds MAX_CHUNK_LEN."""
    value = 0
    for shift, at in enumerate(range(pos, min(pos + 5, len(body)))):
        byte = body[at]
        value |= (byte & 0x7F) << (7 * shift)
        if not byte & 0x80:
            if byte == 0 and shift > 0 or value > MAX_CHUNK_LEN:
                raise _corrupted(f"the chunk length at header byte {pos} is malformed")
            return value, at + 1
    raise _corrupted(f"the chunk length at header byte {pos} runs past the header")


def _read_lengths_v1(body: memoryview, n: int) -> tuple[tuple[tuple[int, ...], ...], int]:
    """Version 1: a u32 length per layer (one chunk each); -> (chunk lengths, position after)."""
    end = _FIXED.size + 4 * n
    if end > len(body):
        raise _corrupted(f"header_len {len(body)} is too short for num_layers {n}")
    return tuple((length,) for length in struct.unpack_from(f"<{n}I", body, _FIXED.size)), end


def _read_lengths_v2(body: memoryview, n: int) -> tuple[tuple[tuple[int, ...], ...], int]:
    """Version 2: a u8 chunk count per layer, then every chunk's length as a LEB128 number."""
    pos = _FIXED.size + n
    if pos + n + 2 * n + _U16.size > len(body):  # counts, a byte per length at least, PSNR values
        raise _corrupted(f"header_len {len(body)} is too short for num_layers {n}")
    counts = body[_FIXED.size:pos]
    for i, count in enumerate(counts):
        if not 1 <= count <= MAX_CHUNKS:
            raise _corrupted(f"layer {i + 1} announces {count} chunks, outside 1..{MAX_CHUNKS}")
    chunks = []
    for count in counts:
        lengths = []
        for _ in range(count):
            length, pos = _read_varint(body, pos)
            lengths.append(length)
        chunks.append(tuple(lengths))
    return tuple(chunks), pos


def _decode_body(body: memoryview, version: int) -> Header:
    """Header fields from a CRC-verified body; raise HeaderCorrupted naming a bad field."""
    codec_id, model_id, digest, width, height, mode, n = _FIXED.unpack_from(body)
    codec = registry.by_container_id(codec_id)
    if codec is None:
        raise UnsupportedCodec(f"unknown codec id {codec_id} (this reader knows "
                               f"{', '.join(f'{s.name}={s.container_id}' for s in registry.LEARNED)}); "
                               f"the file may come from a newer Strata")
    if not 1 <= n <= MAX_LAYERS:
        raise _corrupted(f"num_layers {n} is outside 1..{MAX_LAYERS}")
    if mode >= len(SOURCE_MODES):
        raise _corrupted(f"mode {mode} is outside 0..{len(SOURCE_MODES) - 1}")
    chunks, pos = (_read_lengths_v1 if version == 1 else _read_lengths_v2)(body, n)
    params_at = pos + 2 * n + _U16.size
    if params_at > len(body):
        raise _corrupted(f"header_len {len(body)} is too short for num_layers {n}")
    centi = struct.unpack_from(f"<{n}H", body, pos)
    params_len = _U16.unpack_from(body, params_at - _U16.size)[0]
    if params_at + params_len != len(body):
        raise _corrupted(f"params_len {params_len} does not match header_len {len(body)} "
                         f"(expected {len(body) - params_at})")
    header = Header(codec.name, model_id, bytes(digest), width, height, SOURCE_MODES[mode],
                    tuple(map(sum, chunks)), tuple(None if c == PSNR_UNKNOWN else c / 100 for c in centi),
                    bytes(body[params_at:]), None if all(len(c) == 1 for c in chunks) else chunks, version)
    problem = _field_problem(header)
    if problem:
        raise _corrupted(problem)
    return header


def read_header(data) -> Header | None:
    """Parse the header from the start of data (any bytes-like object).

    Returns None while data is a valid but too short prefix; raises ContainerError on bad data,
    a wrong magic as soon as its first differing byte is present.
    """
    _check_magic(data)
    if len(data) < _PREAMBLE.size:
        return None
    header_len = _read_header_len(data)
    if len(data) < _PREAMBLE.size + header_len + _CRC_SIZE:
        return None
    _check_header_crc(data, header_len)
    return _decode_body(memoryview(data)[_PREAMBLE.size:_PREAMBLE.size + header_len], data[len(MAGIC)])


class _Slot(NamedTuple):
    """Where a chunk sits in the layer structure: chunk `part` of `parts` in layer `layer`."""

    layer: int
    part: int
    parts: int
    length: int


def _slots(header: Header) -> tuple[list[_Slot], LayerTooLong | None]:
    """Every chunk of the file in file order, up to the first whose length takes the payloads
    past max_payload_bytes (then its error)."""
    limit, total, slots = max_payload_bytes(header.width, header.height), 0, []
    for i, lengths in enumerate(header.chunks):
        for k, n in enumerate(lengths):
            total += n
            if total > limit:
                return slots, LayerTooLong(i, k, len(lengths), total, header.width, header.height)
            slots.append(_Slot(i, k, len(lengths), n))
    return slots, None


def _chunk_at(data, offset: int, slot: _Slot) -> bytes | None:
    """Chunk payload stored at offset, None if data ends first; raise LayerCorrupted on CRC error."""
    end = offset + slot.length
    if len(data) < end + _CRC_SIZE:
        return None
    payload = bytes(data[offset:end])
    expected = _U32.unpack_from(data, end)[0]
    actual = zlib.crc32(payload)
    if actual != expected:
        raise LayerCorrupted(slot.layer, expected, actual, slot.part, slot.parts)
    return payload


def _truncated_header(size: int) -> TruncatedHeader:
    return TruncatedHeader(f"the file is only {size} bytes long and ends inside the Strata header; "
                           f"nothing can be decoded")


def trailing_data(extra: int | None) -> TrailingData:
    """The damage of `extra` bytes (None: an uncounted number) after a complete file."""
    count = "Unexpected bytes" if extra is None else f"{extra} unexpected bytes"
    return TrailingData(f"{count} follow the last layer; all layers are intact")


def parse_container(data) -> ParsedFile:
    """Header and every complete, CRC-verified layer of a file or file prefix, and the complete
    chunks of the first incomplete layer.

    Stops at the first damaged chunk (ParsedFile.damage says which: LayerCorrupted, or
    LayerTooLong for a length past max_payload_bytes). Bytes after a complete file
    are reported as damage=TrailingData with all layers returned and complete=True.
    Raises ContainerError only when the header itself is unusable or incomplete (TruncatedHeader).
    """
    header = read_header(data)
    if header is None:
        raise _truncated_header(len(data))
    result = ParsedFile(header, [], complete=False)
    offset = header.size
    slots, too_long = _slots(header)
    for slot in slots:
        try:
            payload = _chunk_at(data, offset, slot)
        except LayerCorrupted as error:
            result.damage = error
            return result
        if payload is None:
            return result
        result.partial.append(payload)
        if slot.part == slot.parts - 1:
            result.layers.append(b"".join(result.partial))
            result.partial = []
        offset += slot.length + _CRC_SIZE
    if too_long is not None:
        result.damage = too_long
        return result
    result.complete = True
    if len(data) > offset:
        result.damage = trailing_data(len(data) - offset)
    return result


# ---------------------------------------------------------------------------------------------
# Reading from a file: the header first, then no more than it announces

_READ_CHUNK = 1 << 20


def read_header_from(stream) -> tuple[Header, bytes]:
    """Read exactly the header from a binary stream; return it and its bytes.

    The magic is checked in the first 8 bytes and at most 15 + MAX_HEADER_LEN bytes are read,
    so a foreign or endless input costs nothing. Raises ContainerError (TruncatedHeader when the
    stream ends inside the header).
    """
    data = _read_at_most(stream, _PREAMBLE.size)
    _check_magic(data)
    if len(data) == _PREAMBLE.size:
        data += _read_at_most(stream, _read_header_len(data) + _CRC_SIZE)
    header = read_header(data)
    if header is None:
        raise _truncated_header(len(data))
    return header, data


def prefix_length(header: Header, layers: int | None = None) -> int:
    """Bytes after the header that the first `layers` layers (default: all) take, up to the first
    chunk past max_payload_bytes (which is never read)."""
    count = header.num_layers if layers is None else max(0, min(layers, header.num_layers))
    slots, _ = _slots(header)
    kept = [slot for slot in slots if slot.layer < count]
    return sum(slot.length for slot in kept) + _CRC_SIZE * len(kept)


def read_prefix_from(stream, layers: int | None = None, check=None) -> bytes:
    """The header and the first `layers` layers (default: all) of a `.strata` file read from a
    binary stream, as far as the stream has them.

    Reads the header first (read_header_from), then at most what it announces for those layers
    (prefix_length; for a regular file no more than it holds), in chunks, so a lying length costs
    only the bytes that exist. check(size), when given, runs before the layers are read with the
    bytes the result will take (a memory check). Parse the result with parse_container;
    bytes_after tells whether anything follows a complete file.
    """
    header, data = read_header_from(stream)
    size = prefix_length(header, layers)
    remaining = _remaining(stream)
    size = size if remaining is None else min(size, remaining)
    if check is not None:
        check(len(data) + size)
    buffer = bytearray(data)
    buffer += _read_at_most(stream, size)
    return bytes(buffer)


def _remaining(stream) -> int | None:
    """Bytes of a regular file after its position; None for a pipe, a device or a buffer."""
    try:
        info = os.fstat(stream.fileno())
    except (OSError, AttributeError, ValueError):  # no file descriptor (io.UnsupportedOperation)
        return None
    return max(info.st_size - stream.tell(), 0) if stat.S_ISREG(info.st_mode) else None


def bytes_after(stream) -> int | None:
    """How many bytes a binary file holds after its position: its size tells for a regular file;
    otherwise one byte is read, giving 0 or None (some, uncounted). Use after read_prefix_from."""
    remaining = _remaining(stream)
    if remaining is not None:
        return remaining
    return None if stream.read(1) else 0


def _read_at_most(stream, size: int) -> bytes:
    """Up to size bytes (fewer at the end of the stream), read in bounded chunks."""
    parts, left = [], size
    while left > 0:
        part = stream.read(min(left, _READ_CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


@dataclass
class Survey:
    """What parse_container says of a file read from a stream, without its payloads: the layers
    intact, the chunks of the next one, whether the file is complete, why it stops, and its size
    (a regular file's; else the bytes read)."""

    header: Header
    layers: int = 0
    partial: int = 0
    complete: bool = False
    damage: ContainerError | None = None
    size: int = 0


def survey_from(stream) -> Survey:
    """Check every chunk's CRC of a `.strata` file read from a binary stream, in chunks, keeping
    no payload: any file costs the same memory. Reads no chunk past max_payload_bytes."""
    file_size = _remaining(stream)
    header, data = read_header_from(stream)
    survey = Survey(header, size=len(data))
    slots, too_long = _slots(header)
    for slot in slots:
        crc, read = _crc_from(stream, slot.length)
        stored = _read_at_most(stream, _CRC_SIZE)
        survey.size += read + len(stored)
        if read < slot.length or len(stored) < _CRC_SIZE:
            break
        if crc != _U32.unpack(stored)[0]:
            survey.damage = LayerCorrupted(slot.layer, _U32.unpack(stored)[0], crc, slot.part, slot.parts)
            break
        survey.partial += 1
        if survey.partial == slot.parts:
            survey.layers, survey.partial = survey.layers + 1, 0
    else:
        survey.damage, survey.complete = too_long, too_long is None
    if survey.complete:
        extra = bytes_after(stream)
        survey.size += extra or 0
        survey.damage = trailing_data(extra) if extra != 0 else None
    survey.size = survey.size if file_size is None else file_size
    return survey


def _crc_from(stream, size: int) -> tuple[int, int]:
    """(CRC-32, bytes read) of the next `size` bytes of a stream, read in bounded chunks."""
    crc, read = 0, 0
    while read < size:
        part = stream.read(min(size - read, _READ_CHUNK))
        if not part:
            break
        crc, read = zlib.crc32(part, crc), read + len(part)
    return crc, read


class StreamingReader:
    """Incremental parser for a `.strata` file arriving in pieces of any size.

    Memory holds only the bytes not yet consumed (never what a length field announces), and each
    feed costs time proportional to the bytes fed plus the chunks completed.
    """

    def __init__(self):
        self.header: Header | None = None
        self.damage: ContainerError | None = None
        self.bytes_received = 0
        self._buffer = bytearray()
        self._slots: list[_Slot] = []
        self._too_long: LayerTooLong | None = None  # the chunk after _slots, never read
        self._next = 0  # index into _slots
        self._header_error: ContainerError | None = None

    @property
    def done(self) -> bool:
        """True once every chunk has been received."""
        return self.header is not None and self._next == len(self._slots) and self._too_long is None

    def feed(self, data: bytes) -> list[Chunk]:
        """Add bytes; return the newly completed chunks, in order.

        Raises ContainerError if the header is bad (again on every later call). After chunk
        damage or trailing bytes, `damage` is set and nothing more is returned.
        """
        if self._header_error is not None:
            raise self._header_error
        self.bytes_received += len(data)
        if self.damage is not None:
            return []
        self._buffer += data
        if self.header is None and not self._take_header():
            return []
        return self._take_chunks()

    def _take_header(self) -> bool:
        """Parse the header once it is complete; True when it is available."""
        try:
            self.header = read_header(self._buffer)
        except ContainerError as error:
            self._header_error = error
            raise
        if self.header is not None:
            del self._buffer[:self.header.size]
            self._slots, self._too_long = _slots(self.header)
        return self.header is not None

    def _take_chunks(self) -> list[Chunk]:
        """Consume every chunk complete in the buffer."""
        completed = []
        while self._next < len(self._slots):
            slot = self._slots[self._next]
            try:
                payload = _chunk_at(self._buffer, 0, slot)
            except LayerCorrupted as error:
                self._fail(error)
                return completed
            if payload is None:
                return completed
            del self._buffer[:slot.length + _CRC_SIZE]
            completed.append(Chunk(slot.layer, slot.part, payload, slot.part == slot.parts - 1))
            self._next += 1
        if self._too_long is not None:
            self._fail(self._too_long)
        elif self._buffer:
            self._fail(trailing_data(len(self._buffer)))
        return completed

    def _fail(self, error: ContainerError) -> None:
        self.damage = error
        self._buffer = bytearray()
