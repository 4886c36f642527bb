"""The judge: trained once into a folder, reused while its settings match."""

import json

import pytest
import torch

from aelab.errors import DataError
from aelab.judge import judge_accuracy, judge_run, load_judge
from aelab.train.classify import accuracy

TINY = {"epochs": 25, "batch_size": 32, "channels": (8,), "hidden": 16, "limit": 600}


@pytest.fixture(scope="module")
def judge_dir(tmp_path_factory):
    return judge_run("digits", tmp_path_factory.mktemp("judge"), **TINY)


def test_judge_run_writes_its_folder_and_learns(judge_dir):
    for name in ("config.json", "metrics.json", "history.json", "classifier.safetensors"):
        assert (judge_dir / name).is_file(), name
    assert judge_accuracy(judge_dir) > 0.5          # 10 classes: chance is 0.1


def test_load_judge_reproduces_the_recorded_accuracy(judge_dir):
    from aelab.data import load_dataset

    data = load_dataset("digits")
    model = load_judge(judge_dir)
    assert accuracy(model, data.x_test, data.y_test) == pytest.approx(judge_accuracy(judge_dir))


def test_judge_run_reuses_a_folder_with_the_same_settings(judge_dir):
    before = (judge_dir / "classifier.safetensors").stat().st_mtime_ns
    assert judge_run("digits", judge_dir, **TINY) == judge_dir
    assert (judge_dir / "classifier.safetensors").stat().st_mtime_ns == before


def test_judge_run_retrains_when_the_settings_change(tmp_path):
    judge_run("digits", tmp_path, **(TINY | {"epochs": 1}))
    judge_run("digits", tmp_path, **(TINY | {"epochs": 2}))
    assert json.loads((tmp_path / "config.json").read_text())["epochs"] == 2
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == 2


def test_load_judge_from_a_folder_without_one_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not a judge folder"):
        load_judge(tmp_path)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
