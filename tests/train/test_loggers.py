"""train.loggers: TensorBoard event files read back with TensorBoard's own reader, an MLflow run
read back with MLflow's client (real files, no mocks), and the one-line error without them."""

from __future__ import annotations

import json
import sys

import pytest

from aelab.config import RunConfig
from aelab.errors import ConfigError
from aelab.runs import train_run


def tiny(loggers, **train) -> RunConfig:
    return RunConfig.from_dict({
        "name": "tiny_tracked",
        "data": {"name": "digits", "limit": 120, "test_limit": 30, "val_fraction": 0.2},
        "model": {"name": "dense", "latent_dim": 4, "hidden": [16]},
        "train": {"epochs": 2, "batch_size": 32, "loggers": loggers, **train}})


def test_tensorboard_logger_writes_losses_images_and_hparams(tmp_path):
    pytest.importorskip("tensorboard", reason="the tracking extra is not installed: "
                        "pip install 'aelab[tracking]'")
    from tensorboard.backend.event_processing import event_accumulator as ea

    run = train_run(tiny(["tensorboard"]), tmp_path / "run")
    acc = ea.EventAccumulator(str(run / "tensorboard"),
                              size_guidance={ea.SCALARS: 0, ea.IMAGES: 0, ea.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()
    history = (run / "history.csv").read_text().splitlines()
    header, last = history[0].split(","), history[-1].split(",")
    train_total = acc.Scalars("loss/train_total")
    assert [e.step for e in train_total] == [1, 2]
    assert train_total[-1].value == pytest.approx(float(last[header.index("train_total")]))
    assert "loss/val_recon" in tags["scalars"] and "lr" in tags["scalars"]
    images = acc.Images("reconstructions")
    assert [e.step for e in images] == [1, 2]
    assert (images[0].width, images[0].height) == (16 * 8, 2 * 8)   # 16 inputs over 16 outputs
    # The config as hparams, with the test metrics of metrics.json.
    test_mse = json.loads((run / "metrics.json").read_text())["test_mse"]
    assert acc.Scalars("hparam/test_mse")[0].value == pytest.approx(test_mse, rel=1e-6)
    from tensorboard.plugins.hparams import plugin_data_pb2

    raw = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hparams = plugin_data_pb2.HParamsPluginData.FromString(raw).session_start_info.hparams
    assert hparams["model.latent_dim"].number_value == 4
    assert hparams["train.loggers"].string_value == '["tensorboard"]'


def test_mlflow_logger_logs_params_curves_and_the_run_folder(tmp_path, monkeypatch):
    pytest.importorskip("mlflow", reason="the tracking extra is not installed: "
                        "pip install 'aelab[tracking]'")
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)              # the default store is ./mlruns
    run_dir = train_run(tiny(["mlflow"]), tmp_path / "run")
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    (found,) = client.search_runs([client.get_experiment_by_name("aelab").experiment_id])
    assert found.info.status == "FINISHED" and found.info.run_name == "tiny_tracked"
    assert found.data.params["model.latent_dim"] == "4"
    assert found.data.params["train.loggers"] == '["mlflow"]'
    curve = client.get_metric_history(found.info.run_id, "train_total")
    assert [m.step for m in curve] == [1, 2]
    test_mse = json.loads((run_dir / "metrics.json").read_text())["test_mse"]
    assert found.data.metrics["test_mse"] == pytest.approx(test_mse, rel=1e-6)
    artifacts = {a.path for a in client.list_artifacts(found.info.run_id)}
    assert {"config.json", "model.safetensors", "history.csv", "report.html"} <= artifacts
    assert (tmp_path / "mlruns" / "artifacts").is_dir()


def test_logger_without_its_package_fails_before_training_naming_the_extra(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)     # how Python marks "not installed"
    with pytest.raises(ConfigError, match=r"needs the 'mlflow' package.*pip install "
                                          r"'aelab\[tracking\]'"):
        train_run(tiny(["mlflow"]), tmp_path / "run")
    assert not (tmp_path / "run" / "history.csv").exists()     # no epoch was trained


def test_unknown_logger_is_a_config_error_with_a_suggestion():
    with pytest.raises(ConfigError, match="train.loggers = 'tensorbord'.*Did you mean "
                                          "'tensorboard'"):
        tiny(["tensorbord"])


def test_tracking_uri_without_the_mlflow_logger_is_a_config_error():
    with pytest.raises(ConfigError, match="tracking_uri = 'sqlite:///x.db' is set but "
                                          "train.loggers has no 'mlflow'"):
        tiny(["tensorboard"], tracking_uri="sqlite:///x.db")
    assert tiny(["mlflow"], tracking_uri="sqlite:///x.db").train.tracking_uri == "sqlite:///x.db"
