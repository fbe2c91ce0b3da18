"""The main window: menus, toolbar, shortcuts, panes (side by side, or split with a layer
control on each side), side panel, status bar, drag and drop, recent files and the folder's
next image, files from URLs (Open URL, a URL pasted or dropped), encoding, saving the layers
received and export (PNG, the layer table as CSV). Messages go to a banner above
the panes, never to dialogs."""
from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QMainWindow,
                               QMessageBox, QProgressBar, QPushButton, QSplitter, QVBoxLayout, QWidget)

from codec import registry
from codec.net.urls import is_url
from viewer.backend import protocol as p
from viewer.backend.client import CodecService, WorkerStopped
from viewer.control.controller import Viewer
from viewer.control.encoding import Encoding, Target
from viewer.control.preferences import Preferences
from viewer.control.streaming import NetworkSimulator
from viewer.presentation.charts import table_csv
from viewer.presentation.encoding import progress_text
from viewer.presentation.panes import activity_parts, readout_parts
from viewer.presentation.shortcuts import shortcut_rows
from viewer.presentation.streams import placeholder
from viewer.presentation.window import (about_text, error_map_unavailable, folder_end_text, original_unavailable,
                                        pane_title, status_parts)
from viewer.state import files, folders
from viewer.state.version import strata_version
from viewer.widgets.dialogs import EncodeDialog, shortcuts_dialog
from viewer.widgets.labels import Banner, PartsLabel
from viewer.widgets.pane import PaneView
from viewer.widgets.panel import Panel
from viewer.widgets.pixel_limit import PixelLimit
from viewer.widgets.toolbar import FetchLimitFields, NetworkFields
from viewer.widgets.view_tools import ViewTools


class MainWindow(QMainWindow):
    """Strata Viewer. Pass a CodecService to share workers (the window then leaves them running)."""

    def __init__(self, service: CodecService | None = None):
        super().__init__()
        self.setWindowTitle("Strata Viewer")
        self.owns_service = service is None
        self.service = service or CodecService()
        self.service.start()
        self.viewer = Viewer(self.service, self)
        self.encoding = Encoding(self.service, self)
        self.capabilities: p.Capabilities | None = None
        self.preferences = Preferences()
        self.active_pane = 0
        self.banner = Banner()
        self.panes = (PaneView(), PaneView())
        self.panes[1].canvas.link(self.panes[0].canvas)
        self.panel = Panel(self.viewer)
        self.pixel_limit = PixelLimit(self, self.viewer, self.encoding, self.preferences, self.banner, self.open_path)
        self.view_tools = ViewTools(self, self.viewer, self.preferences, [p.canvas for p in self.panes], self._canvas)
        self._build_central()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self.setAcceptDrops(True)
        self.resize(1400, 860)
        self._refresh_all()
        self._capabilities_task = asyncio.ensure_future(self._query_capabilities())

    # ---- construction -------------------------------------------------------------------

    def _build_central(self) -> None:
        """The banner, the panes' pictures in a row, and their controls in a row under them (in
        split view pane A's picture spans the row, and both controls stay)."""
        panes = QWidget()
        pictures, controls = QHBoxLayout(), QHBoxLayout()
        for row in (pictures, controls):
            row.setContentsMargins(0, 0, 0, 0)
        for pane in self.panes:
            pictures.addWidget(pane, 1)
            controls.addWidget(pane.controls, 1)
        column = QVBoxLayout(panes)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.banner)
        column.addLayout(pictures, 1)
        column.addLayout(controls)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(panes)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([1000, 400])
        self.setCentralWidget(self.splitter)

    def _action(self, text: str, slot, shortcut=None, checkable: bool = False, tip: str = "") -> QAction:
        """An action of the window; tip, when given, says more than text (toolbar, F1 list)."""
        action = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        if tip:
            action.setToolTip(tip)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.open_action = a("&Open…", self.choose_file, "Ctrl+O", tip="Open an image or layered file")
        self.compare_action = a("Open for &Comparison…", self.choose_comparison, "Ctrl+Shift+O",
                                tip="Open a layered file to compare (pane B)")
        self.url_action = a("Open &URL…", self.choose_url, "Ctrl+L",
                            tip="Open a layered file (.strata, .jp2, progressive .jpg) from an http(s) URL")
        self.paste_action = a("&Paste URL", self.paste_url, "Ctrl+V", tip="Open the http(s) URL on the clipboard")
        self.save_action = a("&Save Received Layers…", self.choose_save, "Ctrl+S",
                             tip="Save the complete layers received of the active pane's file")
        self.encode_action = a("&Encode…", self.choose_encoding, "Ctrl+E", tip="Encode the open image")
        self.cancel_action = a("&Cancel Encoding", self.encoding.cancel, "Esc")
        self.export_action = a("E&xport Displayed Layer as PNG…", self.choose_export, "Ctrl+Shift+S")
        self.table_action = a("Export Layer &Table as CSV…", self.choose_table_export, "Ctrl+Shift+T",
                              tip="Export the per-layer table (sizes, bpp, PSNR, arrival) as CSV")
        self.next_image_action = a("Ne&xt Image in Folder", lambda: self.open_neighbour(1), ["N", "Ctrl+Right"],
                                   tip="Open the next image (or layered file) of the folder")
        self.previous_image_action = a("Previous Ima&ge in Folder", lambda: self.open_neighbour(-1),
                                       ["P", "Ctrl+Left"], tip="Open the previous image (or layered file) of the folder")
        self.close_action = a("&Close", self.viewer.clear, "Ctrl+W", tip="Close everything")
        self.close_b_action = a("Close Co&mparison", self.viewer.close_comparison, "Ctrl+Shift+W",
                                tip="Close the file of pane B")
        self.quit_action = a("&Quit", self.close, "Ctrl+Q")
        self.zoom_in_action = a("Zoom &In", lambda: self._canvas().zoom_in(), ["+", "=", "Ctrl++"])
        self.zoom_out_action = a("Zoom &Out", lambda: self._canvas().zoom_out(), ["-", "Ctrl+-"])
        self.fit_action = a("&Fit to Window", lambda: self._canvas().fit(), ["F", "Ctrl+0"])
        self.actual_action = a("&Actual Size (1:1)", lambda: self._canvas().actual_size(), ["1", "Ctrl+1"])
        self.side_action = a("&Side by Side", self._refresh_layout, "Ctrl+B", checkable=True,
                             tip="Panes A and B side by side")
        self.split_action = a("S&plit View", self._refresh_layout, "Ctrl+Shift+B", checkable=True,
                              tip="Split view: pane A left of the line, pane B (or the original) right; "
                                  "Shift+drag moves the split")
        self.original_action = a("Show &Original", self.set_show_original, "O", checkable=True,
                                 tip="Show the original in pane A")
        self.error_action = a("&Error Map", self.set_error_map, "M", checkable=True,
                              tip="Show |decoded − original|, amplified, instead of the picture")
        self.panel_action = a("Side &Panel", self.panel.setVisible, "F9", checkable=True,
                              tip="Show / hide the side panel")
        self.play_action = a("&Play", self.viewer.play_pause, "Space", tip="Play / pause the stream")
        self.restart_action = a("&Restart", self.viewer.restart, "R", tip="Restart the stream")
        self.previous_action = a("Pre&vious Layer", lambda: self.step_layer(-1), ["PgUp", "["])
        self.next_action = a("&Next Layer", lambda: self.step_layer(1), ["PgDown", "]"])
        self.first_action = a("F&irst Layer", lambda: self.step_layer(-99), "Home", tip="First arrived layer")
        self.last_action = a("&Last Layer", lambda: self.step_layer(99), "End", tip="Last arrived layer")
        self.full_screen_action = a("F&ull Screen", self._set_full_screen, "F11", checkable=True,
                                    tip="Full screen on / off")
        self.shortcuts_action = a("&Keyboard Shortcuts", self._show_shortcuts, "F1")
        self.about_action = a("&About", self._about)
        self.panel_action.setChecked(True)
        self.layouts = QActionGroup(self)  # side by side or split, or neither: pane A alone
        self.layouts.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        for action in (self.side_action, self.split_action):
            self.layouts.addAction(action)
        self.side_action.setChecked(True)

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """The F1 list: every action's keys and what it does, then the canvas gestures."""
        text = QKeySequence.SequenceFormat.NativeText
        return shortcut_rows((action.toolTip(), [key.toString(text) for key in action.shortcuts()])
                             for action in self.actions())

    def _show_shortcuts(self) -> None:
        shortcuts_dialog(self, self.shortcut_rows()).exec()

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.open_action, self.compare_action, self.url_action, self.paste_action])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addActions([self.next_image_action, self.previous_image_action])
        file_menu.addSeparator()
        file_menu.addActions([self.encode_action, self.cancel_action])
        file_menu.addSeparator()
        file_menu.addActions([self.save_action, self.export_action, self.table_action])
        file_menu.addSeparator()
        file_menu.addActions([self.close_b_action, self.close_action])
        file_menu.addSeparator()
        file_menu.addActions([self.pixel_limit.action, self.quit_action])
        view = bar.addMenu("&View")
        view.addActions([self.zoom_in_action, self.zoom_out_action, self.fit_action, self.actual_action])
        view.addMenu(self.view_tools.zoom.menu)
        view.addSeparator()
        view.addActions([self.side_action, self.split_action, self.original_action, self.error_action])
        view.addMenu(self.view_tools.error_gain.menu)
        view.addActions([self.panel_action, self.full_screen_action])
        stream = bar.addMenu("&Stream")
        stream.addActions([self.play_action, self.restart_action])
        stream.addSeparator()
        stream.addActions([self.previous_action, self.next_action, self.first_action, self.last_action])
        self.panel.table.addAction(self.table_action)  # right click on the table
        self.panel.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([self.shortcuts_action, self.about_action])

    def _build_toolbar(self) -> None:
        tools = self.addToolBar("Main")
        tools.setObjectName("main toolbar")
        tools.addActions([self.open_action, self.encode_action])
        tools.addSeparator()
        tools.addActions([self.play_action, self.restart_action])
        self.network_fields = NetworkFields(self.preferences)
        self.viewer.network.set_bandwidth(self.network_fields.rate())
        self.viewer.network.set_latency(self.network_fields.latency.value() / 1000)
        tools.addWidget(self.network_fields)
        self.fetch_fields = FetchLimitFields()
        tools.addWidget(self.fetch_fields)
        tools.addSeparator()
        tools.addActions([self.fit_action, self.actual_action])
        tools.addWidget(self.view_tools.zoom.box)
        tools.addActions([self.side_action, self.split_action, self.error_action])
        tools.addWidget(self.view_tools.error_gain.button)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.info = PartsLabel()
        status.addWidget(self.info, 1)
        self.encode_label = QLabel()
        self.encode_bar = QProgressBar(maximumWidth=120, minimum=0, maximum=0)
        self.encode_cancel = QPushButton("Cancel")
        self.encode_cancel.clicked.connect(self.encoding.cancel)
        for widget in (self.encode_label, self.encode_bar, self.encode_cancel):
            status.addPermanentWidget(widget)
            widget.hide()
        status.addPermanentWidget(self.view_tools.pixel)
        self.device = QLabel("Device: starting…")
        status.addPermanentWidget(self.device)
        self._encode_clock = QElapsedTimer()
        self._encode_stage, self._encode_fraction = "", None
        self._encode_timer = QTimer(self, interval=250)
        self._encode_timer.timeout.connect(self._show_encode_progress)

    def _connect(self) -> None:
        v = self.viewer
        v.documentChanged.connect(self._refresh_all)
        v.displayChanged.connect(self._refresh_pane)
        v.received.connect(self._on_received)
        v.layerDecoded.connect(lambda pane, index: self._refresh_pane(pane))
        v.measured.connect(lambda pane, index: self._refresh_pane(pane))
        v.notice.connect(self.banner.show_message)
        v.opened.connect(self._on_opened)
        v.network.stateChanged.connect(self._on_playback)
        for number, pane in enumerate(self.panes):
            pane.layerChosen.connect(lambda index, n=number: self.viewer.select_layer(n, index))
            pane.canvas.shown.connect(self._on_shown)
            pane.canvas.zoomChanged.connect(self._refresh_status)
        self.network_fields.bandwidthChanged.connect(self.viewer.network.set_bandwidth)
        self.network_fields.latencyChanged.connect(self.viewer.network.set_latency)
        self.network_fields.done.connect(lambda: self._canvas().setFocus())
        self.fetch_fields.limitChanged.connect(self.viewer.set_fetch_limit)
        self.fetch_fields.done.connect(lambda: self._canvas().setFocus())
        self.panel.notice.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.encoding.stage.connect(self._on_encode_stage)
        self.encoding.finished.connect(self._on_encoded)
        self.encoding.failed.connect(self._on_encode_end)
        self.encoding.cancelled.connect(lambda: self._on_encode_end("Encoding cancelled."))
        QApplication.instance().focusChanged.connect(self._on_focus)

    # ---- files --------------------------------------------------------------------------

    def open_path(self, path, pane: int = 0) -> asyncio.Future:
        """Open a file (pane 0), or a layered file to compare (pane 1); stops a running encode.
        Relative paths are made absolute, so that Open Recent works from any folder; an http(s)
        URL opens from the network (open_url)."""
        if pane == 0:
            self.encoding.cancel()
        if is_url(str(path)):
            return self.open_url(str(path), pane)
        return self.viewer.open(Path(path).expanduser().resolve(), pane)

    def open_url(self, url: str, pane: int = 0) -> asyncio.Future:
        """Open a layered file from a URL: it arrives from the network, as far as the toolbar's
        fetch limit asks."""
        self.statusBar().showMessage(f"Connecting to {url.strip()}…", 5000)
        return self.viewer.open_url(url, pane)

    def choose_url(self) -> None:
        url, ok = QInputDialog.getText(self, "Open URL", "URL of a .strata, JPEG 2000 or progressive JPEG file:",
                                       text=self._clipboard_url() or "https://")
        if ok and url.strip():
            self._open_url_text(url)

    def paste_url(self) -> None:
        """Open the URL on the clipboard; say so when there is none."""
        url = self._clipboard_url()
        if url is None:
            self.banner.show_message("The clipboard holds no http(s) URL to open.", "file")
            return
        self.open_url(url)

    def _clipboard_url(self) -> str | None:
        text = QApplication.clipboard().text().strip()
        return text if is_url(text) else None

    def _open_url_text(self, url: str) -> None:
        if not is_url(url.strip()):
            self.banner.show_message(f"{url.strip()!r} is not an http:// or https:// URL.", "file")
            return
        self.open_url(url)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open", self._folder("open"), files.OPEN_FILTER)
        if path:
            self.open_path(path)

    def choose_comparison(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open for comparison", self._folder("open"),
                                              files.COMPARE_FILTER)
        if path:
            self.open_path(path, pane=1)

    def open_neighbour(self, step: int) -> asyncio.Task | None:
        """Open the next (step 1) or previous (-1) file of pane A's kind in its folder."""
        current = self.viewer.session.main_path()
        if current is None:
            self.banner.show_message("Open an image first: the next one is taken from its folder.", "file")
            return None
        try:
            path = folders.neighbour(current, step)
        except OSError as error:
            self.banner.show_message(f"Could not read the folder {current.parent}: {error}", "file")
            return None
        if path is None:
            self.statusBar().showMessage(folder_end_text(current, step), 5000)
            return None
        return self.open_path(path)

    def _on_opened(self, path: str) -> None:
        self.banner.dismiss()
        self.preferences.add_recent(path)
        original = self.viewer.session.original
        if original is not None and str(original.path) == str(path) and original.notes:
            text = f"{original.path.name}: {' '.join(original.notes)}"
            self.banner.show_message(text, "open")
            self.statusBar().showMessage(text, 10000)

    def _recent(self) -> list[str]:
        return self.preferences.recent()

    def _folder(self, use: str) -> str:
        """The folder a file dialog starts in: the one last used for use, else home."""
        return self.preferences.folder(use) or str(Path.home())

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            self.recent_menu.addAction(path, lambda p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self._recent()))

    def dragEnterEvent(self, event) -> None:
        if _dropped(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """One file (or http(s) URL) opens in pane A; a second layered file goes to pane B."""
        paths = _dropped(event.mimeData())
        if paths:
            self._open_sequence(paths[:2])
            event.acceptProposedAction()

    def _open_sequence(self, paths: list[str]) -> asyncio.Task:
        async def run():
            await self.open_path(paths[0])
            if len(paths) > 1:
                await self.open_path(paths[1], pane=1)
        return asyncio.ensure_future(run())

    # ---- saving the layers received -----------------------------------------------------

    def choose_save(self) -> None:
        """Save the complete layers received of the active pane's file (nothing else writes a
        URL's bytes to disk)."""
        pane = self.active_pane if self.viewer.stream(self.active_pane) is not None else 0
        stream = self.viewer.stream(pane)
        if stream is None or not stream.intact_layers:
            self.banner.show_message("Nothing to save: no complete layer has arrived.")
            return
        path = self._save_name("Save received layers", files.received_name(stream), "Layered files (*.strata *.j2k *.jpg)")
        if path:
            self.save_received(path, pane)

    def save_received(self, path: Path, pane: int = 0) -> None:
        """Write the complete layers received of a pane's file as a file of its own, atomically."""
        self._write(path, files.received_file(self.viewer.stream(pane)))

    # ---- export -------------------------------------------------------------------------

    def choose_export(self) -> None:
        pane = self.active_pane
        if self.viewer.session.displayed(pane) is None:
            self.banner.show_message("Nothing to export: no layer is on screen.")
            return
        path = self._save_name("Export displayed layer", files.export_name(self.viewer.session, pane),
                               "PNG images (*.png)")
        if path:
            self.export_png(path, pane)

    def choose_table_export(self) -> None:
        if not self.viewer.streams():
            self.banner.show_message("Nothing to export: open or encode a layered file first.")
            return
        path = self._save_name("Export layer table", files.table_name(self.viewer.session), "CSV files (*.csv)")
        if path:
            self.export_table(path)

    def _save_name(self, title: str, default: Path, file_filter: str) -> Path | None:
        """Ask where to save, in the folder last exported to (else the default's); remembers it."""
        folder = self.preferences.folder("export") or str(default.parent)
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(folder) / default.name), file_filter)
        if not path:
            return None
        self.preferences.set_folder("export", str(Path(path).parent))
        return Path(path)

    def export_png(self, path: Path, pane: int = 0) -> None:
        """Save what a pane shows as PNG (grayscale when the source was), written atomically."""
        rgb, stream = self.viewer.session.displayed(pane), self.viewer.stream(pane)
        image = Image.fromarray(rgb)
        if stream is not None and stream.header.source_mode in ("L", "LA") and not self.viewer.session.error_map:
            image = image.convert("L")
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        self._write(path, buffer.getvalue())

    def export_table(self, path: Path) -> None:
        """Save every layer of the open files (sizes, bpp, PSNR, arrival, delay) as CSV."""
        self._write(path, table_csv([stream for _, stream in self.viewer.streams()]).encode("utf-8"))

    def _write(self, path: Path, data: bytes) -> None:
        """Write an export atomically; a failure is said in the banner."""
        try:
            files.write_atomically(path, data)
        except OSError as error:
            self.banner.show_message(f"Could not export {path.name}: {error}")
            return
        self.statusBar().showMessage(f"Exported {path}", 5000)

    # ---- encoding -----------------------------------------------------------------------

    def choose_encoding(self) -> None:
        original = self.viewer.session.original
        if original is None:
            self.banner.show_message("Open an image first: layered files are encoded from an image.")
            return
        # the weights on disk, not the worker's answer, which takes seconds after start-up (issue 32, item 6)
        dialog = EncodeDialog(original.path, registry.installed_models(), self.preferences, self,
                              beside=self.viewer.stream(0), size=original.size)
        while dialog.exec():
            if self.encode(dialog.targets()):
                return

    def encode(self, targets: list[Target], ask: bool = True) -> bool:
        """Encode the open original into targets; False when the user declined to overwrite."""
        existing = [t.path.name for t in targets if t.path.exists()]
        if existing and ask and not self._confirm_overwrite(existing):
            return False
        self.encoding.start(self.viewer.session.original.path, targets)
        self.banner.resolve("encode")
        self._encode_clock.start()
        self._on_encode_stage("Starting the encoder", None)
        for widget in (self.encode_label, self.encode_bar, self.encode_cancel):
            widget.show()
        self._encode_timer.start()
        return True

    def _confirm_overwrite(self, names: list[str]) -> bool:
        answer = QMessageBox.question(self, "Overwrite?", f"{', '.join(names)} already exist(s). Replace?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _on_encode_stage(self, text: str, fraction: float | None) -> None:
        self._encode_stage, self._encode_fraction = text, fraction
        self.encode_bar.setMaximum(0 if fraction is None else 1000)  # 0: busy without a percentage
        self.encode_bar.setValue(0 if fraction is None else round(1000 * fraction))
        self._show_encode_progress()

    def _show_encode_progress(self) -> None:
        elapsed = self._encode_clock.elapsed() / 1000
        self.encode_label.setText(progress_text(self._encode_stage, self._encode_fraction, elapsed))

    def _on_encoded(self, streams: list) -> None:
        self._on_encode_end("")
        self.viewer.load_encoded(streams, self.encoding.panes)
        self.side_action.setChecked(self.viewer.stream(1) is not None or self.side_action.isChecked())
        sizes = ", ".join(f"{s.path.name} ({len(s.data) / 1000:.1f} kB)" for s in streams)
        self.statusBar().showMessage(f"Saved {sizes}. Press Space to stream.", 10000)

    def _on_encode_end(self, message: str) -> None:
        self._encode_timer.stop()
        for widget in (self.encode_label, self.encode_bar, self.encode_cancel):
            widget.hide()
        if message:
            self.banner.show_message(message, "encode")

    # ---- playback and layers ------------------------------------------------------------

    def set_bandwidth(self, bits_per_second: float) -> None:
        """Select a preset, or Custom with that rate."""
        self.network_fields.set_rate(bits_per_second)

    def _on_playback(self, state: str) -> None:
        self.play_action.setText("&Pause" if state == NetworkSimulator.PLAYING else "&Play")
        if state == NetworkSimulator.PLAYING:
            self.banner.resolve("stream")
            self.statusBar().clearMessage()  # "Press Space to stream." no longer holds; the readout shows the stream
        self._on_received()  # the activity lines say playing, paused or done

    def step_layer(self, delta: int) -> None:
        """Pick the layer delta after the one wanted in the active pane."""
        self.viewer.step_layer(self.active_pane, delta)

    def set_error_map(self, on: bool) -> None:
        """Show the panes' error against the original, where there is one; say why not otherwise."""
        if self._refused(self.error_action, error_map_unavailable(self.viewer.session) if on else None, "error map"):
            return
        self.viewer.set_error_map(on)

    def set_show_original(self, on: bool) -> None:
        """Show the original in pane A instead of its file, when both are open; say why not otherwise."""
        if self._refused(self.original_action, original_unavailable(self.viewer.session) if on else None, "original"):
            return
        self.viewer.set_show_original(on)

    def _refused(self, action: QAction, reason: str | None, topic: str) -> bool:
        """Untick action and say reason in the banner (True); else take an earlier refusal away."""
        if reason:
            blocked = action.blockSignals(True)  # unticking it is no request to resolve
            action.setChecked(False)
            action.blockSignals(blocked)
            self.banner.show_message(reason, topic)
            return True
        self.banner.resolve(topic)
        return False

    def _set_full_screen(self, on: bool) -> None:
        state = self.windowState()
        full = Qt.WindowState.WindowFullScreen
        self.setWindowState(state | full if on else state & ~full)

    # ---- showing ------------------------------------------------------------------------

    def _canvas(self):
        return self.panes[self.active_pane].canvas

    def _on_focus(self, old, new) -> None:
        for number, pane in enumerate(self.panes):
            if new is not None and (pane.isAncestorOf(new) or pane.controls.isAncestorOf(new)):
                self.active_pane = number
                self._refresh_status()

    def _refresh_all(self) -> None:
        session = self.viewer.session
        self.side_action.setEnabled(session.streams[1] is not None)
        self.split_action.setEnabled(session.split_partner() is not None)
        self.close_b_action.setEnabled(session.streams[1] is not None)
        self.original_action.setChecked(session.show_original)
        self.error_action.setChecked(session.error_map)
        self._refresh_layout()
        for pane in range(2):
            self._refresh_pane(pane)
        self.panel.refresh()

    def split(self) -> bool:
        """Split view is on and has something right of the line."""
        return self.split_action.isChecked() and self.viewer.session.split_partner() is not None

    def _refresh_layout(self) -> None:
        """Pane B beside pane A, or pane A alone; in split view B's controls stay under A."""
        has_b = self.viewer.stream(1) is not None
        split = self.split()
        self.panes[1].setVisible(has_b and self.side_action.isChecked())
        self.panes[1].controls.setVisible(has_b and (self.side_action.isChecked() or split))
        if not self.panes[1].controls.isVisible() and self.active_pane == 1:
            self.active_pane = 0
        self._show_pane(0)
        self._show_pane(1)

    def _refresh_pane(self, pane: int) -> None:
        rgb = self.viewer.session.displayed(pane)
        self.panes[pane].canvas.set_image(rgb, self.viewer.paint_token(pane))
        self._show_pane(pane)
        self._refresh_status()
        self.panel.schedule_refresh()

    def _show_pane(self, pane: int) -> None:
        """What a pane says: title, placeholder, controls; pane A's split picture."""
        stream, view, session = self.viewer.stream(pane), self.panes[pane], self.viewer.session
        split = self.split()
        view.title.setText(pane_title(session, pane, split=split))
        view.canvas.set_placeholder(placeholder(stream))
        view.controls.show_stream(stream, readout_parts(session, pane, split and session.streams[1] is not None),
                                  activity_parts(stream, self.viewer.network.playback()))
        view.canvas.set_error_scale(session.error_gain if session.shows_error(pane) else None)
        if pane == 0 or split:
            self.panes[0].canvas.set_compare(session.split_right() if split else None)

    def _on_received(self) -> None:
        for pane, _ in self.viewer.streams():
            self._show_pane(pane)
        self._refresh_status()
        self.panel.schedule_refresh()

    def _on_shown(self, token) -> None:
        self.viewer.painted(token)
        self.panel.schedule_refresh()

    def _refresh_status(self) -> None:
        self.info.set_parts(status_parts(self.viewer.session, self.active_pane, self.viewer.network.playback(),
                                         self._canvas().zoom()))

    # ---- workers ------------------------------------------------------------------------

    async def _query_capabilities(self) -> None:
        try:
            self.capabilities = await self.service.capabilities()
        except WorkerStopped:
            return
        c = self.capabilities
        self.device.setText(f"Device: {'CUDA' if c.device == 'cuda' else c.device.upper()}")
        self.device.setToolTip(c.device_name)

    def _about(self) -> None:
        QMessageBox.about(self, "About Strata Viewer", about_text(strata_version()))

    def closeEvent(self, event) -> None:
        """Stop everything this window started; nothing keeps running after it."""
        self.encoding.cancel()
        self._capabilities_task.cancel()
        self.viewer.shutdown()
        if self.owns_service:
            self.service.shutdown()
        super().closeEvent(event)


def _dropped(mime) -> list[str]:
    """The local files and http(s) URLs dropped (a URL dropped as text too), in order."""
    found = [url.toLocalFile() if url.isLocalFile() else url.toString() for url in mime.urls()]
    if not found and mime.hasText():
        found = [mime.text().strip()]
    return [item for item in found if is_url(item) or (item and Path(item).is_absolute())]
