"""Render resources/strata.svg to resources/strata.png (256 x 256) with Qt's SVG renderer.

    QT_QPA_PLATFORM=offscreen python packaging/render_icon.py [SIZE]
"""
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def render(size: int = 256) -> Path:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (fonts, plugins)
    renderer = QSvgRenderer(str(RESOURCES / "strata.svg"))
    if not renderer.isValid():
        raise SystemExit("resources/strata.svg is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    out = RESOURCES / "strata.png"
    if not image.save(str(out)):
        raise SystemExit(f"cannot write {out}")
    return out


if __name__ == "__main__":
    print(render(int(sys.argv[1]) if len(sys.argv) > 1 else 256))
