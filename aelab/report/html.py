"""HTML reports built only from the files in run folders; nothing is retrained.

A run folder holds ``config.json``, ``env.json``, ``history.csv``, ``metrics.json`` and
``figures/*.png``, any of which may be missing while a run is in progress. Pages are single,
self-contained files: inline CSS, no JavaScript, and images embedded as base64 data URIs, so a
report opens offline and keeps its pictures when it is moved or mailed.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import logging
import math
import mimetypes
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aelab.errors import DataError

__all__ = ["Block", "read_history", "build_report", "build_comparison", "write_html_page"]

logger = logging.getLogger(__name__)

Block = str | Path | Sequence[Mapping[str, Any]]
"""A paragraph (``str``), an image file to embed (``pathlib.Path``), or a table (list of dicts,
one per row; columns are the union of the keys, in order of first appearance)."""

REPORT_FILE = "report.html"
COMPARISON_FILE = "index.html"
KEY_METRICS = ("test_mse", "test_bce", "test_psnr_db", "test_ssim", "parameters", "epochs",
               "train_seconds")
"""Metrics shown per run in :func:`build_comparison`, when at least one run has them."""

# Config keys read for the page header; the first present wins.
_DATASET_KEYS = ("name", "dataset")
_MODEL_KEYS = ("name", "type", "arch")
_DATE_KEYS = ("started_at", "start_time", "started", "date", "time")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MISSING = "\u2014"  # em dash in empty table cells

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


def read_history(path: str | Path) -> list[dict[str, float]]:
    """Read a training history, one dict of floats per epoch.

    Parameters
    ----------
    path : str or pathlib.Path
        ``history.csv`` (a header row, then one row per epoch) or ``history.jsonl`` (one JSON
        object per line). Columns are ``epoch``, ``seconds``, ``lr`` and one per loss term and
        split (``train_total``, ``val_recon`` ...). Empty CSV cells become NaN.

    Returns
    -------
    list of dict[str, float]

    Raises
    ------
    DataError
        If the file is missing, or a value is not a number (naming the line and column).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"history file not found: {path}.")
    with path.open(newline="", encoding="utf-8") as f:
        if path.suffix == ".jsonl":
            rows = [_parse_json(line, path) for line in f if line.strip()]
        else:
            rows = list(csv.DictReader(f))
    history = []
    for line, row in enumerate(rows, start=2):
        try:
            history.append({k: _to_float(v) for k, v in row.items()})
        except (AttributeError, TypeError, ValueError) as e:
            raise DataError(f"{path}, row {line}: expected numbers only; {e}.") from e
    return history


def build_report(run_dir: str | Path, *, title: str | None = None) -> Path:
    """Write ``run_dir/report.html`` from the files in one run folder.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        A run folder. Every file in it is optional; missing ones are reported as missing
        on the page.
    title : str, optional
        Page title; defaults to ``"aelab run: <folder name>"``.

    Returns
    -------
    pathlib.Path
        The report file.

    Raises
    ------
    DataError
        If ``run_dir`` is not a folder, or a JSON or history file in it cannot be parsed.
    """
    run = _load_run(run_dir)
    sections: list[tuple[str, list[Block]]] = [
        ("Metrics", [_metrics_table(run.metrics)] if run.metrics else
         [f"No metrics.json in this run folder yet: run `aelab evaluate {run.path}`."]),
        ("Training history", _history_blocks(run.history)),
        ("Figures", [*run.notes, *run.figures] or ["No PNG figures in figures/."]),
        ("Configuration", [_settings_table(run.config)] if run.config else
         ["No config.json in this run folder."]),
        ("Environment", [_settings_table(run.env)] if run.env else
         ["No env.json in this run folder."]),
    ]
    return write_html_page(
        run.path / REPORT_FILE, title or f"aelab run: {run.name}", sections,
        subtitle=f"run {run.name} \u00b7 dataset {run.dataset} \u00b7 model {run.model} "
                 f"\u00b7 started {run.date}",
    )


def build_comparison(run_dirs: Sequence[str | Path], out_dir: str | Path, *, title: str) -> Path:
    """Write ``out_dir/index.html`` comparing several runs.

    Parameters
    ----------
    run_dirs : sequence of str or pathlib.Path
        Run folders, in the order to show them.
    out_dir : str or pathlib.Path
        Folder for the page; created if needed.
    title : str
        Page title.

    Returns
    -------
    pathlib.Path
        The page: a table with one row per run (run, model, dataset and the
        :data:`KEY_METRICS` any run has), then each run's figures.

    Raises
    ------
    DataError
        If no run folder is given, one is not a folder, or one of its files cannot be parsed.
    """
    if not run_dirs:
        raise DataError("build_comparison needs at least one run folder; got none.")
    runs = [_load_run(d) for d in run_dirs]
    shown = [k for k in KEY_METRICS if any(k in r.metrics for r in runs)]
    rows = [{"run": r.name, "model": r.model, "dataset": r.dataset,
             **{k: r.metrics.get(k, _MISSING) for k in shown}} for r in runs]
    sections: list[tuple[str, Sequence[Block]]] = [("Runs", [rows])]
    for r in runs:
        blocks = [f"Run folder: {r.path}", *r.notes, *r.figures]
        sections.append((r.name, blocks if r.figures else [*blocks, "No PNG figures."]))
    return write_html_page(Path(out_dir) / COMPARISON_FILE, title, sections,
                           subtitle=f"{len(runs)} runs compared")


@dataclass
class _Run:
    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # problems to show on the page

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def dataset(self) -> str:
        return _first(self.config.get("data"), _DATASET_KEYS)

    @property
    def model(self) -> str:
        return _first(self.config.get("model"), _MODEL_KEYS)

    @property
    def date(self) -> str:
        return _first(self.env, _DATE_KEYS)


def _load_run(run_dir: str | Path) -> _Run:
    path = Path(run_dir)
    if not path.is_dir():
        raise DataError(
            f"run folder not found: {path}. Pass a folder written by `aelab train` "
            "(it holds config.json)."
        )
    run = _Run(path, **{k: _read_json(path / f"{k}.json") for k in ("config", "env", "metrics")})
    for name in ("history.csv", "history.jsonl"):
        if (path / name).is_file():
            run.history = read_history(path / name)
            break
    for png in sorted((path / "figures").glob("*.png")):
        if png.read_bytes()[:8] == _PNG_SIGNATURE:
            run.figures.append(png)
        else:
            logger.warning("%s is not a PNG file; left out of the report", png)
            run.notes.append(f"figures/{png.name} is not a valid PNG file; it is left out.")
    return run


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = _parse_json(path.read_text(encoding="utf-8"), path)
    if not isinstance(data, dict):
        raise DataError(f"{path} must hold a JSON object; got {type(data).__name__}.")
    return data


def _parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path} is not valid JSON: {e}.") from e


def _to_float(value: Any) -> float:
    return math.nan if value is None or value == "" else float(value)


def _first(mapping: Any, keys: Sequence[str]) -> str:
    if isinstance(mapping, Mapping):
        for key in keys:
            if mapping.get(key) not in (None, ""):
                return str(mapping[key])
    return "unknown"


def _metrics_table(metrics: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"metric": k, "value": _format_value(k, v)} for k, v in metrics.items()]


def _settings_table(settings: Mapping[str, Any]) -> list[dict[str, str]]:
    """Nested settings -> rows of dotted keys (``train.lr``) and exact JSON values."""
    return [{"key": k, "value": v if isinstance(v, str) else json.dumps(v)}
            for k, v in _flatten(settings)]


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in mapping.items():
        if isinstance(value, Mapping) and value:
            items.extend(_flatten(value, f"{prefix}{key}."))
        else:
            items.append((f"{prefix}{key}", value))
    return items


def _history_blocks(history: list[dict[str, float]]) -> list[Block]:
    if not history:
        return ["No history.csv in this run folder yet."]
    return [f"{len(history)} epochs recorded; the last one:", [history[-1]]]


def _format_value(key: str, value: Any) -> str:
    """Ints as ints, floats to 4 significant digits, ``*seconds`` columns with a unit."""
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
            value = row.get(c, _MISSING)
            css = "" if isinstance(value, str) else ' class="num"'
            cells.append(f"<td{css}>{_esc(_format_value(c, value))}</td>")
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
    return str(text)
