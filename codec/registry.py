"""The table of codecs: one CodecSpec per codec, and loading each model once per device.

Everything that depends on which codecs exist reads CODECS: the container (the codec id byte),
the API and the CLI (names, qualities), the weights files and their model classes, the memory
estimates, training (model classes, forward options) and evaluation (curve names). The viewer
takes its labels and choices from it too: `CODECS` (in menu order), `spec(name)`,
`spec.label(model_id)` ("DeepHQ", "HC q2"), `spec.tag(model_id)` ("deephq", "hc-q2", for file
names), `spec.model_ids`, `spec.is_family` and `installed_models()`. Adding a codec is one
CodecSpec below plus its own modules (network, bitstream, training options).

Two kinds of codec share the table. A **learned** codec (DeepHQ, HC) has weights files, a
network to train, and writes `.strata` files (its `container_id` is the header's codec id). A
**classic** codec (JPEG 2000 with quality layers, progressive JPEG) has neither weights nor
network: it writes its own standard format (`suffix`: .jp2, .jpg) with Pillow, and its layers
are where the format's quality layers or scans end (codec/classic_files.py). Both give the API
and the viewer the same LayeredCodec and LayerDecoder (codec/codecs/protocol.py). `LEARNED` and
`CLASSIC` are the two parts of CODECS, in table order.

No import cycles, and no torch at import time: this module imports only codec.resources, so the
container, the Pillow plugin and the viewer's GUI process read the table without loading torch,
and every codec module may import it. The classes and functions a spec names are written as
import paths ("module:attribute") and imported on first use (`spec.codec_class`, ...); a test
resolves every one of them.
"""
from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codec.resources import RESOURCES

if TYPE_CHECKING:
    import torch

    from codec.codecs.protocol import LayeredCodec


class WeightsError(ValueError):
    """A weights file that is missing, damaged, malformed or of an unknown codec (also
    codec.weights.WeightsError: defined here, where weights files are found, to keep torch out)."""


class UnknownCodec(WeightsError):
    """A codec name that is not in the table, or a model id its codec does not have."""


class UnknownQuality(ValueError):
    """A quality the codec has no model for (the message names the ones it has)."""


def _resolve(path: str):
    """The attribute a "module:attribute" import path names."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class CodecSpec:
    """One codec: its names, its id in files, its models and weights, and the code behind it.

    A codec has one model (DeepHQ: the reader chooses layers) or a family of models, one per
    quality (HC: quality k is model id k). Memory costs are (bytes per pixel, fixed bytes) of
    the peak RSS growth of a whole encode or decode, measured (docs/fuzzing.md, "Memory").
    """

    name: str  # in the API, the CLI, weights files and the Header
    title: str  # for people: "DeepHQ"
    container_id: int | None  # the codec id byte of the .strata header (docs/FORMAT.md); never reused; None: classic
    model_ids: tuple[int, ...]  # the shipped models; the first is the default
    weights_name: str | None  # shipped weights file name, "{model_id}" filled in; None: a classic codec
    codec_path: str  # the bitstream codec (codec.codecs.protocol.LayeredCodec), "module:Class"
    model_path: str | None  # the network (an nn.Module whose forward follows codec.models.contract)
    config_path: str | None  # the network's config dataclass
    training_options_path: str | None  # (TrainConfig, layers) -> keyword arguments of the forward
    encode_cost: tuple[int, int]  # memory.encode_bytes
    decode_cost: tuple[int, int]  # memory.decode_bytes
    suffixes: tuple[str, ...] = (".strata",)  # the file names it writes (the first) and reads
    pillow_feature: str | None = None  # a classic codec's Pillow library (PIL.features.check)

    @property
    def learned(self) -> bool:
        """A learned codec (weights, a network, .strata files); else a classic one."""
        return self.weights_name is not None

    @property
    def suffix(self) -> str:
        """The file name ending of what it writes: ".strata", ".jp2", ".jpg"."""
        return self.suffixes[0]

    @property
    def is_family(self) -> bool:
        """True when each quality is its own model."""
        return len(self.model_ids) > 1

    def label(self, model_id: int | None = None) -> str:
        """How a model is shown to people: "DeepHQ", "HC q2" (the title alone without model_id)."""
        return f"{self.title} q{model_id}" if self.is_family and model_id is not None else self.title

    def tag(self, model_id: int | None = None) -> str:
        """A name for files and curves: "deephq", "hc-q2"."""
        return f"{self.name}-q{model_id}" if self.is_family and model_id is not None else self.name

    @property
    def qualities(self) -> str:
        """The qualities a family offers, for people: "1 to 4 (1 is the lowest rate)"."""
        return f"{self.model_ids[0]} to {self.model_ids[-1]} ({self.model_ids[0]} is the lowest rate)"

    def model_for(self, quality: int | None) -> int:
        """The model id that codes a quality (None: the default model); UnknownQuality for a
        quality the codec has no model for."""
        if self.is_family:
            if quality is not None and quality not in self.model_ids:
                raise UnknownQuality(f"{self.title} has qualities {self.qualities}, not {quality}")
            return self.model_ids[0] if quality is None else int(quality)
        if quality not in (None, 0):
            raise UnknownQuality(f"{self.title} has one model for all qualities: choose the layers to decode instead")
        return self.model_ids[0]

    def weights_file(self, model_id: int) -> Path:
        """The shipped weights file of a model (which may not be installed)."""
        if not self.learned:
            raise UnknownCodec(f"{self.title} is a classic codec: it has no weights")
        if not self.is_family and model_id not in self.model_ids:
            raise UnknownCodec(f"{self.title} has a single model (model id {self.model_ids[0]}), not {model_id}")
        return RESOURCES / self.weights_name.format(model_id=model_id)

    def installed_model_ids(self) -> tuple[int, ...]:
        """The shipped models whose weights files exist; a classic codec's one model when
        Pillow has its library."""
        if not self.learned:
            from PIL import features

            return self.model_ids if features.check(self.pillow_feature) else ()
        return tuple(m for m in self.model_ids if self.weights_file(m).exists())

    @property
    def codec_class(self) -> type[LayeredCodec]:
        return _resolve(self.codec_path)

    def _learned_part(self, path: str | None, what: str):
        if path is None:
            raise UnknownCodec(f"{self.title} is a classic codec: it has no {what}")
        return _resolve(path)

    @property
    def model_class(self) -> type:
        return self._learned_part(self.model_path, "network")

    @property
    def config_class(self) -> type:
        return self._learned_part(self.config_path, "network config")

    @property
    def training_options(self):
        return self._learned_part(self.training_options_path, "training options")


CODECS: tuple[CodecSpec, ...] = (
    CodecSpec(
        name="deephq",
        title="DeepHQ",
        container_id=1,
        model_ids=(0,),
        weights_name="deephq.pt",
        codec_path="codec.codecs.deephq:DeepHQCodec",
        model_path="codec.models.deephq:DeepHQ",
        config_path="codec.models.deephq:DeepHQConfig",
        training_options_path="codec.models.deephq:training_options",
        encode_cost=(255, 0),
        decode_cost=(245, 0),
    ),
    CodecSpec(
        name="hc",
        title="HC",
        container_id=2,
        model_ids=(1, 2, 3, 4),
        weights_name="hc_q{model_id}.pt",
        codec_path="codec.codecs.hc:HCCodec",
        model_path="codec.models.hc:HC",
        config_path="codec.models.hc:HCConfig",
        training_options_path="codec.models.hc:training_options",
        encode_cost=(355, 400 << 20),
        decode_cost=(395, 0),
    ),
    # Classic codecs (their own formats, no weights; settings of docs/anchors_measured.md).
    # Decoding memory: one picture at a time (OpenJPEG's or libjpeg's buffers and Pillow's image),
    # measured 21 (JPEG 2000) and 15.5 (JPEG) bytes a pixel at 4 and 16 MP (docs/fuzzing.md), and
    # the file's copies (memory.FILE_COPIES), whatever the layer count.
    CodecSpec(
        name="jpeg2000",
        title="JPEG 2000",
        container_id=None,
        model_ids=(0,),
        weights_name=None,
        codec_path="codec.codecs.classic:JPEG2000Codec",
        model_path=None,
        config_path=None,
        training_options_path=None,
        encode_cost=(40, 0),
        decode_cost=(24, 0),
        suffixes=(".jp2", ".j2k", ".j2c", ".jpc"),
        pillow_feature="jpg_2000",
    ),
    CodecSpec(
        name="jpeg-progressive",
        title="Progressive JPEG",
        container_id=None,
        model_ids=(0,),
        weights_name=None,
        codec_path="codec.codecs.classic:ProgressiveJPEGCodec",
        model_path=None,
        config_path=None,
        training_options_path=None,
        encode_cost=(30, 0),
        decode_cost=(18, 0),
        suffixes=(".jpg", ".jpeg"),
        pillow_feature="jpg",
    ),
)
DEFAULT_CODEC = CODECS[0].name
NAMES = tuple(s.name for s in CODECS)
LEARNED = tuple(s for s in CODECS if s.learned)  # weights, networks, .strata files
CLASSIC = tuple(s for s in CODECS if not s.learned)  # their own standard formats
LEARNED_NAMES = tuple(s.name for s in LEARNED)


def spec(name: str) -> CodecSpec:
    """The spec of a codec by name; raises UnknownCodec."""
    for candidate in CODECS:
        if candidate.name == name:
            return candidate
    raise UnknownCodec(f"unknown codec {name!r}; known: {', '.join(NAMES)}")


def by_container_id(container_id: int) -> CodecSpec | None:
    """The spec whose codec id a .strata header carries, or None."""
    return next((s for s in LEARNED if s.container_id == container_id), None)


def weights_file(codec: str, model_id: int) -> Path:
    """Shipped weights of a codec model: deephq.pt, or hc_q<model_id>.pt for the HC family."""
    return spec(codec).weights_file(model_id)


def installed_models() -> dict[str, tuple[int, ...]]:
    """Codec name -> the model ids whose weights files exist, in table order."""
    return {s.name: s.installed_model_ids() for s in CODECS}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" -> CUDA when available, else CPU; anything else is passed to torch.device."""
    import torch

    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@functools.lru_cache(maxsize=8)
def _classic(codec: str, model_id: int) -> LayeredCodec:
    """A classic codec: no weights; Pillow's libraries run on the CPU."""
    return spec(codec).codec_class(None, None, model_id)


@functools.lru_cache(maxsize=8)
def _load(codec: str, model_id: int, path: str, device: torch.device) -> LayeredCodec:
    from codec.weights import read_weights

    weights = read_weights(path)
    if weights["codec"] != codec:
        raise WeightsError(f"{path} holds {weights['codec']} weights, not {codec}")
    return spec(codec).codec_class(weights, device, model_id)


def load_codec(codec: str = DEFAULT_CODEC, model_id: int = 0, device: str | torch.device = "auto",
               weights: str | Path | None = None) -> LayeredCodec:
    """A ready codec (model on device, coding tables loaded), cached per (codec, model, file, device);
    a classic codec ignores weights and device."""
    if not spec(codec).learned:
        return _classic(codec, spec(codec).model_for(model_id))
    path = Path(weights) if weights else weights_file(codec, model_id)
    return _load(codec, model_id, str(path), resolve_device(device))
