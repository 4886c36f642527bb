"""The augmentation study, --quick, on the bundled digits: it runs, writes flat records and a
report whose images all load, and each generator VAE is an ordinary run folder."""

import base64
import io
import json
import re

import pytest
import torch
from PIL import Image

from aelab.cli import main
from aelab.errors import ConfigError
from aelab.runs import load_run
from aelab.studies import run_study
from aelab.studies.augmentation import budget

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
    assert results["tried_at_smallest_size"]
    assert "aelab study augmentation --quick --option 'seeds=[0]'" in results["command"]


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


def test_augmentation_generators_are_run_folders_that_evaluate_opens(study, capsys):
    folders = sorted(p.parent.name for p in (study / "runs").glob("*/metrics.json"))
    assert folders == ["vae-10-per-class-seed0", "vae-all-seed0"]
    cfg, model = load_run(study / "runs" / "vae-10-per-class-seed0")
    assert cfg.data.per_class == 10 and cfg.model.kwargs["noise_seed"] == 0
    assert model.noise_seed == 0
    assert main(["evaluate", str(study / "runs" / "vae-all-seed0")]) == 0
    metrics = json.loads((study / "runs" / "vae-all-seed0" / "metrics.json").read_text())
    assert metrics["n_train"] == 1438 and metrics["n_test"] == 359


def test_augmentation_generators_see_the_same_number_of_images_whatever_the_size(study):
    wanted = 150 * 64                                   # quick gen_steps x batch size
    for run in sorted(p.parent for p in (study / "runs").glob("*/metrics.json")):
        cfg, _ = load_run(run)
        n_train = json.loads((run / "metrics.json").read_text())["n_train"]
        assert wanted <= cfg.train.epochs * n_train < wanted + n_train, run.name


def test_budget_is_whole_epochs_or_one_epoch_over_a_subset():
    assert budget(100, 150, 64) == (None, 96)        # 9600 images drawn: 96 epochs of 100
    assert budget(9600, 150, 64) == (None, 1)
    assert budget(60000, 150, 64) == (9600, 1)       # less than an epoch: a subset of 9600


@pytest.mark.parametrize("options, match", [
    ({"sizes": [1]}, r"option sizes = \[1\] is not allowed: give images per class, each an "
                     r'integer >= 2 or "all"'),
    ({"sizes": ["some"]}, r'option sizes = \["some"\] is not allowed; it must be a list of '
                          r'values \(an integer or one of "all"\)'),
    ({"seeds": []}, r"option seeds = \[\] is not allowed: give at least one seed"),
    ({"gen_steps": 0}, r"option gen_steps = 0 is not allowed; it must be an integer >= 1"),
])
def test_augmentation_bad_options_are_refused_naming_the_option(options, match, tmp_path):
    with pytest.raises(ConfigError, match=match):
        run_study("augmentation", out_dir=tmp_path / "out", quick=True, options=options)
    assert not (tmp_path / "out").exists()
