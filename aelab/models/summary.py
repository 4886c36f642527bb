"""A Keras-style text summary of a model: layers, output shapes, parameter counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import ConfigError


def summary(model: nn.Module, input_shape: Sequence[int] | None = None) -> str:
    """A table of the model's layers with their output shapes and parameter counts.

    Output shapes come from forward hooks during one pass of a zero batch of size 1 in
    eval mode, without gradients; each module's train/eval mode is restored afterwards.
    Rows are the leaf modules (and any module holding parameters itself), in the order
    they run; a layer that never runs shows "-" and comes last. For a layer that returns
    a tuple (a max-pool with indices), the shape of its first tensor is shown.

    Parameters
    ----------
    model : nn.Module
        Usually an `Autoencoder`.
    input_shape : sequence of int, optional
        (C, H, W) of one input; default ``model.input_shape``.

    Returns
    -------
    str
        The table, then total, trainable and non-trainable parameter counts.

    Raises
    ------
    ConfigError
        If no input shape is given and the model has none.

    Examples
    --------
    >>> from aelab.models import create_model
    >>> print(summary(create_model("dense", (1, 8, 8), latent_dim=2, hidden=[])))
    Model: dense (DenseAE), input (1, 8, 8)
    ============================================
    Layer (type)           Output shape  Param #
    ============================================
    encoder.0 (Flatten)    (1, 64)       0
    encoder.1 (Linear)     (1, 2)        130
    decoder.0 (Linear)     (1, 64)       192
    decoder.1 (Unflatten)  (1, 1, 8, 8)  0
    ============================================
    Total params: 322
    Trainable params: 322
    Non-trainable params: 0
    """
    shape = input_shape if input_shape is not None else getattr(model, "input_shape", None)
    if shape is None:
        raise ConfigError(f"summary needs input_shape=(C, H, W) for a {type(model).__name__}, "
                          "which has no input_shape attribute.")
    layers = {name or "(model)": m for name, m in model.named_modules()
              if not any(True for _ in m.children())
              or any(True for _ in m.parameters(recurse=False))}
    shapes = _output_shapes(model, layers, tuple(shape))

    ran = [n for n in shapes if n in layers]
    rows = [(f"{n} ({type(layers[n]).__name__})", shapes.get(n, "-"),
             f"{sum(p.numel() for p in layers[n].parameters(recurse=False)):,}")
            for n in ran + [n for n in layers if n not in shapes]]
    header = ("Layer (type)", "Output shape", "Param #")
    widths = [max(len(r[i]) for r in [header, *rows]) + 2 for i in range(2)]
    line = "=" * (sum(widths) + max(len(r[2]) for r in [header, *rows]))

    def fmt(row: tuple[str, str, str]) -> str:
        return f"{row[0]:<{widths[0]}}{row[1]:<{widths[1]}}{row[2]}".rstrip()

    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    spec_name = getattr(model, "spec", {}).get("name")
    title = f"{spec_name} ({type(model).__name__})" if spec_name else type(model).__name__
    return "\n".join([
        f"Model: {title}, input {tuple(shape)}", line, fmt(header), line,
        *(fmt(r) for r in rows), line,
        f"Total params: {total:,}", f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ])


def _output_shapes(model: nn.Module, layers: dict[str, nn.Module],
                   input_shape: tuple[int, ...]) -> dict[str, str]:
    """Output shape of each layer that runs, keyed by name in the order they first run."""
    shapes: dict[str, str] = {}

    def hook_for(name: str):
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            shapes[name] = _shape(output)
        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in layers.items()]
    modes = {m: m.training for m in model.modules()}
    param = next(model.parameters(), None)
    x = torch.zeros((1, *input_shape), device=param.device if param is not None else None,
                    dtype=param.dtype if param is not None else None)
    try:
        model.eval()    # batch norm cannot run on a batch of 1 in training mode
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
    return shapes


def _shape(output: Any) -> str:
    if isinstance(output, Tensor):
        return str(tuple(output.shape))
    if isinstance(output, tuple | list):
        return next((_shape(o) for o in output if isinstance(o, Tensor)), "-")
    return "-"
