"""The codec table (codec/registry.py): ids, names, labels, the classes it names, the protocol
every codec follows (the classic ones too), and the one output contract of the models."""
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from codec import container, memory, registry
from codec.codecs.protocol import LayerDecoder, LayeredCodec
from codec.registry import CLASSIC, CODECS, LEARNED

REPO = Path(__file__).resolve().parents[2]
# The codec id byte of every file ever written (docs/FORMAT.md): changing one breaks old files.
FROZEN_CONTAINER_IDS = {"deephq": 1, "hc": 2}


def test_names_and_container_ids_are_unique_and_frozen():
    assert len({s.name for s in CODECS}) == len(CODECS)
    assert len({s.container_id for s in LEARNED}) == len(LEARNED)
    assert {s.name: s.container_id for s in LEARNED} == FROZEN_CONTAINER_IDS
    assert all(0 < s.container_id < 256 for s in LEARNED)
    assert registry.DEFAULT_CODEC == CODECS[0].name and registry.NAMES == tuple(s.name for s in CODECS)
    assert LEARNED + CLASSIC == CODECS and CODECS.index(LEARNED[-1]) < CODECS.index(CLASSIC[0])


def test_classic_codecs_have_their_own_formats_and_no_weights():
    assert [s.name for s in CLASSIC] == ["jpeg2000", "jpeg-progressive"]
    assert [s.suffix for s in CLASSIC] == [".jp2", ".jpg"] and {s.suffix for s in LEARNED} == {".strata"}
    for spec in CLASSIC:
        assert spec.container_id is None and not spec.learned and spec.label() == spec.title
        assert spec.installed_model_ids() == (0,)  # Pillow has OpenJPEG and libjpeg here
        for part in ("model_class", "config_class", "training_options"):
            with pytest.raises(registry.UnknownCodec, match="is a classic codec"):
                getattr(spec, part)
        with pytest.raises(registry.UnknownCodec, match="has no weights"):
            spec.weights_file(0)
    with pytest.raises(ValueError, match="not one of"):  # no .strata header names a classic codec
        container.write_container(container.Header("jpeg2000", 0, bytes(8), 8, 8, "RGB", (1,), (None,)), [b"x"])


@pytest.mark.parametrize("spec", LEARNED, ids=lambda s: s.name)
def test_every_container_id_round_trips_through_a_header(spec):
    header = container.Header(spec.name, spec.model_ids[-1], bytes(8), 64, 48, "RGB", (3, 0), (30.0, None))
    data = container.write_container(header, [b"abc", b""])
    assert data[11] == spec.container_id  # the byte after magic, version and header_len
    assert container.read_header(data) == header
    assert registry.by_container_id(spec.container_id) is spec


def test_an_unknown_id_or_name_is_refused_naming_the_known_ones():
    assert registry.by_container_id(0) is None
    with pytest.raises(registry.UnknownCodec, match="unknown codec 'jpeg'; known: deephq, hc, jpeg2000, jpeg-progressive"):
        registry.spec("jpeg")


def test_labels_tags_and_qualities():
    deephq, hc = registry.spec("deephq"), registry.spec("hc")
    assert (deephq.label(0), deephq.label(), deephq.tag(0)) == ("DeepHQ", "DeepHQ", "deephq")
    assert (hc.label(2), hc.label(), hc.tag(2)) == ("HC q2", "HC", "hc-q2")
    assert not deephq.is_family and hc.is_family
    assert (deephq.model_for(None), deephq.model_for(0), hc.model_for(None), hc.model_for(3)) == (0, 0, 1, 3)
    with pytest.raises(registry.UnknownQuality, match="DeepHQ has one model for all qualities"):
        deephq.model_for(2)


@pytest.mark.parametrize("quality", [0, 5, 7])
def test_a_quality_the_family_lacks_names_the_ones_it_has(quality):
    with pytest.raises(registry.UnknownQuality, match=rf"HC has qualities 1 to 4 \(1 is the lowest rate\), not {quality}$"):
        registry.spec("hc").model_for(quality)


def test_weights_files():
    assert registry.weights_file("deephq", 0).name == "deephq.pt"
    assert registry.weights_file("hc", 3) == registry.RESOURCES / "hc_q3.pt"
    with pytest.raises(registry.UnknownCodec, match=r"DeepHQ has a single model \(model id 0\), not 1"):
        registry.weights_file("deephq", 1)
    assert registry.installed_models()["deephq"] == (0,)  # shipped with the repository
    assert set(registry.installed_models()["hc"]) <= set(registry.spec("hc").model_ids)


def test_memory_estimates_come_from_the_table():
    for spec in CODECS:
        per_pixel, fixed = spec.encode_cost
        assert memory.encode_bytes(spec.name, 10**7) == per_pixel * 10**7 + fixed
        per_pixel, fixed = spec.decode_cost
        assert memory.decode_bytes(spec.name, 10**7) == per_pixel * 10**7 + fixed


def _signature(function) -> list[str]:
    return list(inspect.signature(function).parameters)


@pytest.mark.parametrize("spec", CODECS, ids=lambda s: s.name)
def test_every_named_class_resolves_with_the_protocol_s_methods(spec):
    for name in ("encode", "decoder"):
        assert _signature(getattr(spec.codec_class, name)) == _signature(getattr(LayeredCodec, name)), name
    assert spec.codec_class.name == spec.name
    if not spec.learned:
        return
    assert callable(spec.training_options) and issubclass(spec.model_class, torch.nn.Module)
    assert {"layers", "downsampling"} <= set(dir(spec.config_class))  # what training reads


@pytest.mark.parametrize("spec", CODECS, ids=lambda s: s.name)
def test_every_codec_round_trips_through_the_protocol_alone(spec, tile):
    if not spec.installed_model_ids():
        pytest.skip(f"no {spec.title} weights installed")
    codec = registry.load_codec(spec.name, spec.installed_model_ids()[0], "cpu")
    assert isinstance(codec, LayeredCodec) and codec.name == spec.name
    encoded = codec.encode(tile)
    assert len(encoded.layers) == codec.num_layers and len(codec.digest) == (8 if spec.learned else 0)
    decoder = codec.decoder(tile.shape[1], tile.shape[0], encoded.params, history=True)
    assert isinstance(decoder, LayerDecoder) and type(decoder).decode_layer is LayerDecoder.decode_layer
    for name in ("decode_chunk", "chunks_in", "synthesize"):
        assert _signature(getattr(type(decoder), name)) == _signature(getattr(LayerDecoder, name)), name
    assert [decoder.decode_symbols(encoded.layer_chunks(i)) for i in range(codec.num_layers)] == list(range(codec.num_layers))
    assert decoder.layer == codec.num_layers
    for index, picture in enumerate(encoded.reconstructions):
        assert (decoder.synthesize(index) == picture).all()


class _Config:
    """What training_options reads of a TrainConfig."""
    phase, drop = 2, 0.5


@pytest.mark.parametrize("spec", LEARNED, ids=lambda s: s.name)
@pytest.mark.parametrize("synthesize", [True, False])
def test_every_model_returns_the_one_output_contract(spec, synthesize):
    """x_hat (S, B, 3, H, W) or None, bpp {part: () or (S,)}, lmbda (S,): train.py's one loss."""
    torch.manual_seed(0)
    model = spec.model_class(spec.config_class(N=16, M=24)).train()
    x = torch.rand(2, 3, 64, 64)
    out = model(x, **spec.training_options(_Config, [0, 2]), synthesize=synthesize)
    rows = out["lmbda"].shape[0]
    assert out["lmbda"].shape == (rows,) and (out["lmbda"] > 0).all()
    assert out["x_hat"] is None if not synthesize else out["x_hat"].shape == (rows, 2, 3, 64, 64)
    assert out["bpp"] and all(b.shape in ((), (rows,)) for b in out["bpp"].values())


def test_reading_the_table_imports_neither_torch_nor_a_codec():
    code = ("import sys, codec.registry, codec.container; "
            "codec.registry.installed_models(); codec.registry.spec('hc').label(2); "
            "loaded = [m for m in ('torch', 'codec.codecs.deephq', 'codec.models.hc') if m in sys.modules]; "
            "print(loaded); sys.exit(bool(loaded))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
