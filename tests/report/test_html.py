import base64
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from aelab.errors import DataError
from aelab.report.figures import image_grid, save_figure
from aelab.report.html import build_comparison, build_report, read_history

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def img_sources(page: Path) -> list[str]:
    parser = _Tags()
    parser.feed(page.read_text(encoding="utf-8"))
    return [attrs["src"] for tag, attrs in parser.tags if tag == "img"]


def add_figure(run_dir: Path, name: str) -> None:
    x = np.random.default_rng(1).random((4, 1, 8, 8))
    save_figure(image_grid(x, nrow=2), run_dir / "figures" / name, dpi=30)


def test_read_history_returns_one_dict_of_floats_per_epoch(run_dir):
    history = read_history(run_dir / "history.csv")
    assert len(history) == 3
    assert history[1]["epoch"] == 2.0 and history[1]["train_recon"] == pytest.approx(0.25)
    assert all(isinstance(v, float) for row in history for v in row.values())


def test_read_history_reads_jsonl(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text('{"epoch": 1, "train_total": 0.5}\n{"epoch": 2, "train_total": 0.25}\n')
    assert read_history(path) == [{"epoch": 1.0, "train_total": 0.5},
                                  {"epoch": 2.0, "train_total": 0.25}]


def test_read_history_non_numeric_value_raises_data_error_naming_line_and_column(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,train_total\n1,0.5\n2,oops\n")
    with pytest.raises(DataError, match="line 3, column 'train_total'.*'oops'"):
        read_history(path)


def test_build_report_embeds_every_png_as_a_data_uri(run_dir):
    add_figure(run_dir, "latent_samples.png")
    sources = img_sources(build_report(run_dir))
    assert len(sources) == len(list((run_dir / "figures").glob("*.png"))) == 2
    for src in sources:
        prefix, _, data = src.partition(",")
        assert prefix == "data:image/png;base64"
        assert base64.b64decode(data, validate=True)[:8] == PNG_SIGNATURE


def test_build_report_captions_figures_from_file_names(run_dir):
    page = build_report(run_dir).read_text()
    assert "<figcaption>Reconstructions</figcaption>" in page


def test_build_report_shows_formatted_metrics(run_dir):
    page = build_report(run_dir).read_text()
    for shown in ("0.01235", "19.09", "0.8765", "12,345", "3.75 s", "1,437"):
        assert f"<td>{shown}</td>" in page


def test_build_report_header_names_dataset_model_and_date(run_dir):
    page = build_report(run_dir).read_text()
    assert "run digits_dense · dataset digits · model dense · started 2024-05-01T12:00:00" in page


def test_build_report_escapes_strings_from_the_config(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    config["model"]["name"] = "<script>alert(1)</script>"
    (run_dir / "config.json").write_text(json.dumps(config))
    page = build_report(run_dir, title="<b>title</b>").read_text()
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_build_report_missing_run_dir_raises_data_error_naming_it(tmp_path):
    missing = tmp_path / "no_such_run"
    with pytest.raises(DataError, match="no_such_run"):
        build_report(missing)


def test_build_report_without_figures_says_so(run_dir):
    shutil.rmtree(run_dir / "figures")
    page = build_report(run_dir)
    assert img_sources(page) == []
    assert "No PNG figures in figures/." in page.read_text()


def test_build_report_without_metrics_or_history_says_so(run_dir):
    (run_dir / "metrics.json").unlink()
    (run_dir / "history.csv").unlink()
    text = build_report(run_dir).read_text()
    assert "No metrics.json in this run folder yet" in text
    assert "No history.csv in this run folder yet" in text


def test_build_report_leaves_out_a_file_that_is_not_a_png(run_dir):
    (run_dir / "figures" / "broken.png").write_bytes(b"not a png")
    page = build_report(run_dir)
    assert len(img_sources(page)) == 1
    assert "figures/broken.png is not a valid PNG file" in page.read_text()


def test_build_report_invalid_json_raises_data_error_naming_the_file(run_dir):
    (run_dir / "metrics.json").write_text("{not json")
    with pytest.raises(DataError, match="metrics.json"):
        build_report(run_dir)


def test_build_comparison_has_one_row_per_run_and_their_figures(run_dir, tmp_path):
    other = tmp_path / "digits_conv"
    shutil.copytree(run_dir, other)
    metrics = json.loads((other / "metrics.json").read_text()) | {"test_mse": 0.00987}
    (other / "metrics.json").write_text(json.dumps(metrics))
    page = build_comparison([run_dir, other], tmp_path / "reports" / "cmp", title="dense vs conv")
    text = page.read_text()
    assert page == tmp_path / "reports" / "cmp" / "index.html"
    assert "<td>digits_dense</td>" in text and "<td>digits_conv</td>" in text
    assert '<td class="num">0.01235</td>' in text and '<td class="num">0.00987</td>' in text
    assert len(img_sources(page)) == 2


def test_build_report_adds_a_table_per_other_dataset_metrics_file(run_dir):
    (run_dir / "metrics-mnist.json").write_text(json.dumps({"test_mse": 0.0456789}))
    text = build_report(run_dir).read_text()
    assert "<h2>Metrics on mnist</h2>" in text
    assert "<td>0.04568</td>" in text
