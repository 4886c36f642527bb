"""Export a trained run to ONNX, check the file, and prove it computes what torch computes.

`export_onnx(run_dir, part=...)` writes ``<run_dir>/<part>.onnx`` and ``<part>.json`` beside
it. The parts:

- ``autoencoder`` (default for `aelab train` runs): ``x`` (batch, C, H, W) in [0, 1] ->
  ``x_rec`` (sigmoid applied, in [0, 1]) and the code ``z``. For a denoising run this is the
  denoiser: feed it the corrupted image.
- ``encoder``: ``x`` -> ``z`` (a VAE gives its mean). ``decoder``: ``z`` -> ``x_rec``.
- ``upscaler`` (default and only part of `aelab sr-train` runs): ``x`` (batch, C, h, w), the
  colour planes divided by 255 -> ``y`` (batch, C, r*h, r*w) on the same scale, unclipped.

The batch axis is always dynamic. Height and width are dynamic too when the part is fully
convolutional: that is tested, not assumed, by running it at twice the size in torch (ESPCN
passes; a conv autoencoder with a dense bottleneck, or whose decoder upsamples to fixed
sizes, does not). The file is checked with ``onnx.checker`` and run with onnxruntime on
seeded random inputs of a batch size (and, if dynamic, an image size) other than the traced
ones; the largest absolute difference from torch is reported and must be at most
`TOLERANCE` (fp32), else `ExportError`. ``onnx``, ``onnxscript`` and ``onnxruntime`` are the
``onnx`` extra: ``pip install 'aelab[onnx]'``.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from . import __version__
from .errors import ConfigError, DataError, ExportError
from .extras import require

log = logging.getLogger(__name__)

PARTS = ("autoencoder", "encoder", "decoder", "upscaler")
FORMATS = ("onnx",)
TOLERANCE = 1e-4          # fp32: larger differences mean the exported graph is not the model
OPSET = 18


class _Reconstruct(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:   # (B, C, H, W) -> x_rec, z
        out = self.model(x)
        return torch.sigmoid(out.x_logits), out.z


class _Encode(_Reconstruct):
    def forward(self, x: Tensor) -> Tensor:                 # (B, C, H, W) -> z
        return self.model.encode(x)


class _Decode(_Reconstruct):
    def forward(self, z: Tensor) -> Tensor:                 # z -> (B, C, H, W) in [0, 1]
        return torch.sigmoid(self.model.decode(z))


@dataclass(frozen=True)
class _Part:
    module: nn.Module
    sample: Tensor                    # an input of batch 2 (batch 1 would be specialised)
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    normalization: dict[str, str]
    scale: int = 1


_PIXELS = "float32 in [0, 1]: uint8 pixels divided by 255"
_RECON = "float32 in [0, 1] (the sigmoid of the decoder's logits); multiply by 255 for uint8"


def _autoencoder_part(part: str, model, gen: torch.Generator) -> _Part:
    x = torch.rand(2, *model.input_shape, generator=gen)
    if part == "autoencoder":
        return _Part(_Reconstruct(model), x, ("x",), ("x_rec", "z"),
                     {"x": _PIXELS, "x_rec": _RECON, "z": "the code, as model.encode gives it"})
    if part == "encoder":
        return _Part(_Encode(model), x, ("x",), ("z",),
                     {"x": _PIXELS, "z": "the code (a VAE gives its mean)"})
    with torch.no_grad():
        z = model.encode(x)       # realistic codes, not noise
    return _Part(_Decode(model), z, ("z",), ("x_rec",),
                 {"z": "a code, as the encoder gives it", "x_rec": _RECON})


def _upscaler_part(model, gen: torch.Generator) -> _Part:
    x = torch.rand(2, model.channels, 3 * model.halo, 3 * model.halo + 2, generator=gen)
    planes = {"y": "the luminance Y of YCbCr (BT.601 studio range; chroma is upscaled "
                   "bicubically outside the model)",
              "grey": "one grey plane", "rgb": "the R, G and B planes"}[model.color]
    return _Part(model, x, ("x",), ("y",), {
        "x": f"float32 planes divided by 255: {planes}; the model mirrors the border itself",
        "y": f"the same planes {model.scale}x larger, same scale, not clipped: clip to "
             "[0, 1] and multiply by 255"}, scale=model.scale)


def _load(run_dir: Path):
    """(kind, model) of a run folder: 'autoencoder' (aelab train) or 'upscaler' (sr-train)."""
    from safetensors import safe_open

    weights = run_dir / "model.safetensors"
    if not weights.is_file():
        raise DataError(f"{str(weights)!r} is missing: {str(run_dir)!r} is not a finished run "
                        "folder. Train one with `aelab train` or `aelab sr-train`.")
    with safe_open(weights, framework="pt") as f:
        metadata = f.metadata() or {}
    if "aelab_upscaler" in metadata:
        from .sr.train import load_sr_run
        return "upscaler", load_sr_run(run_dir)[1]
    from .runs import load_run
    return "autoencoder", load_run(run_dir)[1]


def _fully_convolutional(module: nn.Module, sample: Tensor) -> bool:
    """True if the part takes images of twice the size and its outputs grow with them."""
    if sample.ndim != 4:
        return False
    big = torch.rand(*sample.shape[:2], 2 * sample.shape[2], 2 * sample.shape[3])
    with torch.no_grad():
        try:
            small_out, big_out = _as_tuple(module(sample)), _as_tuple(module(big))
        except (RuntimeError, ValueError, DataError):   # e.g. a Linear after a flatten
            return False
    return all(s.ndim == 4 and b.shape[2:] == (2 * s.shape[2], 2 * s.shape[3])
               for s, b in zip(small_out, big_out, strict=True))


def _as_tuple(out) -> tuple[Tensor, ...]:
    return tuple(out) if isinstance(out, tuple | list) else (out,)


def _graph_shapes(values) -> list[dict]:
    """Names, shapes (an int or the symbolic name of each axis) and dtype of graph values."""
    import onnx

    return [{"name": v.name,
             "shape": [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim],
             "dtype": onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).name}
            for v in values]


def _name_axes(onnx, path: Path, spatial: bool) -> None:
    """Call the exporter's symbolic axes (s0, s17, ...) batch, height and width, also inside
    the output shapes it derived from them (e.g. 3*s17 -> 3*height)."""
    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    names = {dims[0].dim_param: "batch"} | (
        {dims[2].dim_param: "height", dims[3].dim_param: "width"} if spatial else {})
    names.pop("", None)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    for value in [*model.graph.input, *model.graph.output, *model.graph.value_info]:
        for d in value.type.tensor_type.shape.dim:
            if d.dim_param and names:
                d.dim_param = pattern.sub(lambda m: names[m.group(1)], d.dim_param)
    onnx.save(model, str(path))


def _max_difference(path: Path, part: _Part, checks: list[Tensor]) -> float:
    ort = require("onnxruntime", "onnx", "checking an ONNX export")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for x in checks:
        got = session.run(None, {part.inputs[0]: x.numpy()})
        with torch.no_grad():
            want = _as_tuple(part.module(x))
        for g, w in zip(got, want, strict=True):
            if g.shape != tuple(w.shape):
                raise ExportError(f"onnxruntime returned shape {g.shape} for input "
                                  f"{tuple(x.shape)}; torch returns {tuple(w.shape)}.")
            worst = max(worst, float(np.abs(g - w.numpy()).max()))
    return worst


def export_onnx(run_dir: str | Path, *, part: str | None = None, out: str | Path | None = None,
                opset: int = OPSET, seed: int = 0) -> dict:
    """Export one part of a run to ONNX, check it, and write its description beside it.

    Parameters
    ----------
    run_dir : path
        A run folder of `aelab train` or `aelab sr-train`.
    part : {"autoencoder", "encoder", "decoder", "upscaler"} or None
        None: "upscaler" for a super-resolution run, "autoencoder" otherwise.
    out : path or None
        The ``.onnx`` file; default ``<run_dir>/<part>.onnx``. The JSON goes beside it.
    opset : int
        ONNX opset version.
    seed : int
        Seed of the random inputs used to trace and to compare.

    Returns
    -------
    dict
        What the JSON file holds: ``file``, ``inputs``/``outputs`` (names, shapes with
        symbolic axes, dtypes), ``normalization``, ``scale``, ``max_abs_diff``, ...

    Raises
    ------
    ConfigError
        For a part the run does not have, or when the ``onnx`` extra is not installed.
    ExportError
        When onnxruntime's outputs differ from torch's by more than `TOLERANCE`.
    """
    run_dir = Path(run_dir)
    kind, model = _load(run_dir)
    allowed = ("upscaler",) if kind == "upscaler" else PARTS[:3]
    part = part or allowed[0]
    if part not in allowed:
        raise ConfigError(f"--part {part!r} is not a part of {str(run_dir)!r}, an {kind} run; "
                          f"choose one of: {', '.join(allowed)}.")
    onnx = require("onnx", "onnx", "exporting to ONNX")
    require("onnxscript", "onnx", "exporting to ONNX")       # torch's exporter uses it
    gen = torch.Generator().manual_seed(seed)
    spec = _upscaler_part(model, gen) if kind == "upscaler" else _autoencoder_part(
        part, model, gen)
    spec.module.eval()
    spatial = _fully_convolutional(spec.module, spec.sample)
    axes = {0: torch.export.Dim.AUTO} | (
        {2: torch.export.Dim.AUTO, 3: torch.export.Dim.AUTO} if spatial else {})
    path = Path(out) if out is not None else run_dir / f"{part}.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():      # the exporter's own deprecation notices
        warnings.simplefilter("ignore", FutureWarning)
        torch.onnx.export(spec.module, (spec.sample,), str(path),
                          input_names=list(spec.inputs), output_names=list(spec.outputs),
                          opset_version=opset, dynamo=True, external_data=False,
                          dynamic_shapes=(axes,), verbose=False)
    _name_axes(onnx, path, spatial)
    onnx.checker.check_model(str(path), full_check=True)
    # Compare on inputs the export never saw: batch 3, and another image size if dynamic.
    checks = [torch.rand(3, *spec.sample.shape[1:], generator=gen)]
    if spatial:
        h, w = spec.sample.shape[2:]
        checks.append(torch.rand(1, spec.sample.shape[1], h + 5, 2 * w + 1, generator=gen))
    diff = _max_difference(path, spec, checks)
    if diff > TOLERANCE:
        path.unlink()
        raise ExportError(f"the ONNX export of {part!r} differs from torch by up to {diff:.3g} "
                          f"(allowed: {TOLERANCE:g} in fp32), so it was deleted. Try another "
                          "--opset, and report it with the run's config.json.")
    graph = onnx.load(str(path)).graph
    info = {
        "format": "onnx", "file": path.name, "run": str(run_dir), "part": part,
        "opset": opset, "inputs": _graph_shapes(graph.input),
        "outputs": _graph_shapes(graph.output), "normalization": spec.normalization,
        "scale": spec.scale, "dynamic_height_width": spatial,
        "checked_input_shapes": [list(x.shape) for x in checks],
        "max_abs_diff": diff, "tolerance": TOLERANCE,
        "versions": {"aelab": __version__, "torch": torch.__version__,
                     "onnx": onnx.__version__},
    }
    path.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    log.info("exported %s to %s (max abs difference %.3g)", part, path, diff)
    return info
