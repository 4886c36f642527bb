"""Datasets as uint8 (N, C, H, W) arrays: a registry of recipes, download and verification,
and seeded splits.

>>> from aelab.data import load_dataset
>>> data = load_dataset("digits")
>>> data.image_shape, len(data.class_names)
((1, 8, 8), 10)
"""

from . import cifar, digits, folder, mnist  # noqa: F401  (register the recipes)
from .base import DATASETS, DatasetRecipe, ImageData, describe_datasets, load_dataset
from .download import RemoteFile, cache_dir
from .protocol import binarize, clustering_protocol, scored_images, training_split
from .splits import per_class_subset, split_sizes, stratified_kfold, train_val_split

__all__ = [
    "DATASETS",
    "DatasetRecipe",
    "ImageData",
    "RemoteFile",
    "binarize",
    "cache_dir",
    "clustering_protocol",
    "describe_datasets",
    "load_dataset",
    "per_class_subset",
    "scored_images",
    "split_sizes",
    "stratified_kfold",
    "train_val_split",
    "training_split",
]
