"""Autoencoder families behind one registry.

Build a model by name with `create_model`; every model returns an `Output` whose
``x_logits`` are logits (apply ``sigmoid`` to see images). To add a family, write one
file that registers it with ``@MODELS.register("name")`` and import it below; the
registry-wide tests in ``tests/models`` then cover it.
"""

from . import conv, dense, vae  # noqa: F401  (importing registers the families)
from .base import MODELS, Autoencoder, Output
from .conv import ConvAE
from .dense import DenseAE
from .factory import create_model, list_models, model_spec
from .io import load_model, save_model
from .summary import summary
from .vae import ConvVAE, DenseVAE

__all__ = [
    "MODELS", "Autoencoder", "ConvAE", "ConvVAE", "DenseAE", "DenseVAE", "Output",
    "create_model", "list_models", "load_model", "model_spec", "save_model", "summary",
]
