"""codec.atomic.write_atomic, the one atomic writer: whole files only, and the permissions an
ordinary open() gives, or those of the file replaced (issue 19, item 6: outputs were 0600)."""
import ast
import os
import stat
from pathlib import Path

import pytest

from codec.atomic import write_atomic

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
