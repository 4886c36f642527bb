"""The `aelab` command line. Each subcommand parses, loads a config, calls one library
function. User errors print ``error: ...`` and exit 2; other failures exit 1; the traceback
is shown only with ``--debug``."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AelabError, ConfigError, DataError
from .device import add_device_args
from .executors import add_executor_args

if TYPE_CHECKING:
    from ..config import RunConfig

log = logging.getLogger("aelab")

# Subcommands defined in their own module under aelab/cli/, each with ``register(add)``
# where ``add(name, fn, help)`` returns the argparse sub-parser.
COMMAND_MODULES: tuple[str, ...] = ("generate", "cv", "sweep", "restore", "upscale", "export")


def _config(args) -> RunConfig:
    from ..config import RunConfig  # imported here to keep `aelab --help` fast

    if args.config:
        return RunConfig.from_file(args.config, args.set)
    return RunConfig().replace(args.set)


def config_args(sp) -> None:
    """The CONFIG argument and --set overrides, read by `_config`."""
    sp.add_argument("config", nargs="?", help="TOML run config (default: built-in defaults)")
    sp.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override a config value, e.g. --set train.lr=3e-4 (repeatable)")


def cmd_datasets(args) -> int:
    from ..data import describe_datasets

    for d in describe_datasets(args.data_dir):
        shape = d["image_shape"]
        shape = "x".join(map(str, shape)) if isinstance(shape, (tuple, list)) else shape
        print(f"{d['name']:<14} {shape:<10} {d['n_classes']!s:>3} classes  {d.get('summary', '')}")
        for f in d.get("files", []):
            where = f.get("path") or f.get("url") or ""
            print(f"    {f['status']:<9} {f['file']:<32} {where}")
    return 0


def cmd_train(args) -> int:
    from ..runs import resume_run, train_run
    from .progress import TrainingBar, bar

    kw = {"command": ["aelab", *args.argv], "progress": bar, "callbacks": [TrainingBar()]}
    if args.resume:
        extra = [flag for flag, given in (("CONFIG", args.config), ("--out", args.out),
                                          ("--overwrite", args.overwrite)) if given]
        if extra:
            raise ConfigError(f"--resume continues a run with its own config.json; drop "
                              f"{', '.join(extra)} (change train.epochs, train.lr or "
                              "train.patience with --set).")
        run_dir = resume_run(args.resume, args.set, **kw)
    else:
        cfg = _config(args)
        out = args.out or str(Path("runs") / cfg.name)
        run_dir = train_run(cfg, out, overwrite=args.overwrite, **kw)
    _print_metrics(run_dir / "metrics.json")
    print(f"run folder: {run_dir}\nreport:     {run_dir / 'report.html'}")
    return 0


def _print_metrics(path: Path) -> None:
    from ..files import read_json

    m = read_json(path, "metrics file")
    keys = ("test_mse", "test_bce", "test_psnr_db", "test_ssim", "train_seconds", "epochs")
    print("  ".join(f"{k}={m[k]:.4g}" for k in keys if isinstance(m.get(k), (int, float))))


def cmd_evaluate(args) -> int:
    from ..runs import evaluate_run, load_run
    from .device import device_from, precision_from
    from .progress import bar

    device = device_from(args)
    _, model = load_run(args.run_dir, device)
    m = evaluate_run(args.run_dir, dataset=args.dataset, progress=bar, model=model,
                     device=device, precision=precision_from(args, model, device, 512))
    for k, v in m.items():
        print(f"{k:<26} {v:.6g}" if isinstance(v, float) else f"{k:<26} {v}")
    return 0


def cmd_reconstruct(args) -> int:
    from ..apply import reconstruct_files
    from .device import device_from

    for path in reconstruct_files(args.run_dir, args.images, args.out,
                                  device=device_from(args), precision=args.precision):
        print(path)
    return 0


def cmd_report(args) -> int:
    from ..report.html import build_report

    print(build_report(args.run_dir))
    return 0


def cmd_summary(args) -> int:
    from ..data import DATASETS, load_dataset
    from ..models import create_model, summary

    cfg = _config(args)
    shape = DATASETS.get(cfg.data.name, "data.name").image_shape  # fixed shapes need no files
    if shape is None:                                              # image_folder: size, mode
        shape = load_dataset(cfg.data.name, data_dir=cfg.data.data_dir, splits=("test",),
                             **cfg.data.options).image_shape
    model = create_model(cfg.model.name, input_shape=tuple(shape), **cfg.model.kwargs)
    print(summary(model))
    return 0


def cmd_study(args) -> int:
    from ..studies import run_study
    from .executors import executor_options
    from .progress import TrainingBar, bar

    report = run_study(args.name, out_dir=args.out, quick=args.quick, dataset=args.dataset,
                       progress=bar, callbacks=[TrainingBar()],
                       options=_parse_options(args.option), executor=executor_options(args),
                       train_overrides=args.set)
    print(f"report: {report}")
    return 0


def _parse_options(items: list[str]) -> dict:
    """``KEY=VALUE`` strings to a dict, values read as TOML (`aelab.config.parse_value`)."""
    from ..config import parse_assignments

    return parse_assignments(items, flag="--option", example="levels=[0.3,0.5]")


def cmd_list(args) -> int:
    from ..corruptions import CORRUPTIONS
    from ..data import DATASETS
    from ..losses import RECONSTRUCTIONS, REGULARIZERS
    from ..models import list_models
    from ..studies import STUDIES

    names = {"models": list_models, "datasets": DATASETS.names, "studies": STUDIES.names,
             "corruptions": CORRUPTIONS.names,
             "losses": lambda: RECONSTRUCTIONS.names() + REGULARIZERS.names()}[args.what]()
    print("\n".join(names))
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, ``error: <command>: <what>``, like every other error."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="aelab", description="Train, evaluate and compare "
                "autoencoders on image data.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress messages")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, fn, help):
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(fn=fn)
        return sp

    sp = add("datasets", cmd_datasets, "list datasets and where their files are")
    sp.add_argument("--data-dir", help="folder to look in before AELAB_DATA and the cache")
    sp = add("train", cmd_train, "train one run into a run folder and write its report")
    config_args(sp)
    sp.add_argument("--out", help="run folder (default: runs/<config name>)")
    sp.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    sp.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    sp = add("evaluate", cmd_evaluate, "compute test metrics of a run")
    sp.add_argument("run_dir", type=Path)
    sp.add_argument("--dataset", help="evaluate on this dataset's test split instead")
    add_device_args(sp)
    sp = add("reconstruct", cmd_reconstruct, "reconstruct image files with a trained run")
    sp.add_argument("run_dir", type=Path)
    sp.add_argument("images", nargs="+", type=Path)
    sp.add_argument("--out", type=Path, required=True, help="output folder")
    add_device_args(sp)
    sp = add("report", cmd_report, "rebuild a run's HTML report from its files")
    sp.add_argument("run_dir", type=Path)
    sp = add("summary", cmd_summary, "print a layer table of the configured model")
    config_args(sp)
    sp = add("study", cmd_study, "run a study (several runs, one report)")
    sp.add_argument("name")
    sp.add_argument("--quick", action="store_true", help="tiny version that runs in seconds")
    sp.add_argument("--out", type=Path, help="output folder (default: studies/<name>)")
    sp.add_argument("--dataset", help="dataset to run the study on")
    sp.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="a study option, e.g. --option levels=[0.3,0.5] (repeatable)")
    sp.add_argument("--set", action="append", default=[], metavar="train.KEY=VALUE",
                    help="how every run of the study trains, e.g. --set "
                         "'train.loggers=[\"tensorboard\"]' (repeatable)")
    add_executor_args(sp)
    sp = add("list", cmd_list, "list registered names")
    sp.add_argument("what", choices=["models", "losses", "datasets", "studies", "corruptions"])
    for module in COMMAND_MODULES:   # commands that live in their own file: register(add)
        import_module(f"{__name__}.{module}").register(add)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    args.argv = argv
    from .. import _cpu

    _cpu.configure()    # before torch's first parallel op starts its thread pool
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.fn(args)
    except (ConfigError, DataError) as e:
        if args.debug:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (AelabError, OSError) as e:
        if args.debug:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not a user error: say so, keep the traceback for --debug
        if args.debug:
            traceback.print_exc()
        print(f"error: unexpected {type(e).__name__}: {e} (rerun with --debug for the "
              "traceback)", file=sys.stderr)
        return 1
