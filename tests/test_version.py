"""`strata --version` and `strata-view --version` print the version pyproject.toml declares."""
import tomllib
from pathlib import Path

import pytest

from codec import cli
from codec.version import VERSION
from viewer import app

REPO = Path(__file__).resolve().parent.parent


def test_the_version_is_the_packages():
    assert VERSION == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


@pytest.mark.parametrize("main, name", [(cli.main, "strata"), (app.parse_args, "strata-view")])
def test_both_commands_print_their_version(capsys, main, name):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"{name} {VERSION}\n"
