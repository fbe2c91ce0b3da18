"""HC: the bitstream round trip, partial decodes, and the conditioning structure of HCE.

Structure and bitstream tests use a seeded, untrained model (the properties do not depend on
training); the quality test uses the shipped weights and is skipped until they exist.
"""
import numpy as np
import pytest
import torch

from codec import api, container
from codec.codecs.hc import HCCodec
from codec.models.hc import HC, HCConfig
from codec.registry import weights_file
from codec.weights import weights_payload


@pytest.fixture(scope="module")
def codec():
    torch.manual_seed(0)
    return HCCodec(weights_payload(HC(HCConfig(N=32, M=48)), "hc"), torch.device("cpu"), 1)


def test_round_trip_equals_the_encoders_reconstructions(codec, small_rgb):
    encoded = codec.encode(small_rgb)
    assert len(encoded.layers) == 3
    decoder = codec.decoder(small_rgb.shape[1], small_rgb.shape[0], encoded.params)
    for layer, payload in enumerate(encoded.layers):
        picture = decoder.decode_layer(payload)
        assert picture.shape == small_rgb.shape
        assert np.array_equal(picture, encoded.reconstructions[layer])


def test_range_decoding_then_synthesis_of_any_layer(codec, small_rgb, monkeypatch):
    """decode_symbols for every layer, then each picture on demand, newest first: the encoder's
    pictures, with each Gaussian computed once (4, where decode_layer used to compute 6)."""
    encoded = codec.encode(small_rgb)
    decoder = codec.decoder(small_rgb.shape[1], small_rgb.shape[0], encoded.params, history=True)
    calls = []
    gaussian = codec.gaussian
    monkeypatch.setattr(codec, "gaussian", lambda latent, context: calls.append(latent) or gaussian(latent, context))
    assert [decoder.decode_symbols(payload) for payload in encoded.layers] == [0, 1, 2]
    for layer in (2, 0, 1):
        assert np.array_equal(decoder.synthesize(layer), encoded.reconstructions[layer])
    assert sorted(calls) == ["y2", "y2", "y3", "y4"]
    with pytest.raises(IndexError):
        decoder.synthesize(3)


def test_latents_survive_the_coder(codec, small_rgb):
    encoded = codec.encode(small_rgb)
    decoder = codec.decoder(small_rgb.shape[1], small_rgb.shape[0], encoded.params)
    for payload in encoded.layers:
        decoder.decode_layer(payload)
    x = torch.from_numpy(small_rgb).permute(2, 0, 1)[None].float() / 255
    x = torch.nn.functional.pad(x, (0, 64 * 3 - x.shape[3], 0, 64 * 2 - x.shape[2]), mode="replicate")
    with torch.no_grad():
        y4, y3, y2 = codec.model.analysis(x)
    for name, latent in (("y4", y4), ("y3", y3), ("y2", y2)):
        decoded, shape = decoder.latents.decoded[name]
        assert decoded.reshape(shape).shape == latent[0].shape
        assert np.max(np.abs(decoded - latent[0].double().numpy().ravel())) <= 0.5 + 1e-6  # residual rounding


def test_parameters_depend_only_on_deeper_latents():
    torch.manual_seed(1)
    model = HC(HCConfig(N=32, M=48)).double().eval()
    z_hat = torch.randn(1, 32, 2, 2, dtype=torch.float64).round()
    y4 = torch.randn(1, 48, 8, 8, dtype=torch.float64).round()
    y3 = torch.randn(1, 16, 16, 16, dtype=torch.float64).round()
    with torch.no_grad():
        mu4, sigma4 = model.params_4(z_hat)
        mu3, sigma3, features = model.params_3(y4)
        mu2, sigma2 = model.params_2(y3, features)
        # changing y_2 cannot change anything: nothing takes y_2 as input
        # changing y_3 changes only the parameters of y_2
        mu3b, sigma3b, features_b = model.params_3(y4)
        mu2b, _ = model.params_2(y3 + 3, features_b)
        assert torch.equal(mu3, mu3b) and torch.equal(sigma3, sigma3b)
        assert not torch.equal(mu2, mu2b)
        # changing y_4 changes y_3's and y_2's parameters but not y_4's own
        mu3c, _, features_c = model.params_3(y4 + 2)
        assert not torch.equal(mu3, mu3c)
        assert torch.equal(model.params_4(z_hat)[0], mu4)


def test_partial_decodes_of_the_container(codec, small_rgb, monkeypatch):
    from codec import registry

    monkeypatch.setattr(registry, "load_codec", lambda *a, **k: codec)
    monkeypatch.setattr(api, "load_codec", lambda *a, **k: codec)
    data = api.encode(small_rgb, codec="hc", quality=1)
    header = container.read_header(data)
    assert header.codec == "hc" and header.num_layers == 3
    for layers in (1, 2, 3):
        result = api.decode(data[: header.layer_offset(layers)], device="cpu")
        assert len(result.layers) == layers and result.last.rgb.shape == small_rgb.shape
    corrupted = bytearray(data)
    corrupted[header.layer_offset(1) + 1] ^= 1
    result = api.decode(bytes(corrupted), device="cpu")
    assert len(result.layers) == 1 and isinstance(result.damage, container.LayerCorrupted)


@pytest.mark.skipif(not weights_file("hc", 2).exists(), reason="HC weights (resources/hc_q2.pt) are not installed")
def test_trained_hc_gets_better_with_every_layer(sample_rgb):
    data = api.encode(sample_rgb[:256, :384], codec="hc", quality=2, device="cpu")
    psnr = container.read_header(data).layer_psnr
    assert psnr[0] <= psnr[1] <= psnr[2]


def test_training_rates_are_conditioned_on_the_coded_latents_whatever_is_dropped(small_rgb):
    """y_2's rate (and rounding) is conditioned on the coded y_3 as in the codec, also when the
    synthesis drops y_3."""
    model = HC(HCConfig(N=16, M=24)).train()
    x = torch.from_numpy(small_rgb[:64, :64].copy()).permute(2, 0, 1)[None].float() / 255
    outputs = []
    for drop in (0.0, 1.0):
        torch.manual_seed(0)
        outputs.append(model(x, drop))
    assert torch.equal(outputs[0]["bpp"]["y2"], outputs[1]["bpp"]["y2"])


def test_the_residual_pass_codes_like_the_nested_pass_of_step_one():
    """ResidualPass (one probability row per sigma) reads and writes the streams of
    latent_coding's nested pass with step 1 (rows per element): files of either decode alike."""
    from codec.coding import entropy_coding as ec
    from codec.codecs.hc import ResidualPass
    from codec.coding.latent_coding import NestedState, SnappedGaussian, alphabet_size, decode_pass, encode_pass

    rng = np.random.default_rng(0)
    n = 20_000
    gaussian = SnappedGaussian.snap(torch.from_numpy(rng.normal(0, 2, n)), torch.from_numpy(rng.uniform(0.01, 30, n)))
    y_star = rng.normal(0, 1, n) * gaussian.sigma
    step = np.ones(n)
    K = alphabet_size(y_star, step)
    nested_state, nested_stream = NestedState.start(K, step), ec.new_encoder()
    encode_pass(nested_stream, nested_state, np.arange(n), step, gaussian.sigma, y_star)
    residual_stream = ec.new_encoder()
    values = ResidualPass(K, gaussian).encode(residual_stream, y_star)
    assert ec.finish(residual_stream) == ec.finish(nested_stream)
    assert np.array_equal(values, nested_state.value)
    state = NestedState.start(K, step)
    decode_pass(ec.new_decoder(ec.finish(nested_stream)), state, np.arange(n), step, gaussian.sigma)
    assert np.array_equal(ResidualPass(K, gaussian).decode(ec.new_decoder(ec.finish(nested_stream))), state.value)
