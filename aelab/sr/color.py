"""Colour conversion as the super-resolution literature does it: ITU-R BT.601 YCbCr in
"studio" range (MATLAB's ``rgb2ycbcr``: Y in [16, 235], Cb and Cr in [16, 240]), on float
arrays with values in [0, 255]. Published ESPCN/SRCNN PSNRs are measured on this Y.
"""

from __future__ import annotations

import numpy as np

# MATLAB rgb2ycbcr for RGB in [0, 1]: offsets + M @ rgb, outputs in [0, 255] units.
_M = np.array([[65.481, 128.553, 24.966],
               [-37.797, -74.203, 112.0],
               [112.0, -93.786, -18.214]]) / 255.0
_OFFSET = np.array([16.0, 128.0, 128.0])
_M_INV = np.linalg.inv(_M)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An (H, W) grey or (H, W, 3) RGB array as (H, W, 3) (grey is replicated)."""
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(f"expected an (H, W) grey or (H, W, 3) RGB image; got shape {image.shape}")


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB in [0, 255] (any dtype) -> float32 (H, W, 3) YCbCr, studio range."""
    return (rgb.astype(np.float32) @ _M.T.astype(np.float32) + _OFFSET).astype(np.float32)


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """Luminance Y in [16, 235] of an (H, W) grey or (H, W, 3) RGB image in [0, 255]; float32."""
    rgb = as_rgb(image).astype(np.float32)
    return (rgb @ _M[0].astype(np.float32) + _OFFSET[0]).astype(np.float32)


def luminance(image: np.ndarray) -> np.ndarray:
    """The plane that super-resolution PSNR is measured on; float32 in [0, 255].

    An RGB image gives its Y (studio range, `rgb_to_y`). A grey image *is* its own luminance:
    the SRCNN/ESPCN evaluation code converts only 3-channel images to YCbCr, so a grey
    benchmark image (Set14's bridge) is compared on its raw values. Mapping it to [16, 235]
    first would shrink every error by 219/255 and inflate its PSNR by 1.3 dB.
    """
    if image.ndim == 2:
        return image.astype(np.float32)
    return rgb_to_y(image)


def ycbcr_to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    """float (H, W, 3) YCbCr (studio range) -> uint8 (H, W, 3) RGB, rounded and clipped."""
    rgb = (ycbcr.astype(np.float32) - _OFFSET.astype(np.float32)) @ _M_INV.T.astype(np.float32)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
