"""Studies: classic experiments that compose runs into one report.

A study is a `base.Study` subclass registered under its CLI name, one file each in this
folder: typed options, a plan of runs, a score over the finished run folders, a report (see
`aelab.studies.base`). ``aelab study NAME --option levels=[0.3,0.5]`` sets an option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..registry import Registry
from .base import run_recipe

STUDIES: Registry = Registry("study")


def study_options(name: str) -> dict[str, Any]:
    """The study's own options and their defaults (of the full study)."""
    return STUDIES.get(name, key="study").Options.preset(quick=False)


def run_study(name: str, *, out_dir: str | Path | None = None, quick: bool = False,
              dataset: str | None = None, progress=None, callbacks=(),
              options: dict[str, Any] | None = None, executor="local",
              train_overrides: list[str] = ()) -> Path:
    """Run the study registered as `name` into `out_dir` (default ``studies/<name>``).

    `options` are the study's typed options (an unknown one or a bad value is a ConfigError
    naming it); `executor` (``"local"``, ``"ray"`` or an `aelab.executors.ExecutorOptions`)
    trains the study's planned runs; `train_overrides` (``train.key=value``) apply to each of
    them.
    """
    study = STUDIES.get(name, key="study")
    out = Path(out_dir) if out_dir is not None else Path("studies") / name
    return run_recipe(study, name, out, quick=quick, dataset=dataset, options=dict(options or {}),
                      progress=progress, callbacks=callbacks, executor=executor,
                      train_overrides=train_overrides)


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
