"""The study recipe: typed options, the reproducing command, ordinary run folders."""

from __future__ import annotations

import json

import pytest

from aelab.errors import ConfigError
from aelab.studies import STUDIES, run_study
from aelab.studies.base import Study, study_command

RECIPE = [n for n in STUDIES.names() if isinstance(STUDIES.get(n), type)
          and issubclass(STUDIES.get(n), Study)]


def _options(name):
    return STUDIES.get(name).Options


@pytest.mark.parametrize("name", RECIPE)
def test_a_wrong_type_names_the_option_and_what_it_must_be(name, tmp_path):
    key, hint = next(iter(_options(name).__annotations__.items()))
    with pytest.raises(ConfigError, match=rf"option {key} = \{{\}} is not allowed; it must be"):
        run_study(name, out_dir=tmp_path / "out", quick=True, options={key: {}})
    assert not (tmp_path / "out").exists()          # validated before anything is written


@pytest.mark.parametrize("name", RECIPE)
def test_an_unknown_option_suggests_the_closest(name, tmp_path):
    key = next(iter(_options(name).__annotations__))
    with pytest.raises(ConfigError, match=rf"option.{key}x: unknown option for study '{name}'. "
                                          rf"Did you mean '{key}'\?"):
        run_study(name, out_dir=tmp_path, quick=True, options={f"{key}x": 1})


def test_explicit_zero_and_empty_values_are_kept_not_replaced_by_defaults():
    opts = _options("sparsity").build("sparsity", {"weights": [0], "seed": 0, "limit": None},
                                      quick=True)
    assert opts.weights == (0.0,) and opts.limit is None and opts.epochs == 2
    with pytest.raises(ConfigError, match="option dims = true is not allowed; it must be a "
                                          "list of integers"):
        _options("pca-vs-ae").build("pca-vs-ae", {"dims": True})
    with pytest.raises(ConfigError, match='methods = \\["pca", "lda"\\] is not allowed; it must '
                                          'be a list of values \\(one of "pca", "dense", '
                                          '"conv"\\)'):
        _options("pca-vs-ae").build("pca-vs-ae", {"methods": ["pca", "lda"]})


def test_the_command_names_only_what_differs_from_the_preset():
    opts = _options("hidden-sizes").build("hidden-sizes", {"sizes": [8], "epochs": 2},
                                          quick=True)
    assert study_command("hidden-sizes", None, True, opts) == (
        "AELAB_DATA=../shared/datasets aelab study hidden-sizes --quick --option 'sizes=[8]'")


def test_study_run_folders_are_ordinary_runs_and_reruns_reuse_them(tmp_path):
    from aelab.runs import evaluate_run, load_run

    run_study("hidden-sizes", out_dir=tmp_path, quick=True, options={"sizes": [8]})
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["command"].endswith("--option 'sizes=[8]'")
    assert {"machine", "versions", "settings", "records"} <= results.keys()
    folders = sorted(p.parent for p in (tmp_path / "runs").glob("*/metrics.json"))
    assert [f.name for f in folders] == ["64-32-16-8", "fc8-fc64"]
    for folder in folders:
        load_run(folder)
        assert evaluate_run(folder)["n_test"] == 200
    stamps = {f: (f / "model.safetensors").stat().st_mtime_ns for f in folders}
    run_study("hidden-sizes", out_dir=tmp_path, quick=True, options={"sizes": [8]})
    assert stamps == {f: (f / "model.safetensors").stat().st_mtime_ns for f in folders}


def test_study_set_passes_train_settings_down_to_every_run(tmp_path, capsys):
    pytest.importorskip("tensorboard", reason="the tracking extra is not installed")
    from aelab.cli import main

    assert main(["study", "hidden-sizes", "--quick", "--out", str(tmp_path), "--option",
                 "sizes=[8]", "--set", 'train.loggers=["tensorboard"]']) == 0
    folders = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert len(folders) == 2
    for folder in folders:
        assert json.loads((folder / "config.json").read_text())["train"]["loggers"] == [
            "tensorboard"]
        assert list((folder / "tensorboard").glob("events.out.tfevents.*"))
    command = json.loads((tmp_path / "results.json").read_text())["command"]
    assert command.endswith("--set 'train.loggers=[\"tensorboard\"]'")
    assert main(["study", "hidden-sizes", "--quick", "--out", str(tmp_path / "x"),
                 "--set", "data.limit=10"]) == 2
    assert "takes train.* keys only" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
