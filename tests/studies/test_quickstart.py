import re

from aelab.cli import main


def test_study_quickstart_quick_writes_report(tmp_path, capsys):
    assert main(["study", "quickstart", "--quick", "--out", str(tmp_path)]) == 0
    report = next(tmp_path.glob("*.html"))
    html = report.read_text()
    assert "dense" in html and "conv" in html
    assert len(re.findall(r'<img[^>]*src="data:image/png;base64,', html)) >= 2


def test_study_unknown_name_suggests_close_match(tmp_path, capsys):
    assert main(["study", "quickstar", "--out", str(tmp_path)]) == 2
    assert "Did you mean 'quickstart'" in capsys.readouterr().err


def test_unknown_study_option_is_a_config_error(tmp_path):
    import pytest

    from aelab.errors import ConfigError
    from aelab.studies import run_study

    with pytest.raises(ConfigError, match="option.levels: unknown option for study 'quickstart'"):
        run_study("quickstart", out_dir=tmp_path, options={"levels": [0.5]})
