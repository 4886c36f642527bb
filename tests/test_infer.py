"""The one batched-inference loop: slices, input scaling, eval mode, tuples, empty inputs."""

import numpy as np
import pytest
import torch

from aelab.infer import batched, decode, encode, reconstruct
from aelab.models import create_model


class Probe(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(()))
        self.drop = torch.nn.Dropout(0.5)
        self.sizes = []

    def forward(self, x):
        self.sizes.append(len(x))
        return self.drop(x) * self.w


def test_slices_scale_uint8_and_run_in_eval_mode():
    model = Probe()
    x = np.arange(10 * 3, dtype=np.uint8).reshape(10, 3)
    out = batched(model, x, model=model, batch_size=4)
    assert model.sizes == [4, 4, 2]
    assert not model.training                      # dropout off: exact values
    assert out.dtype == torch.float32 and out.device.type == "cpu"
    assert torch.equal(out, torch.from_numpy(x).float().div_(255.0))


def test_several_inputs_and_tuple_outputs():
    model = Probe()
    a, b = np.ones((5, 2), np.float64), np.arange(5, dtype=np.float32)[:, None]
    s, d = batched(lambda x, y: (x + y, x - y), a, b, model=model, batch_size=2)
    assert s.shape == d.shape == (5, 2) and s.dtype == torch.float32
    assert torch.equal(s[:, 0], 1 + torch.arange(5.0))
    with pytest.raises(ValueError, match="different lengths"):
        batched(lambda x, y: x, a, b[:4], model=model)


def test_empty_input_keeps_the_trailing_shape():
    model = create_model("dense", (1, 4, 4), latent_dim=3, hidden=[8])
    empty = np.zeros((0, 1, 4, 4), np.uint8)
    assert reconstruct(model, empty).shape == (0, 1, 4, 4)
    assert encode(model, empty).shape == (0, 3)
    assert decode(model, np.zeros((0, 3))).shape == (0, 1, 4, 4)


def test_batch_size_does_not_change_reconstructions():
    torch.manual_seed(0)
    model = create_model("dense", (1, 4, 4), latent_dim=3, hidden=[8])
    x = np.random.default_rng(0).integers(0, 256, (7, 1, 4, 4), dtype=np.uint8)
    whole = reconstruct(model, x, batch_size=7)
    assert np.allclose(reconstruct(model, x, batch_size=2), whole, atol=1e-6)
    z = encode(model, x)
    assert decode(model, z).shape == x.shape
    with pytest.raises(Exception, match=r"codes must be \(N, 3\)"):
        decode(model, np.zeros((2, 4)))
