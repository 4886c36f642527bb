"""Studies: classic experiments that compose runs into one report.

A study is a function ``run(out_dir, *, quick, dataset, progress, callbacks) -> Path`` (the
report) registered under its CLI name; one file each in this folder.
"""

from __future__ import annotations

from pathlib import Path

from ..registry import Registry

STUDIES: Registry = Registry("study")


def run_study(name: str, *, out_dir: str | Path | None = None, quick: bool = False,
              dataset: str | None = None, progress=None, callbacks=()) -> Path:
    """Run the study registered as `name` into `out_dir` (default ``studies/<name>``)."""
    study = STUDIES.get(name, key="study")
    out = Path(out_dir) if out_dir is not None else Path("studies") / name
    out.mkdir(parents=True, exist_ok=True)
    return study(out, quick=quick, dataset=dataset, progress=progress, callbacks=callbacks)


from . import quickstart  # noqa: E402,F401  (registers the study)

__all__ = ["STUDIES", "run_study"]
