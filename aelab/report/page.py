"""Self-contained HTML pages: headed sections of paragraphs, tables and embedded images.

Pages use inline CSS and no JavaScript or external resources; images are embedded as base64
data URIs, so a page opens offline and keeps its pictures when moved. Run reports
(:mod:`aelab.report.html`) and study reports are built on :func:`write_html_page`.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import mimetypes
import numbers
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aelab.errors import DataError

__all__ = ["MISSING", "Block", "format_value", "write_html_page"]

logger = logging.getLogger(__name__)

Block = str | Path | Sequence[Mapping[str, Any]]
"""A paragraph (``str``), an image file to embed (``pathlib.Path``), or a table (list of dicts,
one per row; columns are the union of the keys, in order of first appearance)."""

MISSING = "\u2014"
"""Shown in table cells that have no value (an em dash)."""

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: #222; margin: 0; background: #fafafa; line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 3rem; background: #fff; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9rem; }
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<main>
<h1>{title}</h1>
{subtitle}
{body}
</main>
</body>
</html>
"""


def write_html_page(
    out_path: str | Path,
    title: str,
    sections: Iterable[tuple[str, Sequence[Block]]],
    *,
    subtitle: str | None = None,
) -> Path:
    """Write a self-contained HTML page made of headed sections.

    Parameters
    ----------
    out_path : str or pathlib.Path
        File to write; parent folders are created.
    title : str
        Page title and top heading.
    sections : iterable of (str, sequence of Block)
        ``(heading, blocks)`` pairs. A block is a paragraph (``str``), an image to embed
        (``pathlib.Path``) captioned from its file name, or a table (list of dicts). Table
        cells that are numbers are formatted as in the reports: ints as ints, floats to 4
        significant digits, columns ending in ``seconds`` with a unit.
    subtitle : str, optional
        A line under the title.

    Returns
    -------
    pathlib.Path
        ``out_path``.

    Raises
    ------
    DataError
        If an image block names a file that is missing or not an image.
    TypeError
        If a block is not a str, a pathlib.Path or a list of dicts.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "page.html"
    >>> _ = write_html_page(out, "Noise sweep", [("Results", [[{"noise_std": 0.1, "mse": 0.02}]])])
    >>> '<td class="num">0.02</td>' in out.read_text()
    True
    """
    out_path = Path(out_path)
    body = "\n".join(
        f"<section>\n<h2>{_esc(heading)}</h2>\n" + "\n".join(_block_html(b) for b in blocks)
        + "\n</section>"
        for heading, blocks in sections
    )
    page = _PAGE.format(
        title=_esc(title),
        css=_CSS,
        subtitle=f'<p class="subtitle">{_esc(subtitle)}</p>' if subtitle else "",
        body=body,
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    logger.info("wrote %s", out_path)
    return out_path


def format_value(key: str, value: Any) -> str:
    """Format one value for a table cell: ints as ints (``12,345``), floats to 4 significant
    digits (``0.01235``), values whose key ends in ``seconds`` with a unit (``3.75 s``),
    strings unchanged, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, numbers.Integral):
        text = f"{value:,}"
    elif isinstance(value, numbers.Real):
        text = _significant(float(value))
    else:
        return json.dumps(value)
    if key.endswith("seconds"):
        minutes = f" ({value / 60:.1f} min)" if value >= 120 else ""
        return f"{text} s{minutes}"
    return text


def _significant(value: float, digits: int = 4) -> str:
    if not math.isfinite(value) or value == 0:
        return str(value)
    if 1e-3 <= abs(value) < 1e6:  # positional, trailing zeros trimmed: 0.5, 12.35, 12350
        return np.format_float_positional(value, precision=digits, unique=False,
                                          fractional=False, trim="-")
    return f"{value:.{digits - 1}e}"


def _block_html(block: Block) -> str:
    if isinstance(block, str):
        return f"<p>{_esc(block)}</p>"
    if isinstance(block, Path):
        return _image_html(block)
    if isinstance(block, Sequence):
        return _table_html(block)
    raise TypeError(f"a block is a str, a pathlib.Path or a list of dicts; got {type(block)}.")


def _table_html(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "<p>(empty table)</p>"
    columns = list(dict.fromkeys(k for row in rows for k in row))
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c, MISSING)
            css = "" if isinstance(value, str) else ' class="num"'
            cells.append(f"<td{css}>{_esc(format_value(c, value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table>\n<tr>{head}</tr>\n" + "\n".join(body) + "\n</table>"


def _image_html(path: Path) -> str:
    mime, _ = mimetypes.guess_type(path.name)
    if not path.is_file() or not (mime or "").startswith("image/"):
        raise DataError(f"cannot embed {path}: expected an existing image file (.png, .jpg, .svg).")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    caption = _esc(_caption(path))
    return (f'<figure><img src="data:{mime};base64,{data}" alt="{caption}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _caption(path: Path) -> str:
    """``loss_curves.png`` -> ``Loss curves``."""
    words = path.stem.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)
