"""Build registered models by name, checking their options, and describe how to rebuild them."""

from __future__ import annotations

import copy
import inspect
import json
from typing import Any

from ..errors import AelabError, ConfigError
from ..registry import reject_unknown_options
from .base import MODELS, Autoencoder, check_input_shape


def create_model(name: str, input_shape: tuple[int, int, int], **kwargs: Any) -> Autoencoder:
    """Build the model registered as `name` for images of `input_shape`.

    The keyword arguments are the model's constructor options (a config's ``[model]``
    table without ``name``); lists are accepted wherever tuples are expected. The resolved
    options, defaults included (except those the class lists in `spec_omits_defaults` while
    they hold their default), are stored on the model as ``model.spec``, so `save_model` can
    record how to rebuild it.

    Parameters
    ----------
    name : str
        A registered model name; see `list_models`.
    input_shape : tuple of int
        (C, H, W) of one image.
    **kwargs
        Options of the model's constructor, e.g. ``latent_dim=16``.

    Returns
    -------
    Autoencoder

    Raises
    ------
    ConfigError
        For an unknown name, an unknown option (with the close matches and the allowed
        options), or a bad value.

    Examples
    --------
    >>> model = create_model("dense", (1, 8, 8), latent_dim=4, hidden=[16])
    >>> model_spec(model)["kwargs"]["hidden"]
    [16]
    """
    cls = MODELS.get(name, key="model.name")
    input_shape = check_input_shape(input_shape)
    signature = inspect.signature(cls)
    allowed = [p for p in signature.parameters if p != "input_shape"]
    reject_unknown_options(kwargs, allowed, key="model", owner=f"model {name!r}")
    bound = signature.bind(input_shape, **kwargs)
    bound.apply_defaults()
    resolved = {k: v for k, v in bound.arguments.items() if k != "input_shape" and not (
        k in cls.spec_omits_defaults and v == signature.parameters[k].default)}
    model = cls(input_shape, **kwargs)
    model.spec = {"name": name, "input_shape": list(input_shape),
                  "kwargs": {k: _to_json(k, v) for k, v in resolved.items()}}
    return model


def list_models() -> list[str]:
    """Registered model names, sorted: what ``[model] name`` accepts.

    Examples
    --------
    >>> "conv" in list_models()
    True
    """
    return MODELS.names()


def model_spec(model: Autoencoder) -> dict[str, Any]:
    """How to rebuild `model`: ``{"name", "input_shape", "kwargs"}``, JSON-serialisable.

    ``create_model(spec["name"], spec["input_shape"], **spec["kwargs"])`` rebuilds it (with
    fresh weights).

    Raises
    ------
    AelabError
        If the model was not built by `create_model` (its options are then unknown).

    Examples
    --------
    >>> model_spec(create_model("conv", (1, 8, 8), channels=[4]))["input_shape"]
    [1, 8, 8]
    """
    spec = getattr(model, "spec", None)
    if spec is None:
        raise AelabError(
            f"{type(model).__name__} was built directly, so the options it was built with "
            "are unknown and it cannot be saved or described. Build it with "
            "aelab.models.create_model(name, input_shape, **options) instead.")
    return copy.deepcopy(spec)


def _to_json(key: str, value: Any) -> Any:
    """`value` as JSON gives it back: tuples become lists, numpy scalars plain numbers."""
    def plain(v: Any) -> Any:
        if hasattr(v, "item"):          # numpy / torch scalars
            return v.item()
        raise TypeError(type(v).__name__)

    try:
        return json.loads(json.dumps(value, default=plain))
    except (TypeError, ValueError) as e:
        raise ConfigError(f"model.{key} must be a plain value (number, string, bool or a list "
                          f"of them) so the model can be saved; got {value!r}.") from e
