"""The scikit-learn facade `aelab.Autoencoder`: API contract, input handling, sklearn tools."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from aelab import Autoencoder
from aelab.errors import DataError, NotFittedError

FAST = {"epochs": 3, "batch_size": 64, "model_options": {"hidden": [32]}, "random_state": 0}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """400 bundled digits as flat floats in [0, 1] (n, 64) and labels."""
    d = load_digits()
    return (d.data[:400] / 16.0).astype(np.float32), d.target[:400]


def test_estimator_passes_every_sklearn_check_at_default_settings():
    # scikit-learn's checks feed standard-normal floats, values around 100, ints, 1-sample and
    # 1-feature arrays, NaN ...: "auto" scaling standardizes what is not pixels, so no check
    # fails and none is marked as an expected failure (before issue 21: 22 of 45 failed).
    results = check_estimator(Autoencoder(), on_fail=None)
    failed = [(r["check_name"], repr(r["exception"])) for r in results
              if r["status"] in ("failed", "xfail")]
    assert failed == []
    assert len({r["check_name"] for r in results}) > 40


def test_estimator_fit_returns_self_and_shapes(digits):
    X, _ = digits
    ae = Autoencoder(latent_dim=5, input_shape=(8, 8), **FAST)
    assert ae.fit(X) is ae
    Z = ae.transform(X)
    assert Z.shape == (400, 5) and Z.dtype == np.float32
    X_rec = ae.inverse_transform(Z)
    assert X_rec.shape == X.shape and X_rec.min() >= 0 and X_rec.max() <= 1
    assert ae.input_shape_ == (1, 8, 8) and ae.n_features_in_ == 64
    assert len(ae.history_) == 3


def test_estimator_accepts_image_layouts_with_the_same_result(digits):
    X, _ = digits
    flat = Autoencoder(latent_dim=4, input_shape=(1, 8, 8), **FAST).fit(X)
    hw = Autoencoder(latent_dim=4, **FAST).fit(X.reshape(-1, 8, 8))
    chw = Autoencoder(latent_dim=4, **FAST).fit(X.reshape(-1, 1, 8, 8))
    np.testing.assert_allclose(flat.transform(X), hw.transform(X.reshape(-1, 8, 8)), atol=1e-5)
    np.testing.assert_allclose(flat.transform(X), chw.transform(X.reshape(-1, 1, 8, 8)),
                               atol=1e-5)
    assert hw.inverse_transform(hw.transform(X.reshape(-1, 8, 8))).shape == (400, 8, 8)
    assert chw.inverse_transform(chw.transform(X.reshape(-1, 1, 8, 8))).shape == (400, 1, 8, 8)


def test_estimator_reads_uint8_as_pixels_over_255(digits):
    X, _ = digits
    u8 = np.round(X * 255).astype(np.uint8)
    a = Autoencoder(latent_dim=4, input_shape=(8, 8), **FAST).fit(u8)
    b = Autoencoder(latent_dim=4, input_shape=(8, 8), **FAST).fit(u8.astype(np.float32) / 255)
    np.testing.assert_allclose(a.transform(u8), b.transform(u8.astype(np.float32) / 255),
                               atol=1e-4)
    assert a.score(u8) == pytest.approx(b.score(u8.astype(np.float32) / 255), rel=1e-4)


def test_estimator_conv_model_on_images(digits):
    X, _ = digits
    ae = Autoencoder(model="conv", latent_dim=6, epochs=2, model_options={"channels": [8]},
                     random_state=0).fit(X.reshape(-1, 1, 8, 8))
    assert ae.transform(X.reshape(-1, 1, 8, 8)).shape == (400, 6)


def test_estimator_conv_on_flat_rows_without_shape_is_an_error(digits):
    X, _ = digits
    with pytest.raises(DataError, match="needs images.*input_shape"):
        Autoencoder(model="conv", epochs=1).fit(X)


def test_estimator_score_improves_with_training(digits):
    X, _ = digits
    short = Autoencoder(latent_dim=8, input_shape=(8, 8), **{**FAST, "epochs": 1}).fit(X)
    longer = Autoencoder(latent_dim=8, input_shape=(8, 8), **{**FAST, "epochs": 12,
                                                               "lr": 3e-3}).fit(X)
    assert short.score(X) < longer.score(X) < 0


def test_estimator_same_seed_same_codes(digits):
    X, _ = digits
    a = Autoencoder(latent_dim=3, input_shape=(8, 8), **FAST).fit(X).transform(X)
    b = Autoencoder(latent_dim=3, input_shape=(8, 8), **FAST).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((5, 2, 2, 2, 2)), r"\(n, d\) with input_shape"),
    (np.zeros(64), r"2D array"),
    (np.zeros((1, 64)), r"Found array with 1 sample\(s\) \(shape=\(1, 64\)\) while a minimum "
                        r"of 2 is required by Autoencoder"),
    (np.zeros((5, 1)), r"Found array with 1 feature\(s\) \(shape=\(5, 1\)\) while a minimum "
                       r"of 2 is required by Autoencoder"),
    (np.full((5, 64), np.nan), r"Input X contains NaN"),
    (np.full((5, 64), np.inf), r"Input X contains infinity"),
    (np.zeros((5, 64), complex), r"Complex data not supported"),
])
def test_estimator_rejects_bad_input_in_sklearn_words(bad, match):
    with pytest.raises(ValueError, match=match):
        Autoencoder(epochs=1).fit(bad)


@pytest.mark.parametrize("bad", [np.linspace(-1, 1, 128).reshape(2, 64),
                                 np.full((5, 64), 300)])
def test_estimator_pixels_scale_rejects_values_that_are_not_pixels(bad):
    with pytest.raises(DataError, match=r"must be pixels.*range over.*scale='standard'"):
        Autoencoder(epochs=1, scale="pixels").fit(bad)


def test_estimator_fitted_on_pixels_rejects_other_values_at_transform(digits):
    X, _ = digits
    ae = Autoencoder(latent_dim=2, input_shape=(8, 8), **FAST).fit(X)
    assert ae.scaling_ == "pixels" and ae.mean_ is None
    with pytest.raises(DataError, match=r"range over \[0, 2\]"):
        ae.transform(X * 2)


def test_estimator_unknown_scale_names_the_choices():
    with pytest.raises(ValueError, match="scale must be one of 'auto', 'pixels', 'standard'; "
                                         "got 'minmax'"):
        Autoencoder(epochs=1, scale="minmax").fit(np.zeros((4, 8)))


def test_estimator_standardizes_data_outside_unit_range(digits):
    X, _ = digits
    X_big = X * 1000.0 - 300.0                        # same images, another unit and offset
    ae = Autoencoder(latent_dim=8, **{**FAST, "epochs": 12, "lr": 3e-3}).fit(X_big)
    assert ae.scaling_ == "standard"
    np.testing.assert_allclose(ae.mean_, X_big.mean(axis=0), rtol=1e-6, atol=1e-6)
    X_rec = ae.inverse_transform(ae.transform(X_big))
    assert X_rec.dtype == np.float32 and X_rec.shape == X_big.shape
    # Back on the input's own scale: far better than predicting each feature's mean.
    r2 = 1 - ((X_rec - X_big) ** 2).sum() / ((X_big - X_big.mean(axis=0)) ** 2).sum()
    assert r2 > 0.5
    assert X_rec.max() > 1.0 and X_rec.min() < 0.0  # not squashed into [0, 1] by a sigmoid


def test_estimator_standard_scale_ignores_the_units_of_x(digits):
    X, _ = digits
    a = Autoencoder(latent_dim=4, scale="standard", input_shape=(8, 8), **FAST).fit(X)
    b = Autoencoder(latent_dim=4, scale="standard", input_shape=(8, 8), **FAST).fit(X * 50 + 7)
    assert a.scaling_ == b.scaling_ == "standard"
    np.testing.assert_allclose(a.transform(X), b.transform(X * 50 + 7), atol=1e-4)
    assert a.score(X) == pytest.approx(b.score(X * 50 + 7), rel=1e-3)


def test_estimator_after_standard_scaler_in_a_pipeline(digits):
    X, y = digits
    pipe = Pipeline([("std", StandardScaler()),
                     ("codes", Autoencoder(latent_dim=8, **{**FAST, "epochs": 15, "lr": 3e-3})),
                     ("clf", LogisticRegression(max_iter=500))])
    assert pipe.fit(X[:300], y[:300]).score(X[300:], y[300:]) > 0.6   # chance is 0.1
    assert pipe.named_steps["codes"].scaling_ == "standard"


def test_estimator_standardized_data_needs_the_mse_loss():
    X = np.random.default_rng(0).normal(size=(20, 6))
    with pytest.raises(ValueError, match="loss='bce' needs pixel data.*use loss='mse'"):
        Autoencoder(epochs=1, loss="bce").fit(X)


def test_estimator_input_shape_must_match_features():
    with pytest.raises(ValueError, match=r"input_shape=\(7, 7\) holds 49 values.*64 features"):
        Autoencoder(epochs=1, input_shape=(7, 7)).fit(np.zeros((4, 64)))


def test_estimator_transform_checks_the_fitted_shape(digits):
    X, _ = digits
    ae = Autoencoder(latent_dim=2, input_shape=(8, 8), **FAST).fit(X)
    with pytest.raises(ValueError, match="X has 63 features, but Autoencoder is expecting 64"):
        ae.transform(X[:, :63])
    with pytest.raises(ValueError, match=r"images of shape \(1, 4, 16\).*\(1, 8, 8\)"):
        ae.transform(X.reshape(-1, 4, 16))


def test_estimator_not_fitted_error_is_both_aelab_and_sklearn():
    from sklearn.exceptions import NotFittedError as SkNotFitted

    with pytest.raises(NotFittedError, match="not fitted yet") as info:
        Autoencoder().transform(np.zeros((2, 4)))
    assert isinstance(info.value, SkNotFitted)


def test_estimator_get_set_params_and_clone():
    ae = Autoencoder(latent_dim=7, model_options={"hidden": [16]})
    assert ae.get_params()["latent_dim"] == 7
    ae.set_params(latent_dim=3, lr=1e-2)
    copy = clone(ae)
    assert copy.get_params() == ae.get_params() and copy is not ae
    assert copy.model_options is not ae.model_options or copy.model_options == {"hidden": [16]}
    assert "latent_dim=3" in repr(ae)


def test_estimator_grid_search_over_latent_dim_prefers_the_larger_code(digits):
    X, _ = digits
    search = GridSearchCV(Autoencoder(input_shape=(8, 8), **{**FAST, "epochs": 6, "lr": 3e-3}),
                          {"latent_dim": [1, 12]}, cv=2).fit(X)
    assert search.best_params_ == {"latent_dim": 12}
    assert search.cv_results_["mean_test_score"][0] < search.cv_results_["mean_test_score"][1]


def test_estimator_in_pipeline_next_to_pca(digits):
    X, y = digits
    pipe = Pipeline([("codes", PCA(4)), ("clf", LogisticRegression(max_iter=500))])
    grid = [{"codes": [PCA()], "codes__n_components": [8]},
            {"codes": [Autoencoder(input_shape=(8, 8), **{**FAST, "epochs": 15, "lr": 1e-2})],
             "codes__latent_dim": [8]}]
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 2 and all(s > 0.5 for s in scores)   # chance is 0.1
