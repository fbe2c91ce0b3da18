"""Issue 32, item 17: files are read no further than their header says the layers asked for take,
bounded, and a failure is named. A sparse 1 GiB .strata file whose last chunk announced 4 GiB
made `strata info` hold 2.1 GB; at 3 GiB, info, decode and Pillow's load()/verify() ended in a
bare MemoryError; a JPEG from a pipe was read without limit."""
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from codec import api, classic_files, classic_layout, cli, container, layered, memory, registry
from codec.coding.tiling import UNTILED_UNITS
from codec.container import Header

REPO = Path(__file__).resolve().parents[2]
GIB = 1 << 30
# A 4096x4096 picture may take 512 MiB of payloads: a last chunk of 448 MiB is read (as zeros).
LARGE = (4096, 4096, 448 << 20, (448 << 20) + 4096)


def sparse_strata(path: Path, data: bytes, width: int, height: int, last: int, size: int) -> None:
    """The DeepHQ file `data` with its header rewritten for a width x height picture whose last
    chunk announces `last` bytes, made a sparse file of `size` bytes (zeros after the real ones)."""
    parsed = container.parse_container(data)
    h = parsed.header
    chunks = list(map(list, h.chunks))
    chunks[-1][-1] = last
    header = Header(h.codec, h.model_id, h.weights_digest, width, height, h.source_mode,
                    tuple(map(sum, chunks)), h.layer_psnr, h.params, tuple(map(tuple, chunks)))
    body = data[h.size:h.chunk_end(h.num_layers - 1, len(h.chunks[-1]) - 1) - h.chunks[-1][-1] - 4]
    with open(path, "wb") as f:
        f.write(container.pack_header(header) + body)
        f.truncate(size)


# The peak RSS of this process's memory (VmHWM; ru_maxrss would include the parent's, kept over exec).
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) // 1024"
PEAK_IN_CHILD = f"""
import sys
from codec import cli
code = cli.main(sys.argv[1:])
print("exit", code, "peak", {PEAK}, flush=True)
"""


def run_cli(*args: str) -> tuple[int, int, str]:
    """(exit code, peak RSS in MiB, stdout and stderr) of `strata ARGS` in a child process."""
    child = subprocess.run([sys.executable, "-c", PEAK_IN_CHILD, *args], capture_output=True, text=True,
                           cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}, timeout=300)
    last = child.stdout.strip().splitlines()[-1].split()
    return int(last[1]), int(last[3]), child.stdout + child.stderr


@pytest.mark.parametrize("size", [1 * GIB, 3 * GIB])
def test_info_reads_no_chunk_past_what_the_picture_can_take(data, tmp_path, size):
    """The issue's file: the 64x48 picture's last chunk announces 4 GiB; no codec writes more
    than max_payload_bytes (128 kB here), so the chunk is never read."""
    path = tmp_path / "sparse.strata"
    sparse_strata(path, data, 64, 48, 2**32 - 1, size)
    code, peak, out = run_cli("info", str(path))
    assert code == 0 and peak < 300, out  # before: 2.1 GB at 1 GiB, a MemoryError traceback at 3 GiB
    assert "takes the file's layers to" in out and "more than the 131,072 any codec writes for a 64x48" in out
    assert f"{size} bytes" in out
    code, _, out = run_cli("decode", str(path), str(tmp_path / "out.png"))
    assert code == cli.EXIT_FAILED and "Traceback" not in out and "takes the file's layers to" in out
    assert Image.open(tmp_path / "out.png").size == (64, 48)


def test_info_of_a_large_picture_checks_crcs_in_chunks(data, tmp_path):
    """Its 448 MiB of zeros are read in pieces, their CRC checked, nothing kept."""
    path = tmp_path / "large.strata"
    sparse_strata(path, data, *LARGE)
    code, peak, out = run_cli("info", str(path))
    assert code == 0 and peak < 300, out
    assert "quality layer 8 is corrupted (chunk 4 of 4)" in out


def test_decoding_what_memory_cannot_hold_is_refused_before_reading(data, tmp_path, monkeypatch, capsys):
    path = tmp_path / "large.strata"
    sparse_strata(path, data, *LARGE)
    monkeypatch.setattr(memory, "available_bytes", lambda: GIB)
    read = []
    real = container._read_at_most
    monkeypatch.setattr(container, "_read_at_most", lambda stream, size: read.append(size) or real(stream, size))
    assert cli.main(["decode", str(path), str(tmp_path / "out.png")]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "decoding the 469,7" in err
    assert "needs about 2.6 GiB of memory, but this process can get only 1.0 GiB" in err and str(path) in err
    assert sum(read) < 5000  # the preamble and the header only


def test_pillow_names_what_it_cannot_read(data, tmp_path, monkeypatch):
    import codec.pillow_plugin  # noqa: F401 - registers STRATA

    path = tmp_path / "large.strata"
    sparse_strata(path, data, *LARGE)
    with Image.open(path) as image:
        with pytest.raises(SyntaxError, match="quality layer 8 is corrupted"):
            image.verify()
    monkeypatch.setattr(memory, "available_bytes", lambda: GIB)
    with Image.open(path) as image:
        with pytest.raises(OSError, match="cannot read Strata file: decoding the .* needs about 2.6 GiB"):
            image.load()
    monkeypatch.undo()

    def fail(stream, size):
        raise MemoryError("out of memory")
    with Image.open(path) as image:
        monkeypatch.setattr(container, "_read_at_most", fail)
        with pytest.raises(OSError, match="cannot read Strata file: reading the Strata file ran out of memory"):
            image.load()


def test_verify_keeps_no_payload(data, tmp_path):
    path = tmp_path / "large.strata"
    sparse_strata(path, data, *LARGE)
    code = ("import sys\nfrom PIL import Image\nimport codec.pillow_plugin\n"
            "try:\n    Image.open(sys.argv[1]).verify()\nexcept SyntaxError as error:\n    print(error)\n"
            f"print({PEAK})")
    child = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=REPO,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    lines = child.stdout.splitlines()
    assert "quality layer 8 is corrupted" in lines[0] and int(lines[-1]) < 300, child.stdout + child.stderr


def test_a_classic_file_from_a_pipe_is_read_no_further_than_needed(small_rgb, tmp_path):
    """`strata decode --layers 2` of a progressive JPEG followed by endless bytes in a pipe."""
    data = api.encode(small_rgb, codec="jpeg-progressive")
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    written = []

    def writer():
        try:
            with open(fifo, "wb") as f:
                f.write(data)
                for _ in range(10_000):  # 10 GB if nobody stops reading
                    f.write(bytes(1 << 20))
                    written.append(1)
        except BrokenPipeError:
            pass
    thread = threading.Thread(target=writer)
    thread.start()
    assert cli.main(["decode", str(fifo), "--layers", "2", str(tmp_path / "out.png")]) == 0
    thread.join(timeout=60)
    assert not thread.is_alive() and len(written) < 10
    assert Image.open(tmp_path / "out.png").size == (136, 96)


def test_a_jpeg_whose_scan_never_ends_is_cut_off(monkeypatch, small_rgb):
    monkeypatch.setattr(classic_layout, "MAX_HEADER_BYTES", 4096)
    monkeypatch.setattr(classic_layout, "MAX_BYTES_PER_PIXEL", 1)
    data = api.encode(small_rgb, codec="jpeg-progressive")
    endless = _Endless(data[:data.index(b"\xff\xda") + 20])
    got, extra = classic_files.read_from(endless)
    assert len(got) <= classic_layout.max_file_bytes(136, 96) + classic_files.READ_CHUNK and extra is None
    with pytest.raises(classic_files.FileTooLong, match="runs past"):
        classic_files.parse(got)


def test_a_strata_file_from_a_pipe_is_read_to_the_layers_asked_for(data):
    """layered.read_from tells the format by the first 12 bytes, then reads the header and what
    it announces for those layers, no more."""
    header = container.parse_container(data).header
    got, extra = layered.read_from(io.BufferedReader(io.BytesIO(data + b"more")), layers=3)
    assert got == data[:header.layer_offset(3)] and extra is None
    got, extra = layered.read_from(io.BufferedReader(io.BytesIO(data)))
    assert got == data and extra == 0
    with pytest.raises(container.NotStrataFile):
        layered.read_from(io.BytesIO(bytes(100)))


class _Endless:
    """A pipe giving `start`, then bytes of entropy-coded data forever."""

    def __init__(self, start: bytes):
        self.start = start

    def read(self, size: int) -> bytes:
        if self.start:
            piece, self.start = self.start[:size], self.start[size:]
            return piece
        return b"\x55" * size


# --- the bounds themselves --------------------------------------------------------------------

def test_no_codec_writes_near_the_payload_bound():
    """24 bits a symbol at most (constriction's 24-bit precision), every latent value coded once a
    layer: DeepHQ 192 / 256 values a pixel in 8 layers, HC 0.75 + 0.25 + 0.25, z 128 / 4096."""
    deephq = 8 * 192 / 256 + 128 / 4096
    hc = 192 / 256 + 16 / 64 + 4 / 16 + 128 / 4096
    assert 3 * max(deephq, hc) * 1.5 < container.MAX_PAYLOAD_BYTES_PER_PIXEL
    assert container.max_payload_bytes(1, 1) == container.MAX_PAYLOAD_BYTES_PER_PIXEL * 64 * 64


def test_noise_stays_far_below_the_payload_bound():
    noise = np.random.default_rng(0).integers(0, 256, (64, 128, 3), dtype=np.uint8)
    data = api.encode(noise, device="cpu", psnr=False)
    payload = sum(container.parse_container(data).header.layer_lengths)
    assert payload < container.max_payload_bytes(128, 64) / 4


def test_the_memory_module_s_untiled_size_is_the_tiling_s():
    assert memory.UNTILED_PIXELS == UNTILED_UNITS * 16 * 16
    assert registry.spec("jpeg2000").decode_cost[0] < registry.spec("deephq").decode_cost[0]
