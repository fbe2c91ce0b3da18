"""Fixtures for the viewer tests: offscreen Qt, a qasync loop, one shared pair of codec workers,
small images (128x96) that encode in about a second, and settings of their own: QSettings live
in a temporary folder under a test organisation and start empty in every test."""
import asyncio
import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="strata-view-config-")  # QSettings

import pytest
import qasync
from PIL import Image
from PySide6.QtCore import QCoreApplication, QSettings

from viewer.backend.client import CodecService
from viewer.refcounts import pin_singletons
from viewer.widgets.main_window import MainWindow
from viewer_helpers import make_image, run

pin_singletons()  # PySide6 6.12 on CPython 3.11 drops references to None/True/False
ORGANIZATION, APPLICATION = "StrataTests", "Strata Viewer Tests"
QCoreApplication.setOrganizationName(ORGANIZATION)  # before any QSettings() of a test
QCoreApplication.setApplicationName(APPLICATION)


@pytest.fixture(autouse=True)
def fresh_settings():
    """Every test starts with no remembered bandwidth, folders, recent files or encode choices
    (QSettings() as the viewer opens them: pytest-qt renames the application when it starts it)."""
    QSettings().clear()


@pytest.fixture(scope="session")
def loop(qapp):
    event_loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(event_loop)
    return event_loop


@pytest.fixture(scope="session")
def service(loop):
    codec_service = CodecService()
    codec_service.start()
    yield codec_service
    codec_service.shutdown()


@pytest.fixture
def window(qtbot, service):
    main_window = MainWindow(service)
    qtbot.addWidget(main_window)
    main_window.show()
    yield main_window
    main_window.close()


@pytest.fixture(scope="session")
def image_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "gradient.png"
    Image.fromarray(make_image()).save(path)
    return path


@pytest.fixture(scope="session")
def deephq_file(service, image_path, tmp_path_factory):
    """A complete DeepHQ file of image_path, made by the encoder worker."""
    result = run(service.encode(image_path, "deephq", None))
    path = tmp_path_factory.mktemp("layered") / "gradient.deephq.strata"
    path.write_bytes(result.data)
    return path


@pytest.fixture(scope="session")
def other_file(service, tmp_path_factory):
    """A DeepHQ file of another picture of image_path's size (128x96)."""
    path = tmp_path_factory.mktemp("other") / "flipped.png"
    Image.fromarray(make_image(seed=1)[::-1, ::-1].copy()).save(path)
    result = run(service.encode(path, "deephq", None))
    layered = path.with_suffix(".deephq.strata")
    layered.write_bytes(result.data)
    return layered
