import dataclasses

import pytest

import basic_cnn
from mnist_cnn.checkpoint import differences
from mnist_cnn.config import TrainConfig, parse_config
from mnist_cnn.models import MODELS
from mnist_cnn.paths import REPO_DIR

BASIC = MODELS["basic_cnn"].defaults


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "-1"], "--epochs must be at least 1"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--lr", "0"], "--lr must be positive"),
    (["--device", "tpu"], "invalid choice: 'tpu'"),
    (["--schedule", "exponential"], "invalid choice: 'exponential'"),
    (["--label-smoothing", "1.5"], "--label-smoothing must be in"),
    (["--dropout", "1.0"], "--dropout must be in [0, 1)"),
    (["--ema", "-0.1"], "--ema must be in [0, 1)"),
    (["--erase", "2"], "--erase is a probability"),
    (["--thickness", "1.5"], "--thickness is a probability"),
    (["--one-flags", "-0.1"], "--one-flags is a probability"),
    (["--fill", "2"], "--fill is a probability"),
    (["--elastic", "-1"], "--elastic must not be negative"),
    (["--val-size", "60000"], "--val-size must leave training images"),
    (["--limit", "-5"], "--limit must not be negative"),
    (["--epochs", "three"], "invalid int value: 'three'"),
    (["--data-dir", "/no/such/folder"], "--data-dir /no/such/folder: no such folder"),
])
def test_nonsense_flags_are_refused_with_a_clear_message(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_config(BASIC, "", flags)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_an_output_dir_that_cannot_be_written(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SystemExit):
        parse_config(BASIC, "", ["--output-dir", str(blocker / "out")])
    assert f"--output-dir {blocker / 'out'}: not writable" in capsys.readouterr().err


def test_every_field_is_a_flag_with_help(capsys):
    with pytest.raises(SystemExit):
        parse_config(BASIC, "the basic model", ["--help"])
    text = capsys.readouterr().out
    for field in dataclasses.fields(TrainConfig):
        assert "--" + field.name.replace("_", "-") in text
    assert "--no-augment" in text and "the basic model" in text


def test_flags_override_the_script_defaults():
    config = parse_config(BASIC, "", ["--epochs", "7", "--augment", "--seed", "3"])
    assert (config.epochs, config.augment, config.seed) == (7, True, 3)
    assert config.output_dir == str(REPO_DIR / "output_basic")


def test_a_data_dir_without_the_files_is_a_clear_error(tmp_path, capsys):
    status = basic_cnn.main(["--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "out")])
    assert status == 2
    assert f"{tmp_path}: train-images-idx3-ubyte[.gz] is missing" in capsys.readouterr().err


def test_resume_refuses_changed_settings():
    saved = dataclasses.asdict(TrainConfig())
    changed = dataclasses.replace(TrainConfig(), lr=0.5, device="cpu", resume=True)
    assert differences(saved, changed) == ["lr: checkpoint 0.003, now 0.5"]


def test_a_setting_a_checkpoint_predates_counts_as_its_default():
    saved = dataclasses.asdict(TrainConfig())
    del saved["ema"], saved["dropout"]  # written before these settings existed
    assert differences(saved, TrainConfig()) == []
    assert differences(saved, dataclasses.replace(TrainConfig(), ema=0.99)) == ["ema: checkpoint 0.0, now 0.99"]

