import pytest

from aelab.config import RunConfig, apply_overrides, parse_value
from aelab.errors import ConfigError


def test_config_defaults_are_valid():
    cfg = RunConfig.from_dict({})
    assert cfg.data.name == "digits" and cfg.train.optimizer == "adam"


def test_config_unknown_key_suggests_close_match():
    with pytest.raises(ConfigError, match=r"'train\.lrr'.*Did you mean 'train\.lr'"):
        RunConfig.from_dict({"train": {"lrr": 0.1}})


def test_config_unknown_section_is_rejected():
    with pytest.raises(ConfigError, match=r"'config\.trian'.*'config\.train'"):
        RunConfig.from_dict({"trian": {}})


def test_config_wrong_type_names_dotted_key():
    with pytest.raises(ConfigError, match=r"train\.epochs must be int; got '10'"):
        RunConfig.from_dict({"train": {"epochs": "10"}})


def test_config_bool_is_not_a_number():
    with pytest.raises(ConfigError, match=r"train\.batch_size"):
        RunConfig.from_dict({"train": {"batch_size": True}})


def test_config_out_of_range_names_limit():
    with pytest.raises(ConfigError, match=r"train\.lr must be >= 0.0; got -0.1"):
        RunConfig.from_dict({"train": {"lr": -0.1}})


def test_config_bad_choice_lists_allowed_values():
    with pytest.raises(ConfigError, match=r"Did you mean 'adam'.*adamw, sgd, adadelta"):
        RunConfig.from_dict({"train": {"optimizer": "adma"}})


def test_config_model_kwargs_pass_through():
    cfg = RunConfig.from_dict({"model": {"name": "dense", "hidden": [64], "latent_dim": 4}})
    assert cfg.model.kwargs == {"hidden": [64], "latent_dim": 4}


def test_config_roundtrip_through_dict():
    cfg = RunConfig.from_dict({"name": "x", "train": {"lr": 0.01}, "loss": {"l1_code": 1e-4}})
    assert RunConfig.from_dict(cfg.to_dict()) == cfg


def test_overrides_parse_toml_values():
    d = apply_overrides({}, ["train.lr=3e-4", "model.name=conv", "model.hidden=[8, 4]",
                             "train.restore_best=false"])
    assert d == {"train": {"lr": 3e-4, "restore_best": False},
                 "model": {"name": "conv", "hidden": [8, 4]}}


def test_overrides_reject_missing_equals():
    with pytest.raises(ConfigError, match="section.key=value"):
        apply_overrides({}, ["train.lr"])


def test_parse_value_keeps_bare_strings():
    assert parse_value("vae_dense") == "vae_dense" and parse_value("2") == 2


def test_config_file_missing_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        RunConfig.from_file(tmp_path / "nope.toml")


def test_config_file_toml_syntax_error_names_file(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[train\nepochs = 1\n")
    with pytest.raises(ConfigError, match="bad.toml"):
        RunConfig.from_file(p)


def test_one_key_value_syntax_for_set_option_and_sr_train():
    from aelab.config import parse_assignments
    from aelab.errors import ConfigError

    assert parse_assignments(["a=[1, 2]", "b=conv", "c=true", "d=3e-4", 'e="x y"']) == {
        "a": [1, 2], "b": "conv", "c": True, "d": 3e-4, "e": "x y"}
    with pytest.raises(ConfigError, match=r"--option expects KEY=VALUE \(e.g. levels=\[0.3\]\)"):
        parse_assignments(["levels"], flag="--option", example="levels=[0.3]")


def test_sr_train_and_study_read_values_like_train_set(tmp_path, capsys):
    from aelab.cli import main

    assert main(["sr-train", "--out", str(tmp_path / "s"), "--set", "steps=ten"]) == 2
    assert "sr.steps must be an integer; got 'ten'" in capsys.readouterr().err
    assert main(["study", "hidden-sizes", "--quick", "--out", str(tmp_path / "h"),
                 "--option", "sizes=ten"]) == 2
    assert "option sizes = \"ten\" is not allowed; it must be a list of integers" in \
        capsys.readouterr().err
