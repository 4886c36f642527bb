"""`aelab study priors --quick` and `aelab study clustering --quick` through the CLI: their
records, and run folders that `aelab evaluate` and `load_run` open like any other."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aelab.cli import main
from aelab.errors import ConfigError
from aelab.studies import run_study


def _records(path, key="records"):
    data = json.loads(path.read_text())
    assert {"study", "command", "machine", "versions", "records"} <= set(data)
    return data[key]


@pytest.fixture(scope="module")
def priors_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("priors")
    assert main(["study", "priors", "--quick", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def clustering_quick(tmp_path_factory):
    pytest.importorskip("umap", reason="umap-learn is an optional extra ([umap])")
    out = tmp_path_factory.mktemp("clustering")
    assert main(["study", "clustering", "--quick", "--out", str(out)]) == 0
    return out


def test_study_priors_quick_writes_the_table_and_figures(priors_quick):
    records = _records(priors_quick / "results.json")
    assert [r["prior"] for r in records] == ["none", "gaussian", "gmm", "swiss_roll", "vae"]
    for r in records:
        assert r["dim"] == 3 and 0 <= r["kmeans_accuracy"] <= 1 and r["protocol"]
    baselines = _records(priors_quick / "results.json", "baselines")
    assert [(b["baseline"], b["dim"]) for b in baselines] == [("pca", 3), ("pixels", 64)]
    assert all(0 <= b["kmeans_accuracy"] <= 1 and b["protocol"] for b in baselines)
    assert {r["sweep"] for r in _records(priors_quick / "results.json", "sweeps")} == {
        "sigma", "lambda"}
    assert (priors_quick / "figures" / "swiss-roll-walk-digits.png").is_file()
    assert (priors_quick / "report.html").is_file()


def _evaluate_every_run(out, capsys):
    from aelab.runs import load_run

    folders = sorted(p for p in (out / "runs").iterdir() if p.is_dir())
    assert folders
    for folder in folders:
        (folder / "metrics.json").unlink()
        assert main(["evaluate", str(folder)]) == 0, capsys.readouterr().err
        metrics = json.loads((folder / "metrics.json").read_text())
        cfg, model = load_run(folder)
        assert metrics["n_test"] == cfg.data.test_limit == 300
        assert np.isfinite(metrics["test_mse"]) and model.latent_dim == cfg.model.kwargs[
            "latent_dim"]
    return folders


def test_aelab_evaluate_opens_every_run_folder_of_the_quick_priors_study(priors_quick, capsys):
    folders = _evaluate_every_run(priors_quick, capsys)
    assert {f.name for f in folders} >= {"none-seed1", "swiss_roll-seed1", "vae-seed1",
                                         "sweep-sigma1-lambda10-seed1"}
    cfg = json.loads((priors_quick / "runs" / "gmm-seed1" / "config.json").read_text())
    assert cfg["corruption"] == [{"name": "affine", "rotate": 10.0, "scale": 0.1,
                                  "shift": 2.0}]
    assert cfg["data"]["stratify"] is False and cfg["loss"]["prior"] == "gmm"


def test_aelab_evaluate_opens_the_run_folder_of_the_quick_clustering_study(clustering_quick,
                                                                        capsys):
    assert [f.name for f in _evaluate_every_run(clustering_quick, capsys)] == ["seed0"]


def test_study_clustering_quick_scores_both_pipelines(tmp_path):
    pytest.importorskip("umap", reason="umap-learn is an optional extra ([umap])")
    assert main(["study", "clustering", "--quick", "--out", str(tmp_path), "--option",
                 "cluster_all=true", "--option", "gmm_restarts=2", "--option",
                 "umap_runs=2"]) == 0
    records = _records(tmp_path / "results.json")
    assert {r["pipeline"] for r in records} == {"ae+kmeans", "ae+umap+gmm"}
    for r in records:
        assert {"seed", "accuracy", "nmi", "ari", "protocol"} <= set(r)
        assert r["n_clustered"] == 600 and 0 <= r["accuracy_test_images"] <= 1   # 300 + 300
        assert "N2D protocol" in r["protocol"]
    assert [r["gmm_restarts"] for r in records] == [None, 2]
    assert [r["umap_runs"] for r in records] == [None, 2]
    kmeans, voted = records
    assert kmeans["accuracy_runs_min"] is None and kmeans["accuracy_runs_max"] is None
    # Two runs tie on mean NMI, so the first is the reference and wins every split vote:
    # the vote is run 1 itself, and its accuracy is one end of the spread.
    assert voted["accuracy"] in (voted["accuracy_runs_min"], voted["accuracy_runs_max"])
    assert voted["accuracy_runs_median"] == pytest.approx(
        (voted["accuracy_runs_min"] + voted["accuracy_runs_max"]) / 2)
    assert (tmp_path / "figures" / "confusion-digits.png").is_file()


def test_study_clustering_pixels_baseline_clusters_the_raw_pixels(clustering_quick, tmp_path):
    from aelab.data import load_dataset, scored_images
    from aelab.evaluate.clustering import cluster, cluster_scores

    assert main(["study", "clustering", "--quick", "--out", str(tmp_path), "--option",
                 "pixels=true"]) == 0
    records = _records(tmp_path / "results.json")
    assert [r["pipeline"] for r in records] == ["ae+kmeans", "ae+umap+gmm", "pixels+umap+gmm"]
    assert len({tuple(r) for r in records}) == 1           # the same keys in every record
    baseline = records[-1]
    assert baseline["n_train"] is None and baseline["epochs"] is None
    # The same clustering, done directly on the pixels the study clusters.
    x_eval, y_eval, _ = scored_images(load_dataset("digits"), test_limit=300)
    x = x_eval.reshape(len(y_eval), -1).astype(np.float32) / 255
    direct = cluster(x, 10, seed=0, method="gmm", umap_components=10, n_init=1)
    assert baseline["accuracy"] == cluster_scores(y_eval, direct)["accuracy"]


@pytest.mark.parametrize("study, option, value, match", [
    ("clustering", "pixels", 1, "option pixels = 1 is not allowed; it must be true or false"),
    ("clustering", "restore_best", "no", "option restore_best = \"no\" is not allowed; it "
                                         "must be true or false"),
    ("clustering", "gmm_restarts", 0, "option gmm_restarts = 0 is not allowed; it must be a "
                                      "whole number >= 1"),
    ("clustering", "augment", {"rot": 10}, "option augment = .*rot.*Did you mean 'rotate'"),
    ("priors", "augment", {"scale": 1.5}, "option augment = .*scale must be below 1"),
    ("priors", "prior_settings", {"gauss": {}}, "no prior 'gauss'.*gaussian, gmm, swiss_roll"),
])
def test_clustering_studies_reject_a_bad_option_naming_it(study, option, value, match,
                                                          tmp_path):
    with pytest.raises(ConfigError, match=match):
        run_study(study, out_dir=tmp_path / "out", quick=True, options={option: value})
    assert not (tmp_path / "out").exists()


def test_small_training_sets_get_more_epochs_not_fewer_steps():
    from aelab.studies.clustering import epochs_for

    assert epochs_for(54000, 256, 30, 6000) == 30          # 211 steps an epoch: 6330 steps
    assert epochs_for(9000, 256, 30, 6000) == 167          # 36 steps an epoch
    assert epochs_for(9000, 256, 30, 0) == 30
    assert 167 * 36 >= 6000 > 166 * 36


def test_clustering_plans_the_epochs_that_reach_min_steps(tmp_path):
    from aelab.studies.clustering import Clustering, Options

    opts = Options.build("clustering", {"min_steps": 100, "limit": 400}, quick=True)
    study = Clustering("clustering", opts, dataset="digits", quick=True, out_dir=tmp_path)
    (run,) = study.plan()
    # 400 images less 40 for validation, batches of 256: 2 steps an epoch, 50 epochs
    assert run.config.train.epochs == 50 and run.config.data.stratify is False


def test_prior_losses_replaces_settings_of_one_prior_only():
    from aelab.studies.priors import PRIOR_LOSSES, prior_losses

    losses = prior_losses({"gaussian": {"sigma": 10.0}})
    assert losses["gaussian"]["sigma"] == 10.0
    assert losses["gaussian"]["divergence_weight"] == PRIOR_LOSSES["gaussian"]["divergence_weight"]
    assert losses["gmm"] == PRIOR_LOSSES["gmm"]
    assert PRIOR_LOSSES["gaussian"]["sigma"] != 10.0          # the defaults stay untouched


def test_baselines_score_pca_and_pixels_of_the_evaluation_images():
    from aelab.studies.priors import baseline_records

    # Three classes, each a bright 3x3 patch at its own place: both baselines separate them
    # perfectly.
    rng = np.random.default_rng(0)

    def images(labels):
        x = rng.integers(0, 30, (len(labels), 1, 8, 8)).astype(np.uint8)
        for i, c in enumerate(labels):
            x[i, 0, 2 * c:2 * c + 3, 2 * c:2 * c + 3] = 250
        return x

    y_eval = np.repeat([0, 1, 2], 20)
    arrays = {"x_train": images(np.repeat([0, 1, 2], 30)), "x_eval": images(y_eval),
              "y_eval": y_eval, "protocol": "toy"}
    records = baseline_records(arrays, seed=0, dim=2)
    assert [(r["baseline"], r["dim"], r["kmeans_accuracy"]) for r in records] == [
        ("pca", 2, 1.0), ("pixels", 64, 1.0)]
    # Labels that the images do not show cannot be clustered: about chance.
    arrays["y_eval"] = rng.permutation(y_eval)
    assert all(r["kmeans_accuracy"] < 0.7 for r in baseline_records(arrays, seed=0, dim=2))
