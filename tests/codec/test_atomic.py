"""codec.atomic.write_atomic, the one atomic writer: whole files only, and the permissions an
ordinary open() gives, or those of the file replaced (issue 19, item 6: outputs were 0600)."""
import ast
import os
import stat
from pathlib import Path

import pytest

from codec.atomic import NotARegularFile, write_atomic

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def umask():
    """Set the process umask for a test; the old one comes back afterwards."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_file_gets_the_umasks_mode(tmp_path, umask, mask, expected):
    umask(mask)
    write_atomic(tmp_path / "new.bin", b"data")
    assert mode_of(tmp_path / "new.bin") == expected
    assert (tmp_path / "new.bin").read_bytes() == b"data"


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    target = tmp_path / "old.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new" and mode_of(target) == 0o640


def test_content_may_be_a_writer_and_parents_are_made(tmp_path):
    target = tmp_path / "a" / "b" / "out.bin"
    write_atomic(target, lambda f: f.write(b"written by a function"))
    assert target.read_bytes() == b"written by a function"


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "x.strata"
    target.write_bytes(b"old")

    def fail(f):
        f.write(b"half")
        raise OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, fail)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["x.strata"]


# --- issue 32, item 18: only regular files are written, never a device, pipe or folder ---------

def special_files(tmp_path) -> list[tuple[Path, str]]:
    """A named pipe, a folder and a link to the pipe (targets that are not regular files), each
    with what the refusal calls it."""
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "pipe")
    return [(tmp_path / "pipe", "a named pipe (FIFO)"), (tmp_path / "folder", "a folder"),
            (tmp_path / "link", "a named pipe (FIFO)")]


def test_a_special_file_is_refused_and_left_as_it_is(tmp_path):
    for target, kind in special_files(tmp_path):
        with pytest.raises(NotARegularFile) as error:
            write_atomic(target, b"data")
        assert str(error.value) == (f"{target} is {kind}, not a regular file; Strata writes only regular "
                                    f"files, so name a file instead")
    assert stat.S_ISFIFO(os.stat(tmp_path / "pipe").st_mode) and (tmp_path / "link").is_symlink()
    assert sorted(os.listdir(tmp_path)) == ["folder", "link", "pipe"] and os.listdir(tmp_path / "folder") == []


def test_a_symbolic_link_is_followed_and_kept(tmp_path):
    (tmp_path / "real.png").write_bytes(b"old")
    (tmp_path / "link.png").symlink_to("real.png")
    write_atomic(tmp_path / "link.png", b"new")
    assert (tmp_path / "link.png").is_symlink() and (tmp_path / "real.png").read_bytes() == b"new"


def _writes_files_itself(path: Path) -> list[str]:
    """Calls in a module that make temporary files or rename over targets."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("mkstemp", "NamedTemporaryFile", "replace", "rename") and \
                    isinstance(node.func.value, ast.Name) and node.func.value.id in ("tempfile", "os"):
                found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.func.value.id}.{node.func.attr}")
    return found


def test_every_atomic_write_goes_through_the_one_helper():
    """The CLI (twice), the viewer and the weights had their own copies, all making 0600 files."""
    sources = [p for folder in ("codec", "viewer") for p in (REPO / folder).rglob("*.py")]
    offenders = [hit for p in sources if p.name != "atomic.py" for hit in _writes_files_itself(p)]
    assert offenders == []
