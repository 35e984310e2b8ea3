"""Interrupted runs, resume, and same-seed determinism, through the real command line."""

import json
import signal
import subprocess
import sys
import time

import pytest
import numpy as np

from conftest import REPO_DIR
from mnist_cnn.weights import load_weights

FLAGS = ["--limit", "2000", "--epochs", "3", "--batch-size", "100", "--val-size", "2000", "--device", "cpu",
         "--augment", "--erase", "0.3", "--grad-clip", "1.0"]


def train(output_dir, *extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "basic_cnn.py", *FLAGS, "--output-dir", str(output_dir), *extra],
                          cwd=REPO_DIR, capture_output=True, text=True, timeout=300)


def comparable(output_dir) -> tuple[dict, dict]:
    """metrics.json without its wall-clock timings, and the weights."""
    metrics = json.loads((output_dir / "metrics.json").read_text())
    del metrics["timing"]
    for key in ("output_dir", "resume"):
        del metrics["config"][key]
    return metrics, load_weights(output_dir / "model.safetensors")[0]


@pytest.fixture(scope="module")
def uninterrupted(mnist, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("uninterrupted")
    assert train(output_dir).returncode == 0
    return output_dir


def test_same_seed_gives_identical_metrics_and_weights(uninterrupted, tmp_path):
    assert train(tmp_path).returncode == 0
    (first, first_weights), (second, second_weights) = comparable(uninterrupted), comparable(tmp_path)
    assert first == second
    assert all(np.array_equal(first_weights[k], second_weights[k]) for k in first_weights)


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_resumes_to_the_same_result(uninterrupted, tmp_path, sent):
    process = subprocess.Popen([sys.executable, "basic_cnn.py", *FLAGS, "--output-dir", str(tmp_path)],
                               cwd=REPO_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoint = tmp_path / "checkpoint.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + sent, stderr
    assert f"{sent.name} received after" in stderr and "--resume" in stderr
    assert not (tmp_path / "metrics.json").exists(), "an interrupted run must not look finished"

    resumed = train(tmp_path, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stdout
    (expected, expected_weights), (actual, actual_weights) = comparable(uninterrupted), comparable(tmp_path)
    assert actual == expected
    assert all(np.array_equal(expected_weights[k], actual_weights[k]) for k in expected_weights)


def test_resume_without_a_checkpoint_or_with_other_settings(uninterrupted, tmp_path):
    missing = train(tmp_path, "--resume")
    assert missing.returncode == 2 and "no checkpoint to resume from" in missing.stderr
    changed = subprocess.run([sys.executable, "basic_cnn.py", *FLAGS, "--lr", "0.01", "--resume",
                              "--output-dir", str(uninterrupted)], cwd=REPO_DIR, capture_output=True, text=True)
    assert changed.returncode == 2 and "lr: checkpoint 0.003, now 0.01" in changed.stderr


def test_resume_refuses_another_models_checkpoint(uninterrupted):
    other = subprocess.run([sys.executable, "improved_cnn.py", *FLAGS, "--resume", "--output-dir",
                            str(uninterrupted)], cwd=REPO_DIR, capture_output=True, text=True)
    assert other.returncode == 2 and "a checkpoint of 'basic_cnn', not 'improved_cnn'" in other.stderr
