"""Save and load models as safetensors files: weights plus the spec to rebuild the model.

The spec (`model_spec`) is stored as JSON in the file's metadata under ``"aelab_model"``, so
a file is self-describing and loading it never unpickles anything. `write_weights`,
`read_weights` and `fill_weights` do the same for the classifiers and upscalers, under their
own metadata keys.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..errors import ConfigError, DataError
from ..files import atomic_write
from .base import Autoencoder
from .factory import create_model, model_spec

METADATA_KEY = "aelab_model"


def save_model(model: Autoencoder, path: str | os.PathLike) -> Path:
    """Write `model`'s weights and spec to `path` (a ``.safetensors`` file), atomically.

    The file is written under a temporary name in the same folder and then renamed, so
    an interrupted save never leaves a half-written file at `path`.

    Parameters
    ----------
    model : Autoencoder
        A model built by `create_model` (or loaded by `load_model`).
    path : str or PathLike
        Destination file; its folder must exist.

    Returns
    -------
    Path
        `path`.

    Examples
    --------
    >>> import tempfile, os
    >>> from aelab.models import create_model
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> p = save_model(create_model("dense", (1, 8, 8), hidden=[]), path)
    >>> load_model(p).latent_dim
    32
    """
    return write_weights(model, model_spec(model), path, METADATA_KEY)


def load_model(path: str | os.PathLike) -> Autoencoder:
    """Rebuild the model saved at `path` by `save_model`, on the CPU, in eval mode.

    Parameters
    ----------
    path : str or PathLike
        A file written by `save_model`.

    Returns
    -------
    Autoencoder
        In eval mode (call ``.train()`` to go on training) with ``spec`` set.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    DataError
        If the file is not a safetensors file written by `save_model`, or its weights do
        not fit the model its spec describes.
    """
    raw, tensors = read_weights(path, METADATA_KEY, what="model",
                                writer="aelab.models.save_model")
    try:
        spec = json.loads(raw)
        model = create_model(spec["name"], spec["input_shape"], **spec["kwargs"])
    except (ValueError, KeyError, TypeError) as e:
        # ConfigError is a ValueError: a spec from another aelab version may name options
        # this version lacks.
        kind = "invalid" if not isinstance(e, ConfigError) else "not buildable"
        raise DataError(f"the model spec in {str(path)!r} is {kind}: {e}") from e
    return fill_weights(model, tensors, path, f"the {spec['name']!r} model")


def write_weights(module: torch.nn.Module, spec: dict, path: str | os.PathLike,
                  key: str) -> Path:
    """Write `module`'s weights to `path` (safetensors) with `spec` as JSON under `key` in
    the metadata, atomically: under a temporary name in the same folder, then renamed, so
    an interrupted save never leaves a half-written file at `path`."""
    path = Path(path)
    # safetensors wants contiguous CPU tensors that share no memory.
    tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={key: json.dumps(spec)}))
    return path


def read_weights(path: str | os.PathLike, key: str, *, what: str, writer: str
                 ) -> tuple[str, dict[str, torch.Tensor]]:
    """The raw JSON spec under `key` and the tensors of a file written by `write_weights`.

    `what` ("model", "classifier", ...) and `writer` (the function that writes such files)
    go into the errors: FileNotFoundError for a missing file, DataError for an unreadable
    one or one without the metadata.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} file at {str(path)!r}")
    try:
        with safe_open(path, framework="pt") as f:
            raw = (f.metadata() or {}).get(key)
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError) as e:
        raise DataError(f"{str(path)!r} is not a readable safetensors file ({e}). It may be "
                        f"truncated or of another format; save it again with {writer}.") from e
    if raw is None:
        raise DataError(f"{str(path)!r} has no {key!r} metadata, so the {what} to build is "
                        f"unknown. Was it written by {writer}?")
    return raw, tensors


def fill_weights(model: torch.nn.Module, tensors: dict, path: str | os.PathLike,
                 what: str) -> torch.nn.Module:
    """Load `tensors` into `model` (DataError naming `path` if they do not fit); eval mode."""
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise DataError(f"the weights in {str(path)!r} do not fit {what} its spec "
                        f"describes: {e}") from e
    return model.eval()
