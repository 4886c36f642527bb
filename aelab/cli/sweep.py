"""``aelab sweep CONFIG --grid model.latent_dim=2,10,30 --grid train.seed=0,1``: one run per
point of a grid over config keys, a result file and a report."""

from __future__ import annotations

from pathlib import Path

from . import _config, config_args
from .executors import add_executor_args


def cmd_sweep(args) -> int:
    from ..executors import MAIN_METRIC
    from ..sweep import parse_grid, run_sweep
    from .executors import executor_options
    from .progress import TrainingBar, bar

    cfg = _config(args)
    out = args.out or Path("sweeps") / cfg.name
    result = run_sweep(cfg, parse_grid(args.grid), out, executor=executor_options(args),
                       command=["aelab", *args.argv], progress=bar, callbacks=[TrainingBar()])
    width = max(len(r["run"]) for r in result["records"])
    for r in result["records"]:
        print(f"{r['run']:<{width}}  {MAIN_METRIC}={r[MAIN_METRIC]:.5g}")
    print(f"results: {Path(out) / 'results.json'}\nreport:  {Path(out) / 'report.html'}")
    return 0


def register(add) -> None:
    sp = add("sweep", cmd_sweep, "train a run config at every point of a grid over its keys; "
                                 "one run folder per point, results.json and report.html")
    config_args(sp)
    sp.add_argument("--grid", action="append", required=True, metavar="SECTION.KEY=V1,V2,...",
                    help="a swept key and its values, e.g. --grid model.latent_dim=2,10,30 "
                         "(repeatable: the grid is the product)")
    sp.add_argument("--out", type=Path, help="output folder (default sweeps/<config name>)")
    add_executor_args(sp)
