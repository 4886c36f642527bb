"""Classical denoisers to compare autoencoders with, and a fair way to tune them.

`BASELINES` registers ``nlm`` and ``tv`` (scikit-image's non-local means and total-variation
denoising), ``median`` (a median filter) and ``bm3d`` (the `bm3d` package). Each takes float
images (N, C, H, W) in [0, 1] and one parameter setting, and offers a small grid of settings
scaled to the noise level. `tuning.tune` picks the setting on the validation split (never on
the test split), with and without a `tuning.BiasCorrection`: a monotone per-intensity map
fitted on validation pixels, which removes the grey haze that clipped noise (far from
zero-mean on dark pixels) leaves after NLM, TV and BM3D.
"""

from __future__ import annotations

from ..registry import Registry

BASELINES: Registry = Registry("baseline")

from . import classical  # noqa: E402,F401,I001  (registers the baselines)
from .tuning import BiasCorrection, Tuned, tune  # noqa: E402

__all__ = ["BASELINES", "BiasCorrection", "Tuned", "tune"]
