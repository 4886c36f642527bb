"""Reports: figures (``matplotlib.figure.Figure`` objects) and self-contained HTML pages
built only from the files in run folders."""

from aelab.report.figures import image_grid, loss_curves, reconstruction_grid, save_figure
from aelab.report.html import build_comparison, build_report, read_history
from aelab.report.page import write_html_page

__all__ = [
    "build_comparison",
    "build_report",
    "image_grid",
    "loss_curves",
    "read_history",
    "reconstruction_grid",
    "save_figure",
    "write_html_page",
]
