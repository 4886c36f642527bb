"""The IDX and KMNIST .npz readers, on tiny files written in tmp_path."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from aelab.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx, read_npz_array
from aelab.errors import DataError


def test_read_idx_roundtrips_images_and_labels(tmp_path: Path, idx_gz):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 1], dtype=np.uint8)
    idx_gz(tmp_path / "x.gz", images)
    idx_gz(tmp_path / "y.gz", labels)

    x = read_idx(tmp_path / "x.gz", IMAGES_MAGIC)

    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(read_idx(tmp_path / "y.gz", LABELS_MAGIC), labels)
    assert x.flags.writeable


def test_read_idx_reads_uncompressed_file(tmp_path: Path, idx_gz):
    labels = np.array([3, 4, 5], dtype=np.uint8)
    idx_gz(tmp_path / "y.gz", labels)
    (tmp_path / "y").write_bytes(gzip.decompress((tmp_path / "y.gz").read_bytes()))

    np.testing.assert_array_equal(read_idx(tmp_path / "y", LABELS_MAGIC), labels)


def test_read_idx_label_file_read_as_images_names_expected_magic(tmp_path: Path, idx_gz):
    idx_gz(tmp_path / "y.gz", np.zeros(5, np.uint8))

    with pytest.raises(DataError, match=r"magic 0x00000803.*magic number is 0x00000801"):
        read_idx(tmp_path / "y.gz", IMAGES_MAGIC)


def test_read_idx_truncated_gzip_raises(tmp_path: Path, idx_gz):
    idx_gz(tmp_path / "x.gz", np.ones((4, 28, 28), np.uint8))
    blob = (tmp_path / "x.gz").read_bytes()
    (tmp_path / "x.gz").write_bytes(blob[: len(blob) // 2])

    with pytest.raises(DataError, match="truncated") as info:
        read_idx(tmp_path / "x.gz", IMAGES_MAGIC)

    assert str(tmp_path / "x.gz") in str(info.value)


def test_read_idx_fewer_bytes_than_header_raises(tmp_path: Path, idx_gz):
    idx_gz(tmp_path / "x.gz", np.ones((4, 28, 28), np.uint8))
    raw = gzip.decompress((tmp_path / "x.gz").read_bytes())
    (tmp_path / "x.gz").write_bytes(gzip.compress(raw[:-10]))  # valid gzip, short data

    with pytest.raises(DataError, match=r"3126 of the 3136 data bytes"):
        read_idx(tmp_path / "x.gz", IMAGES_MAGIC)


def test_read_npz_array_rejects_non_archive(tmp_path: Path):
    (tmp_path / "kmnist-test-imgs.npz").write_text("<html>moved</html>")

    with pytest.raises(DataError, match="arr_0"):
        read_npz_array(tmp_path / "kmnist-test-imgs.npz", ndim=3)


def test_read_npz_array_rejects_wrong_ndim(tmp_path: Path):
    np.savez(tmp_path / "labels.npz", np.zeros((2, 2), np.uint8))

    with pytest.raises(DataError, match=r"2-D uint8 array of shape \(2, 2\)"):
        read_npz_array(tmp_path / "labels.npz", ndim=1)
