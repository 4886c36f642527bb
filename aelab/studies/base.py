"""The study recipe: typed options, a plan of runs, a score over their folders, a report.

A study is a subclass of `Study`, registered with ``@STUDIES.register(name)``::

    @dataclass(frozen=True)
    class Options(StudyOptions):
        dims: tuple[int, ...] = (2, 10, 30, 64)
        epochs: int = 10
        QUICK = {"dims": (2, 10), "epochs": 2}     # the --quick preset

    @STUDIES.register("pca-vs-ae")
    class PcaVsAe(Study):
        Options = Options
        def plan(self) -> list[PlannedRun]: ...      # the runs it needs; nothing trains yet
        def score(self, runs) -> Results: ...        # records from the finished run folders
        def report(self, results) -> list[Section]:  # the report's sections

`run_study` does the rest, the same way for every study: it validates the options (an error
names the option, the bad value and what is allowed; explicit 0, False and [] are kept),
plans, hands the planned runs to an executor (`aelab.executors`: a finished run with the
same config is reused, fewer epochs are extended), scores once every run is done, and writes
``<out>/results.json`` (study, dataset, command, machine, versions, settings, records) and
``<out>/report.html``. The run folders are ``<out>/runs/<name>``, ordinary run folders that
`aelab evaluate`, `aelab report` and `load_run` open.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shlex
import time
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from ..errors import ConfigError
from ..executors import PlannedRun
from ..provenance import provenance
from ..registry import reject_unknown_options
from ..report.page import Block, write_html_page
from ..train import write_json

RESULTS_FILE = "results.json"
REPORT_FILE = "report.html"
Section = tuple[str, Sequence[Block]]


# -- typed options -----------------------------------------------------------------------------

def _describe(hint) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(a) for a in args)
    if origin in (tuple, list):
        plural = {int: "integers", float: "numbers", str: "strings", bool: "booleans"}
        return f"a list of {plural.get(args[0], f'values ({_describe(args[0])})')}" \
            if args else "a list"
    if origin is dict or hint is dict:
        return "a table"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string",
            type(None): "null", Any: "any value"}.get(hint, getattr(hint, "__name__", str(hint)))


def _conform(value, hint):
    """`value` as `hint` asks (lists as tuples, ints as floats where a number is meant), or
    raise TypeError."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for a in args:
            try:
                return _conform(value, a)
            except TypeError:
                continue
        raise TypeError
    if hint is type(None):
        if value is None:
            return None
        raise TypeError
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise TypeError
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise TypeError
        return tuple(_conform(v, args[0]) for v in value)
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise TypeError
        return dict(value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise TypeError
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TypeError
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise TypeError
    if isinstance(value, hint):
        return value
    raise TypeError


@dataclass(frozen=True)
class StudyOptions:
    """Base of a study's options: a frozen dataclass whose fields are the options, with the
    full study's defaults; ``QUICK`` holds the values that --quick changes. Subclasses may
    add cross-field checks in `check` (raise ConfigError naming the option)."""

    QUICK: ClassVar[dict[str, Any]] = {}

    @classmethod
    def build(cls, study: str, given: Mapping[str, Any] | None = None, *,
              quick: bool = False):
        """The options of a run of `study`: the preset (full or quick) with `given` on top,
        each value checked against its field's type."""
        given = dict(given or {})
        reject_unknown_options(given, [f.name for f in dataclasses.fields(cls)], key="option",
                               owner=f"study {study!r}")
        hints = typing.get_type_hints(cls)
        values = {**cls.preset(quick), **given}
        checked = {}
        for key, value in values.items():
            try:
                checked[key] = _conform(value, hints[key])
            except TypeError:
                shown = json.dumps(value, default=repr)
                raise ConfigError(f"study {study!r}: option {key} = {shown} is not allowed; it "
                                  f"must be {_describe(hints[key])}.") from None
        opts = cls(**checked)
        opts.check(study)
        return opts

    @classmethod
    def preset(cls, quick: bool) -> dict[str, Any]:
        """Every option's value in the full (or, with `quick`, the quick) preset."""
        full = {f.name: (f.default if f.default is not dataclasses.MISSING
                         else f.default_factory()) for f in dataclasses.fields(cls)}
        return {**full, **(cls.QUICK if quick else {})}

    def check(self, study: str) -> None:
        """Cross-field checks; the field types are checked already."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _plain(value):
    """Tuples as lists, for JSON and for the command line."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# -- the recipe ----------------------------------------------------------------------------------

@dataclass
class Results:
    """What a study's score step found: flat `records`, the `settings` worth recording beside
    the options, and `extra` top-level entries of the result file (e.g. a summary)."""

    records: list[dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


class Study:
    """One classic experiment. Subclasses set `Options` and the dataset defaults and write
    `plan`, `score` and `report`; they hold the science only."""

    Options: ClassVar[type[StudyOptions]] = StudyOptions
    dataset_full: ClassVar[str] = "mnist"        # default dataset of the full study
    dataset_quick: ClassVar[str] = "digits"      # and of --quick (bundled, offline)

    def __init__(self, name: str, opts: StudyOptions, *, dataset: str, quick: bool,
                 out_dir: Path, progress=None, callbacks=()):
        self.name, self.opts, self.dataset, self.quick = name, opts, dataset, quick
        self.out_dir, self.progress, self.callbacks = Path(out_dir), progress, callbacks
        self._started = time.perf_counter()

    def seconds(self) -> float:
        """Wall time since the study started (validation, training and scoring)."""
        return time.perf_counter() - self._started

    @property
    def fig_dir(self) -> Path:
        return self.out_dir / "figures"

    @functools.cached_property
    def data(self):
        """The study's dataset (`aelab.data.ImageData`), loaded once when first used."""
        from ..data import load_dataset

        return load_dataset(self.dataset, progress=self.progress)

    def plan(self) -> list[PlannedRun]:
        """The runs this study trains, as configs; nothing trains here."""
        return []

    def score(self, runs: dict[str, Path]) -> Results:
        """Records from the finished run folders (name -> folder)."""
        raise NotImplementedError

    def report(self, results: Results) -> list[Section]:
        """The report's sections (text, tables of records, figure paths)."""
        raise NotImplementedError

    def title(self) -> str:
        return f"{self.name} ({self.dataset})"

    def subtitle(self, command: str) -> str:
        return command


def study_command(name: str, dataset: str | None, quick: bool, opts: StudyOptions) -> str:
    """The `aelab study` command line that reproduces a run of study `name` with `opts`:
    the options that differ from the preset are written out."""
    parts = ["AELAB_DATA=../shared/datasets", "aelab", "study", name]
    if dataset:
        parts += ["--dataset", dataset]
    if quick:
        parts.append("--quick")
    preset = type(opts).build(name, quick=quick).to_dict()
    for key, value in opts.to_dict().items():
        if value != preset[key]:
            parts += ["--option", shlex.quote(f"{key}={json.dumps(value, separators=(',', ':'))}")]
    return " ".join(parts)


def run_recipe(cls: type[Study], name: str, out_dir: Path, *, quick: bool,
               dataset: str | None, options: Mapping[str, Any], progress=None,
               callbacks=(), executor="local", train_overrides: Sequence[str] = ()) -> Path:
    """Validate, plan, train (through the executor), score, write the result file and the
    report of study `cls`; return the report. `train_overrides` (``train.key=value``, the
    CLI's ``aelab study --set``) apply to every planned run: how they train, e.g.
    ``train.loggers=["tensorboard"]`` or ``train.device="cuda"``, not what they are."""
    from ..executors import execute

    opts = cls.Options.build(name, options, quick=quick)
    study = cls(name, opts, dataset=dataset or (cls.dataset_quick if quick else cls.dataset_full),
                quick=quick, out_dir=out_dir, progress=progress, callbacks=callbacks)
    planned = [PlannedRun(p.name, _with_train(p.config, train_overrides))
               for p in study.plan()]
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = execute(planned, out_dir / "runs", executor=executor, progress=progress,
                   callbacks=callbacks)
    results = study.score(runs)
    command = " ".join([study_command(name, dataset, quick, opts),
                        *(f"--set {shlex.quote(o)}" for o in train_overrides)])
    write_json(out_dir / RESULTS_FILE, {
        "study": name, "dataset": study.dataset, **provenance(command),
        "settings": opts.to_dict() | results.settings, **results.extra,
        "records": results.records})
    sections = study.report(results)
    return write_html_page(out_dir / REPORT_FILE, study.title(), sections,
                           subtitle=study.subtitle(command))


def _with_train(config, overrides: Sequence[str]):
    """`config` with ``train.*`` overrides applied; any other section is refused (it would
    change what the study compares, which its options say)."""
    others = [o for o in overrides if not o.strip().startswith("train.")]
    if others:
        raise ConfigError(f"aelab study --set takes train.* keys only (how every run trains, "
                          f"e.g. train.loggers=[\"tensorboard\"]); got {others[0]!r}. What a "
                          "study compares is set with --option.")
    return config.replace(list(overrides)) if overrides else config
