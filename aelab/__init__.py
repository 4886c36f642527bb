"""aelab: train, evaluate and compare autoencoders on image data.

Public API::

    from aelab import RunConfig, create_model, list_models, train_run, load_run

Importing aelab has no side effects and imports nothing heavy: each name below is imported
from its module when first used (PEP 562). The CPU's floating-point set-up (flushing
subnormals, see `aelab._cpu`) is made where training or inference starts.
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

_PUBLIC = {"Autoencoder": "estimator", "RunConfig": "config", "create_model": "models",
           "list_models": "models", "evaluate_run": "runs", "load_run": "runs",
           "resume_run": "runs", "train_run": "runs"}
__all__ = [*sorted(_PUBLIC), "__version__"]


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'aelab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
