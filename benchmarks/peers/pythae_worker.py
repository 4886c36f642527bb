"""One pythae training for benchmarks/peers/peers.py, run with pythae's own environment
(benchmarks/peers/.venv-pythae, made by setup_pythae.sh). Imports pythae, torch and numpy only:
no aelab.

Trains pythae's `AE` with its default MLP encoder and decoder (784-512-16-512-784, ReLU,
sigmoid output, loss: squared error summed over the pixels, averaged over the batch) through
`TrainingPipeline` with `BaseTrainerConfig` (Adam), no eval set (so, as in pythae, the best
model is kept on the training loss), then prints one JSON line:

- ``train_seconds``: the training passes only, summed over the epochs: from the start of each
  epoch's `train_step` (`on_train_step_begin`) to the end of its last batch
  (`on_train_step_end`); it includes pythae's DataLoader, its per-batch ``loss.item()`` and
  its progress bar, and leaves out the pipeline's data checks, the one-batch sanity check,
  the per-epoch copy of the best model and the final save;
- ``pipeline_seconds``: the whole ``TrainingPipeline(...)(train_data)`` call;
- ``test_mse``: mean squared error per pixel of the best model's reconstructions of the test
  images (fp32, eval mode, no grad).

    .venv-pythae/bin/python pythae_worker.py --data DATA.npz --batch-size 128 --epochs 5 \
        --lr 1e-3 --seed 0 --out DIR
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from importlib import metadata

import numpy as np
import torch
from pythae.models import AE, AEConfig
from pythae.pipelines import TrainingPipeline
from pythae.trainers import BaseTrainerConfig
from pythae.trainers.training_callbacks import TrainingCallback


class TrainPassTimer(TrainingCallback):
    """Sums the time of each epoch's training pass (first batch's start to last batch's end)."""

    def __init__(self):
        self.seconds = 0.0
        self._start = self._last = None

    def on_train_step_begin(self, training_config, **kwargs):
        self._start = self._last = time.perf_counter()

    def on_train_step_end(self, training_config, **kwargs):
        self._last = time.perf_counter()

    def on_epoch_end(self, training_config, **kwargs):
        self.seconds += self._last - self._start


def test_mse(model, x: np.ndarray, batch_size: int = 1000) -> float:
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            xb = torch.from_numpy(x[i:i + batch_size])
            rec = model.predict(xb).recon_x.reshape(xb.shape)
            total += float(((rec - xb) ** 2).sum(dtype=torch.float64))
    return total / x.size


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help=".npz: uint8 x_train, x_test (N, 1, 28, 28)")
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="pythae's output_dir (its saved model)")
    args = p.parse_args()

    data = np.load(args.data)
    # The same float32 values in [0, 1] that aelab trains on (it divides uint8 batches by 255).
    x_train = data["x_train"].astype(np.float32) / 255.0
    x_test = data["x_test"].astype(np.float32) / 255.0

    torch.manual_seed(args.seed)            # the model's initial weights
    model = AE(AEConfig(input_dim=tuple(x_train.shape[1:]), latent_dim=16))
    config = BaseTrainerConfig(output_dir=args.out, num_epochs=args.epochs,
                               learning_rate=args.lr, optimizer_cls="Adam",
                               per_device_train_batch_size=args.batch_size,
                               seed=args.seed, no_cuda=True)
    timer = TrainPassTimer()
    pipeline = TrainingPipeline(model=model, training_config=config)
    t0 = time.perf_counter()
    pipeline(train_data=x_train, callbacks=[timer])
    pipeline_seconds = time.perf_counter() - t0
    best = pipeline.trainer._best_model     # what pythae saves as final_model
    print(json.dumps({
        "train_seconds": timer.seconds,
        "pipeline_seconds": pipeline_seconds,
        "images_per_second": args.epochs * len(x_train) / timer.seconds,
        "test_mse": test_mse(best, x_test),
        "n_train": len(x_train), "n_test": len(x_test),
        "parameters": sum(p.numel() for p in best.parameters()),
        "torch_threads": torch.get_num_threads(),
        "versions": {"python": platform.python_version(),
                     **{name: metadata.version(name) for name in ("pythae", "torch", "numpy")}},
    }))


if __name__ == "__main__":
    main()
