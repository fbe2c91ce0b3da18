"""The `strata` command on damaged, endless, huge and colliding inputs (issue 19, items 3-7), and
its outputs, usage errors and messages (issue 32)."""
import copy
import dataclasses
import os
import signal
import stat
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from codec import api, cli, container, images

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def strata_file(tmp_path, data):
    path = tmp_path / "tile.strata"
    path.write_bytes(data)
    return path


def run(argv, capsys):
    """(exit code, stderr lines) of one CLI run."""
    code = cli.main(argv)
    return code, capsys.readouterr().err.strip().splitlines()


def damaged_in_layer(data, layer):
    header = container.read_header(data)
    out = bytearray(data)
    out[header.layer_offset(layer) + header.layer_lengths[layer] // 2] ^= 0x40
    return bytes(out)


# --- item 3: decode exits 1 when a requested layer is missing or damaged ----------------------

def test_decode_of_a_damaged_layer_exits_1_naming_it(tmp_path, data, capsys):
    source = tmp_path / "damaged.strata"
    source.write_bytes(damaged_in_layer(data, 3))
    code, err = run(["decode", str(source), str(tmp_path / "out.png"), "-q"], capsys)
    assert code == cli.EXIT_FAILED
    assert len(err) == 1 and "quality layer 4 is corrupted" in err[0]
    assert "shows the first 3 of the 8 layers asked for" in err[0]
    expected = api.decode(data, layers=3, device="cpu").last.rgb
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), expected)
    code, _ = run(["decode", str(source), "--layers", "3", str(tmp_path / "three.png"), "-q"], capsys)
    assert code == cli.EXIT_OK  # the layers asked for are intact


def test_decode_of_a_truncated_file_exits_1_naming_the_missing_layer(tmp_path, data, capsys):
    header = container.read_header(data)
    source = tmp_path / "cut.strata"
    source.write_bytes(data[:header.layer_offset(6) - 1])
    code, err = run(["decode", str(source), str(tmp_path / "out.png")], capsys)
    assert code == cli.EXIT_FAILED
    assert len(err) == 1 and "quality layer 6 is missing" in err[0]
    assert f"ends after {header.layer_offset(6) - 1} of its {len(data)} bytes" in err[0]


def test_decode_of_more_layers_than_the_model_has_exits_1(tmp_path, data, capsys):
    """A valid container announcing 16 layers: the DeepHQ model decodes 8."""
    parsed = container.parse_container(data)
    header = parsed.header
    sixteen = container.Header(**{**header.__dict__, "layer_lengths": header.layer_lengths * 2,
                                  "layer_psnr": header.layer_psnr * 2, "chunk_lengths": header.chunks * 2})
    source = tmp_path / "sixteen.strata"
    source.write_bytes(container.write_container(sixteen, parsed.layers * 2))
    code, err = run(["decode", str(source), str(tmp_path / "out.png"), "-q"], capsys)
    assert code == cli.EXIT_FAILED and len(err) == 1 and "quality layer 9" in err[0]


def test_decode_of_an_emptied_layer_exits_1(tmp_path, data, capsys):
    header = container.read_header(data)
    start, length = header.layer_offset(2), header.layer_lengths[2]
    source = tmp_path / "emptied.strata"
    source.write_bytes(data[:start] + bytes(length) + data[start + length:])
    code, err = run(["decode", str(source), str(tmp_path / "out.png"), "-q"], capsys)
    assert code == cli.EXIT_FAILED and "quality layer 3" in err[0]


# --- item 4: the header is read first, then no more than it announces ------------------------

def endless_fifo(path, chunk=b"\0" * 65536, limit=64 << 20):
    """A named pipe fed zeros (up to `limit` bytes) by a thread; returns the thread and a
    list holding the byte count written."""
    os.mkfifo(path)
    written = [0]

    def feed():
        with open(path, "wb") as f:
            try:
                while written[0] < limit:
                    f.write(chunk)
                    written[0] += len(chunk)
            except BrokenPipeError:
                pass
    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    return thread, written


@pytest.mark.parametrize("command", ["info", "decode"])
def test_an_endless_foreign_input_is_refused_after_its_first_bytes(tmp_path, capsys, command):
    """`strata info /dev/zero` used to read until memory ran out."""
    fifo = tmp_path / "zeros"
    thread, written = endless_fifo(fifo)
    argv = ["info", str(fifo)] if command == "info" else ["decode", str(fifo), str(tmp_path / "o.png")]
    code, err = run(argv, capsys)
    thread.join(timeout=30)
    assert code == cli.EXIT_FAILED and "not a Strata file" in err[0]
    assert written[0] <= 1 << 20  # the pipe's buffer, not the 64 MiB on offer


def test_info_reads_no_more_than_the_header_announces(tmp_path, data, capsys):
    """A valid header whose last chunk is announced as 4 GiB: info reads what exists."""
    header = container.read_header(data)
    chunks = header.chunks[:-1] + (header.chunks[-1][:-1] + (2**32 - 1,),)
    lying = dataclasses.replace(header, chunk_lengths=chunks, layer_lengths=tuple(map(sum, chunks)))
    source = tmp_path / "lying.strata"
    source.write_bytes(container.pack_header(lying) + data[header.size:])
    info = cli.info_dict(source)
    assert not info["complete"] and info["file_bytes"] == len(data) - header.size + lying.size
    assert [layer["received"] for layer in info["layers"]] == [True] * 7 + [False]


def test_info_numbers_the_layers_from_1_as_the_viewer_and_the_messages_do(strata_file, data, capsys):
    damaged = damaged_in_layer(data, 3)
    strata_file.write_bytes(damaged)
    info = cli.info_dict(strata_file)
    assert [layer["layer"] for layer in info["layers"]] == list(range(1, 9))
    assert [layer["received"] for layer in info["layers"]] == [True] * 3 + [False] * 5
    assert info["damage"].startswith("quality layer 4 is corrupted")
    assert cli.main(["info", str(strata_file)]) == cli.EXIT_OK
    rows = capsys.readouterr().out.splitlines()[2:10]
    assert [int(row.split()[0]) for row in rows] == list(range(1, 9))
    assert rows[2].endswith(f"{info['layers'][2]['psnr']:.2f}")
    # the damaged layer and those after it are in the file but cannot be used: not "missing"
    assert all(row.endswith("(in the file, not usable: see damage)") for row in rows[3:])


def test_info_counts_trailing_bytes_from_the_file_size(strata_file, data):
    strata_file.write_bytes(data + b"junk")
    info = cli.info_dict(strata_file)
    assert info["complete"] and info["file_bytes"] == len(data) + 4
    assert info["damage"] == "4 unexpected bytes follow the last layer; all layers are intact"


# --- item 5: a picture too large for the encoder is refused before anything is allocated -----

def test_a_huge_image_is_refused_by_name_before_it_is_decoded(tmp_path, capsys):
    source = tmp_path / "huge.png"
    Image.new("1", (12000, 12000)).save(source)  # 144 MP in a few kB
    code, err = run(["encode", str(source), "-q", "--device", "cpu"], capsys)
    assert code == cli.EXIT_FAILED and len(err) == 1
    assert "12000x12000 picture (144,000,000 pixels), more than the limit of 33,554,432" in err[0]
    assert err[0].endswith("; if you trust it, use --max-pixels 144000000")
    assert "max_pixels=" not in err[0] and "MAX_IMAGE_PIXELS" not in err[0]
    assert not (tmp_path / "huge.strata").exists()


# --- item 6: outputs get the umask's mode, or keep the replaced file's -------------------------

def test_outputs_have_the_umasks_mode_and_overwrite_keeps_the_old_mode(tmp_path, tile, capsys):
    source = tmp_path / "tile.png"
    Image.fromarray(tile).save(source)
    previous = os.umask(0o022)
    try:
        assert cli.main(["encode", str(source), "-q", "--device", "cpu"]) == cli.EXIT_OK
        target = tmp_path / "tile.strata"
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        assert cli.main(["decode", str(target), str(tmp_path / "out.png"), "-q"]) == cli.EXIT_OK
        assert stat.S_IMODE((tmp_path / "out.png").stat().st_mode) == 0o644
        os.chmod(target, 0o640)
        assert cli.main(["encode", str(source), "-q", "--overwrite", "--device", "cpu"]) == cli.EXIT_OK
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
    finally:
        os.umask(previous)


# --- item 7: outputs that collide are refused before anything is written ----------------------

def test_two_inputs_with_one_output_name_are_refused_up_front(tmp_path, tile, capsys):
    for name in ("a.png", "a.jpg"):
        Image.fromarray(tile).save(tmp_path / name)
    out = tmp_path / "out"
    for extra in ([], ["--overwrite"], ["--skip-existing"]):
        argv = ["encode", str(tmp_path / "a.png"), str(tmp_path / "a.jpg"), "-d", str(out), "-q", *extra]
        code, err = run(argv, capsys)
        assert code == cli.EXIT_USAGE and len(err) == 1
        assert f"a.png and {tmp_path / 'a.jpg'} would both be written to {out / 'a.strata'}" in err[0]
        assert not out.exists()


def test_an_output_that_is_an_input_is_refused(tmp_path, tile, capsys):
    source = tmp_path / "x.jpg"
    Image.fromarray(tile).save(source)
    before = source.read_bytes()
    code, err = run(["encode", str(source), "-o", str(source), "--overwrite", "-q"], capsys)
    assert code == cli.EXIT_USAGE and "is an input" in err[0]
    assert source.read_bytes() == before


def test_info_says_missing_for_the_layers_a_cut_file_lacks(strata_file, data, capsys):
    header = container.read_header(data)
    strata_file.write_bytes(data[: header.layer_offset(6)])  # layers 1-6 whole, 7 and 8 not there
    assert cli.main(["info", str(strata_file)]) == cli.EXIT_OK
    rows = capsys.readouterr().out.splitlines()[2:10]
    assert not any("missing" in row or "not usable" in row for row in rows[:6])
    assert all(row.endswith("(missing)") for row in rows[6:])


# --- issue 32, item 1: decode never writes over the picture a file was probably made from -----

def test_decode_writes_name_decoded_png_beside_the_original_picture(tmp_path, tile, data, capsys):
    original = tmp_path / "photo.png"
    Image.fromarray(tile).save(original)
    before = original.read_bytes()
    (tmp_path / "photo.strata").write_bytes(data)
    code, err = run(["decode", str(tmp_path / "photo.strata"), "-q"], capsys)
    assert code == cli.EXIT_OK and err == []
    assert (tmp_path / "photo.decoded.png").exists() and original.read_bytes() == before


def test_decode_to_the_files_stem_never_suggests_overwrite(tmp_path, tile, data, capsys):
    original = tmp_path / "photo.png"
    Image.fromarray(tile).save(original)
    (tmp_path / "photo.strata").write_bytes(data)
    code, err = run(["decode", str(tmp_path / "photo.strata"), str(original), "-q"], capsys)
    assert code == cli.EXIT_FAILED and len(err) == 1
    assert "may be the picture photo.strata was encoded from" in err[0] and "--overwrite" not in err[0]
    (tmp_path / "photo.decoded.png").write_bytes(b"an earlier decode")
    code, err = run(["decode", str(tmp_path / "photo.strata"), "-q"], capsys)
    assert code == cli.EXIT_FAILED and "use --overwrite or --skip-existing" in err[0]


# --- issue 32, item 2: --layers beyond the file exits 1, --layers 0 is a usage error ----------

def test_decode_of_more_layers_than_the_file_has_exits_1(strata_file, tmp_path, data, capsys):
    out = tmp_path / "out.png"
    code, err = run(["decode", str(strata_file), "--layers", "9", "-o", str(out), "-q"], capsys)
    assert code == cli.EXIT_FAILED and len(err) == 1
    assert "the file has 8 quality layers, not the 9 asked for" in err[0] and f"{out} shows all 8" in err[0]
    expected = api.decode(data, device="cpu").last.rgb
    assert np.array_equal(np.asarray(Image.open(out)), expected)


def test_decode_of_more_layers_than_a_cut_file_holds_names_the_missing_one(tmp_path, data, capsys):
    header = container.read_header(data)
    source = tmp_path / "cut.strata"
    source.write_bytes(data[:header.layer_offset(5)])
    code, err = run(["decode", str(source), "--layers", "9", "-o", str(tmp_path / "out.png"), "-q"], capsys)
    assert code == cli.EXIT_FAILED and len(err) == 1
    assert "quality layer 6 is missing" in err[0] and "shows the first 5 of the 9 layers asked for" in err[0]


@pytest.mark.parametrize("layers", ["0", "-1", "two"])
def test_decode_of_no_layers_is_a_usage_error(strata_file, tmp_path, capsys, layers):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["decode", str(strata_file), "--layers", layers, "-o", str(tmp_path / "out.png")])
    assert exit_.value.code == cli.EXIT_USAGE and "--layers" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


# --- issue 32, item 3: a quality the codec lacks is a usage error; the default is said --------

@pytest.mark.parametrize("codec, quality, expected", [
    ("hc", "7", "HC has qualities 1 to 4 (1 is the lowest rate), not 7"),
    ("hc", "0", "HC has qualities 1 to 4 (1 is the lowest rate), not 0"),
    ("deephq", "2", "DeepHQ has one model for all qualities"),
    ("jpeg2000", "3", "JPEG 2000 has one model for all qualities")])
def test_encode_with_a_quality_the_codec_lacks_is_a_usage_error(tmp_path, tile, capsys, codec, quality, expected):
    source = tmp_path / "photo.png"
    Image.fromarray(tile).save(source)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["encode", str(source), "--codec", codec, "--quality", quality])
    err = capsys.readouterr().err
    assert exit_.value.code == cli.EXIT_USAGE and expected in err and "weights" not in err
    assert os.listdir(tmp_path) == ["photo.png"]


def test_encode_hc_without_quality_says_which_it_chose(tmp_path, tile, capsys):
    source = tmp_path / "photo.png"
    Image.fromarray(tile).save(source)
    code, err = run(["encode", str(source), "--codec", "hc", "--device", "cpu"], capsys)
    assert code == cli.EXIT_OK
    assert err == ["strata: --codec hc without --quality: quality 1 of 1 to 4 (1 is the lowest rate); "
                   "choose one with --quality"]
    assert container.read_header((tmp_path / "photo.strata").read_bytes()).model_id == 1


# --- issue 32, items 5 and 7: the pixel limit, in words, raised with --max-pixels -------------

def png_header(width: int, height: int) -> bytes:
    """A PNG of a width x height bilevel picture, all but its pixels (refused before they are read)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_max_pixels_raises_the_encoders_limit(tmp_path, tile, capsys):
    source = tmp_path / "tile.png"
    Image.fromarray(tile).save(source)
    code, err = run(["encode", str(source), "--max-pixels", "3000", "--device", "cpu", "-q"], capsys)
    assert code == cli.EXIT_FAILED
    assert err == [f"strata: {source}: too large to encode: a 64x48 picture (3,072 pixels), more than the limit "
                   f"of 3,000 pixels; if you trust it, use --max-pixels 3072"]
    code, _ = run(["encode", str(source), "--max-pixels", "3072", "--device", "cpu", "-q"], capsys)
    assert code == cli.EXIT_OK and (tmp_path / "tile.strata").exists()


def test_max_pixels_raises_the_decoders_limit(strata_file, tmp_path, capsys):
    out = tmp_path / "out.png"
    code, err = run(["decode", str(strata_file), "-o", str(out), "--max-pixels", "3000", "-q"], capsys)
    assert code == cli.EXIT_FAILED and not out.exists()
    assert err == [f"strata: {strata_file}: the file announces a 64x48 picture (3,072 pixels), more than the "
                   f"limit of 3,000 pixels; if you trust it, use --max-pixels 3072"]
    assert run(["decode", str(strata_file), "-o", str(out), "--max-pixels", "3072", "-q"], capsys) == (0, [])


def test_a_picture_beyond_the_format_is_refused_in_words(tmp_path, capsys):
    source = tmp_path / "bomb.png"
    source.write_bytes(png_header(20000, 20000))
    code, err = run(["encode", str(source), "-q", "--device", "cpu", "--max-pixels", "500000000"], capsys)
    assert code == cli.EXIT_FAILED and len(err) == 1
    assert err[0].endswith("too large to encode: a 20000x20000 picture (400,000,000 pixels), where a file holds "
                           "at most 65,535 pixels a side and 268,435,456 in all; scale it down first")


def test_reading_a_bomb_says_so_in_words_not_pillows(tmp_path):
    """What the viewer reads: Pillow's 'decompression bomb DOS attack' becomes ImageTooLarge."""
    source = tmp_path / "bomb.png"
    source.write_bytes(png_header(20000, 20000))
    with pytest.raises(api.ImageTooLarge) as error:
        images.open_image(source)
    assert str(error.value) == ("too large to open: a 20000x20000 picture (400,000,000 pixels), more than the "
                                "limit of 178,956,970 pixels; if you trust it, raise the pixel limit")
    assert (error.value.width, error.value.height, error.value.limit) == (20000, 20000, 178_956_970)
    assert copy.deepcopy(error.value).problem == error.value.problem  # rebuilt as pickle would


# --- issue 32, item 8: what a picture loses is a warning line --------------------------------

def test_encode_warns_of_a_dropped_alpha_channel(tmp_path, tile, capsys):
    rgba = Image.fromarray(tile).convert("RGBA")
    rgba.putpixel((3, 4), (0, 0, 0, 0))
    rgba.save(tmp_path / "alpha.png")
    Image.fromarray(tile).save(tmp_path / "plain.png")
    argv = ["encode", str(tmp_path / "alpha.png"), str(tmp_path / "plain.png"), "--codec", "jpeg-progressive", "-q"]
    code, err = run(argv, capsys)
    assert code == cli.EXIT_OK
    assert err == [f"strata: {tmp_path / 'alpha.png'}: warning: {images.ALPHA_NOTE}"]


# --- issue 32, item 18: --overwrite never replaces a device, pipe or folder --------------------

@pytest.mark.parametrize("command", ["encode", "decode"])
def test_overwrite_refuses_a_named_pipe_and_leaves_it(tmp_path, tile, data, capsys, command):
    source = tmp_path / ("in.png" if command == "encode" else "in.strata")
    Image.fromarray(tile).save(source) if command == "encode" else source.write_bytes(data)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    code, err = run([command, str(source), "-o", str(pipe), "--overwrite", "--device", "cpu", "-q"], capsys)
    assert code == cli.EXIT_FAILED
    assert err == [f"strata: {pipe} is a named pipe (FIFO), not a regular file; Strata writes only regular "
                   f"files, so name a file instead"]
    assert stat.S_ISFIFO(os.stat(pipe).st_mode) and sorted(os.listdir(tmp_path)) == sorted([source.name, "pipe"])


# --- issue 32, item 20: SIGTERM and SIGHUP while writing leave no temporary file --------------

STALLED_WRITE = """
import os, sys, time
from codec import cli

def stall(fd):
    print("writing", flush=True)
    time.sleep(60)

os.fsync = stall  # the output's bytes are written; the signal comes before its rename
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("signum, code, said", [(signal.SIGTERM, 143, "stopped by SIGTERM"),
                                                (signal.SIGHUP, 129, "stopped by SIGHUP"),
                                                (signal.SIGINT, cli.EXIT_INTERRUPTED, "interrupted")])
def test_a_signal_while_writing_leaves_no_temporary_file(tmp_path, tile, signum, code, said):
    """A real `strata encode` in its own process, stopped by a real signal halfway through writing."""
    Image.fromarray(tile).save(tmp_path / "in.png")
    argv = [sys.executable, "-c", STALLED_WRITE, "encode", "in.png", "-o", "out.jpg", "--codec", "jpeg-progressive", "-q"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # a shell's background job inherits SIGINT ignored, and Python then keeps it ignored: give the
    # child the default disposition a terminal's foreground command has
    restore = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    with subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          preexec_fn=restore) as child:
        assert child.stdout.readline() == "writing\n"
        assert any(name.endswith(".part") for name in os.listdir(tmp_path))  # caught in the act
        child.send_signal(signum)
        _, err = child.communicate(timeout=60)
    assert child.returncode == code and err.strip().splitlines()[-1] == f"strata: {said}"
    assert os.listdir(tmp_path) == ["in.png"]


# --- issue 32, item 21: info fails for a file with no usable layer; names never abort a batch --

def test_info_exits_1_when_the_first_layer_is_damaged_or_missing(tmp_path, data, capsys):
    header = container.read_header(data)
    damaged, cut = tmp_path / "damaged.strata", tmp_path / "cut.strata"
    damaged.write_bytes(damaged_in_layer(data, 0))
    cut.write_bytes(data[:header.layer_offset(0) + 3])
    code, err = run(["info", str(damaged)], capsys)
    assert code == cli.EXIT_FAILED
    assert err == [f"strata: {damaged}: no layer can be decoded: {container.parse_container(damaged.read_bytes()).damage}"]
    assert "quality layer 1 is corrupted" in err[0]
    code, err = run(["info", "--json", str(cut)], capsys)
    assert code == cli.EXIT_FAILED
    assert err == [f"strata: {cut}: no layer can be decoded: the file ends after {header.layer_offset(0) + 3} "
                   f"bytes, before quality layer 1 does (at byte {header.layer_offset(1)})"]


def test_info_prints_names_its_output_cannot_encode(tmp_path, data):
    """Under a strict ASCII output a non-UTF-8 name (and a non-ASCII one) used to abort the batch."""
    folder = os.fsencode(tmp_path)
    for name in (b"bad\xff.strata", "caf\u00e9.strata".encode(), b"good.strata"):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    with open(os.path.join(folder, b"text\xff.strata"), "wb") as f:
        f.write(b"hello")
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "ascii:strict", "LC_ALL": "C"}
    names = sorted(os.listdir(folder))
    result = subprocess.run([sys.executable, "-m", "codec.cli", "info", *names], cwd=folder, env=env,
                            capture_output=True)
    assert result.returncode == cli.EXIT_FAILED  # the text file
    headlines = [line for line in result.stdout.splitlines() if line.endswith(b"container version 2)")]
    assert [line.split(b":")[0] for line in headlines] == [b"bad\\xff.strata", b"caf\\xe9.strata", b"good.strata"]
    assert result.stderr.splitlines() == [b'strata: text\\xff.strata: not a Strata file: it holds text ("hello..."), '
                                          b'not a picture']


def test_encode_never_names_its_output_after_its_own_input(tmp_path, tile, capsys):
    """Item 1's sibling: photo.jpg encoded as a progressive JPEG defaulted to photo.jpg (exit 2)."""
    source = tmp_path / "photo.jpg"
    Image.fromarray(tile).save(source, quality=90)
    before = source.read_bytes()
    assert run(["encode", str(source), "--codec", "jpeg-progressive", "-q"], capsys) == (cli.EXIT_OK, [])
    assert source.read_bytes() == before and (tmp_path / "photo.jpeg-progressive.jpg").exists()
