import numpy as np
import pytest

from aelab.errors import DataError
from aelab.report.page import MISSING, format_value, write_html_page


def test_write_html_page_renders_paragraph_table_and_image_blocks(run_dir, tmp_path):
    image = run_dir / "figures" / "reconstructions.png"
    rows = [{"noise_std": 0.1, "mse": 0.02}, {"noise_std": 0.5, "mse": 0.05}]
    page = write_html_page(tmp_path / "study.html", "Noise sweep",
                           [("Results", ["MSE grows with noise <fast>.", rows, image])])
    text = page.read_text()
    assert "<p>MSE grows with noise &lt;fast&gt;.</p>" in text
    assert text.count("<tr>") == 3  # header + two rows
    assert text.count('<img src="data:image/png;base64,') == 1


def test_write_html_page_fills_missing_table_cells(tmp_path):
    rows = [{"run": "a", "mse": 0.1}, {"run": "b"}]
    text = write_html_page(tmp_path / "p.html", "t", [("Runs", [rows])]).read_text()
    assert f"<td>b</td><td>{MISSING}</td>" in text


def test_write_html_page_missing_image_raises_data_error_naming_it(tmp_path):
    with pytest.raises(DataError, match="nowhere.png"):
        write_html_page(tmp_path / "p.html", "t", [("Figures", [tmp_path / "nowhere.png"])])


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("parameters", 1234567, "1,234,567"),
        ("parameters", np.int64(42), "42"),
        ("test_mse", 0.0123456, "0.01235"),
        ("test_psnr_db", 19.08765, "19.09"),
        ("epoch", 3.0, "3"),
        ("test_mse", 1.5e-7, "1.500e-07"),
        ("train_seconds", 3.75, "3.75 s"),
        ("train_seconds", 754.3, "754.3 s (12.6 min)"),
        ("dataset", "digits", "digits"),
        ("converged", True, "true"),
    ],
)
def test_format_value_formats_ints_floats_and_seconds(key, value, shown):
    assert format_value(key, value) == shown
