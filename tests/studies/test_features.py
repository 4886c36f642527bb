import json

import numpy as np
import pytest

from aelab.errors import ConfigError
from aelab.studies import features as features_module
from aelab.studies import run_study
from aelab.studies.features import summarize

KEYS = {"features", "dim", "classifier", "accuracy", "protocol", "fold"}


def test_features_quick_official_records_and_report(tmp_path, embedded_pngs):
    report = run_study("features", out_dir=tmp_path, quick=True,
                       options={"dims": [4], "classifiers": ["knn", "mlp"],
                                "kinds": ["pixels", "pca", "ae_dense", "cnn"]})
    results = json.loads((tmp_path / "results.json").read_text())
    records = results["records"]
    assert all(set(r) == KEYS for r in records)
    assert {r["protocol"] for r in records} == {"official"}
    assert {r["fold"] for r in records} == {None}
    got = {(r["features"], r["dim"], r["classifier"]) for r in records}
    assert got == {("pixels", 64, "knn"), ("pixels", 64, "mlp"), ("pca", 4, "knn"),
                   ("pca", 4, "mlp"), ("ae_dense", 4, "knn"), ("ae_dense", 4, "mlp"),
                   ("cnn", None, "cnn")}
    # k-NN on raw digits pixels is a strong baseline (~0.9 on 300 training images).
    assert next(r for r in records if r["features"] == "pixels" and r["classifier"] == "knn"
                )["accuracy"] > 0.8
    html = report.read_text()
    assert len(list((tmp_path / "figures").glob("confusion_*.png"))) == 4
    n_png = len(list((tmp_path / "figures").glob("*.png")))
    assert len(embedded_pngs(html)) == n_png


def test_features_test_kfold_protocol_covers_the_test_set(tmp_path):
    run_study("features", out_dir=tmp_path, quick=True,
              options={"protocol": "test-5fold", "folds": 2, "dims": [4],
                       "kinds": ["pixels", "pca"], "classifiers": ["knn"]})
    results = json.loads((tmp_path / "results.json").read_text())
    assert {r["protocol"] for r in results["records"]} == {"digits-test-2fold"}
    assert sorted({r["fold"] for r in results["records"]}) == [0, 1]
    summary = {(s["features"], s["classifier"]): s for s in results["summary"]}
    assert summary[("pca", "knn")]["folds"] == 2
    # Out-of-fold predictions: the two folds predict every digits test image exactly once.
    cached = [json.loads((tmp_path / "cache" / f"pca-fold{k}.json").read_text()) for k in (0, 1)]
    assert sum(len(c["results"][0]["y_pred"]) for c in cached) == 359
    assert (tmp_path / "figures" / "confusion_pca.png").is_file()


def test_features_reuses_cached_results(tmp_path, monkeypatch):
    options = {"dims": [4], "kinds": ["pca"], "classifiers": ["knn"]}
    run_study("features", out_dir=tmp_path, quick=True, options=options)
    first = json.loads((tmp_path / "results.json").read_text())["records"]

    def fail(*args, **kwargs):
        raise AssertionError("recomputed a cached result")

    monkeypatch.setattr(features_module, "_compute", fail)
    run_study("features", out_dir=tmp_path, quick=True, options=options)
    assert json.loads((tmp_path / "results.json").read_text())["records"] == first
    with pytest.raises(AssertionError, match="recomputed"):      # new settings: recompute
        run_study("features", out_dir=tmp_path, quick=True, options=options | {"dims": [5]})


@pytest.mark.parametrize("options, match", [
    ({"protocol": "test-10fold"}, 'option protocol = "test-10fold" is not allowed; it must be '
                                  'one of "official", "test-5fold"'),
    ({"kinds": ["ica"]}, 'option kinds = \\["ica"\\] is not allowed; it must be a list of '
                         'values \\(one of "pixels", "pca"'),
    ({"protocol": "test-5fold", "limit": 100}, "option limit = 100: .*official protocol only"),
    ({"dims": [0]}, r"option dims = \[0\]: give code sizes >= 1"),
    ({"ae_epochs": {"ae_cnn": 3}}, 'option ae_epochs = {"ae_cnn": 3}: expected a number >= 1'),
    ({"mlp_epochs": 0}, "option mlp_epochs = 0 is not allowed; it must be at least 1"),
])
def test_features_bad_options_are_config_errors(tmp_path, options, match):
    with pytest.raises(ConfigError, match=match):
        run_study("features", out_dir=tmp_path, quick=True, options=options)


def test_summarize_mean_and_sample_std_over_folds():
    recs = [{"features": "pca", "dim": 10, "classifier": "knn", "accuracy": a, "fold": i}
            for i, a in enumerate([0.8, 0.9, 1.0])]
    (s,) = summarize(recs)
    assert s["accuracy"] == pytest.approx(0.9)
    assert s["std"] == pytest.approx(np.std([0.8, 0.9, 1.0], ddof=1))
    assert s["folds"] == 3


def test_features_caches_each_autoencoder_code_size(tmp_path, monkeypatch):
    options = {"dims": [4], "kinds": ["ae_dense"], "classifiers": ["knn"], "ae_epochs": 1}
    run_study("features", out_dir=tmp_path, quick=True, options=options)
    assert (tmp_path / "cache" / "ae_dense-d4-official.json").is_file()
    computed = []
    compute = features_module._compute
    monkeypatch.setattr(features_module, "_compute",
                        lambda kind, fold, p, *a: computed.append(p["dims"]) or compute(
                            kind, fold, p, *a))
    run_study("features", out_dir=tmp_path, quick=True, options=options | {"dims": [4, 5]})
    assert computed == [[5]]                         # d = 4 came from the cache
    results = json.loads((tmp_path / "results.json").read_text())
    assert sorted(r["dim"] for r in results["records"]) == [4, 5]
    assert set(results["details"]["ae_dense"]["ae_test_mse"]) == {"4", "5"}
    assert results["settings"]["ae_epochs"] == {"ae_dense": 1, "ae_conv": 1}


def test_features_autoencoders_are_run_folders_on_the_studys_training_images(tmp_path):
    from aelab.data import load_dataset
    from aelab.runs import evaluate_run, load_run, prepare_data

    run_study("features", out_dir=tmp_path, quick=True,
              options={"dims": [4], "kinds": ["ae_dense"], "classifiers": ["knn"],
                       "ae_epochs": 1})
    cfg, model = load_run(tmp_path / "runs" / "ae_dense-d4-official")
    assert model.latent_dim == 4 and cfg.data.subset == "first" and cfg.data.limit == 300
    # the first 300 training images, in order, as the classifiers see them; no validation
    splits = prepare_data(cfg)
    assert (splits.x_train == load_dataset("digits").x_train[:300]).all()
    assert splits.x_val is None
    assert evaluate_run(tmp_path / "runs" / "ae_dense-d4-official")["n_test"] == 359
