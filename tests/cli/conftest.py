"""Tiny runs trained on the bundled digits for the CLI tests, one per test module that asks
(module scope: a module may change its run's files, e.g. `aelab evaluate` rewriting
metrics.json)."""

import pytest

from aelab.cli import main

TINY = ["--set", "train.epochs=1", "--set", "data.limit=200", "--set", "data.test_limit=20"]


def _train(tmp_path_factory, name: str, config: str):
    out = tmp_path_factory.mktemp("runs") / name
    assert main(["train", config, *TINY, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory, one_torch_thread):
    return _train(tmp_path_factory, "vae", "configs/tiny_vae_conv.toml")


@pytest.fixture(scope="module")
def ae_run(tmp_path_factory, one_torch_thread):
    return _train(tmp_path_factory, "ae", "configs/tiny_dense_sparse.toml")
