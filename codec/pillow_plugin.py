"""Pillow plugin for layered `.strata` files: Image.open, load, verify and save.

    import codec.pillow_plugin            # registers the STRATA format (importing does not load torch)
    from PIL import Image

    with Image.open("photo.strata") as img:        # reads the header only
        img.size, img.mode, img.info["psnr"]     # mode "L" for grayscale sources, else "RGB"
        img.layers = 3                           # optional, before load: decode the first 3 layers only
        img.load()                               # decodes with codec.api (torch is imported here)
    Image.open("photo.png").save("photo.strata", codec="hc", quality=2)

Choosing layers follows Pillow's JPEG 2000 plugin: `img.layers` is the number of quality layers
to decode, 0 (the default) meaning all of them; larger values are clamped to the file's count.
It must be set between open and the first load (anything that reads pixels loads).

`info` (from the header): "codec", "model_id", "layers" (count in the file), "psnr" (tuple of
the encoder's PSNR-RGB in dB per layer, None when unknown), "layer_bytes" (file size up to the
end of each layer), "source_mode"; after load also "decoded_layers".

Truncated or damaged files follow ImageFile.LOAD_TRUNCATED_IMAGES: by default load() raises
OSError when fewer complete, intact (or decodable) layers are present than were asked for; with it
set, load() decodes the intact ones (see info["decoded_layers"]). A file with no complete layer
always raises OSError. verify() checks every CRC without decoding. A header announcing more than
codec.api.MAX_IMAGE_PIXELS pixels makes load() raise Image.DecompressionBombError (Pillow's own
Image.MAX_IMAGE_PIXELS check applies at open, as for every format).

Save options: codec (a name of codec.registry.CODECS: "deephq", the default, or "hc"), quality
(HC model 1..4; DeepHQ has a single model, so quality is None or 0 and the reader chooses layers
instead), device ("auto"), effort (1 fastest, the default, to 9 best: codec/effort.py, as
`strata encode --effort`), and a byte budget: max_bytes (an int) or bpp (bits per pixel), as
`strata encode --max-bytes / --bpp` (codec.api.encode).
"""
from __future__ import annotations

from typing import IO

from PIL import Image, ImageFile

from codec import container, memory

FORMAT = "STRATA"
EXTENSION = ".strata"
MIME = "application/x-strata"


def _accept(prefix: bytes) -> bool:
    return prefix.startswith(container.MAGIC)


def _open_error(error: Exception) -> OSError:
    return OSError(f"cannot read Strata file: {error}")


class StrataImageFile(ImageFile.ImageFile):
    format = FORMAT
    format_description = "Strata layered image (learned progressive codec)"

    def _open(self) -> None:
        assert self.fp is not None
        self._start = self.fp.tell()
        try:
            header, _ = container.read_header_from(self.fp)
        except container.NotStrataFile as error:
            raise SyntaxError("not a Strata file") from error
        except container.ContainerError as error:
            raise _open_error(error) from error
        self.header = header
        self._mode = "L" if header.source_mode in ("L", "LA") else "RGB"
        self._size = (header.width, header.height)
        self.info.update(
            codec=header.codec,
            model_id=header.model_id,
            layers=header.num_layers,
            psnr=header.layer_psnr,
            layer_bytes=tuple(header.layer_offset(i + 1) for i in range(header.num_layers)),
            source_mode=header.source_mode,
        )
        self.layers = 0  # quality layers to decode, 0 = all (as in Pillow's JPEG 2000 plugin)
        self.tile = [ImageFile._Tile("strata", (0, 0, *self._size), self._start)]

    def _wanted_layers(self) -> int:
        layers = int(self.layers or 0)
        if layers < 0:
            raise ValueError(f"layers must be 0 (all) or a positive count, got {layers}")
        return min(layers or self.header.num_layers, self.header.num_layers)

    def _read_file(self, layers: int | None = None) -> bytes:
        """The header and the first `layers` layers (default: all), as far as the file has them,
        read only when their decode fits in memory (OSError naming it otherwise)."""
        assert self.fp is not None
        self.fp.seek(self._start)
        try:
            with memory.guard("reading the Strata file"):
                return container.read_prefix_from(self.fp, layers, _check_memory)
        except (container.ContainerError, memory.InsufficientMemory) as error:
            raise _open_error(error) from error

    def load(self) -> Image.core.PixelAccess | None:
        if self.tile:
            wanted = self._wanted_layers()
            data = self._read_file(wanted)
            parsed = _parse(data)
            available = min(len(parsed.layers), wanted)
            if available < wanted and not ImageFile.LOAD_TRUNCATED_IMAGES or available == 0:
                raise OSError(_truncation_message(parsed, wanted, len(data)))
            from codec import api  # torch is imported here, not when the plugin registers

            try:
                with memory.guard(f"decoding the {self.size[0]}x{self.size[1]} picture"):
                    result = api.decode(data, layers=available)
                    image = result.image()
            except api.ImageTooLarge as error:
                raise Image.DecompressionBombError(str(error)) from error
            except ValueError as error:  # ContainerError, WeightsMismatch, a corrupt layer 0, memory, ...
                raise OSError(f"cannot decode Strata file: {error}") from error
            decoded = len(result.layers)
            if decoded < wanted and not ImageFile.LOAD_TRUNCATED_IMAGES:  # a layer failed to decode
                raise OSError(f"Strata file: only {decoded} of {wanted} requested quality layers "
                              f"decode: {result.damage}")
            self.im = image.im
            self.info["decoded_layers"] = decoded
            self.tile = []
            self.readonly = 0
            if self._exclusive_fp and self._close_exclusive_fp_after_loading:
                self.fp.close()
            self.fp = None
        return Image.Image.load(self)

    def verify(self) -> None:
        """Raise SyntaxError unless the file is complete and every CRC matches (read in chunks,
        no payload kept)."""
        self.fp.seek(self._start)
        try:
            survey = container.survey_from(self.fp)
        except container.ContainerError as error:
            raise _open_error(error) from error
        if not survey.complete or survey.damage is not None:
            raise SyntaxError(_truncation_message(survey, self.header.num_layers, None))
        super().verify()


def _check_memory(size: int) -> None:
    """InsufficientMemory unless decoding a file of `size` bytes fits in memory (its copies)."""
    memory.require(memory.FILE_COPIES * size, f"decoding the {size:,} bytes of the Strata file")


def _parse(data: bytes) -> container.ParsedFile:
    try:
        with memory.guard("reading the Strata file"):
            return container.parse_container(data)
    except (container.ContainerError, memory.InsufficientMemory) as error:
        raise _open_error(error) from error


def _truncation_message(parsed: container.ParsedFile | container.Survey, wanted: int, size: int | None) -> str:
    header = parsed.header
    intact = parsed.layers if isinstance(parsed, container.Survey) else len(parsed.layers)
    if parsed.damage is not None and not isinstance(parsed.damage, container.TrailingData):
        reason = str(parsed.damage)
    elif parsed.complete:
        reason = str(parsed.damage) if parsed.damage else "complete"
    else:
        got = f"{size} of " if size is not None else ""
        reason = f"image file is truncated ({got}{header.file_size} bytes)"
    if intact == 0:
        return f"Strata file has no complete quality layer to decode: {reason}"
    return (f"Strata file has {intact} of {header.num_layers} quality layers intact, {wanted} "
            f"requested: {reason}; set img.layers = {intact} or ImageFile.LOAD_TRUNCATED_IMAGES = "
            f"True to decode the intact ones")


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    from codec import api, registry
    from codec.effort import DEFAULT_EFFORT

    options = im.encoderinfo
    codec = options.get("codec", registry.DEFAULT_CODEC)
    if codec in registry.NAMES and not registry.spec(codec).learned:
        raise OSError(f"cannot write Strata file: {registry.spec(codec).title} writes its own format, not .strata "
                      f"(codec.api.encode(..., codec={codec!r}))")
    try:
        data = api.encode(im, codec=codec,
                          quality=options.get("quality"), device=options.get("device", "auto"),
                          max_bytes=options.get("max_bytes"), max_bpp=options.get("bpp"),
                          effort=options.get("effort", DEFAULT_EFFORT))
    except ValueError as error:  # ImageInputError, a bad codec/quality/effort, WeightsError, BudgetTooSmall
        raise OSError(f"cannot write Strata file: {error}") from error
    fp.write(data)


def register() -> None:
    """Register the STRATA format with Pillow (idempotent; also done on import)."""
    Image.register_open(FORMAT, StrataImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, EXTENSION)
    Image.register_mime(FORMAT, MIME)


register()
