"""Sweeps: one run config trained at every point of a grid over its keys.

``aelab sweep configs/demo.toml --grid model.latent_dim=2,10,30 --grid train.seed=0,1`` plans
one run per point of the grid (the product of the values, in the order given), each a plain
`RunConfig` in a folder named after its settings (``latent_dim=2,seed=0``); every point's config
is built, and its model and objective too, before anything trains, so a bad key or value stops
the sweep at once. The executor trains them (`aelab.executors`: the reuse rule keeps finished
points, so a grid can grow by a value and only the new points train), and the sweep writes
``<out>/results.json`` (one record per point: its settings and final metrics, with the
provenance) and ``<out>/report.html`` (the table, and the main metric against each swept key).

The engine is the executor layer, i.e. plain Ray tasks with ``--executor ray``, not Ray Tune:
a grid needs neither Tune's search algorithms nor its trial schedulers (the reasons to use it),
and with the executor layer a sweep point is an ordinary run folder under the same reuse rule,
failure report and progress lines as a study or a cross-validation fold. Tune would keep a
second record of each trial (its own trial folders, checkpoints and experiment state, and its
own resume), and ``ray[tune]`` pulls pandas and pyarrow where the base ``ray`` suffices. An
adaptive search (ASHA, Bayesian optimisation) would be the reason to wrap `attempt` in a Tune
trainable later.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .config import RunConfig, apply_overrides, parse_value
from .errors import AelabError, ConfigError
from .executors import MAIN_METRIC, PlannedRun, execute
from .provenance import command_line, provenance
from .report.page import write_html_page
from .train import write_json

RESULTS_FILE = "results.json"
REPORT_FILE = "report.html"
SHOWN = (MAIN_METRIC, "test_psnr_db", "test_ssim", "parameters", "train_seconds", "epochs")


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["model.latent_dim=2,10,30", "model.hidden=[64],[64,32]"]`` -> ``{key: [values]}``;
    values are read as ``--set`` reads them (TOML, else a plain string), split at the commas
    outside brackets."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise ConfigError(f"--grid expects section.key=v1,v2,... (e.g. "
                              f"model.latent_dim=2,10,30); got {item!r}.")
        if key in grid:
            raise ConfigError(f"--grid {key} is given twice; give all its values in one "
                              f"--grid {key}=v1,v2,...")
        grid[key] = [parse_value(v.strip()) for v in _split_values(text)]
    return grid


def _split_values(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    if any(not p.strip() for p in parts):
        raise ConfigError(f"--grid values {text!r} have an empty value; write v1,v2,...")
    return parts


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def point_name(point: Mapping[str, Any]) -> str:
    """The folder of a grid point: ``latent_dim=2,seed=0`` (the last part of each key, or the
    whole key where two keys end alike)."""
    last = [k.rsplit(".", 1)[-1] for k in point]
    shown = [s if last.count(s) == 1 else k for s, k in zip(last, point, strict=True)]
    text = ",".join(f"{s}={_value_text(v)}" for s, v in zip(shown, point.values(), strict=True))
    return text.replace("/", "_").replace("\\", "_")


def plan_sweep(cfg: RunConfig, grid: Mapping[str, Sequence[Any]]
               ) -> list[tuple[dict[str, Any], PlannedRun]]:
    """Every point of `grid` over `cfg`, as ``(settings, planned run)``; each point's config,
    model and objective are built here, so that a bad key or value fails before any training.

    Raises
    ------
    ConfigError
        For an empty grid or key, a repeated value, or a point whose config is invalid (the
        message names the point and the key).
    """
    if not grid:
        raise ConfigError("a sweep needs at least one --grid section.key=v1,v2,...")
    for key, values in grid.items():
        if not values:
            raise ConfigError(f"--grid {key} has no values.")
        texts = [_value_text(v) for v in values]
        twice = sorted({t for t in texts if texts.count(t) > 1})
        if twice:
            raise ConfigError(f"--grid {key} lists the value {twice[0]} twice.")
    keys = list(grid)
    points = []
    for values in itertools.product(*(grid[k] for k in keys)):
        point = dict(zip(keys, values, strict=True))
        name = point_name(point)
        try:
            run_cfg = RunConfig.from_dict(apply_overrides(
                cfg.to_dict(), [f"{k}={_toml(k, v)}" for k, v in point.items()]))
            _check_buildable(run_cfg)
        except (ConfigError, AelabError) as e:
            raise ConfigError(f"sweep point {name}: {e}") from e
        points.append((point, PlannedRun(name, run_cfg)))
    return points


def _toml(key: str, value: Any) -> str:
    """`value` as the text of a ``--set`` value that reads back as `value`."""
    text = json.dumps(value)
    if parse_value(text) != value:
        raise ConfigError(f"--grid {key}: {value!r} is not a value a config can hold (a number, "
                          "string, boolean or a list of them).")
    return text


def _check_buildable(cfg: RunConfig) -> None:
    """Build the model and the objective of `cfg` (no data, no training): model options are
    checked only there. Skipped for datasets whose image size is known only from their files."""
    from .data import DATASETS
    from .losses import build_objective
    from .models import create_model

    shape = DATASETS.get(cfg.data.name, "data.name").image_shape
    if shape is not None:
        build_objective(cfg.loss, create_model(cfg.model.name, input_shape=tuple(shape),
                                               **cfg.model.kwargs))


def run_sweep(cfg: RunConfig, grid: Mapping[str, Sequence[Any]], out_dir: str | Path, *,
              executor="local", command: list[str] | None = None, progress=None,
              callbacks=()) -> dict[str, Any]:
    """Train `cfg` at every point of `grid` into ``out_dir/<point>``; write the result file
    and the report; return what results.json holds.

    Parameters
    ----------
    cfg : RunConfig
        The config every point starts from.
    grid : mapping of dotted key -> values
        E.g. ``{"model.latent_dim": [2, 10, 30], "train.seed": [0, 1]}``.
    executor : str or aelab.executors.ExecutorOptions
        Where the points train (``"local"``, ``"ray"``).
    command : list of str, optional
        The command (argv) recorded in results.json and each run's env.json (default: this
        process's).

    Raises
    ------
    ConfigError
        Before anything trains, for a bad key or value (see `plan_sweep`).
    aelab.executors.RunsFailed
        When some points failed (the others finished and are reused by the next sweep).
    """
    out = Path(out_dir)
    points = plan_sweep(cfg, grid)
    runs = execute([p for _, p in points], out, executor=executor, progress=progress,
                   callbacks=callbacks, command=command)
    records = [{"run": p.name, **point, **json.loads((runs[p.name] / "metrics.json").read_text())}
               for point, p in points]
    result = {"sweep": cfg.name, **provenance(command_line(command)), "config": cfg.to_dict(),
              "grid": {k: list(v) for k, v in grid.items()}, "main_metric": MAIN_METRIC,
              "records": records}
    write_json(out / RESULTS_FILE, result)
    _report(out, cfg, result)
    return result


def metric_figure(records: Sequence[Mapping[str, Any]], keys: Sequence[str],
                  metric: str = MAIN_METRIC):
    """One panel per swept key: `metric` of every point against that key's value (dots), and
    its mean over the other keys (line)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(keys), 3.4), layout="constrained")
    for ax, key in zip(fig.subplots(1, len(keys), squeeze=False)[0], keys, strict=True):
        values = list(dict.fromkeys(_value_text(r[key]) for r in records))
        numeric = all(isinstance(r[key], int | float) and not isinstance(r[key], bool)
                      for r in records)
        xs = {t: (json.loads(t) if numeric else i) for i, t in enumerate(values)}
        ys = [[r[metric] for r in records if _value_text(r[key]) == t] for t in values]
        ax.plot([xs[t] for t, y in zip(values, ys, strict=True) for _ in y],
                [v for y in ys for v in y], "o", alpha=0.6, label="points")
        ax.plot([xs[t] for t in values], [sum(y) / len(y) for y in ys], "-", label="mean")
        if not numeric:
            ax.set_xticks(range(len(values)), values)
        ax.set_xlabel(key)
        ax.set_ylabel(metric)
        ax.legend(fontsize="small")
    return fig


def _report(out: Path, cfg: RunConfig, result: dict) -> Path:
    from .report.figures import save_figure

    keys = list(result["grid"])
    records = result["records"]
    figure = save_figure(metric_figure(records, keys), out / "figures" / "sweep.png")
    rows = [{k: r[k] for k in ["run", *keys, *SHOWN] if k in r} for r in records]
    grid = "; ".join(f"{k} = {', '.join(map(_value_text, v))}" for k, v in result["grid"].items())
    text = (f"{len(records)} runs of {cfg.name} ({cfg.model.name} on {cfg.data.name}), one per "
            f"point of the grid {grid}. Each "
            "run folder (<point>/report.html) has its curves and reconstructions.")
    return write_html_page(out / REPORT_FILE, f"Sweep: {cfg.name}", [
        ("Grid", [text]),
        (f"{MAIN_METRIC} against each swept key", [figure]),
        ("Points", [rows]),
    ], subtitle=result["command"])


__all__ = ["metric_figure", "parse_grid", "plan_sweep", "point_name", "run_sweep"]
