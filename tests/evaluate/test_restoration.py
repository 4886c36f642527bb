import numpy as np
import pytest

from aelab.errors import DataError
from aelab.evaluate.restoration import hidden_region, restoration, scores


def test_psnr_is_the_mean_of_per_image_psnrs_with_data_range_1():
    x = np.zeros((2, 1, 4, 4))
    x_hat = x.copy()
    x_hat[0] += 0.1     # 20 dB
    x_hat[1] += 0.01    # 40 dB
    assert scores(x, x_hat)["psnr_db"] == pytest.approx(30.0)   # not 10 log10(1/mean mse)


def test_restoration_reports_restored_corrupted_and_gain():
    x = np.full((3, 1, 8, 8), 0.5)
    m = restoration(x, x + 0.1, x + 0.05)
    assert m["corrupted_psnr_db"] == pytest.approx(20.0)
    assert m["restored_psnr_db"] == pytest.approx(26.0206, abs=1e-3)
    assert m["gain_psnr_db"] == pytest.approx(6.0206, abs=1e-3)
    assert m["restored_mse"] == pytest.approx(0.0025)


def test_hidden_region_error_counts_only_hidden_pixels():
    x = np.zeros((1, 1, 4, 4))
    x_hat = np.full_like(x, 0.5)
    hidden = np.zeros((1, 1, 4, 4), bool)
    hidden[..., :2, :2] = True
    x_hat[~hidden] = 0.0
    x_hat[hidden] = 0.1
    h = hidden_region(x, x_hat, hidden)
    assert h["mse"] == pytest.approx(0.01) and h["psnr_db"] == pytest.approx(20.0)
    assert h["fraction"] == pytest.approx(0.25)
    m = restoration(x, x_hat, x_hat, hidden)
    assert m["hidden_restored_psnr_db"] == pytest.approx(20.0)


def test_hidden_region_rejects_a_mask_of_the_wrong_shape():
    with pytest.raises(DataError, match="hidden must be a bool mask"):
        hidden_region(np.zeros((2, 1, 4, 4)), np.zeros((2, 1, 4, 4)), np.zeros((2, 4, 4)))
