"""``FrameWidget``: paints the newest frame letterboxed (aspect ratio kept) with the HUD on top."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from gym_gui_bridge.viewer.hud import HudState, format_hud_lines
from gym_gui_bridge.viewer.image import ShownFrame

__all__ = ["FrameWidget", "letterbox"]

_BACKGROUND = QColor(0, 0, 0)
_HUD_TEXT = QColor(235, 235, 235)
_HUD_SHADE = QColor(0, 0, 0, 150)
_HUD_MARGIN_PX = 6
_MIN_SIZE_PX = (160, 120)


def letterbox(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[int, int, int, int]:
    """The largest ``(x, y, w, h)`` rectangle of the source's aspect ratio centred in ``dst``.

    >>> letterbox(600, 400, 600, 600)    # wide frame in a square: bars above and below
    (0, 100, 600, 400)
    >>> letterbox(600, 400, 900, 400)    # bars left and right
    (150, 0, 600, 400)
    >>> letterbox(4, 2, 0, 10)
    (0, 0, 0, 0)
    """
    if src_w <= 0 or src_h <= 0 or dst_w <= 0 or dst_h <= 0:
        return (0, 0, 0, 0)
    scale = min(dst_w / src_w, dst_h / src_h)
    w = max(1, round(src_w * scale))
    h = max(1, round(src_h * scale))
    return ((dst_w - w) // 2, (dst_h - h) // 2, w, h)


class FrameWidget(QWidget):
    """Shows one frame at a time, scaled to fit, with the HUD overlay.

    ``smooth`` picks bilinear scaling (the default) or pixel-exact nearest-neighbour scaling,
    which keeps grid worlds and small frames crisp. ``paint_count`` counts paint events, so
    tests (and the curious) can see that nothing is repainted without a reason.
    """

    #: Emitted once, after the first paint that showed a frame (start-up is measured to it).
    first_frame_painted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frames_painted = 0
        self._shown: ShownFrame | None = None
        self._hud = HudState()
        self._smooth = True
        self._hud_visible = True
        self.paint_count = 0
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(*_MIN_SIZE_PX)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)

    # --- state -------------------------------------------------------------------------------

    @property
    def smooth(self) -> bool:
        return self._smooth

    def set_smooth(self, smooth: bool) -> None:
        self._smooth = smooth
        self.update()

    def set_hud_visible(self, visible: bool) -> None:
        self._hud_visible = visible
        self.update()

    @property
    def shown(self) -> ShownFrame | None:
        return self._shown

    def show_frame(self, shown: ShownFrame) -> None:
        self._shown = shown
        self.update()

    def set_hud(self, hud: HudState) -> None:
        self._hud = hud
        self.update()

    def frame_rect(self) -> QRect:
        """Where the frame is painted inside the widget (empty before the first frame)."""
        if self._shown is None:
            return QRect()
        image = self._shown.image
        return QRect(*letterbox(image.width(), image.height(), self.width(), self.height()))

    # --- painting ----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        self.paint_count += 1
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), _BACKGROUND)
            if self._shown is not None:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._smooth)
                painter.drawImage(self.frame_rect(), self._shown.image)
            if self._hud_visible:
                self._paint_hud(painter)
        finally:
            painter.end()
        if self._shown is not None:
            self.frames_painted += 1
            if self.frames_painted == 1:
                self.first_frame_painted.emit()

    def _paint_hud(self, painter: QPainter) -> None:
        lines = format_hud_lines(self._hud)
        metrics = QFontMetrics(self.font())
        line_h = metrics.height()
        width = max(metrics.horizontalAdvance(line) for line in lines) + 2 * _HUD_MARGIN_PX
        box = QRect(0, 0, min(width, self.width()), line_h * len(lines) + 2 * _HUD_MARGIN_PX)
        painter.fillRect(box, _HUD_SHADE)
        painter.setPen(_HUD_TEXT)
        for row, line in enumerate(lines):
            y = _HUD_MARGIN_PX + row * line_h + metrics.ascent()
            painter.drawText(_HUD_MARGIN_PX, y, line)
