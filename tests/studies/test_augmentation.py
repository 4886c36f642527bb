"""The augmentation study, --quick, on the bundled digits: it runs, writes flat records and a
report whose images all load."""

import base64
import io
import json
import re

import pytest
import torch
from PIL import Image

from aelab.cli import main

KEYS = ("n_per_class", "seed", "recognition_rate", "diversity", "diversity_real",
        "frechet_judge", "acc_real", "acc_real_plus_generated")


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny models train many times faster on one thread when the cores are shared (OpenMP
    threads spin-wait on each other); restore the setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("augmentation")
    assert main(["study", "augmentation", "--quick", "--out", str(out),
                 "--option", "seeds=[0]"]) == 0
    return out


def test_augmentation_quick_records_have_the_issue_keys(study):
    results = json.loads((study / "results.json").read_text())
    records = results["records"]
    assert [r["n_per_class"] for r in records] == [10, "all"]
    for r in records:
        assert all(k in r for k in KEYS)
        assert all(not isinstance(v, (dict, list)) for v in r.values())   # flat
        assert 0 <= r["recognition_rate"] <= 1 and 0 <= r["acc_real"] <= 1
    assert records[0]["n_train_real"] == 100 and records[1]["n_train_real"] == 1438
    assert results["tried_at_smallest_size"] and results["command"].startswith("aelab study")


def test_augmentation_quick_judge_is_better_than_chance(study):
    assert json.loads((study / "results.json").read_text())["judge"]["test_accuracy"] > 0.5


def test_augmentation_quick_report_images_all_load(study):
    html = (study / "report.html").read_text()
    srcs = re.findall(r'<img[^>]*src="([^"]+)"', html)
    assert len(srcs) == len(list((study / "figures").glob("*.png"))) >= 7
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as im:
            im.load()
            assert im.size[0] > 50
