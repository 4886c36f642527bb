import numpy as np
import pytest
from matplotlib.figure import Figure

from aelab.errors import DataError
from aelab.report.figures import (
    PERCENTILES,
    curves_by_label,
    image_grid,
    loss_curves,
    percentile_gallery,
    percentile_indices,
    reconstruction_grid,
    save_figure,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def history_rows(n_epochs: int = 4) -> list[dict[str, float]]:
    return [{"epoch": e, "seconds": 1.0, "lr": 1e-3, "train_total": 1 / e, "train_recon": 0.8 / e,
             "train_kl": 0.2 / e, "val_total": 1.1 / e, "val_recon": 0.9 / e, "val_kl": 0.2 / e}
            for e in range(1, n_epochs + 1)]


def test_loss_curves_has_one_axes_per_term():
    fig = loss_curves(history_rows())
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["total", "recon", "kl"]


def test_loss_curves_accepts_a_dict_of_columns():
    columns = {"epoch": [1, 2, 3], "train_total": [3.0, 2.0, 1.0], "val_total": [3.5, 2.5, 1.5]}
    assert [ax.get_title() for ax in loss_curves(columns).axes] == ["total"]


def test_loss_curves_plots_train_and_validation_against_epoch():
    ax = loss_curves(history_rows(4)).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"train", "validation"}
    np.testing.assert_array_equal(lines["train"].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(lines["validation"].get_ydata(), [1.1 / e for e in range(1, 5)])


def test_loss_curves_uses_log_y_only_when_all_values_are_positive():
    columns = {"train_total": [2.0, 1.0], "train_mi": [-0.5, 0.3]}
    scales = {ax.get_title(): ax.get_yscale() for ax in loss_curves(columns).axes}
    assert scales == {"total": "log", "mi": "linear"}


def test_loss_curves_without_loss_columns_raises_data_error():
    with pytest.raises(DataError, match="lr"):
        loss_curves([{"epoch": 1, "lr": 1e-3}])


def test_image_grid_has_one_titled_axes_per_image():
    images = np.zeros((5, 1, 8, 8), dtype=np.uint8)
    fig = image_grid(images, nrow=3, titles=list("abcde"))
    assert [ax.get_title() for ax in fig.axes] == list("abcde")
    assert fig.axes[3].get_subplotspec().rowspan.start == 1  # 3 per row: the 4th starts row 2


def test_image_grid_shows_uint8_and_float_images_alike():
    rng = np.random.default_rng(0)
    as_uint8 = rng.integers(0, 256, (2, 3, 6, 6), dtype=np.uint8)
    from_uint8 = image_grid(as_uint8, nrow=2).axes[0].get_images()[0].get_array()
    from_float = image_grid(as_uint8 / 255.0, nrow=2).axes[0].get_images()[0].get_array()
    assert from_uint8.shape == (6, 6, 3)  # RGB shown channels-last
    np.testing.assert_allclose(from_uint8, from_float, atol=1e-6)


def test_image_grid_float_images_outside_unit_range_raise_data_error():
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        image_grid(np.full((2, 1, 4, 4), 3.0), nrow=2)


def test_reconstruction_grid_has_two_titled_panels_without_ticks():
    x = np.random.default_rng(0).random((30, 1, 8, 8))
    fig = reconstruction_grid(x, x)
    assert [ax.get_title() for ax in fig.axes] == ["original", "reconstruction"]
    assert all(len(ax.get_xticks()) == 0 and len(ax.get_yticks()) == 0 for ax in fig.axes)


def test_reconstruction_grid_tiles_25_images_five_by_five():
    x = np.random.default_rng(0).random((30, 1, 8, 8))
    mosaic = reconstruction_grid(x, x).axes[1].get_images()[0].get_array()
    assert mosaic.shape == (5 * 8 + 4, 5 * 8 + 4)  # 1-pixel gaps between tiles


def test_reconstruction_grid_shape_mismatch_raises_data_error():
    with pytest.raises(DataError, match="same shape"):
        reconstruction_grid(np.zeros((4, 1, 8, 8)), np.zeros((4, 1, 7, 7)))


def test_save_figure_writes_a_png(tmp_path):
    path = save_figure(loss_curves(history_rows()), tmp_path / "sub" / "loss.png", dpi=30)
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_percentile_indices_pick_the_order_statistics_of_each_column():
    # 101 distinct scores per column: the p-th percentile is the p-th smallest score exactly.
    rng = np.random.default_rng(0)
    scores = np.stack([rng.permutation(101) * 0.5, -rng.permutation(101) ** 2.0], axis=1)
    chosen = percentile_indices(scores)
    assert chosen.shape == (len(PERCENTILES), 2)
    for col in range(2):
        np.testing.assert_array_equal(scores[chosen[:, col], col],
                                      np.sort(scores[:, col])[list(PERCENTILES)])


def test_percentile_indices_take_the_nearest_score_between_order_statistics():
    scores = np.array([[0.0], [1.0], [10.0]])       # median 1.0; p90 = 8.2 is nearest to 10
    assert percentile_indices(scores, (50, 90, 0)).ravel().tolist() == [1, 2, 0]


def test_percentile_indices_reject_bad_percentiles_and_scores():
    with pytest.raises(DataError, match="percentiles"):
        percentile_indices(np.zeros((5, 1)), (50, 101))
    with pytest.raises(DataError, match="NaN"):
        percentile_indices(np.array([[0.0], [np.nan]]))


def test_percentile_gallery_shows_each_chosen_image_with_its_score_under_it():
    n = 101
    rng = np.random.default_rng(1)
    scores = np.stack([np.arange(n) * 1.0, rng.permutation(n) * 1.0, np.zeros(n)], axis=1)
    images = np.zeros((n, 1, 4, 4))
    images[:, 0, 0, 0] = np.arange(n) / (n - 1)      # each image tells its row by one pixel
    fig = percentile_gallery(scores, images, k=2, labels=["first", "second"])
    axes = np.array(fig.axes).reshape(2, len(PERCENTILES))
    assert [ax.get_title() for ax in axes[0]] == [f"p{p}" for p in PERCENTILES]
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["first", "second"]
    for col in range(2):
        want = np.sort(scores[:, col])[list(PERCENTILES)]
        assert [float(ax.get_xlabel()) for ax in axes[col]] == want.tolist()
        shown_rows = [round(ax.get_images()[0].get_array()[0, 0] * (n - 1)) for ax in axes[col]]
        np.testing.assert_array_equal(scores[shown_rows, col], want)


def test_percentile_gallery_rejects_mismatched_inputs():
    with pytest.raises(DataError, match="one row per image"):
        percentile_gallery(np.zeros((3, 2)), np.zeros((4, 1, 4, 4)))
    with pytest.raises(DataError, match="k must be"):
        percentile_gallery(np.zeros((4, 2)), np.zeros((4, 1, 4, 4)), k=3)
    with pytest.raises(DataError, match="labels"):
        percentile_gallery(np.zeros((4, 2)), np.zeros((4, 1, 4, 4)), labels=["a"])


def test_curves_by_label_colours_each_label_and_names_it_once():
    h = history_rows(3)
    ax = curves_by_label({"a": [h, h], "b": [h]}).axes[0]
    assert len(ax.get_lines()) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    colours = [line.get_color() for line in ax.get_lines()]
    assert colours[0] == colours[1] != colours[2]
    assert ax.get_yscale() == "log"
    with pytest.raises(DataError, match="no column 'train_nope'"):
        curves_by_label({"a": [h]}, "train_nope")
