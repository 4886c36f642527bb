"""scikit-learn's bundled ``digits``: 1,797 handwritten digits of 8x8 pixels, offline.

The pixel values 0..16 are scaled to uint8 0..255 (``round(v * 255 / 16)``). There is no
official split, so the test split is a seeded stratified one, the same on every machine for a
given ``test_fraction`` and ``seed``.
"""

from __future__ import annotations

import numpy as np

from .base import DatasetRecipe, ImageData, assemble, register
from .download import Fetcher
from .splits import train_val_split


class DigitsRecipe(DatasetRecipe):
    """UCI optical digits as bundled with scikit-learn (offline default)."""

    name = "digits"
    summary = ("scikit-learn's bundled digits, 1797 8x8 grey, seeded stratified 80/20 split "
               "(offline, no download).")
    image_shape = (1, 8, 8)
    class_names = tuple(str(d) for d in range(10))

    def load(self, fetcher: Fetcher, splits: tuple[str, ...], *, test_fraction: float = 0.2,
             seed: int = 0) -> ImageData:
        from sklearn.datasets import load_digits  # keep `import aelab.data` light

        bunch = load_digits()
        x = np.round(bunch.images * (255 / 16)).astype(np.uint8)[:, None]  # (1797, 1, 8, 8)
        y = bunch.target.astype(np.int64)
        train, test = train_val_split(y, test_fraction, seed, key="data.options.test_fraction")
        index = {"train": train, "test": test}
        parts = {split: (x[index[split]], y[index[split]]) for split in splits}
        return assemble(self.name, self.class_names, self.image_shape, parts)

    def describe_files(self, fetcher: Fetcher) -> list[dict[str, str]]:
        return [{"file": "sklearn.datasets.load_digits", "status": "bundled",
                 "path": "bundled with scikit-learn"}]


DIGITS = register(DigitsRecipe())
