"""One provenance writer: the same machine and version keys in env.json and result files."""

from __future__ import annotations

from aelab.provenance import command_line, machine, provenance, versions


def test_machine_and_versions_have_the_documented_keys():
    m, v = machine(), versions()
    assert {"platform", "machine", "cpu_model", "cpu_bf16", "cpu_count", "torch_threads",
            "cpu_capability", "cuda_device"} <= m.keys()
    assert isinstance(m["cpu_bf16"], list) and m["cpu_count"] >= 1
    assert {"aelab", "python", "torch", "numpy", "scikit-learn"} <= v.keys()


def test_command_line_quotes_arguments_and_names_the_mirror(monkeypatch):
    monkeypatch.setenv("AELAB_DATA", "/data/my mirror")
    line = command_line(["/usr/bin/aelab", "study", "priors", "--option", "seeds=[1, 2]"])
    assert line == "AELAB_DATA='/data/my mirror' aelab study priors --option 'seeds=[1, 2]'"
    monkeypatch.delenv("AELAB_DATA")
    assert provenance("x")["command"] == "x"


def test_run_env_and_study_result_share_the_provenance_keys(tmp_path):
    import json

    from aelab.studies import run_study

    run_study("quickstart", out_dir=tmp_path / "q", quick=True)
    env = json.loads(next((tmp_path / "q").rglob("env.json")).read_text())
    run_study("hidden-sizes", out_dir=tmp_path / "h", quick=True)
    result = json.loads((tmp_path / "h" / "results.json").read_text())
    for key in ("machine", "versions"):
        assert env[key].keys() == result[key].keys()
