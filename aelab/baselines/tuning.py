"""Choose a baseline's parameter on the validation split, with and without bias correction."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import NotFittedError
from ..evaluate.restoration import scores


class BiasCorrection:
    """A monotone (isotonic) map from a denoiser's output intensity to the expected clean
    intensity, fitted on validation pixels; applied pixel-wise, per channel alike.

    Clipped noise has a positive mean on black pixels, so NLM, TV and BM3D leave a grey
    haze; this map sends such values back to black without touching the denoiser.

    Examples
    --------
    >>> import numpy as np
    >>> clean = np.array([0.0, 0.0, 1.0, 1.0])
    >>> out = np.array([0.2, 0.3, 0.8, 0.9])
    >>> BiasCorrection().fit(out, clean).transform(np.array([0.25, 0.85])).tolist()
    [0.0, 1.0]
    """

    def __init__(self, max_pixels: int = 200_000, seed: int = 0):
        self.max_pixels = max_pixels
        self.seed = seed

    def fit(self, denoised: np.ndarray, clean: np.ndarray) -> BiasCorrection:
        from sklearn.isotonic import IsotonicRegression

        a, b = np.ravel(denoised), np.ravel(clean)
        if a.size > self.max_pixels:  # a seeded subsample keeps the fit fast
            keep = np.random.default_rng(self.seed).choice(a.size, self.max_pixels,
                                                           replace=False)
            a, b = a[keep], b[keep]
        self.map_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(a, b)
        return self

    def transform(self, denoised: np.ndarray) -> np.ndarray:
        if not hasattr(self, "map_"):
            raise NotFittedError("This BiasCorrection instance is not fitted yet. Call 'fit' "
                                 "with denoised and clean validation images first.")
        x = np.asarray(denoised)
        return self.map_.predict(x.ravel()).reshape(x.shape).astype(np.float32)


@dataclass
class Tuned:
    """A baseline's chosen settings: `params` for the plain method (best validation PSNR),
    `params_corrected` and its fitted `correction` for the bias-corrected one, and the
    validation PSNR of every setting tried."""

    name: str
    params: dict
    params_corrected: dict
    correction: BiasCorrection
    trials: list[dict] = field(default_factory=list)


def noise_std(x_clean: np.ndarray, x_in: np.ndarray) -> float:
    """RMS difference between corrupted and clean validation images (the grids' scale)."""
    return float(np.sqrt(np.mean((np.asarray(x_in, np.float64) - x_clean) ** 2)))


def tune(baseline, x_val: np.ndarray, x_val_in: np.ndarray) -> Tuned:
    """Try every setting of ``baseline.grid(noise_std)`` on the validation images; keep the
    best by mean PSNR, separately for the plain and the bias-corrected output."""
    trials, best, best_c = [], None, None
    for params in baseline.grid(max(noise_std(x_val, x_val_in), 1e-3)):
        out = baseline.denoise(x_val_in, **params)
        corr = BiasCorrection().fit(out, x_val)
        psnr, psnr_c = scores(x_val, out)["psnr_db"], \
            scores(x_val, corr.transform(out))["psnr_db"]
        trials.append({**params, "val_psnr_db": psnr, "val_psnr_db_corrected": psnr_c})
        if best is None or psnr > best[0]:
            best = (psnr, params)
        if best_c is None or psnr_c > best_c[0]:
            best_c = (psnr_c, params, corr)
    return Tuned(baseline.name, best[1], best_c[1], best_c[2], trials)
