import json

import numpy as np
import pytest
import torch
from golden_records import run_quick

from aelab.errors import ConfigError
from aelab.models import create_model
from aelab.runs import load_run
from aelab.studies import run_study
from aelab.studies.decoders import (
    SHOWN,
    UNPOOL_KEYS,
    Decoders,
    Options,
    decode_both,
    summarize,
    without_indices,
)

VARIANTS = ["maxpool-nearest", "maxpool-transposed", "maxpool-unpool", "stride-nearest"]
RECORD_KEYS = {"variant", "seed", *SHOWN, "seconds_per_epoch", "epochs", "n_train", "n_test"}


def test_decoders_quick_records_summary_and_report(tmp_path, embedded_pngs):
    run_quick("decoders", tmp_path)          # on one thread, as the golden records are run
    result = json.loads((tmp_path / "results.json").read_text())
    records = result["records"]
    assert [(r["variant"], r["seed"]) for r in records] == [(v, 0) for v in VARIANTS]
    for r in records:
        unpool = r["variant"] == "maxpool-unpool"
        assert set(r) == RECORD_KEYS | (set(UNPOOL_KEYS) if unpool else set()), r["variant"]
        assert 0 < r["test_mse"] < 1 and 0 < r["seconds_per_epoch"]
        assert r["test_sse_per_image"] == pytest.approx(r["test_mse"] * 64)   # 8x8 digits
    unpool = records[2]
    assert unpool["indices_per_image"] == 16 * 4 * 4 + 8 * 2 * 2 + 8 * 1 * 1   # 8 -> 4 -> 2 -> 1
    # without its indices the unpooling decoder loses what the indices carried
    assert unpool["no_indices_mse"] > 2 * unpool["test_mse"]
    assert unpool["index_gap_mse"] > 0 and unpool["sampled_index_gap_mse"] > 0
    medians = [s["test_mse_median"] for s in result["summary"]]
    assert medians == sorted(medians) and sorted(result["ranking"]) == sorted(VARIANTS)
    assert result["settings"]["reference"]["error"] == 0.086
    html = (tmp_path / "report.html").read_text()
    assert len(embedded_pngs(html)) == 3          # reconstructions, samples, loss curves
    assert "0.086" in html and "binary cross-entropy" in html
    cfg, model = load_run(tmp_path / "runs" / "maxpool-unpool-s0")   # ordinary run folders
    assert (cfg.model.kwargs["downsample"], cfg.model.kwargs["upsample"]) == ("maxpool",
                                                                              "unpool")


@pytest.mark.parametrize(("options", "named"), [
    ({"variants": ["stride-unpool"]}, "variants"),     # unpooling needs max-pooling indices
    ({"seeds": []}, "seeds"),
    ({"epochs": 0}, "epochs"),
    ({"loss": "l1"}, "loss"),
])
def test_bad_option_is_rejected_naming_it(tmp_path, options, named):
    with pytest.raises(ConfigError, match=f"option {named} = "):
        run_study("decoders", out_dir=tmp_path, quick=True, options=options)
    assert not (tmp_path / "runs").exists()


def test_plan_gives_one_run_per_variant_and_seed_without_training(tmp_path):
    opts = Options.build("decoders", {"seeds": [0, 1]})
    study = Decoders("decoders", opts, dataset="mnist", quick=False, out_dir=tmp_path)
    planned = study.plan()
    assert [p.name for p in planned] == [f"{v}-s{s}" for v in VARIANTS for s in (0, 1)]
    assert {(p.config.model.kwargs["downsample"], p.config.model.kwargs["upsample"])
            for p in planned} == {("maxpool", "nearest"), ("maxpool", "transposed"),
                                  ("maxpool", "unpool"), ("stride", "nearest")}
    assert {(p.config.train.epochs, p.config.train.batch_size) for p in planned} == {(10, 32)}
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("downsample", ["maxpool", "stride"])
def test_the_encoder_goes_28_14_7_4(downsample):
    study = Decoders("decoders", Options(), dataset="mnist", quick=False, out_dir=".")
    kwargs = {k: v for k, v in study.model(f"{downsample}-nearest").items() if k != "name"}
    model = create_model("conv", input_shape=(1, 28, 28), **kwargs)
    sizes, x = [], torch.zeros(2, 1, 28, 28)
    for stage in model.encoder.stages:
        x, _ = stage(x)
        sizes.append(x.shape[-1])
    assert sizes == [14, 7, 4]
    assert tuple(model.encode(torch.zeros(2, 1, 28, 28)).shape) == (2, 8, 4, 4)


def test_decode_both_with_indices_is_the_forward_pass():
    torch.manual_seed(0)
    model = create_model("conv", input_shape=(1, 8, 8), latent_dim=4, channels=[4, 4],
                         upsample="unpool", bottleneck="none").eval()
    x = np.random.default_rng(0).integers(0, 256, (5, 1, 8, 8), dtype=np.uint8)
    with_idx, without = decode_both(model, x, batch_size=2)
    with torch.no_grad():
        forward = torch.sigmoid(model(torch.as_tensor(x).float() / 255).x_logits).numpy()
    np.testing.assert_allclose(with_idx, forward, atol=1e-6)
    assert not np.allclose(with_idx, without)
    m = without_indices(model, x, n_samples=7, seed=0)
    assert m["index_gap_mse"] == pytest.approx(float(np.mean((with_idx - without) ** 2)))


def test_summarize_gives_mean_and_sample_std_and_ranks_by_median_test_mse():
    def rec(variant, seed, mse):
        return {"variant": variant, "seed": seed, "test_mse": mse, "test_sse_per_image": mse,
                "test_ssim": 0.5, "test_bce": 0.1, "parameters": 10, "seconds_per_epoch": 1.0}

    records = [rec("a", 0, 0.3), rec("a", 1, 0.5), rec("b", 0, 0.2), rec("b", 1, 0.2),
               rec("c", 0, 0.1)]
    summary = summarize(records, ("a", "b", "c"))
    assert [s["variant"] for s in summary] == ["c", "b", "a"]
    a = summary[2]
    assert a["test_mse_mean"] == pytest.approx(0.4)
    assert a["test_mse_std"] == pytest.approx(np.std([0.3, 0.5], ddof=1))
    assert summary[0]["test_mse_std"] is None and "no_indices_mse_mean" not in a


def test_a_collapsed_seed_is_counted_and_does_not_decide_the_ranking():
    def rec(variant, seed, mse):
        return {"variant": variant, "seed": seed, "test_mse": mse, "test_sse_per_image": mse,
                "test_ssim": 0.5, "test_bce": 0.1, "parameters": 10, "seconds_per_epoch": 1.0}

    # "a" is best on two seeds of three, but its third seed learned only the mean image
    records = [rec("a", 0, 0.010), rec("a", 1, 0.079), rec("a", 2, 0.011),
               rec("b", 0, 0.012), rec("b", 1, 0.013), rec("b", 2, 0.012)]
    summary = summarize(records, ("a", "b"), {"mse": 0.08})
    assert [s["variant"] for s in summary] == ["a", "b"]       # by median, not by mean
    assert summary[0]["test_mse_mean"] > summary[1]["test_mse_mean"]
    assert summary[0]["collapsed"] == 1 and summary[1]["collapsed"] == 0
    assert summary[0]["test_mse_trained_mean"] == pytest.approx(0.0105)
