"""The architecture's import rules hold: `lint-imports` with the contracts of pyproject.toml
([tool.importlinter]: codec never imports Qt, the viewer's state and presentation never import
Qt, only the viewer's backend worker imports torch, the viewer's layers)."""
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import viewer

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr


def test_every_viewer_module_but_the_worker_is_kept_from_torch():
    """The torch contract names its sources one by one: a new viewer module must be among them."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if "torch" in c["forbidden_modules"])
    sources = contract["source_modules"]
    for module in pkgutil.walk_packages(viewer.__path__, "viewer."):
        if module.name != "viewer.backend.worker" and not module.ispkg:
            assert any(module.name == s or module.name.startswith(s + ".") for s in sources), module.name
