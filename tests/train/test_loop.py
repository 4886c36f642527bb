import math

import numpy as np
import pytest
import torch

from aelab.config import LossConfig, TrainConfig
from aelab.errors import TrainingError
from aelab.losses import build_objective
from aelab.models import create_model, load_model
from aelab.train import Batches, fit, load_optimizer, save_optimizer

CPU = torch.device("cpu")


ARCHS = {
    "dense": {"name": "dense", "latent_dim": 4, "hidden": [32]},
    "conv_unpool": {"name": "conv", "latent_dim": 4, "channels": [4, 8], "upsample": "unpool",
                    "batch_norm": True},
}


def _setup(images, seed=0, arch="dense"):
    torch.manual_seed(seed)
    spec = dict(ARCHS[arch])
    model = create_model(spec.pop("name"), input_shape=(1, 8, 8), **spec)
    return model, build_objective(LossConfig(name="mse"), model)


def _train(images, cfg, run_dir=None, resume_from=None, model=None, arch="dense"):
    if model is None:
        model, objective = _setup(images, cfg.seed, arch)
    else:
        objective = build_objective(LossConfig(name="mse"), model)
    batches = Batches(images, batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed)
    result = fit(model, objective, batches, None, cfg, device=CPU, run_dir=run_dir,
                 resume_from=resume_from)
    return model, result


def test_batches_cover_every_image_once_per_epoch(tiny_images):
    b = Batches(tiny_images, np.arange(64), batch_size=10, shuffle=True, seed=3)
    seen = torch.cat([y for _, y in b])
    assert sorted(seen.tolist()) == list(range(64)) and len(b) == 7


def test_batches_convert_uint8_to_unit_range(tiny_images):
    x, _ = next(iter(Batches(tiny_images, batch_size=64)))
    assert x.dtype == torch.float32
    assert torch.allclose(x * 255, torch.from_numpy(tiny_images).float())


def test_batches_order_depends_on_seed_and_epoch(tiny_images):
    b = Batches(tiny_images, np.arange(64), batch_size=64, shuffle=True, seed=0)
    first = next(iter(b))[1]
    b.set_epoch(1)
    assert not torch.equal(first, next(iter(b))[1])


def test_fit_changes_weights_after_one_step(tiny_images):
    model, objective = _setup(tiny_images)
    before = [p.detach().clone() for p in model.parameters()]
    cfg = TrainConfig(epochs=1, batch_size=64)
    fit(model, objective, Batches(tiny_images, batch_size=64), None, cfg, device=CPU)
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_fit_loss_drops_on_fixed_batch(tiny_images):
    _, result = _train(tiny_images, TrainConfig(epochs=30, batch_size=16, lr=3e-3))
    h = result.history
    assert h[-1]["train_total"] < 0.5 * h[0]["train_total"]


def test_fit_is_repeatable_with_a_seed(tiny_images):
    cfg = TrainConfig(epochs=2, batch_size=16, seed=5)
    m1, r1 = _train(tiny_images, cfg)
    m2, r2 = _train(tiny_images, cfg)
    assert [r["train_total"] for r in r1.history] == [r["train_total"] for r in r2.history]
    assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters(), strict=True))


def test_fit_nan_guard_names_step_and_term(tiny_images):
    model, objective = _setup(tiny_images)

    calls = [0]

    def nan_after_first(x, out):
        terms = objective(x, out)
        calls[0] += 1
        if calls[0] > 3:    # sanity check + 2 good steps, then the recon term goes NaN
            terms["recon"] = terms["recon"] * math.nan
            terms["total"] = terms["recon"]
        return terms

    with pytest.raises(TrainingError, match=r"epoch 1, step 3: recon=nan, total=nan"):
        fit(model, nan_after_first, Batches(tiny_images, batch_size=16), None,
            TrainConfig(epochs=1, batch_size=16), device=CPU)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_fit_resume_matches_uninterrupted_training(tiny_images, tmp_path, arch):
    cfg2 = TrainConfig(epochs=2, batch_size=16, seed=1, restore_best=False)
    straight, _ = _train(tiny_images, cfg2, arch=arch)
    cfg1 = TrainConfig(epochs=1, batch_size=16, seed=1, restore_best=False)
    _, first = _train(tiny_images, cfg1, run_dir=tmp_path, arch=arch)
    resumed = load_model(tmp_path / "model.safetensors")
    _, second = _train(tiny_images, cfg2, run_dir=tmp_path, resume_from=first.history,
                       model=resumed, arch=arch)
    assert len(second.history) == 2
    pairs = zip(straight.parameters(), resumed.parameters(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)


def test_fit_early_stopping_stops_and_restores_best(tiny_images):
    model, objective = _setup(tiny_images)
    val = Batches(tiny_images[:16], batch_size=16)
    # lr 0 never improves after epoch 1, so patience 2 stops at epoch 3 of 50.
    cfg = TrainConfig(epochs=50, batch_size=16, lr=0.0, patience=2)
    result = fit(model, objective, Batches(tiny_images, batch_size=16), val, cfg, device=CPU)
    assert len(result.history) == 3 and result.stopped_early and result.best_epoch == 1


def test_fit_writes_checkpoint_each_epoch(tiny_images, tmp_path):
    _train(tiny_images, TrainConfig(epochs=2, batch_size=32), run_dir=tmp_path)
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,seconds,lr,train_recon,train_total") and len(lines) == 3
    assert (tmp_path / "model.safetensors").is_file()
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "adadelta"])
def test_optimizer_state_roundtrip(tiny_images, tmp_path, name):
    from aelab.train import build_optimizer

    model, objective = _setup(tiny_images)
    cfg = TrainConfig(optimizer=name)
    opt = build_optimizer(model.parameters(), cfg)
    x = torch.from_numpy(tiny_images).float() / 255
    objective(x, model(x))["total"].backward()
    opt.step()
    save_optimizer(opt, tmp_path / "o.safetensors", extra={"best": 1.5})
    opt2 = build_optimizer(model.parameters(), cfg)
    assert load_optimizer(opt2, tmp_path / "o.safetensors") == {"best": 1.5}
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert s1.keys() == s2.keys()
    for k in s1:
        for key, v in s1[k].items():
            assert torch.equal(torch.as_tensor(v), torch.as_tensor(s2[k][key]))


def test_deferred_finite_check_names_the_first_bad_step():
    """The accelerator path: no read-back per step, the first bad step still named."""
    import pytest
    import torch

    from aelab.errors import TrainingError
    from aelab.train.step import Stepper

    model = torch.nn.Linear(2, 1)
    stepper = Stepper(model, torch.optim.SGD(model.parameters(), lr=0.0), torch.device("cpu"))
    assert stepper.finite_every == 1              # CPU: every step, at once
    stepper.finite_every = 3                      # as on CUDA, with a short period
    x = torch.ones(1, 2)

    def terms(scale):
        return {"total": model(x).sum() * scale}

    stepper(terms(1.0), epoch=1)
    stepper(terms(float("nan")), epoch=1)         # recorded on the device, not read yet
    with pytest.raises(TrainingError, match="non-finite at epoch 1, step 2 "):
        stepper(terms(1.0), epoch=1)
