"""Layered files of every format Strata streams: what the API, the CLI and the viewer read of one.

A layered file is a picture in layers whose prefixes decode, one after another as bytes arrive:
a `.strata` file (codec/container.py, docs/FORMAT.md), a JPEG 2000 file with quality layers or a
progressive JPEG (codec/classic_files.py). Whatever the format, a reader gets the same three
things, without torch or Qt (the viewer's GUI process uses them):

- the file's **layout** (`LayeredFile`): its codec (a name of the codec table,
  codec/registry.py), picture size, number of layers, where each layer ends in the bytes
  (`layer_offset(i + 1)`), its chunks (a `.strata` layer may have several; a classic layer is one)
  and each layer's PSNR when the file records it (None: unknown). `container.Header` is the
  layout of a `.strata` file, `classic_files.ClassicLayout` that of a classic file;
- `parse(data)`: the layout and the complete layers of a whole file or a prefix
  (a `container.ParsedFile`), or an error naming what is wrong;
- `StreamingReader`: the chunks each piece of a file arriving in pieces completes;
- `prefix_file(data, layout, count)`: the first layers of a file as a complete file of its own.
- `read_from(stream, layers)`: the bytes of a file or pipe that the first layers take, read no
  further than needed, bounded, and only when memory can hold them (`InsufficientMemory`).

Their payloads go to the codec's own layer decoder (`codec.api.open_layer_decoder(layout)`:
codec/codecs/protocol.py), so everything after the reader is the same for every format.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from codec import classic_files, container, memory
from codec.container import Chunk, ParsedFile

STRATA = "strata"


@runtime_checkable
class LayeredFile(Protocol):
    """The layout of a layered file, as container.Header and classic_files.ClassicLayout give it.
    Layers are indices from 0; offsets are bytes from the start of the file."""

    codec: str  # a name of codec.registry.CODECS
    model_id: int  # the model of a codec family (0 for single-model and classic codecs)
    weights_digest: bytes  # the weights that made the file (b"" for a classic codec)
    width: int
    height: int
    source_mode: str  # container.SOURCE_MODES
    params: bytes  # codec parameters for its layer decoder (b"" for a classic codec)

    @property
    def num_layers(self) -> int: ...

    @property
    def layer_lengths(self) -> tuple[int, ...]:
        """Bytes of each layer (a classic file's layer 0 includes its headers)."""
        ...

    @property
    def layer_psnr(self) -> tuple[float | None, ...]:
        """PSNR-RGB of each layer's picture as recorded in the file; None: unknown."""
        ...

    @property
    def chunks(self) -> tuple[tuple[int, ...], ...]:
        """The payload length of every chunk, per layer."""
        ...

    @property
    def file_size(self) -> int:
        """Bytes of the complete file (its last layer's end)."""
        ...

    def layer_offset(self, i: int) -> int:
        """Where layer i starts; layer_offset(i + 1) is where a reader has all of layer i."""
        ...

    def chunk_end(self, i: int, part: int) -> int:
        """Where a reader has chunk `part` of layer i."""
        ...


def kind(start) -> str | None:
    """"strata", "jp2", "j2k" or "jpeg" by a file's first bytes (12 tell every kind); None while
    too few bytes have arrived to tell. Anything that is no classic file is "strata", whose
    reader says what is wrong with it."""
    if not len(start):
        return None
    classic = classic_files.sniff(start)
    if classic is not None:
        return classic
    return None if len(start) < 12 and classic_files.could_be(start) else STRATA


def is_classic(start) -> bool:
    return kind(start) not in (None, STRATA)


def parse(data) -> ParsedFile:
    """The layout and complete layers of a file or a prefix of it, whatever its format (header:
    its LayeredFile). Raises container.ContainerError for a `.strata` file whose header is
    unusable, classic_files.ClassicFileError for a classic file that is not a usable layered file
    (both ValueErrors with a sentence for people)."""
    if is_classic(data):
        return classic_files.parse(data)
    return container.parse_container(data)


class StreamingReader:
    """A layered file of any format arriving in pieces: `feed(data)` returns the chunks
    (container.Chunk) the bytes complete, in order, once the first bytes have told the format;
    `header` is the layout once known, `damage` why the file stops early, `done` once every
    layer arrived. The format's reader raises a ValueError for a file it cannot read."""

    def __init__(self):
        self._start = bytearray()  # bytes before the format is known
        self._reader: container.StreamingReader | classic_files.StreamingReader | None = None

    @property
    def format(self) -> str | None:
        return None if self._reader is None else kind(self._start) or STRATA

    @property
    def header(self) -> LayeredFile | None:
        return None if self._reader is None else self._reader.header

    @property
    def damage(self) -> ValueError | None:
        return None if self._reader is None else self._reader.damage

    @property
    def done(self) -> bool:
        return self._reader is not None and self._reader.done

    @property
    def bytes_received(self) -> int:
        return len(self._start) if self._reader is None else self._reader.bytes_received

    def feed(self, data: bytes) -> list[Chunk]:
        if self._reader is not None:
            return self._reader.feed(data)
        self._start += data
        found = kind(self._start)
        if found is None:
            return []
        self._reader = container.StreamingReader() if found == STRATA else classic_files.StreamingReader()
        return self._reader.feed(bytes(self._start))


def prefix_suffix(layout: LayeredFile) -> str:
    """The suffix of prefix_file's file: ".strata", ".j2k" (a JPEG 2000 codestream, also of a
    JP2 file) or ".jpg"."""
    kind = getattr(layout, "kind", STRATA)
    return {STRATA: ".strata", "jpeg": ".jpg"}.get(kind, ".j2k")


def prefix_file(data, layout: LayeredFile, count: int) -> bytes:
    """The first `count` layers of a file's bytes (data holds at least them) as a complete file
    of its own: a `.strata` file whose header describes only them (container.prefix_header), or
    a classic file's decodable prefix (a JPEG 2000 codestream, a JPEG closed with EOI)."""
    if not 1 <= count <= layout.num_layers or len(data) < layout.layer_offset(count):
        raise ValueError(f"the data does not hold layers 1 to {count} of the file")
    if isinstance(layout, container.Header):
        parsed = container.parse_container(bytes(data[:layout.layer_offset(count)]))
        return container.write_container(container.prefix_header(layout, count), parsed.layers[:count])
    return classic_files.decodable_prefix(data, layout, count - 1)


def read_from(stream, layers: int | None = None, name: str = "the file") -> tuple[bytes, int | None]:
    """The bytes of a layered file's first `layers` layers (default: all), read from a binary
    stream (a file or a pipe) as far as it has them, and how many bytes follow them (None: some,
    uncounted).

    The first 12 bytes tell the format. A `.strata` file's header comes first, then at most what
    it announces for those layers (container.read_prefix_from); a classic file is read until
    those layers are in, its structure breaks or it outgrows what its picture may take
    (classic_files.read_from). Before holding more bytes, their decode's copies are checked
    against the memory this process can get: InsufficientMemory, naming `name`, else.
    """
    start = _read_start(stream)

    def check(size: int) -> None:
        memory.require(memory.FILE_COPIES * size, f"decoding the {size:,} bytes of {name}")
    if kind(start) in (None, STRATA):
        replay = _Replay(start, stream)
        return container.read_prefix_from(replay, layers, check), container.bytes_after(replay)
    return classic_files.read_from(stream, layers, start, check)


def _read_start(stream) -> bytes:
    """The first 12 bytes of a stream (fewer at its end)."""
    start = b""
    while len(start) < 12:
        piece = stream.read(12 - len(start))
        if not piece:
            break
        start += piece
    return start


class _Replay:
    """A binary stream whose first bytes were read already: they are read again first."""

    def __init__(self, start: bytes, stream):
        self._start, self._stream = start, stream

    def read(self, size: int) -> bytes:
        if self._start:
            piece, self._start = self._start[:size], self._start[size:]
            return piece
        return self._stream.read(size)

    def fileno(self) -> int:
        return self._stream.fileno()

    def tell(self) -> int:
        return self._stream.tell() - len(self._start)
