import json

import pytest

from tools import compare_models


def fake_metrics(name, errors, seconds, seed=0):
    return {"architecture": name, "parameters": 1000, "device": "device cpu (2 threads), world size 1",
            "test": {"accuracy": 1 - errors / 10000, "errors": errors, "loss": 0.02},
            "timing": {"training_s": seconds, "total_s": seconds + 5, "per_epoch_s": [seconds / 2] * 2,
                       "train_images_per_s": 2500},
            "epochs_run": 2, "stopped_early": False, "config": {"epochs": 3, "seed": seed}}


def test_results_table_and_plot_come_from_the_metrics_files(tmp_path, capsys):
    for name, errors in (("basic_cnn", 78), ("improved_cnn", 41)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(fake_metrics(name, errors, 40.0)))
    assert compare_models.main([str(tmp_path / "basic_cnn"), str(tmp_path / "improved_cnn"),
                                "--out", str(tmp_path)]) == 0
    table = (tmp_path / "results.md").read_text()
    assert "| test accuracy | 99.22% | 99.59% |" in table
    assert "| test errors (of 10,000) | 78 | 41 |" in table
    assert "| epochs run | 2 of 3 | 2 of 3 |" in table
    assert "| training throughput | 2,500 images/s | 2,500 images/s |" in table
    assert (tmp_path / "comparison.png").stat().st_size > 10_000
    assert "99.59%" in capsys.readouterr().out


def test_missing_metrics_is_a_clear_error(tmp_path, capsys):
    assert compare_models.main([str(tmp_path / "nothing"), "--out", str(tmp_path)]) == 2
    assert "nothing/metrics.json: cannot read the metrics" in capsys.readouterr().err

