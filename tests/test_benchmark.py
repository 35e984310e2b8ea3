"""tools/benchmark.py: seeds, the ablation's variants, and the committed records that keep a run from
being repeated (training itself replaced by a fake: full-length runs are the tool's job, not the suite's)."""

import dataclasses
import json
import sys

import pytest

from mnist_cnn.models import MODELS
from tools import benchmark


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
        assert all(getattr(config, name) == value for name, value in changes.items())
        if benchmark.changes_nothing("improved_cnn", variant):
            # Kept for the recipes of the time it measured: there it changes a setting.
            assert variant == "no-dropout" and not benchmark.changes_nothing("improved_cnn", variant, base="dropout")
        else:
            assert all(value != getattr(defaults, name) for name, value in changes.items())


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


def test_a_run_is_known_by_its_settings_and_each_recipe_has_its_own_table(fake_runs, tmp_path):
    records, out = tmp_path / "runs.json", tmp_path / "ablation.md"
    common = ["--seeds", "0", "--records", str(records), "--out", str(out)]
    assert benchmark.main(["--ablate", "defaults", "dropout", "--base", "onecycle", *common]) == 0
    assert [run[1]["schedule"] for run in fake_runs] == ["onecycle", "onecycle"]
    assert fake_runs[1][1]["dropout"] == 0.1 and fake_runs[1][1]["output_dir"].endswith("improved_onecycle_dropout_seed0")
    # The one-cycle recipe's own run is the current recipe's `onecycle` variant: not trained again.
    assert benchmark.main(["--ablate", "defaults", "onecycle", *common]) == 0
    assert len(fake_runs) == 3 and fake_runs[2][1]["schedule"] == MODELS["improved_cnn"].defaults.schedule
    current, earlier = out.read_text().split("## improved_cnn: ablation")[1:]
    assert "(`onecycle`) | 0 |" in current and "(`dropout`)" not in current.split("Not run yet")[0]
    assert earlier.startswith(" of another recipe, the defaults with `onecycle`") and "(`dropout`) | 0 |" in earlier
    assert "(`onecycle`)" not in earlier  # the base's own change is not a variant of it
    assert out.with_name("ablation_onecycle.png").is_file()
    assert len(json.loads(records.read_text())["runs"]) == 3


def test_a_base_recipe_can_be_several_variants_joined():
    config = benchmark.variant_config("improved_cnn", "no-dropout", seed=1, base="strokes-only+onecycle")
    assert (config.schedule, config.outlier_letters, config.outlier_polygons, config.dropout) == ("onecycle", False, False, 0)
    assert config.output_dir.endswith("improved_strokes-only+onecycle_no-dropout_seed1")
    with pytest.raises(SystemExit):
        benchmark.main(["--ablate", "defaults", "--base", "strokes-only+nothing"])


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


def test_a_record_names_the_cpus_instruction_set_when_the_run_recorded_it():
    config = benchmark.variant_config("improved_cnn", "defaults", seed=0)
    metrics = fake_metrics(config, errors=30, val_accuracy=0.995)
    metrics["machine"]["cpu_capability"] = "AVX2"
    assert benchmark.record_of(metrics, "defaults")["machine"] == "Test CPU (AVX2)"
    metrics["machine"] = {"gpu": "Test GPU", "cpu": "Test CPU", "cpu_capability": "AVX512"}
    assert benchmark.record_of(metrics, "defaults")["machine"] == "Test GPU"


# A stand-in for one training process: it notes when it ran, sleeps, and leaves a run's metrics.json in its folder.
FAKE_CHILD = """import json, os, sys, time
folder, metrics, times, exit_status = sys.argv[1:]
start = time.time(); time.sleep(0.5)
os.makedirs(folder, exist_ok=True)
open(os.path.join(folder, "metrics.json"), "w").write(metrics)
open(times, "a").write(f"{start} {time.time()} {os.environ['OMP_NUM_THREADS']}\\n")
sys.exit(int(exit_status))"""


def test_runs_train_side_by_side_in_their_own_processes_then_are_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(benchmark, "BENCHMARK_RUNS_DIR", tmp_path / "runs")
    monkeypatch.setattr(benchmark.os, "cpu_count", lambda: 4)
    times = tmp_path / "times.txt"
    children = []

    def fake_child(architecture, variant, base, seed, device, scratch):
        children.append((variant, seed))
        config = benchmark.variant_config(architecture, variant, seed, device, base)
        metrics = fake_metrics(config, errors=30 + seed, val_accuracy=0.995)
        return [sys.executable, "-c", FAKE_CHILD, config.output_dir, json.dumps(metrics), str(times),
                "3" if seed == 9 else "0"]

    monkeypatch.setattr(benchmark, "child_command", fake_child)
    records, out = tmp_path / "runs.json", tmp_path / "ablation.md"
    argv = ["--ablate", "defaults", "--records", str(records), "--out", str(out), "--jobs", "2"]
    assert benchmark.main([*argv, "--seeds", "0", "1", "2"]) == 0
    assert sorted(children) == [("defaults", 0), ("defaults", 1), ("defaults", 2)]
    saved = json.loads(records.read_text())["runs"]
    assert [(r["seed"], r["test_errors"]) for r in saved] == [(0, 30), (1, 31), (2, 32)]
    spans = [tuple(map(float, line.split()[:2])) for line in times.read_text().splitlines()]
    most_at_once = max(sum(start <= t < end for start, end in spans) for t, _ in spans)
    assert most_at_once == 2, spans
    assert {line.split()[2] for line in times.read_text().splitlines()} == {"2"}  # 4 cores / 2 jobs
    assert (tmp_path / "runs" / "improved_seed1.log").is_file()

    assert benchmark.main([*argv, "--seeds", "0", "1", "2"]) == 0  # all recorded: no process started
    assert len(children) == 3
    with pytest.raises(SystemExit, match="improved_seed9.log"):
        benchmark.main([*argv, "--seeds", "8", "9"])
    assert len(json.loads(records.read_text())["runs"]) == 3


def test_an_unknown_variant_is_named(capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--ablate", "no-such-thing"])
    assert "unknown variant(s) no-such-thing" in capsys.readouterr().err
