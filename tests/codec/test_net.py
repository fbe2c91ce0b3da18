"""Layered files over HTTP (codec/net, issue 31) against a real server on 127.0.0.1
(tests/http_server.py): whole streams, range fetches that take exactly the bytes needed (counted
by the server), a server without range support, a throttled one, and every hostile server."""
import random
import socket

import numpy as np
import pytest

from codec import api, container, layered
from codec.net import errors, plan, remote
from codec.net.plan import Want
from http_server import FileServer

CHUNKS = ((400,), (300, 300, 300), (500, 500, 500, 500), (1200, 1200))


def strata_file(chunks=CHUNKS, seed=0) -> bytes:
    """A 64x48 DeepHQ file of random payloads in chunks (valid header and CRCs, not decodable)."""
    rng = random.Random(seed)
    lengths = tuple(map(sum, chunks))
    header = container.Header("deephq", 0, bytes(8), 64, 48, "RGB", lengths, (20.0, 24.0, 28.0, 32.0),
                              b"\x01" * 13, chunk_lengths=chunks)
    return container.write_container(header, [rng.randbytes(n) for n in lengths])


DATA = strata_file()
LAYOUT = container.read_header(DATA)


@pytest.fixture(scope="module")
def server():
    with FileServer() as running:
        yield running


@pytest.fixture(scope="module")
def classic_files(sample_rgb):
    """A JPEG 2000 file (12 quality layers) and a progressive JPEG (10 scans) of the sample."""
    return {"jp2": api.encode(sample_rgb, codec="jpeg2000"), "jpg": api.encode(sample_rgb, codec="jpeg-progressive")}


def serve(server, data, **behaviour) -> tuple[str, str]:
    """(url, name) of data served under a fresh name."""
    name = f"f{len(server.files)}.bin"
    return server.add(name, data, **behaviour), name


# ---- what is fetched ------------------------------------------------------------------------

def test_a_whole_stream_arrives_byte_for_byte(server):
    url, name = serve(server, DATA)
    fetched = remote.fetch(url)
    assert fetched.data == DATA and fetched.layers == 4 and fetched.damage is None
    assert server.sent(name) == len(DATA) == fetched.transferred


@pytest.mark.parametrize("layers", [1, 2, 3, 4])
def test_a_layer_limit_transfers_exactly_the_header_and_those_layers(server, layers):
    url, name = serve(server, DATA)
    fetched = remote.fetch(url, Want(layers=layers))
    end = LAYOUT.layer_offset(layers)
    assert fetched.data == DATA[:end] and fetched.layers == layers
    assert server.sent(name) == end  # nothing past the last layer asked for
    assert [a.range for a in server.answers(name)] == ["bytes=0-15", f"bytes=16-{LAYOUT.size - 1}",
                                                       f"bytes={LAYOUT.size}-{end - 1}"]


@pytest.mark.parametrize("budget", [LAYOUT.chunk_end(1, 1), LAYOUT.chunk_end(2, 0) + 499, LAYOUT.file_size - 1])
def test_a_byte_budget_transfers_the_last_whole_chunk_within_it(server, budget):
    url, name = serve(server, DATA)
    fetched = remote.fetch(url, Want(max_bytes=budget))
    end = max(e for _, _, e in plan.chunk_ends(LAYOUT) if e <= budget)
    assert server.sent(name) == len(fetched.data) == end
    parsed = container.parse_container(fetched.data)
    assert parsed.layers == container.parse_container(DATA).layers[:len(parsed.layers)]


def test_a_budget_smaller_than_the_first_layer_is_refused_by_name(server):
    url, _ = serve(server, DATA)
    with pytest.raises(container.BudgetTooSmall, match="does not hold even the first layer"):
        remote.fetch(url, Want(max_bytes=LAYOUT.size + 10))


def test_the_header_alone_is_read_for_info(server):
    url, name = serve(server, DATA)
    fetched = remote.fetch_header(url)
    assert fetched.layout == LAYOUT and fetched.layers == 0
    assert server.sent(name) == LAYOUT.size


def test_more_is_fetched_on_from_where_a_limit_stopped(server):
    url, name = serve(server, DATA)
    with remote.RemoteFile(url) as file:
        list(file.pieces(Want(layers=1)))
        list(file.pieces(Want(layers=3)))
        assert file.layers == 3 and bytes(file.data) == DATA[:LAYOUT.layer_offset(3)]
    assert server.sent(name) == LAYOUT.layer_offset(3)  # no byte twice


@pytest.mark.parametrize("layers", [1, 5, 12])
def test_a_jpeg_2000_file_is_cut_where_its_quality_layers_end(server, classic_files, layers):
    data = classic_files["jp2"]
    url, name = serve(server, data)
    layout = layered.parse(data).header
    fetched = remote.fetch(url, Want(layers=layers))
    end = layout.layer_offset(layers)
    assert fetched.layers == layers and fetched.data == data[:max(end, len(fetched.data))]
    assert server.sent(name) <= max(end, plan.HEAD_PROBE + plan.HEAD_WINDOW)  # headers: one window


def test_a_progressive_jpeg_is_read_until_its_scans_asked_for_are_in(server, classic_files):
    data = classic_files["jpg"]
    url, name = serve(server, data)
    end = layered.parse(data).header.layer_offset(3)
    fetched = remote.fetch(url, Want(layers=3))
    assert fetched.layers >= 3 and fetched.data == data[:len(fetched.data)]
    assert end <= server.sent(name) <= end + end // 2 + plan.SCAN_WINDOW  # at most one window past
    assert remote.fetch(url).data == data


def test_a_server_without_ranges_is_read_once_and_closed_when_the_layers_are_in(server):
    big = strata_file(((2000,), (60_000,), (200_000,), (400_000,)))
    url, name = serve(server, big, ranges=False, rate=2_000_000)
    fetched = remote.fetch(url, Want(layers=2))
    end = container.read_header(big).layer_offset(2)
    assert fetched.data == big[:end] and fetched.ignores_ranges
    assert [a.status for a in server.answers(name)] == [200]  # one answer, read on from request to request
    assert server.sent(name) < len(big) // 2  # closed early, not read to its end


def test_a_throttled_server_delivers_the_layers_one_after_another(server):
    url, _ = serve(server, DATA, rate=40_000)
    with remote.RemoteFile(url) as file:
        file.read_header()
        layer_times = []
        for _ in file.pieces():
            while len(layer_times) < file.layers:
                layer_times.append(file.seconds)
    assert layer_times == sorted(layer_times) and len(layer_times) == 4
    assert layer_times[-1] - layer_times[0] >= 0.8 * (len(DATA) - LAYOUT.layer_offset(1)) / 40_000


def test_api_decode_of_a_url_fetches_only_the_layers_asked_for(server, data):
    url, name = serve(server, data)
    result = api.decode(url, layers=2, device="cpu")
    assert np.array_equal(result.last.rgb, api.decode(data, layers=2, device="cpu").last.rgb)
    end = container.read_header(data).layer_offset(2)
    assert result.fetched.transferred == server.sent(name) == end


# ---- hostile servers ------------------------------------------------------------------------

@pytest.mark.parametrize("status, text", [(404, "there is no file at .* \\(404 Not Found\\)"),
                                          (403, "refuses access .* \\(403 Forbidden\\)"),
                                          (500, "failed to send .* \\(500 Internal Server Error\\)"),
                                          (503, "503 Service Unavailable")])
def test_an_error_status_is_named(server, status, text):
    url, _ = serve(server, DATA, status=status)
    with pytest.raises(errors.HTTPStatus, match=text) as caught:
        remote.fetch(url)
    assert caught.value.status == status


def test_a_redirect_loop_is_named(server):
    url, _ = serve(server, DATA, redirect_loop=True)
    with pytest.raises(errors.RedirectLoop, match="redirect loop"):
        remote.fetch(url)


def test_a_reset_mid_layer_keeps_the_complete_layers_and_names_the_missing_ones(server):
    url, _ = serve(server, DATA, reset_after=LAYOUT.layer_offset(3) - LAYOUT.size + 100)  # of the layers' answer
    fetched = remote.fetch(url)
    assert fetched.layers == 3 and fetched.data[:LAYOUT.layer_offset(3)] == DATA[:LAYOUT.layer_offset(3)]
    assert isinstance(fetched.damage, errors.ConnectionLost)
    assert "inside layer 4 of 4: layers 1–3 arrived, layer 4 is missing" in str(fetched.damage)


def test_a_stalled_connection_ends_with_the_timeout_named(server):
    url, _ = serve(server, DATA, stall_after=LAYOUT.layer_offset(2) - LAYOUT.size + 10, stall_seconds=2)
    fetched = remote.fetch(url, timeout=0.3)
    assert fetched.layers == 2 and isinstance(fetched.damage, errors.TimedOut)
    assert "sent nothing for 0.3 s (read timeout)" in str(fetched.damage)
    assert "layers 3–4 are missing" in str(fetched.damage)


def test_a_wrong_content_range_is_named(server):
    url, _ = serve(server, DATA, range_shift=5)
    with pytest.raises(errors.BadContentRange, match="wrong bytes \\(Content-Range: bytes 5-20/"):
        remote.fetch(url)


def test_a_content_length_that_disagrees_with_the_range_is_named(server):
    url, _ = serve(server, DATA, length_lie=100)
    with pytest.raises(errors.LengthMismatch, match="announced 116 bytes \\(Content-Length\\) for the 16 bytes"):
        remote.fetch(url)


def test_a_content_length_promising_bytes_that_never_come_is_named(server):
    url, _ = serve(server, DATA, ranges=False, length_lie=100)
    fetched = remote.fetch(url)
    assert fetched.layers == 4 and isinstance(fetched.damage, errors.LengthMismatch)
    assert f"announced {len(DATA) + 100:,} bytes (Content-Length)" in str(fetched.damage)


@pytest.mark.parametrize("ranges", [True, False])
def test_a_body_longer_than_the_header_says_is_dropped_and_named(server, ranges):
    url, _ = serve(server, DATA, ranges=ranges, extra=b"x" * 5000)
    fetched = remote.fetch(url)
    assert fetched.data == DATA and fetched.layers == 4
    assert isinstance(fetched.damage, errors.BodyTooLong)


def test_a_file_shorter_than_its_header_keeps_its_complete_layers(server):
    url, _ = serve(server, DATA[:LAYOUT.layer_offset(2) + 50])
    fetched = remote.fetch(url)
    assert fetched.layers == 2 and isinstance(fetched.damage, errors.SizeMismatch)
    assert f"ends after {LAYOUT.layer_offset(2) + 50:,} bytes" in str(fetched.damage)


def test_a_web_page_is_not_a_layered_file(server):
    url, _ = serve(server, b"<!DOCTYPE html><html><body>Sign in</body></html>", content_type="text/html")
    with pytest.raises(errors.NotLayeredURL, match="is not a layered file \\(the server sent text/html\\): not a Strata"):
        remote.fetch(url)


def test_a_baseline_jpeg_is_not_a_layered_file(server, sample_rgb):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(sample_rgb).save(buffer, "JPEG")
    url, _ = serve(server, buffer.getvalue())
    with pytest.raises(errors.NotLayeredURL, match="baseline JPEG"):
        remote.fetch(url)


def test_a_compressed_answer_is_refused(server):
    url, _ = serve(server, DATA, encoding="gzip")
    with pytest.raises(errors.UnexpectedEncoding, match="Content-Encoding: gzip"):
        remote.fetch(url)


def test_a_file_larger_than_a_fetch_may_hold_keeps_what_fits(server):
    url, name = serve(server, DATA)
    fetched = remote.fetch(url, max_size=LAYOUT.layer_offset(2) + 10)
    assert fetched.layers == 2 and isinstance(fetched.damage, errors.TooLarge)
    assert server.sent(name) == LAYOUT.layer_offset(2)


def test_a_refused_connection_and_a_bad_url_are_named():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(errors.ConnectFailed, match=f"cannot connect to 127.0.0.1:{port}"):
        remote.fetch(f"http://127.0.0.1:{port}/x.strata")
    with pytest.raises(errors.BadURL, match="not an http:// or https:// URL"):
        remote.fetch("ftp://example.com/x.strata")


# ---- the layers received, saved as a file of their own ---------------------------------------

@pytest.mark.parametrize("kind", ["strata", "jp2", "jpg"])
def test_the_complete_layers_received_make_a_file_of_their_own(classic_files, kind):
    import io

    from PIL import Image

    data = DATA if kind == "strata" else classic_files[kind]
    layout = layered.parse(data).header
    saved = layered.prefix_file(data[:layout.layer_offset(2) + 7], layout, 2)
    assert layered.prefix_suffix(layout) == {"strata": ".strata", "jp2": ".j2k", "jpg": ".jpg"}[kind]
    if kind == "strata":
        parsed = container.parse_container(saved)
        assert parsed.complete and parsed.layers == container.parse_container(DATA).layers[:2]
    else:
        assert Image.open(io.BytesIO(saved)).convert("RGB").size == (768, 512)
    with pytest.raises(ValueError, match="does not hold layers 1 to 3"):
        layered.prefix_file(data[:layout.layer_offset(2)], layout, 3)
