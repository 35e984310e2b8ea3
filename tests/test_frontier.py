"""The accuracy-frontier tools: the benchmark's ablation and its records, test-time augmentation,
the ensemble and throughput reports."""

import dataclasses
import json

import numpy as np
import pytest

import predict_custom
from conftest import REPO_DIR
from mnist_cnn.inference import TTA_ROTATIONS, TTA_SHIFTS, load_model, tta_views
from mnist_cnn.models import MODELS
from tools import benchmark, ensemble, throughput


def fake_metrics(variant_config, errors, val_accuracy, machine="Test CPU"):
    return {"architecture": "improved_cnn", "config": dataclasses.asdict(variant_config),
            "test": {"accuracy": 1 - errors / 10000, "errors": errors},
            "history": [{"val_accuracy": 0.5, "val_loss": 1.0}, {"val_accuracy": val_accuracy, "val_loss": 0.02}],
            "kept_epoch": 2, "epochs_run": 2, "timing": {"training_s": 100.0, "total_s": 104.0},
            "machine": {"cpu": machine}, "device": "cpu (2 threads)", "torch": "x"}


@pytest.fixture
def fake_runs(tmp_path, monkeypatch):
    """benchmark.run replaced by a fake that records its calls and returns made-up metrics."""
    monkeypatch.setattr(benchmark, "BENCHMARK_RUNS_DIR", tmp_path / "runs")
    calls = []

    def fake_run(architecture, config, plot=None):
        calls.append((config.seed, dataclasses.asdict(config)))
        return fake_metrics(config, errors=30 + config.seed + 10 * (config.erase > 0), val_accuracy=0.995)

    monkeypatch.setattr(benchmark, "run", fake_run)
    return calls


def test_every_variant_changes_real_settings_and_the_defaults_none():
    defaults = MODELS["improved_cnn"].defaults
    for variant, (what, changes) in benchmark.VARIANTS.items():
        config = benchmark.variant_config("improved_cnn", variant, seed=3)
        assert config.seed == 3 and what
        assert (variant == benchmark.DEFAULTS) == (not changes)
        assert all(getattr(config, name) == value != getattr(defaults, name) for name, value in changes.items())


def test_ablation_records_each_run_and_does_not_repeat_it(fake_runs, tmp_path):
    records, out = tmp_path / "runs.json", tmp_path / "ablation.md"
    argv = ["--ablate", "defaults", "erasing", "--seeds", "0", "1", "--records", str(records), "--out", str(out)]
    assert benchmark.main(argv) == 0
    assert len(fake_runs) == 4
    saved = json.loads(records.read_text())["runs"]
    assert [(r["variant"], r["seed"], r["test_errors"]) for r in saved] == [
        ("defaults", 0, 30), ("defaults", 1, 31), ("erasing", 0, 40), ("erasing", 1, 41)]
    assert saved[0]["validation_error"] == pytest.approx(0.5)  # the kept epoch's, not the first
    table = out.read_text()
    assert "| the default recipe (`defaults`) | 0, 1 | 0.500% ± 0.000 |  | 0.305% ± 0.007 | 30, 31 |" in table
    assert "(`erasing`) | 0, 1 | 0.500% ± 0.000 | +0.000 | 0.405% ± 0.007 | 40, 41 |" in table
    assert "Not run yet: no-affine" in table
    assert out.with_suffix(".png").stat().st_size > 10_000

    assert benchmark.main(argv) == 0  # everything recorded: nothing trained again
    assert len(fake_runs) == 4
    assert benchmark.main(argv + ["--rerun"]) == 0
    assert len(fake_runs) == 8


def test_a_record_under_other_settings_is_run_again_and_replaced(fake_runs, tmp_path, monkeypatch):
    records = tmp_path / "runs.json"
    argv = ["--ablate", "defaults", "--seeds", "0", "--records", str(records), "--out", str(tmp_path / "a.md")]
    assert benchmark.main(argv) == 0
    changed = dataclasses.replace(MODELS["improved_cnn"].defaults, epochs=99)
    monkeypatch.setitem(benchmark.MODELS, "improved_cnn", dataclasses.replace(MODELS["improved_cnn"], defaults=changed))
    assert benchmark.main(argv) == 0
    assert len(fake_runs) == 2 and fake_runs[1][1]["epochs"] == 99
    saved = json.loads(records.read_text())["runs"]
    assert len(saved) == 1 and saved[0]["config"]["epochs"] == 99


def test_plain_benchmark_summarises_the_seeds(fake_runs, tmp_path, capsys):
    assert benchmark.main(["--seeds", "0", "1", "2", "--records", str(tmp_path / "r.json"),
                           "--out", str(tmp_path / "b.md")]) == 0
    assert "mean 99.690%, standard deviation 0.010" in (tmp_path / "b.md").read_text()
    assert "machine: Test CPU" in capsys.readouterr().out


def test_an_unknown_variant_is_named(capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--ablate", "no-such-thing"])
    assert "unknown variant(s) no-such-thing" in capsys.readouterr().err


def test_tta_views_are_the_image_then_shifted_and_turned_copies():
    images = np.zeros((2, 28, 28), np.float32)
    images[:, 10:18, 13:15] = 1.0  # an upright bar
    views = tta_views(images)
    assert views.shape == (1 + len(TTA_SHIFTS) + len(TTA_ROTATIONS), 2, 28, 28)
    np.testing.assert_array_equal(views[0], images)
    right, down = TTA_SHIFTS[0]
    np.testing.assert_array_equal(views[1][:, down:, right:], images[:, :28 - down, :28 - right])
    turned = views[1 + len(TTA_SHIFTS)]
    assert abs(turned.sum() - images.sum()) < 0.05 * images.sum()  # the ink is moved, not lost
    assert not np.array_equal(turned, images)


def test_tta_averages_the_views_and_still_reads_the_test_digits(mnist):
    model = load_model(REPO_DIR / "output_improved" / "model.onnx")
    images = mnist.test_images[:200].numpy().astype(np.float32) / 255
    plain = model.probabilities(images)
    averaged = dataclasses.replace(model, tta=True).probabilities(images)
    views = tta_views(images)
    expected = np.mean([model.probabilities(view) for view in views], axis=0)
    np.testing.assert_allclose(averaged, expected, atol=1e-5)
    np.testing.assert_allclose(averaged.sum(1), 1, atol=1e-5)
    labels = mnist.test_labels[:200].numpy()
    assert (averaged.argmax(1) == labels).mean() >= 0.99 and not np.allclose(averaged, plain)


def test_predict_custom_tta_flag(tmp_path, capsys):
    from PIL import Image

    canvas = np.zeros((56, 56), np.uint8)
    canvas[12:44, 26:31] = 255  # a thick upright stroke: a 1
    Image.fromarray(255 - canvas).save(tmp_path / "one.png")
    assert predict_custom.main([str(tmp_path / "one.png"), "--tta", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)[0]
    assert answer["prediction"] == "1" and len(answer["digits"][0]["probabilities"]) == 10


def test_ensemble_report(mnist, tmp_path):
    out = tmp_path / "ensemble.md"
    runs = [str(REPO_DIR / "output_improved"), str(REPO_DIR / "output_basic")]
    assert ensemble.main([*runs, "--count", "300", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| output_improved | 0 |" in text and "| ensemble of 2 |" in text and "| with TTA |" in text
    assert "300 test images" in text


def test_ensemble_without_runs_is_a_clear_error(tmp_path, capsys):
    assert ensemble.main([str(tmp_path)]) == 2
    assert "no run folders with a model.onnx" in capsys.readouterr().err


def test_throughput_report(mnist, tmp_path):
    out = tmp_path / "throughput.md"
    assert throughput.main(["--model", "basic", "--steps", "1", "--device", "cpu", "--out", str(out)]) == 0
    text = out.read_text()
    flops = float(text.split("| FLOPs per training digit")[1].split("|")[1].split()[0])
    assert 12 < flops < 20  # basic CNN: 5.8 MFLOPs forward, about three times that with backward
    assert "| step time |" in text and "| operation | share | calls per step |" in text
