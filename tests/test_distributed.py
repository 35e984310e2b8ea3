"""Two CPU processes under torchrun (gloo): they finish, agree on the weights, write one set of outputs."""

import json
import subprocess
import sys

from conftest import REPO_DIR


def test_two_process_torchrun_on_cpu(mnist, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "improved_cnn.py", "--limit", "2000", "--epochs", "2", "--batch-size", "128", "--device", "cpu",
         "--output-dir", str(tmp_path)],
        cwd=REPO_DIR, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "world size 2" in result.stdout
    assert "weights identical on all 2 ranks: True" in result.stdout
    assert result.stdout.count("test accuracy") == 1, "only rank 0 evaluates and writes"
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["epochs_run"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint.pt", "metrics.json", "model.onnx", "model.safetensors", "test_results", "training_curves.png"]
