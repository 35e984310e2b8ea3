"""What test-time augmentation and an ensemble of seeds buy on MNIST, and what they cost.

    python tools/ensemble.py        # the benchmark's improved runs (benchmark_runs/improved_seed*) -> results/ensemble.md
    python tools/ensemble.py output_improved benchmark_runs/improved_seed1 ...

Each run's `model.onnx` is run with onnxruntime as predict_custom.py runs it (one thread): alone
and with --tta's views (mnist_cnn/inference.py), on its own validation split (the 5,000 training
images it held out: what a choice may look at) and on the test set; then the ensemble (the mean of
the models' calibrated probabilities) on the test set, without and with the views. Its models
held out different validation images, so the ensemble has no validation figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, when run as tools/ensemble.py

from mnist_cnn.data import load_mnist, to_float  # noqa: E402
from mnist_cnn.experiment import recorded_split  # noqa: E402
from mnist_cnn.inference import OnnxModel, load_model, tta_views  # noqa: E402
from mnist_cnn.paths import BENCHMARK_RUNS_DIR, ONNX_FILE, RESULTS_DIR  # noqa: E402
from mnist_cnn.storage import atomic_path  # noqa: E402


def timed_probabilities(model: OnnxModel, images: np.ndarray, tta: bool) -> tuple[np.ndarray, float]:
    """(calibrated probabilities, seconds), with or without the test-time views."""
    model = dataclasses.replace(model, tta=tta)
    started = time.perf_counter()
    probabilities = np.concatenate([model.probabilities(images[i:i + 1000]) for i in range(0, len(images), 1000)])
    return probabilities, time.perf_counter() - started


def wrong(probabilities: np.ndarray, labels: np.ndarray) -> int:
    return int((probabilities.argmax(1) != labels).sum())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", type=Path, help="run folders holding model.onnx and metrics.json "
                        "(default: benchmark_runs/improved_seed*)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--count", type=int, default=0, help="only the first N validation and test images (0: all)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "ensemble.md")
    args = parser.parse_args(argv)
    runs = args.runs or sorted(BENCHMARK_RUNS_DIR.glob("improved_seed*"))
    runs = [run for run in runs if (run / ONNX_FILE).is_file()]
    if not runs:
        print("error: no run folders with a model.onnx (train them with tools/benchmark.py)", file=sys.stderr)
        return 2
    data = load_mnist(args.data_dir)
    train_images = to_float(data.train_images)[:, 0].numpy()
    train_labels = data.train_labels.numpy()
    count = args.count or None
    test_images = to_float(data.test_images[:count])[:, 0].numpy()
    test_labels = data.test_labels[:count].numpy()
    print(f"{len(tta_views(test_images[:1]))} views per image with --tta")

    lines = ["| run | seed | validation error | with TTA | test error | with TTA | test errors (with TTA) |",
             "|---|---|---|---|---|---|---|"]
    summed = {False: np.zeros((len(test_labels), 10)), True: np.zeros((len(test_labels), 10))}
    seconds = {False: 0.0, True: 0.0}
    for run in runs:
        model = load_model(run / ONNX_FILE)
        config, val_index = recorded_split(run, len(train_labels))
        val_index = val_index[:count].numpy()
        val_images, val_labels = train_images[val_index], train_labels[val_index]
        figures = {}
        for tta in (False, True):
            val_probabilities, _ = timed_probabilities(model, val_images, tta)
            test_probabilities, spent = timed_probabilities(model, test_images, tta)
            summed[tta] += test_probabilities
            seconds[tta] += spent
            test_wrong = wrong(test_probabilities, test_labels)
            figures[tta] = (100 * wrong(val_probabilities, val_labels) / len(val_labels),
                            100 * test_wrong / len(test_labels), test_wrong)
        line = (f"| {run.name} | {config['seed']} | {figures[False][0]:.2f}% | {figures[True][0]:.2f}% | "
                f"{figures[False][1]:.2f}% | {figures[True][1]:.2f}% | {figures[False][2]} ({figures[True][2]}) |")
        print(line, flush=True)
        lines.append(line)
    lines += ["", f"| ensemble of {len(runs)} | | test error | test errors | ms per image, all models (one thread) |",
              "|---|---|---|---|---|"]
    for tta in (False, True):
        ensemble_wrong = wrong(summed[tta], test_labels)
        lines.append(f"| {'with TTA' if tta else 'one view'} | | {100 * ensemble_wrong / len(test_labels):.2f}% | "
                     f"{ensemble_wrong} | {1000 * seconds[tta] / len(test_labels):.3f} |")
    text = "\n".join(lines)
    print(text)
    with atomic_path(args.out) as tmp:
        tmp.write_text("# Test-time augmentation and an ensemble of seeds\n\nGenerated by `python tools/ensemble.py"
                       f"{' ' + ' '.join(str(r) for r in args.runs) if args.runs else ''}` (see its docstring): "
                       f"onnxruntime, one thread, batches of 1,000, {len(test_labels):,} test images.\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
