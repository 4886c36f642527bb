"""Studies: classic experiments that compose runs into one report.

A study is a `base.Study` subclass registered under its CLI name, one file each in this
folder: typed options, a plan of runs, a score over the finished run folders, a report (see
`aelab.studies.base`). Studies not yet moved onto that recipe are still functions
``run(out_dir, *, quick, dataset, progress, callbacks, **options) -> Path`` whose keyword
arguments are their options (``aelab study NAME --option levels=[0.3,0.5]``).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..registry import Registry
from .base import Study, run_recipe

STUDIES: Registry = Registry("study")


COMMON = ("quick", "dataset", "progress", "callbacks")


def study_options(name: str) -> dict[str, Any]:
    """The study's own options and their defaults (of the full study)."""
    study = STUDIES.get(name, key="study")
    if isinstance(study, type) and issubclass(study, Study):
        return study.Options.preset(quick=False)
    params = inspect.signature(study).parameters
    return {k: p.default for k, p in params.items()
            if p.kind is p.KEYWORD_ONLY and k not in COMMON}


def run_study(name: str, *, out_dir: str | Path | None = None, quick: bool = False,
              dataset: str | None = None, progress=None, callbacks=(),
              options: dict[str, Any] | None = None, executor="local",
              train_overrides: list[str] = ()) -> Path:
    """Run the study registered as `name` into `out_dir` (default ``studies/<name>``).

    `options` are passed to the study as keyword arguments; an unknown one is a ConfigError
    that lists the study's options. `executor` (``"local"``, ``"ray"`` or an
    `aelab.executors.ExecutorOptions`) trains the study's planned runs; `train_overrides`
    (``train.key=value``) apply to each of them.
    """
    study = STUDIES.get(name, key="study")
    options = dict(options or {})
    out = Path(out_dir) if out_dir is not None else Path("studies") / name
    if isinstance(study, type) and issubclass(study, Study):
        return run_recipe(study, name, out, quick=quick, dataset=dataset, options=options,
                          progress=progress, callbacks=callbacks, executor=executor,
                          train_overrides=train_overrides)
    if train_overrides:
        raise ConfigError(f"study {name!r} is not on the study recipe yet, so it does not take "
                          "--set; leave it out.")
    if getattr(executor, "name", executor) != "local":
        raise ConfigError(f"study {name!r} is not on the study recipe yet, so it trains its "
                          "runs itself, in this process: run it with --executor local.")
    allowed = study_options(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        listed = ", ".join(f"{k} (default {v!r})" for k, v in allowed.items()) or "none"
        raise ConfigError(f"study {name!r} has no option {unknown[0]!r}. Its options: {listed}.")
    out.mkdir(parents=True, exist_ok=True)
    return study(out, quick=quick, dataset=dataset, progress=progress, callbacks=callbacks,
                 **options)


from . import augmentation  # noqa: E402,F401,I001  (registers the study)
from . import quickstart  # noqa: E402,F401  (registers the study)
from . import pca_vs_ae  # noqa: E402,F401  (registers the study)
from . import hidden_sizes  # noqa: E402,F401  (registers the study)
from . import sparsity  # noqa: E402,F401  (registers the study)
from . import features  # noqa: E402,F401  (registers the study)
from . import out_of_distribution  # noqa: E402,F401  (registers the study)
from . import priors  # noqa: E402,F401  (registers the study)
from . import clustering  # noqa: E402,F401  (registers the study)
from . import restoration  # noqa: E402,F401  (registers the study)
from . import super_resolution  # noqa: E402,F401  (registers the study)
from . import vae  # noqa: E402,F401  (registers the study)
from . import decoders  # noqa: E402,F401  (registers the study)

__all__ = ["STUDIES", "run_study", "study_options"]
