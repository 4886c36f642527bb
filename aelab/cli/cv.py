"""``aelab cv CONFIG --folds 5``: stratified k-fold cross-validation of a run config."""

from __future__ import annotations

from pathlib import Path

from .executors import add_executor_args
from .numbers import integer

SHOWN = ("test_mse", "test_sse_per_image", "test_psnr_db", "test_ssim", "train_seconds")


def cmd_cv(args) -> int:
    from ..cv import cross_validate
    from . import _config
    from .executors import executor_options
    from .progress import TrainingBar, bar

    cfg = _config(args)
    out = args.out or Path("runs") / f"{cfg.name}-cv{args.folds}"
    result = cross_validate(cfg, out, folds=args.folds, pool=args.pool,
                            overwrite=args.overwrite, command=["aelab", *args.argv],
                            progress=bar, callbacks=[TrainingBar()],
                            executor=executor_options(args))
    summary = result["summary"]
    print(f"{'metric':<22}" + "".join(f"{'fold ' + str(r['fold']):>11}" for r in result["records"])
          + f"{'mean':>11}{'std':>11}")
    for key in [k for k in SHOWN if k in summary] + [k for k in summary if k not in SHOWN]:
        folds = "".join(f"{r[key]:>11.5g}" for r in result["records"])
        print(f"{key:<22}{folds}{summary[key]['mean']:>11.5g}{summary[key]['std']:>11.3g}")
    print(f"folder: {out}\nreport: {Path(out) / 'report.html'}")
    return 0


def register(add) -> None:
    sp = add("cv", cmd_cv, "k-fold cross-validation: one run per stratified fold, metrics per "
                           "fold with mean and std")
    from . import config_args

    config_args(sp)
    sp.add_argument("--folds", type=integer(2), default=5, help="number of folds (default 5)")
    sp.add_argument("--pool", choices=("train", "test"), default="train",
                    help="which official split is dealt into folds (default train; 'test' is "
                         "the KMNIST test-set protocol)")
    sp.add_argument("--out", type=Path, help="output folder (default runs/<name>-cv<folds>)")
    sp.add_argument("--overwrite", action="store_true", help="replace an earlier cv in --out "
                    "(finished folds with the same config are reused)")
    add_executor_args(sp)
