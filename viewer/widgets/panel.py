"""The side panel: bits received per layer, PSNR against cumulative bpp with the layer on screen
marked, and when each layer arrived (for a file from a URL, with the measured throughput above
the table). Both panes' files are overlaid; refresh() redraws from the
viewer's state and schedule_refresh() coalesces the many updates of a stream. Hovering a bar or
a PSNR point says what it is; clicking it shows that layer in its pane.
"""
from __future__ import annotations

import math

from PySide6.QtCharts import (QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView,
                              QLineSeries, QLogValueAxis, QScatterSeries, QValueAxis)
from PySide6.QtCore import QMargins, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QCursor, QPainter, QPen
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QToolTip,
                               QVBoxLayout, QWidget)

from viewer.control.controller import Viewer
from viewer.presentation.charts import bar_tooltip, not_shown_text, point_tooltip, series_name
from viewer.presentation.network import network_lines
from viewer.presentation.streams import arrival_rows
from viewer.state.session import Stream

PANE_COLORS = (QColor("#1f77b4"), QColor("#ff7f0e"))
CURRENT_COLOR = QColor("#d62728")  # the ring around the PSNR point on screen
RING_ROOM = 0.05  # the PSNR chart's bpp axis goes this far past the largest file: its last ring is not cut
MIN_WIDTH = 300  # narrower, the charts' titles, legends and axis labels are cut
REFRESH_MS = 100
TABLE_COLUMNS = ("File", "Layer", "Size", "Arrived", "To screen", "PSNR", "MS-SSIM")
TABLE_ROWS = (8, 12)  # the table holds the open files' layers, at least a DeepHQ file's, at most a JPEG 2000 file's
ROW_PADDING = 4  # pixels above and below a row's text


def file_psnr_points(stream: Stream) -> list[QPointF]:
    """(cumulative bpp, PSNR) of every layer, from the file's header."""
    pixels = stream.header.width * stream.header.height
    return [QPointF(8 * stream.layer_end(i) / pixels, psnr)
            for i, psnr in enumerate(stream.header.layer_psnr) if psnr is not None]


def on_screen_color(pane: int) -> QColor:
    """The bar of the layer on screen: a darker shade of its file's colour."""
    return PANE_COLORS[pane].darker(200)


def kbit_range(streams) -> tuple[float, float]:
    """Powers of ten around every non-empty layer of the files, in kbit (a log axis)."""
    sizes = [8 * n / 1000 for _, stream in streams for n in stream.header.layer_lengths if n] or [1.0]
    low = 10.0 ** math.floor(math.log10(min(sizes)))
    return low, max(10 * low, 10.0 ** math.ceil(math.log10(max(sizes))))


def _chart(title: str) -> tuple[QChart, QChartView]:
    chart = QChart()
    chart.setTitle(title)
    chart.setMargins(QMargins(4, 4, 4, 4))
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    view = QChartView(chart)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.setMinimumHeight(200)
    return chart, view


def _axis(title: str, label_format: str = "%.2f") -> QValueAxis:
    axis = QValueAxis()
    axis.setTitleText(title)
    axis.setLabelFormat(label_format)
    return axis


class Panel(QWidget):
    """Charts and arrival table for the streams of a Viewer."""

    notice = Signal(str)  # a short message for the status bar (a layer picked that cannot be shown)

    def __init__(self, viewer: Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self.bits_chart, self.bits_view = _chart("Bits received per layer")
        self.psnr_chart, self.psnr_view = _chart("PSNR vs cumulative bpp")
        self.setMinimumWidth(MIN_WIDTH)
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.table.horizontalHeaderItem(4).setToolTip(
            "From the layer's last byte to its picture on screen; — when it was not shown on its own: "
            "a newer layer overtook it, or a layer was picked by hand")
        self.table.horizontalHeaderItem(2).setToolTip("The file's bytes up to the end of the layer")
        self.table.horizontalHeaderItem(3).setToolTip("Simulated time of the layer's last byte; for a file from a URL, "
                                                      "seconds from the first request until the network (and the "
                                                      "simulated link on top) brought it")
        self.table.horizontalHeaderItem(5).setToolTip("dB: against the original when it is open, else the file's")
        self.table.horizontalHeaderItem(6).setToolTip(
            "Against the original, measured by the decoder worker for the whole layers it showed")
        self.network = QLabel(wordWrap=True, toolTip="Files from URLs: bytes received, time, measured throughput")
        self.network.hide()
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + ROW_PADDING)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget, stretch in ((self.bits_view, 3), (self.psnr_view, 4), (self.network, 0), (self.table, 0)):
            layout.addWidget(widget, stretch)
        self._fit_table_rows(0)
        self.bar_sets: dict[int, QBarSet] = {}
        self.psnr_series: dict[int, QLineSeries] = {}
        self.psnr_dots: dict[int, QScatterSeries] = {}
        self.markers: dict[int, QScatterSeries] = {}
        self._no_bar = 0.0  # the value of a bar not drawn: under the log axis
        self.hover_text = ""  # the tooltip of the bar or point under the mouse
        self._layout_key = None

    def schedule_refresh(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def refresh(self) -> None:
        streams = self.viewer.streams()
        key = tuple((pane, id(stream), stream.header.num_layers) for pane, stream in streams)  # a JPEG's scans grow
        if key != self._layout_key:
            self._rebuild(streams)
            self._layout_key = key
        for pane, stream in streams:
            self._update_bits(pane, stream)
            self._update_psnr(pane, stream)
        self._fit_psnr_axes(streams)
        self._update_table(streams)
        lines = network_lines(streams)
        self.network.setText("\n".join(lines))
        self.network.setVisible(bool(lines))

    def psnr_points(self, pane: int) -> list[QPointF]:
        """The PSNR curve of a pane as drawn: (cumulative bpp, dB) per decoded layer."""
        return self.psnr_series[pane].points()

    def bits_values(self, pane: int) -> list[float]:
        """The kbit bars of a pane as drawn (0: none)."""
        bar_set = self.bar_sets[pane]
        return [0.0 if bar_set.at(i) == self._no_bar else bar_set.at(i) for i in range(bar_set.count())]

    # ---- building -----------------------------------------------------------------------

    def _rebuild(self, streams: list[tuple[int, Stream]]) -> None:
        for chart in (self.bits_chart, self.psnr_chart):
            chart.removeAllSeries()
            for axis in chart.axes():
                chart.removeAxis(axis)
        self.bar_sets.clear()
        self.psnr_series.clear()
        self.psnr_dots.clear()
        self.markers.clear()
        if streams:
            self._build_bits(streams)
            self._build_psnr(streams)
        self._fit_table_rows(sum(stream.header.num_layers for _, stream in streams))

    def _build_bits(self, streams) -> None:
        series = QBarSeries()
        most = max(stream.header.num_layers for _, stream in streams)
        low, high = kbit_range(streams)
        self._no_bar = low / 2
        for pane, stream in streams:
            bar_set = QBarSet(series_name(stream, pane, len(streams)))
            bar_set.setColor(PANE_COLORS[pane])
            bar_set.setSelectedColor(on_screen_color(pane))
            bar_set.append([self._no_bar] * most)
            bar_set.hovered.connect(lambda on, index, n=pane: self._hover(on, self._bar_text(n, index)))
            bar_set.clicked.connect(lambda index, n=pane: self.pick(n, index))
            series.append(bar_set)
            self.bar_sets[pane] = bar_set
        self.bits_chart.addSeries(series)
        x = QBarCategoryAxis()
        x.append([str(i + 1) for i in range(most)])
        x.setTitleText("layer")
        y = QLogValueAxis()
        y.setBase(10)
        y.setRange(low, high)
        y.setLabelFormat("%g")  # 0.01 ... 100000, never an exponent
        y.setMinorTickCount(0)
        y.setTitleText("kbit")
        self.bits_chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        self.bits_chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x)
        series.attachAxis(y)

    def _build_psnr(self, streams) -> None:
        x, y = _axis("bpp"), _axis("dB", "%.1f")  # short: a long axis title is cut in a small chart
        self.psnr_chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        self.psnr_chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        for pane, stream in streams:
            line = QLineSeries()
            line.setName(series_name(stream, pane, len(streams)))
            line.setColor(PANE_COLORS[pane])
            dots = QScatterSeries()  # the layers' points, drawn even while the line has only one
            dots.setColor(PANE_COLORS[pane])
            dots.setBorderColor(PANE_COLORS[pane])
            dots.setMarkerSize(7)
            marker = QScatterSeries()  # a ring, so the layer points under it stay visible
            marker.setColor(Qt.GlobalColor.transparent)
            marker.setPen(QPen(CURRENT_COLOR, 2))
            marker.setMarkerSize(14)
            for series in (line, dots, marker):
                self.psnr_chart.addSeries(series)
                series.attachAxis(x)
                series.attachAxis(y)
            for series in (dots, marker):  # one legend entry per file: its line
                self.psnr_chart.legend().markers(series)[0].setVisible(False)
            for series in (line, dots, marker):
                series.hovered.connect(lambda point, on, n=pane: self._hover(on, self._point_text(n, point)))
                series.clicked.connect(lambda point, n=pane: self.pick(n, self.layer_at(n, point)))
            self.psnr_series[pane], self.psnr_dots[pane], self.markers[pane] = line, dots, marker

    # ---- pointing at layers -------------------------------------------------------------

    def layer_at(self, pane: int, point: QPointF) -> int | None:
        """The layer of a pane whose PSNR point is nearest to point (by bpp)."""
        stream = self.viewer.stream(pane)
        layers = [] if stream is None else stream.psnr_layers()
        if not layers:
            return None
        return min(layers, key=lambda item: abs(item[1] - point.x()))[0]

    def pick(self, pane: int, index: int | None) -> None:
        """Show a pane's layer picked in a chart, or say why it cannot be."""
        stream = self.viewer.stream(pane)
        if stream is None or index is None:
            return
        reason = not_shown_text(stream, index)
        if reason:
            self.notice.emit(reason)
        else:
            self.viewer.select_layer(pane, index)

    def _bar_text(self, pane: int, index: int) -> str:
        stream = self.viewer.stream(pane)
        return "" if stream is None else bar_tooltip(stream, index)

    def _point_text(self, pane: int, point: QPointF) -> str:
        index = self.layer_at(pane, point)
        return "" if index is None else point_tooltip(self.viewer.stream(pane), index)

    def _hover(self, on: bool, text: str) -> None:
        """Show text by the mouse while it is over a bar or point; hide it when it leaves."""
        self.hover_text = text if on else ""
        if on and text:
            QToolTip.showText(QCursor.pos(), text, self)
        else:
            QToolTip.hideText()

    # ---- updating -----------------------------------------------------------------------

    def _update_bits(self, pane: int, stream: Stream) -> None:
        bar_set = self.bar_sets[pane]
        for i in range(stream.header.num_layers):
            bar_set.replace(i, 8 * stream.layer_received(i) / 1000 or self._no_bar)
        bar_set.deselectAllBars()
        if stream.shown is not None:
            bar_set.selectBar(stream.shown)

    def _update_psnr(self, pane: int, stream: Stream) -> None:
        points = [QPointF(bpp, psnr) for bpp, psnr in stream.psnr_points()]
        self.psnr_series[pane].replace([QPointF(*p) for p in sorted(stream.psnr_points() + stream.refinement_points)])
        self.psnr_dots[pane].replace(points)  # the line also passes through the refinements inside layers
        shown = stream.on_screen
        self.markers[pane].replace([] if shown is None or shown.psnr is None else [QPointF(shown.bpp, shown.psnr)])

    def _fit_psnr_axes(self, streams) -> None:
        """Axes that hold every layer of every file, so the curves grow without rescaling."""
        points = [pt for pane, s in streams for pt in file_psnr_points(s) + self.psnr_points(pane)]
        if not points:
            return
        x_axis, y_axis = self.psnr_chart.axes(Qt.Orientation.Horizontal)[0], self.psnr_chart.axes(Qt.Orientation.Vertical)[0]
        most_bpp = max(8 * s.header.file_size / (s.header.width * s.header.height) for _, s in streams)
        low, high = min(pt.y() for pt in points), max(pt.y() for pt in points)
        x_axis.setRange(0, most_bpp * (1 + RING_ROOM))
        y_axis.setRange(low - 0.5, high + 0.5)
        for axis in (x_axis, y_axis):
            axis.applyNiceNumbers()

    def _fit_table_rows(self, layers: int) -> None:
        """A table as tall as the open files' layers (within TABLE_ROWS), so that a file's
        layers show without scrolling; the charts take the rest."""
        rows = min(max(layers, TABLE_ROWS[0]), TABLE_ROWS[1])
        table = self.table
        height = (table.horizontalHeader().sizeHint().height() + rows * table.verticalHeader().defaultSectionSize()
                  + 2 * table.frameWidth())
        table.setFixedHeight(height)

    def _update_table(self, streams) -> None:
        rows = arrival_rows([stream for _, stream in streams])
        self.table.setRowCount(len(rows))
        for row, cells in enumerate(rows):
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.scrollToBottom()
