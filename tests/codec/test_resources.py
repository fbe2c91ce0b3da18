"""codec.resources: the shipped files' folder and the cache folders, in a checkout and installed."""
from __future__ import annotations

from pathlib import Path

from codec import resources

REPO = Path(__file__).resolve().parents[2]


def installed_layout(tmp_path: Path, monkeypatch, packaged: bool) -> Path:
    """A site-packages/codec folder (no pyproject.toml beside it) that codec.resources believes it is in."""
    codec = tmp_path / "site-packages" / "codec"
    codec.mkdir(parents=True)
    if packaged:
        (codec / resources.PACKAGED).mkdir()
    monkeypatch.setattr(resources, "_CODEC", codec)
    return codec


def test_checkout_finds_the_top_level_resources_folder():
    assert resources.checkout() == REPO
    assert resources.RESOURCES == REPO / "resources"
    assert (resources.RESOURCES / "deephq.pt").is_file()


def test_an_installed_package_uses_its_package_data(tmp_path, monkeypatch):
    codec = installed_layout(tmp_path, monkeypatch, packaged=True)
    assert resources.checkout() is None
    assert resources.resources_folder() == codec / resources.PACKAGED


def test_a_bundle_uses_the_folder_beside_codec(tmp_path, monkeypatch):
    codec = installed_layout(tmp_path, monkeypatch, packaged=False)
    assert resources.resources_folder() == codec.parent / "resources"


def test_caches_go_to_the_checkout_or_the_user_cache(tmp_path, monkeypatch):
    assert resources.cache_dir("anchors") == REPO / ".cache" / "anchors"
    installed_layout(tmp_path, monkeypatch, packaged=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert resources.cache_dir("anchors") == tmp_path / "cache" / "strata" / "anchors"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resources.cache_dir("pixels") == tmp_path / "home" / ".cache" / "strata" / "pixels"
