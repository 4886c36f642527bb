"""`aelab study priors --quick` and `aelab study clustering --quick` through the CLI."""

from __future__ import annotations

import json

import pytest

from aelab.cli import main


def _records(path):
    data = json.loads(path.read_text())
    assert {"study", "command", "machine", "versions", "records"} <= set(data)
    return data["records"]


def test_study_priors_quick_writes_the_table_and_figures(tmp_path):
    assert main(["study", "priors", "--quick", "--out", str(tmp_path)]) == 0
    records = _records(tmp_path / "priors_digits.json")
    assert [r["prior"] for r in records] == ["none", "gaussian", "gmm", "swiss_roll", "vae"]
    for r in records:
        assert r["dim"] == 3 and 0 <= r["kmeans_accuracy"] <= 1 and r["protocol"]
    baselines = json.loads((tmp_path / "priors_digits.json").read_text())["baselines"]
    assert [(b["baseline"], b["dim"]) for b in baselines] == [("pca", 3), ("pixels", 64)]
    assert all(0 <= b["kmeans_accuracy"] <= 1 and b["protocol"] for b in baselines)
    assert {r["sweep"] for r in _records(tmp_path / "priors_sweeps_digits.json")} == {
        "sigma", "lambda"}
    assert (tmp_path / "figures" / "swiss-roll-walk-digits.png").is_file()
    assert (tmp_path / "index.html").is_file()


def test_study_clustering_quick_scores_both_pipelines(tmp_path):
    pytest.importorskip("umap", reason="umap-learn is an optional extra ([umap])")
    assert main(["study", "clustering", "--quick", "--out", str(tmp_path), "--option",
                 "cluster_all=true", "--option", "gmm_restarts=2", "--option",
                 "umap_runs=2"]) == 0
    records = _records(tmp_path / "clustering_digits.json")
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


def test_study_clustering_pixels_baseline_clusters_the_raw_pixels(tmp_path):
    pytest.importorskip("umap", reason="umap-learn is an optional extra ([umap])")
    import numpy as np

    from aelab.evaluate.clustering import cluster, cluster_scores
    from aelab.studies._codes import study_arrays

    assert main(["study", "clustering", "--quick", "--out", str(tmp_path), "--option",
                 "pixels=true"]) == 0
    records = _records(tmp_path / "clustering_digits.json")
    assert [r["pipeline"] for r in records] == ["ae+kmeans", "ae+umap+gmm", "pixels+umap+gmm"]
    assert len({tuple(r) for r in records}) == 1           # the same keys in every record
    baseline = records[-1]
    assert baseline["n_train"] is None and baseline["epochs"] is None
    # The same clustering, done directly on the pixels the study clusters.
    arrays = study_arrays("digits", limit=400, seed=0, quick=True)
    x = arrays["x_eval"].reshape(len(arrays["y_eval"]), -1).astype(np.float32) / 255
    direct = cluster(x, 10, seed=0, method="gmm", umap_components=10, n_init=1)
    assert baseline["accuracy"] == cluster_scores(arrays["y_eval"], direct)["accuracy"]


def test_study_clustering_rejects_a_pixels_option_that_is_not_a_boolean(tmp_path):
    from aelab.errors import ConfigError
    from aelab.studies.clustering import clustering

    with pytest.raises(ConfigError, match="pixels must be true or false .*; got 1"):
        clustering(tmp_path, quick=True, pixels=1)


def _tiny_arrays():
    import numpy as np

    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (40, 1, 8, 8), dtype=np.uint8),
            "x_val": rng.integers(0, 256, (10, 1, 8, 8), dtype=np.uint8),
            "image_shape": (1, 8, 8)}


def test_train_model_reuses_a_finished_run_with_the_same_settings(tmp_path, monkeypatch):
    import torch

    import aelab.studies._codes as study

    model_cfg = {"name": "dense", "latent_dim": 3, "hidden": [8]}
    train = {"epochs": 1, "batch_size": 16, "seed": 0}
    first = study.train_model(tmp_path, model_cfg, {"name": "bce"}, train, _tiny_arrays())
    monkeypatch.setattr(study, "fit", lambda *a, **k: pytest.fail("retrained a finished run"))
    again = study.train_model(tmp_path, model_cfg, {"name": "bce"}, train, _tiny_arrays())
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(first.encode(x), again.encode(x))
    with pytest.raises(pytest.fail.Exception, match="retrained"):   # other settings: train
        study.train_model(tmp_path, model_cfg, {"name": "bce"}, {**train, "seed": 1},
                          _tiny_arrays())


def test_train_model_extends_a_finished_run_when_only_the_epochs_grow(tmp_path):
    import aelab.studies._codes as study
    from aelab.report import read_history

    model_cfg = {"name": "dense", "latent_dim": 3, "hidden": [8]}
    train = {"epochs": 2, "batch_size": 16, "seed": 0, "restore_best": False}
    study.train_model(tmp_path, model_cfg, {"name": "bce"}, train, _tiny_arrays())
    two = study.run_train_seconds(tmp_path)
    assert study.run_resumed_after(tmp_path) is None
    study.train_model(tmp_path, model_cfg, {"name": "bce"}, {**train, "epochs": 3},
                      _tiny_arrays())
    assert [r["epoch"] for r in read_history(tmp_path / "history.csv")] == [1, 2, 3]
    assert study.run_resumed_after(tmp_path) == 2
    assert study.run_train_seconds(tmp_path) > two             # both parts counted
    # Without restoring the best epoch, 2 + 1 epochs equal 3 epochs in one go.
    fresh = tmp_path / "fresh"
    study.train_model(fresh, model_cfg, {"name": "bce"}, {**train, "epochs": 3},
                      _tiny_arrays())
    assert read_history(fresh / "history.csv")[-1]["train_total"] == pytest.approx(
        read_history(tmp_path / "history.csv")[-1]["train_total"], rel=1e-5)
    # Keeping the last epoch instead of the best one still extends.
    study.train_model(tmp_path, model_cfg, {"name": "bce"}, {**train, "epochs": 4,
                                                             "restore_best": True},
                      _tiny_arrays())
    assert study.run_resumed_after(tmp_path) == 3
    # Fewer epochs, or any other change, trains anew.
    study.train_model(tmp_path, model_cfg, {"name": "bce"}, {**train, "lr": 1e-2},
                      _tiny_arrays())
    assert len(read_history(tmp_path / "history.csv")) == 2
    assert study.run_resumed_after(tmp_path) is None


def test_clustering_study_rejects_a_restore_best_that_is_not_a_boolean(tmp_path):
    from aelab.errors import ConfigError
    from aelab.studies.clustering import clustering

    with pytest.raises(ConfigError, match="restore_best must be true or false; got 'no'"):
        clustering(tmp_path, quick=True, restore_best="no")


def test_small_training_sets_get_more_epochs_not_fewer_steps():
    from aelab.studies.clustering import epochs_for

    assert epochs_for(54000, 256, 30, 6000) == 30          # 211 steps an epoch: 6330 steps
    assert epochs_for(9000, 256, 30, 6000) == 167          # 36 steps an epoch
    assert epochs_for(9000, 256, 30, 0) == 30
    assert 167 * 36 >= 6000 > 166 * 36


def test_prior_losses_replaces_settings_of_one_prior_only():
    from aelab.studies.priors import PRIOR_LOSSES, prior_losses

    losses = prior_losses({"gaussian": {"sigma": 10.0}})
    assert losses["gaussian"]["sigma"] == 10.0
    assert losses["gaussian"]["divergence_weight"] == PRIOR_LOSSES["gaussian"]["divergence_weight"]
    assert losses["gmm"] == PRIOR_LOSSES["gmm"]
    assert PRIOR_LOSSES["gaussian"]["sigma"] != 10.0          # the defaults stay untouched


def test_prior_losses_rejects_an_unknown_prior_naming_the_known_ones():
    from aelab.errors import ConfigError
    from aelab.studies.priors import prior_losses

    with pytest.raises(ConfigError, match="no prior 'gauss'.*gaussian, gmm, swiss_roll"):
        prior_losses({"gauss": {"sigma": 1.0}})


def test_run_train_seconds_survives_reuse_of_a_finished_run(tmp_path):
    import aelab.studies._codes as study

    model_cfg = {"name": "dense", "latent_dim": 3, "hidden": [8]}
    train = {"epochs": 2, "batch_size": 16, "seed": 0}
    study.train_model(tmp_path, model_cfg, {"name": "bce"}, train, _tiny_arrays())
    first = study.run_train_seconds(tmp_path)
    assert first is not None and first > 0
    study.train_model(tmp_path, model_cfg, {"name": "bce"}, train, _tiny_arrays())  # reused
    assert study.run_train_seconds(tmp_path) == first
    (tmp_path / "timing.json").unlink()                   # older runs: the epochs' seconds
    epochs = study.run_train_seconds(tmp_path)
    assert epochs is not None and 0 < epochs <= first
    assert study.run_train_seconds(tmp_path / "missing") is None


def test_cluster_all_evaluates_training_and_test_images_and_says_so():
    from aelab.data import load_dataset
    from aelab.studies._codes import study_arrays

    data = load_dataset("digits")
    test_only = study_arrays("digits", limit=None, seed=0, quick=False)
    everything = study_arrays("digits", limit=None, seed=0, quick=False, cluster_all=True)
    assert len(test_only["x_eval"]) == test_only["n_eval_test"] == len(data.x_test)
    assert len(everything["x_eval"]) == len(data.x_train) + len(data.x_test)
    assert everything["n_eval_test"] == len(data.x_test)
    # the test images come last, labels aligned, and training is unchanged
    assert (everything["x_eval"][-len(data.x_test):] == data.x_test).all()
    assert (everything["y_eval"][:len(data.y_train)] == data.y_train).all()
    assert (everything["x_train"] == test_only["x_train"]).all()
    assert "N2D protocol" in everything["protocol"] and "N2D" not in test_only["protocol"]


def test_study_clustering_rejects_zero_gmm_restarts_naming_the_option(tmp_path):
    from aelab.errors import ConfigError
    from aelab.studies.clustering import clustering

    with pytest.raises(ConfigError, match="gmm_restarts must be a whole number >= 1"):
        clustering(tmp_path, quick=True, gmm_restarts=0)


def test_baselines_score_pca_and_pixels_of_the_evaluation_images():
    import numpy as np

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
