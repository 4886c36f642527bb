"""HTML reports built only from the files in run folders; nothing is retrained.

A run folder holds ``config.json``, ``env.json``, ``history.csv``, ``metrics.json`` and
``figures/*.png``, any of which may be missing while a run is in progress. Pages are single,
self-contained files: inline CSS, no JavaScript, and images embedded as base64 data URIs, so a
report opens offline and keeps its pictures when it is moved or mailed.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aelab.errors import DataError
from aelab.report.page import MISSING, Block, format_value, write_html_page

# write_html_page is re-exported: study reports import it from here or from aelab.report.
__all__ = ["read_history", "build_report", "build_comparison", "write_html_page"]

logger = logging.getLogger(__name__)

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

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "history.csv"
    >>> _ = path.write_text("epoch,train_total\\n1,0.5\\n2,0.25\\n")
    >>> read_history(path)
    [{'epoch': 1.0, 'train_total': 0.5}, {'epoch': 2.0, 'train_total': 0.25}]
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"history file not found: {path}.")
    with path.open(newline="", encoding="utf-8") as f:
        if path.suffix == ".jsonl":
            rows, first_line = [_parse_json(line, path) for line in f if line.strip()], 1
        else:
            rows, first_line = list(csv.DictReader(f)), 2  # line 1 is the header
    history = []
    for line, row in enumerate(rows, start=first_line):
        if not isinstance(row, dict):
            raise DataError(f"{path}, line {line}: expected an object of numbers; got {row!r}.")
        parsed = {}
        for key, value in row.items():
            try:
                parsed[key] = _to_float(value)
            except (TypeError, ValueError) as e:
                raise DataError(
                    f"{path}, line {line}, column {key!r}: expected a number; got {value!r}."
                ) from e
        history.append(parsed)
    return history


def build_report(run_dir: str | Path, *, title: str | None = None) -> Path:
    """Write ``run_dir/report.html`` from the files in one run folder.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        A run folder. Every file in it is optional; missing ones are reported as missing
        on the page. ``metrics-<dataset>.json`` files (evaluations on other datasets) get a
        table each, after ``metrics.json``.
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
        *((f"Metrics on {data}", [_metrics_table(m)]) for data, m in run.other_metrics.items()),
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
    sections = comparison_sections(run_dirs)
    return write_html_page(Path(out_dir) / COMPARISON_FILE, title, sections,
                           subtitle=f"{len(run_dirs)} runs compared")


def comparison_sections(run_dirs: Sequence[str | Path]) -> list[tuple[str, Sequence[Block]]]:
    """The sections of `build_comparison`: the table of runs, then each run's figures."""
    if not run_dirs:
        raise DataError("build_comparison needs at least one run folder; got none.")
    runs = [_load_run(d) for d in run_dirs]
    shown = [k for k in KEY_METRICS if any(k in r.metrics for r in runs)]
    rows = [{"run": r.name, "model": r.model, "dataset": r.dataset,
             **{k: r.metrics.get(k, MISSING) for k in shown}} for r in runs]
    sections: list[tuple[str, Sequence[Block]]] = [("Runs", [rows])]
    for r in runs:
        blocks = [f"Run folder: {r.path}", *r.notes, *r.figures]
        sections.append((r.name, blocks if r.figures else [*blocks, "No PNG figures."]))
    return sections


@dataclass
class _Run:
    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    other_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # metrics-<data>.json
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
    for extra in sorted(path.glob("metrics-*.json")):
        run.other_metrics[extra.stem.removeprefix("metrics-")] = _read_json(extra)
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
    return [{"metric": k, "value": format_value(k, v)} for k, v in metrics.items()]


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
