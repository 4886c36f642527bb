"""The classical denoisers, each a small class: `grid(noise_std)` lists the parameter
settings to try, `denoise(x, **params)` restores float images (N, C, H, W) in [0, 1]."""

from __future__ import annotations

import numpy as np

from . import BASELINES


class Baseline:
    """Base class: `denoise` loops over images; subclasses implement `denoise_one` (C, H, W)."""

    name = "baseline"

    def grid(self, noise_std: float) -> list[dict]:
        raise NotImplementedError

    def denoise(self, x: np.ndarray, **params) -> np.ndarray:
        out = np.stack([self.denoise_one(img, **params) for img in x]) if len(x) else x
        return np.clip(out, 0.0, 1.0).astype(np.float32)

    def denoise_one(self, img: np.ndarray, **params) -> np.ndarray:
        raise NotImplementedError


def _hwc(img: np.ndarray) -> tuple[np.ndarray, int | None]:
    """(C, H, W) -> skimage's layout: (H, W) for grey, (H, W, C) with channel_axis=-1."""
    return (img[0], None) if img.shape[0] == 1 else (img.transpose(1, 2, 0), -1)


def _chw(out: np.ndarray) -> np.ndarray:
    return out[None] if out.ndim == 2 else out.transpose(2, 0, 1)


@BASELINES.register("nlm")
class NonLocalMeans(Baseline):
    """`skimage.restoration.denoise_nl_means` (fast mode, 5x5 patches, 13x13 search), with
    the filter strength `h` tuned; `sigma` is the estimated noise std."""

    name = "nlm"

    def grid(self, noise_std: float) -> list[dict]:
        return [{"h": round(noise_std * f, 4), "sigma": round(noise_std, 4)}
                for f in (0.2, 0.3, 0.4, 0.6, 0.8, 1.0, 1.3)]

    def denoise_one(self, img, *, h: float, sigma: float) -> np.ndarray:
        from skimage.restoration import denoise_nl_means

        a, axis = _hwc(img)
        return _chw(denoise_nl_means(a, h=h, sigma=sigma, patch_size=5, patch_distance=6,
                                     fast_mode=True, channel_axis=axis))


@BASELINES.register("tv")
class TotalVariation(Baseline):
    """`skimage.restoration.denoise_tv_chambolle`, with the `weight` tuned."""

    name = "tv"

    def grid(self, noise_std: float) -> list[dict]:
        return [{"weight": round(noise_std * f, 4)} for f in (0.25, 0.5, 1.0, 2.0, 4.0)]

    def denoise_one(self, img, *, weight: float) -> np.ndarray:
        from skimage.restoration import denoise_tv_chambolle

        a, axis = _hwc(img)
        return _chw(denoise_tv_chambolle(a, weight=weight, channel_axis=axis))


@BASELINES.register("median")
class Median(Baseline):
    """A `size` x `size` median filter per channel (scipy.ndimage, reflected borders)."""

    name = "median"

    def grid(self, noise_std: float) -> list[dict]:
        return [{"size": 3}, {"size": 5}, {"size": 7}]

    def denoise(self, x: np.ndarray, *, size: int) -> np.ndarray:
        from scipy.ndimage import median_filter

        return median_filter(np.asarray(x, np.float32), size=(1, 1, size, size), mode="reflect")


@BASELINES.register("bm3d")
class BM3D(Baseline):
    """BM3D (Dabov et al. 2007) from the `bm3d` package, with `sigma_psd` tuned around the
    noise std; colour images use `bm3d.bm3d_rgb` (opponent colour transform).

    The package has a fixed cost of about 0.4 s per call, far more than a 28x28 image takes,
    so images are denoised in mosaics of up to 10 x 10, each image padded by 2 reflected
    pixels and cropped back. Block matching may then also find similar blocks in
    neighbouring images of the mosaic.
    """

    name = "bm3d"
    per_mosaic = 10
    pad = 2

    def grid(self, noise_std: float) -> list[dict]:
        return [{"sigma_psd": round(noise_std * f, 4)} for f in (0.5, 0.7, 1.0, 1.4)]

    def denoise(self, x: np.ndarray, *, sigma_psd: float) -> np.ndarray:
        import bm3d

        x = np.asarray(x, np.float32)
        n, c, h, w = x.shape
        k, p = self.per_mosaic, self.pad
        hp, wp = h + 2 * p, w + 2 * p
        padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="reflect")
        out = np.empty_like(x)
        profile = bm3d.BM3DProfile()
        profile.num_threads = 1   # deterministic aggregation order (see bm4d's profiles)
        for start in range(0, n, k * k):
            chunk = padded[start:start + k * k]
            rows = -(-len(chunk) // k)
            cols = min(k, len(chunk))
            mosaic = np.zeros((c, rows * hp, cols * wp), np.float32)
            for i, img in enumerate(chunk):
                r, q = divmod(i, k)
                mosaic[:, r * hp:(r + 1) * hp, q * wp:(q + 1) * wp] = img
            if c == 1:
                den = bm3d.bm3d(mosaic[0], sigma_psd, profile=profile)[None]
            else:
                den = bm3d.bm3d_rgb(mosaic.transpose(1, 2, 0), sigma_psd,
                                    profile=profile).transpose(2, 0, 1)
            for i in range(len(chunk)):
                r, q = divmod(i, k)
                out[start + i] = den[:, r * hp + p:r * hp + p + h, q * wp + p:q * wp + p + w]
        return np.clip(out, 0.0, 1.0)
