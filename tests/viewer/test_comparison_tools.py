"""What an image comparison viewer is expected to have (issue 32, items 9 and 10 and the missing
pieces): the arrival table holding a file's layers, the error map's amplification and scale,
pixel values under the cursor, zoom presets, full screen, MS-SSIM, a target size for encoding."""
import pytest

from viewer.state import files
from viewer_helpers import TIMEOUT_MS, run


def wait_shown(qtbot, window, index, pane=0):
    qtbot.waitUntil(lambda: window.viewer.stream(pane).shown == index, timeout=TIMEOUT_MS)


def open_both(qtbot, window, image_path, first, second):
    """The original, and two layered files of it side by side, every layer arrived."""
    run(window.open_path(image_path))
    window.viewer.load_encoded([files.read_layered(first), files.read_layered(second)])
    window.side_action.setChecked(True)
    wait_shown(qtbot, window, 7)
    wait_shown(qtbot, window, 7, pane=1)


def visible_rows(table) -> list[int]:
    """Rows of a table wholly inside its viewport."""
    height = table.viewport().height()
    return [row for row in range(table.rowCount())
            if table.rowViewportPosition(row) >= 0 and table.rowViewportPosition(row) + table.rowHeight(row) <= height]


def test_the_arrival_table_holds_a_files_layers_at_the_default_size(qtbot, window, image_path, deephq_file,
                                                                    other_file):
    assert (window.width(), window.height()) == (1400, 860)
    open_both(qtbot, window, image_path, deephq_file, other_file)
    window.panel.refresh()
    qtbot.wait(50)
    table = window.panel.table
    assert table.rowCount() == 16
    assert len(visible_rows(table)) >= 12  # one file's 8 layers, or a JPEG 2000 file's 12
    assert table.horizontalScrollBar().isHidden() or not table.horizontalScrollBar().isVisible()
    table.scrollToTop()
    assert visible_rows(table)[:8] == list(range(8))  # layer 1 of pane A's file among them
