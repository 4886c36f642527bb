"""cifar10 from a tiny synthetic tarball (served over loopback) and from extracted batches."""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from aelab.data import cifar, load_dataset
from aelab.data.download import RemoteFile
from aelab.errors import DataError


def _batch(n: int, seed: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    y = rng.integers(0, 10, n)
    blob = pickle.dumps({"batch_label": "tiny", "labels": y.tolist(), "data": x}, protocol=2)
    return blob, x.reshape(n, 3, 32, 32), y


@pytest.fixture
def tiny_cifar(http_server, monkeypatch, unreachable):
    """A cifar-10-python.tar.gz with 2 images per batch, served at <server>/cifar10/."""
    batches = {name: _batch(2, seed) for seed, name in enumerate(cifar._BATCH_MD5)}
    tarball = http_server.root / "cifar10" / "cifar-10-python.tar.gz"
    tarball.parent.mkdir()
    with tarfile.open(tarball, "w:gz") as tar:
        for name, (blob, _, _) in batches.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    md5 = hashlib.md5(tarball.read_bytes()).hexdigest()
    monkeypatch.setattr(cifar.CIFAR10, "tarball",
                        RemoteFile("cifar-10-python.tar.gz", "cifar10", md5, unreachable))
    monkeypatch.setenv("AELAB_DOWNLOAD_URL", http_server.url)
    return batches


def test_cifar10_tarball_gives_channel_first_uint8(tiny_cifar):
    data = load_dataset("cifar10")

    assert data.x_train.shape == (10, 3, 32, 32) and data.x_test.shape == (2, 3, 32, 32)
    np.testing.assert_array_equal(data.x_train[:2], tiny_cifar["data_batch_1"][1])
    np.testing.assert_array_equal(data.x_train[-2:], tiny_cifar["data_batch_5"][1])
    np.testing.assert_array_equal(data.y_test, tiny_cifar["test_batch"][2])


def test_cifar10_extracted_batches_are_read_when_md5_matches(
    tmp_path: Path, tiny_cifar, monkeypatch, http_server
):
    folder = tmp_path / "mirror" / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    blob, x, _ = tiny_cifar["test_batch"]
    (folder / "test_batch").write_bytes(blob)
    batch = RemoteFile("cifar-10-batches-py/test_batch", "cifar10", hashlib.md5(blob).hexdigest())
    monkeypatch.setitem(cifar.CIFAR10.batches, "test_batch", batch)

    data = load_dataset("cifar10", data_dir=tmp_path / "mirror", splits=("test",))

    np.testing.assert_array_equal(data.x_test, x)
    assert http_server.requests == []  # the tarball was not needed


def test_cifar10_missing_suggests_image_folder(tmp_path: Path):
    with pytest.raises(DataError, match="image_folder") as info:
        load_dataset("cifar10", data_dir=tmp_path, download=False)

    assert "cifar-10-python.tar.gz" in str(info.value)
