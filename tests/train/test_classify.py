"""Classifier training on the bundled digits: learns, repeatable, checks its inputs."""

import numpy as np
import pytest
import torch

from aelab.data import load_dataset
from aelab.errors import ConfigError, DataError
from aelab.models.classifier import create_classifier
from aelab.train.classify import accuracy, features, random_shift, train_classifier


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _train(d, seed=0, **kw):
    torch.manual_seed(seed)                      # the initial weights
    model = create_classifier("mlp", d.image_shape, hidden=[64])
    hist = train_classifier(model, d.x_train, d.y_train, epochs=6, batch_size=64, seed=seed,
                            device="cpu", **kw)
    return model, hist


def test_mlp_learns_digits(digits):
    model, hist = _train(digits)
    assert hist[-1]["loss"] < hist[0]["loss"]
    assert accuracy(model, digits.x_test, digits.y_test) > 0.85   # chance is 0.1


def test_training_is_repeatable(digits):
    (m1, h1), (m2, h2) = _train(digits, seed=3), _train(digits, seed=3)
    assert [r["loss"] for r in h1] == [r["loss"] for r in h2]
    x = torch.from_numpy(digits.x_test[:16]).float() / 255
    assert torch.equal(m1.eval()(x), m2.eval()(x))


def test_float_codes_and_features(digits):
    codes = digits.x_train.reshape(len(digits.x_train), -1).astype(np.float32) / 16.0
    model = create_classifier("mlp", (codes.shape[1],), hidden=[32])
    train_classifier(model, codes, digits.y_train, epochs=2, batch_size=128, device="cpu")
    assert features(model, codes[:10]).shape == (10, 32)


def test_validation_and_early_stopping_rows(digits):
    _, hist = _train(digits, val=(digits.x_test, digits.y_test), patience=1)
    assert {"val_loss", "val_accuracy"} <= set(hist[0])


def test_random_shift_moves_content_within_bounds():
    x = torch.zeros(64, 1, 9, 9)
    x[:, :, 4, 4] = 1.0
    out = random_shift(x, 2, torch.Generator().manual_seed(0))
    pos = out[:, 0].flatten(1).argmax(1)
    rows, cols = pos // 9, pos % 9
    assert out.sum() == 64                       # the bright pixel is never lost
    assert rows.min() >= 2 and rows.max() <= 6 and cols.min() >= 2 and cols.max() <= 6
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) > 5   # offsets differ


def test_bad_inputs_are_explained(digits):
    model = create_classifier("mlp", digits.image_shape, hidden=[8])
    with pytest.raises(DataError, match="must match"):
        train_classifier(model, digits.x_train, digits.y_train[:-1], epochs=1, device="cpu")
    with pytest.raises(ConfigError, match="shift"):
        train_classifier(model, np.zeros((4, 64), np.float32), [0, 1, 2, 3], epochs=1,
                         shift=1, device="cpu")


def test_non_finite_loss_names_epoch_and_step(digits):
    """The classifier takes fit's steps: a NaN in the inputs stops it at the batch it is in."""
    from aelab.errors import TrainingError

    codes = digits.x_train[:40].reshape(40, -1).astype(np.float32) / 16.0
    codes[25, 3] = np.nan
    model = create_classifier("mlp", (codes.shape[1],), hidden=[8])
    # which of the 4 batches holds the NaN row depends on the shuffle
    with pytest.raises(TrainingError, match=r"non-finite at epoch 1, step [1-4]: total=nan"):
        train_classifier(model, codes, digits.y_train[:40], epochs=2, batch_size=10,
                         device="cpu")


def test_callbacks_see_every_step_and_epoch(digits):
    from aelab.train import Callback

    class Count(Callback):
        def __init__(self):
            self.steps, self.rows, self.start = [], [], None

        def on_train_start(self, epochs, steps_per_epoch, start_epoch):
            self.start = (epochs, steps_per_epoch, start_epoch)

        def on_batch_end(self, step, terms):
            self.steps.append(step)

        def on_epoch_end(self, row):
            self.rows.append(row["epoch"])

    count = Count()
    model = create_classifier("mlp", digits.image_shape, hidden=[8])
    train_classifier(model, digits.x_train[:100], digits.y_train[:100], epochs=2,
                     batch_size=32, device="cpu", callbacks=[count])
    assert count.start == (2, 4, 1)
    assert count.steps == list(range(1, 9)) and count.rows == [1, 2]
