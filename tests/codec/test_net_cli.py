"""`strata decode URL` and `strata info URL` against a real server on 127.0.0.1 (issue 31):
only the header and the layers asked for are transferred, --verbose says so, and a broken
transfer exits 1 naming what is missing while the output keeps the complete layers."""
import numpy as np
import pytest
from PIL import Image

from codec import api, cli, container
from http_server import FileServer


@pytest.fixture(scope="module")
def server():
    with FileServer() as running:
        yield running


def run(argv, capsys):
    """(exit code, stdout, stderr) of one CLI run."""
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out.strip(), out.err.strip()


def test_decode_of_three_layers_transfers_the_header_and_three_layers(server, data, tmp_path, capsys):
    url = server.add("three.strata", data)
    code, out, _ = run(["decode", url, "--layers", "3", str(tmp_path / "out.png"), "--verbose"], capsys)
    end = container.read_header(data).layer_offset(3)
    assert code == cli.EXIT_OK and server.sent("three.strata") == end
    assert f"transferred {end:,} bytes in 3 requests" in out and "3 of 8 layers" in out
    expected = api.decode(data, layers=3, device="cpu").last.rgb
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), expected)


def test_decode_with_a_byte_budget_transfers_the_last_whole_chunk_within_it(server, data, tmp_path, capsys):
    url = server.add("budget.strata", data)
    header = container.read_header(data)
    budget = header.chunk_end(4, 1) + 3  # two of layer 5's chunks and a few bytes
    code, out, _ = run(["decode", url, "--max-bytes", str(budget), str(tmp_path / "url.png"), "-v"], capsys)
    assert code == cli.EXIT_OK and server.sent("budget.strata") == header.chunk_end(4, 1)
    local = tmp_path / "local.strata"
    local.write_bytes(data)
    assert run(["decode", str(local), "--max-bytes", str(budget), str(tmp_path / "local.png")], capsys)[0] == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "url.png")), np.asarray(Image.open(tmp_path / "local.png")))


def test_info_of_a_url_reads_the_header_alone(server, data, capsys):
    url = server.add("info.strata", data)
    code, out, _ = run(["info", url, "--verbose"], capsys)
    header = container.read_header(data)
    assert code == cli.EXIT_OK and server.sent("info.strata") == header.size
    assert f"{len(data)} bytes (header {header.size}" in out and out.count("(not fetched)") == 8
    assert f"transferred {header.size:,} bytes in 2 requests" in out


def test_a_reset_mid_layer_exits_1_and_keeps_the_complete_layers(server, data, tmp_path, capsys):
    header = container.read_header(data)
    url = server.add("reset.strata", data, reset_after=header.layer_offset(5) - header.size + 2)  # of the 3rd answer
    code, _, err = run(["decode", url, str(tmp_path / "out.png")], capsys)
    assert code == cli.EXIT_FAILED
    assert "Connection reset" in err and "layers 1–5 arrived, layers 6–8 are missing" in err
    assert "shows the first 5 of the 8 layers asked for" in err
    expected = api.decode(data, layers=5, device="cpu").last.rgb
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), expected)


def test_a_missing_file_exits_1_naming_the_status_and_writes_nothing(server, tmp_path, capsys):
    url = server.url("nothing-here.strata")
    code, _, err = run(["decode", url, str(tmp_path / "out.png")], capsys)
    assert code == cli.EXIT_FAILED and "404 Not Found" in err
    assert not list(tmp_path.iterdir())


def test_a_default_output_goes_to_the_current_folder(server, data, tmp_path, capsys, monkeypatch):
    url = server.add("named.strata", data)
    monkeypatch.chdir(tmp_path)
    assert run(["decode", url, "--layers", "1", "-q"], capsys)[0] == cli.EXIT_OK
    assert (tmp_path / "named.decoded.png").exists()  # never the name of the picture it came from
