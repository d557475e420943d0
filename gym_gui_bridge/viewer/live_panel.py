"""``LivePanel``: episodic return per env slot and the latest scalars, drawn with QPainter.

It repaints from :meth:`LiveTelemetryController.snapshot` on a slow timer, and only when the
controller's buffers changed; the controller's thread does all database work.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from gym_gui_bridge.viewer.live_controller import LiveSnapshot, LiveTelemetryController

__all__ = ["LivePanel", "scale_points"]

_BACKGROUND = QColor(24, 24, 28)
_AXIS = QColor(90, 90, 100)
_TEXT = QColor(220, 220, 220)
_DIM_TEXT = QColor(150, 150, 160)
_SLOT_COLOURS = [
    QColor(c) for c in ("#4e9af1", "#f1a94e", "#6fd16f", "#e0605e", "#b98ef0", "#e6d35a")
]
_PAD_PX = 8
_SCALAR_ROW_PX = 34
_MIN_WIDTH_PX = 260


def scale_points(
    points: Sequence[tuple[float, float]], box: tuple[float, float, float, float]
) -> list[tuple[float, float]]:
    """Map data points into ``box`` = ``(x, y, w, h)`` (y grows downwards, as on screen).

    >>> scale_points([(0, 0), (10, 5)], (0, 0, 100, 50))
    [(0.0, 50.0), (100.0, 0.0)]
    >>> scale_points([(3, 7)], (10, 10, 20, 20))     # one point: centred
    [(20.0, 20.0)]
    """
    if not points:
        return []
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    bx, by, bw, bh = box
    sx = bw / (x1 - x0) if x1 > x0 else 0.0
    sy = bh / (y1 - y0) if y1 > y0 else 0.0
    out = []
    for x, y in points:
        px = bx + (x - x0) * sx if sx else bx + bw / 2
        py = by + bh - (y - y0) * sy if sy else by + bh / 2
        out.append((float(px), float(py)))
    return out


class LivePanel(QWidget):
    """The live curves. Shows "no telemetry yet" (and why) until the source delivers.

    Repaints from ``controller``'s buffers every ``LIVE_PANEL_REFRESH_S`` of the controller's
    :class:`~gym_gui_bridge.config.viewer.LivePanelConfig`.
    """

    def __init__(self, controller: LiveTelemetryController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._snapshot = LiveSnapshot()
        self._seen_version = -1
        self.paint_count = 0
        self.setMinimumWidth(_MIN_WIDTH_PX)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self._timer = QTimer(self)
        self._timer.setInterval(round(controller.config.refresh_s * 1000))
        self._timer.timeout.connect(self.refresh)

    @property
    def snapshot(self) -> LiveSnapshot:
        return self._snapshot

    def start(self) -> None:
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        """Copy the controller's buffers if they changed, and repaint."""
        if self.controller.version == self._seen_version:
            return
        self._snapshot = self.controller.snapshot()
        self._seen_version = self._snapshot.version
        self.update()

    # --- painting ----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        self.paint_count += 1
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.fillRect(self.rect(), _BACKGROUND)
            snap = self._snapshot
            metrics = QFontMetrics(self.font())
            line_h = metrics.height()
            title = f"live: {snap.run_id or '-'}"
            if snap.run_status:
                title += f"  ({snap.run_status})"
            painter.setPen(_TEXT)
            painter.drawText(_PAD_PX, _PAD_PX + metrics.ascent(), title)
            top = _PAD_PX + line_h + _PAD_PX
            if not snap.available:
                painter.setPen(_DIM_TEXT)
                area = QRect(_PAD_PX, top, self.width() - 2 * _PAD_PX, self.height() - top)
                flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
                painter.drawText(
                    area, flags | Qt.TextFlag.TextWordWrap, snap.reason or "no telemetry yet"
                )
                return
            n_scalars = len(snap.scalars)
            chart_h = max(line_h * 4, self.height() - top - n_scalars * _SCALAR_ROW_PX - _PAD_PX)
            self._paint_returns(
                painter, snap, QRect(_PAD_PX, top, self.width() - 2 * _PAD_PX, chart_h)
            )
            y = top + chart_h + _PAD_PX
            for tag in sorted(snap.scalars):
                row = QRect(_PAD_PX, y, self.width() - 2 * _PAD_PX, _SCALAR_ROW_PX - 4)
                self._paint_scalar(painter, tag, snap.scalars[tag], row)
                y += _SCALAR_ROW_PX
        finally:
            painter.end()

    def _paint_returns(self, painter: QPainter, snap: LiveSnapshot, area: QRect) -> None:
        metrics = QFontMetrics(self.font())
        painter.setPen(_TEXT)
        painter.drawText(area.left(), area.top() + metrics.ascent(), "episodic return")
        plot = area.adjusted(0, metrics.height() + 2, 0, -metrics.height())
        painter.setPen(QPen(_AXIS, 1))
        painter.drawRect(plot)
        every = [p for series in snap.returns.values() for p in series]
        if not every:
            return
        lo = min(p[1] for p in every)
        hi = max(p[1] for p in every)
        x_lo = min(p[0] for p in every)
        x_hi = max(p[0] for p in every)
        box = (float(plot.left()), float(plot.top()), float(plot.width()), float(plot.height()))
        legend_x = area.left()
        painter.setPen(_DIM_TEXT)
        painter.drawText(legend_x, area.bottom() - 2, "slot")
        legend_x += metrics.horizontalAdvance("slot ")
        for index, slot in enumerate(sorted(snap.returns)):
            colour = _SLOT_COLOURS[index % len(_SLOT_COLOURS)]
            # anchor every series to the common bounds so slots share one scale
            series = [(x_lo, lo), (x_hi, hi), *snap.returns[slot]]
            mapped = scale_points(series, box)[2:]
            painter.setPen(QPen(colour, 1.5))
            if len(mapped) == 1:
                painter.drawEllipse(QPointF(*mapped[0]), 2.0, 2.0)
            else:
                painter.drawPolyline(QPolygonF([QPointF(x, y) for x, y in mapped]))
            label = f"{slot}: {snap.returns[slot][-1][1]:.4g}"
            if legend_x + metrics.horizontalAdvance(label) <= area.right():
                painter.drawText(legend_x, area.bottom() - 2, label)
            legend_x += metrics.horizontalAdvance(label) + _PAD_PX
        painter.setPen(_DIM_TEXT)
        painter.drawText(plot.left() + 2, plot.top() + metrics.ascent(), f"{hi:.4g}")
        painter.drawText(plot.left() + 2, plot.bottom() - 2, f"{lo:.4g}")

    def _paint_scalar(
        self, painter: QPainter, tag: str, points: list[tuple[int, float]], row: QRect
    ) -> None:
        metrics = QFontMetrics(self.font())
        painter.setPen(_TEXT)
        latest = points[-1][1] if points else float("nan")
        text = f"{tag}  {latest:.4g}"
        painter.drawText(row.left(), row.top() + metrics.ascent(), text)
        spark = QRectF(
            row.left(), row.top() + metrics.height(), row.width(), row.height() - metrics.height()
        )
        if len(points) >= 2 and spark.height() > 2:
            box = (spark.left(), spark.top(), spark.width(), spark.height())
            mapped = scale_points([(float(s), v) for s, v in points], box)
            painter.setPen(QPen(_SLOT_COLOURS[0], 1))
            painter.drawPolyline(QPolygonF([QPointF(x, y) for x, y in mapped]))
