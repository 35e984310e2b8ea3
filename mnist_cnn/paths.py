"""Every default location, anchored to the repo so that a script run from any working directory
reads and writes the same places. Paths given on the command line are taken as given."""

from __future__ import annotations

from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
SHARED_MNIST_DIR = REPO_DIR.parent / "shared" / "mnist"  # read-only copy beside the repo, when present
SHARED_DIGITS_DIR = REPO_DIR.parent / "shared" / "digits"  # USPS and Semeion, for measuring other handwriting
LOCAL_MNIST_DIR = REPO_DIR / "data" / "mnist"             # downloaded here otherwise (not committed)
RESULTS_DIR = REPO_DIR / "results"                        # results.md, benchmark.md, comparison.png
BENCHMARK_RUNS_DIR = REPO_DIR / "benchmark_runs"          # the benchmark's per-seed outputs (not committed)

# What a training run writes into its output folder.
WEIGHTS_FILE = "model.safetensors"
ONNX_FILE = "model.onnx"
METRICS_FILE = "metrics.json"
CHECKPOINT_FILE = "checkpoint.pt"


def output_dir(architecture: str) -> Path:
    """The default output folder of a model: output_basic/ for basic_cnn, output_improved/ for improved_cnn."""
    return REPO_DIR / ("output_" + architecture.removesuffix("_cnn"))
