"""train.precision: bf16 autocast in the loop (weights and loss stay fp32), the auto rule, and
the errors; on CUDA where there is one."""

import numpy as np
import pytest
import torch

from aelab.config import LossConfig, RunConfig, TrainConfig
from aelab.errors import ConfigError
from aelab.losses import build_objective
from aelab.models import create_model
from aelab.precision import DENSE_BF16_MIN_BATCH, as_fp32, autocast, native_bf16, resolve_precision
from aelab.train import Batches, fit, resolve_device

CPU = torch.device("cpu")
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def _images(n=256, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.random((4, 1, 8, 8)) > 0.5
    return (base[rng.integers(0, 4, n)] * 255).astype(np.uint8)


def _conv():
    return create_model("conv", input_shape=(1, 8, 8), latent_dim=4, channels=[4, 8])


def _dense():
    return create_model("dense", input_shape=(1, 8, 8), latent_dim=4, hidden=[32])


def _fit(model, precision, device=CPU, epochs=3):
    torch.manual_seed(0)
    model = model.to(device)
    cfg = TrainConfig(epochs=epochs, batch_size=32, lr=3e-3, precision=precision)
    batches = Batches(_images(), batch_size=32, device=device, shuffle=True, seed=0)
    return fit(model, build_objective(LossConfig(name="mse"), model), batches, None, cfg,
               device=device)


def test_precision_is_checked_and_named():
    with pytest.raises(ConfigError, match=r"train\.precision.*'fp16'.*fp32, bf16, auto"):
        RunConfig.from_dict({"model": {"name": "dense"}, "train": {"precision": "fp16"}})
    with pytest.raises(ConfigError, match=r"--precision = 'half'"):
        resolve_precision("half", CPU, _dense(), key="--precision")
    assert RunConfig.from_dict({"model": {"name": "dense"}}).train.precision == "fp32"


def test_device_names_are_checked():
    with pytest.raises(ConfigError, match=r"train\.device = 'gpu' is not a device"):
        RunConfig.from_dict({"model": {"name": "dense"}, "train": {"device": "gpu"}})
    assert RunConfig.from_dict({"model": {"name": "dense"},
                                "train": {"device": "cuda:1"}}).train.device == "cuda:1"
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match=r"--device = 'cuda:0' but no CUDA device"):
            resolve_device("cuda:0", key="--device")


def test_auto_takes_bf16_only_where_the_device_has_it_and_the_model_gains():
    native = native_bf16(CPU)
    assert resolve_precision("auto", CPU, _conv()) == ("bf16" if native else "fp32")
    assert resolve_precision("auto", CPU, _dense(), batch_size=32) == "fp32"
    big = resolve_precision("auto", CPU, _dense(), batch_size=DENSE_BF16_MIN_BATCH)
    assert big == ("bf16" if native else "fp32")
    assert resolve_precision("fp32", CPU, _conv()) == "fp32"
    assert resolve_precision("bf16", CPU, _dense()) == "bf16"     # asked for: granted


def test_bf16_forward_runs_in_bf16_and_outputs_are_cast_back():
    model = _conv()
    x = torch.rand(2, 1, 8, 8)
    with autocast(CPU, "bf16"):
        out = model(x)
    assert out.x_logits.dtype == torch.bfloat16
    out32 = as_fp32(out)
    assert type(out32) is type(out) and out32.x_logits.dtype == torch.float32
    assert out32.mu is None
    with autocast(CPU, "fp32"):
        assert model(x).x_logits.dtype == torch.float32


@pytest.mark.parametrize("make", [_conv, _dense], ids=["conv", "dense"])
def test_bf16_training_keeps_fp32_weights_and_learns_like_fp32(make):
    ref = _fit(make(), "fp32")
    model = make()
    result = _fit(model, "bf16")
    assert result.precision == "bf16" and ref.precision == "fp32"
    assert all(p.dtype == torch.float32 for p in model.parameters())
    first, last = result.history[0]["train_total"], result.history[-1]["train_total"]
    assert np.isfinite(last) and last < first
    # the same run in bf16 ends within bf16's rounding of the fp32 run
    assert last == pytest.approx(ref.history[-1]["train_total"], rel=0.1)


def test_a_run_folder_records_the_precision_that_ran(tmp_path):
    from aelab.files import read_json
    from aelab.runs import train_run

    cfg = RunConfig.from_dict({"data": {"name": "digits", "limit": 200},
                               "model": {"name": "dense", "latent_dim": 4, "hidden": [16]},
                               "train": {"epochs": 1, "device": "cpu", "precision": "bf16"}})
    out = train_run(cfg, tmp_path / "run")
    assert read_json(out / "env.json")["precision"] == "bf16"
    assert read_json(out / "config.json")["train"]["precision"] == "bf16"


@CUDA
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_on_cuda(precision):
    cuda = torch.device("cuda")
    model = _conv()
    result = _fit(model, precision, device=cuda)
    assert next(model.parameters()).device.type == "cuda"
    assert np.isfinite(result.history[-1]["train_total"])
