"""image_folder estimates its decoded cache before decoding and refuses beyond a named,
overridable limit (data.options.max_cache_gb)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from aelab.data import load_dataset
from aelab.errors import ConfigError


@pytest.fixture
def photos(tmp_path) -> Path:
    for i in range(4):
        Image.new("RGB", (10, 10), (i * 50, 0, 0)).save(tmp_path / f"{i}.png")
    return tmp_path


def test_image_folder_refuses_a_cache_over_the_limit_before_decoding(photos):
    # 4 images x 3 x 30000 x 30000 bytes = 10.8 GB > the 8 GB default
    with pytest.raises(ConfigError, match=r"10\.8 GB cache, over data.options.max_cache_gb = 8"):
        load_dataset("image_folder", path=photos, size=30000)


def test_image_folder_cache_limit_is_overridable(photos):
    with pytest.raises(ConfigError, match="max_cache_gb = 1e-06"):
        load_dataset("image_folder", path=photos, size=16, max_cache_gb=1e-6)  # 3 kB
    data = load_dataset("image_folder", path=photos, size=8, max_cache_gb=1e-3)
    assert data.image_shape == (3, 8, 8)
