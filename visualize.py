"""Every plot the project makes, each a function from plain data to a PNG file; and a command that
redraws a trained run's plots from its output folder.

    python visualize.py                                 # both models' plots, from output_basic/ and output_improved/
    python visualize.py output_improved --data-dir DIR  # one run; the test images come from DIR

The training scripts call `plot_run` at the end of a run, `predict_custom.py --save-plot` calls
`plot_user_images`, and `tools/compare_models.py` calls `plot_comparison`. Files are written through
`atomic_path`, so an interrupted run never leaves half a PNG.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display needed (CI, servers)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from mnist_cnn.paths import METRICS_FILE, WEIGHTS_FILE, output_dir  # noqa: E402
from mnist_cnn.storage import atomic_path  # noqa: E402

CORRECT_COLOR, WRONG_COLOR = "#1a7f37", "#cf222e"


def save_figure(figure: plt.Figure, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def plot_training_curves(history: Sequence[dict], path: str | Path, title: str,
                         kept_epoch: int | None = None, stopped_early: bool = False) -> Path:
    """Loss, error rate and learning rate per epoch; the epoch whose weights were kept marked."""
    epochs = [entry["epoch"] for entry in history]
    figure, (loss_ax, acc_ax, lr_ax) = plt.subplots(1, 3, figsize=(15, 4.2))
    loss_ax.plot(epochs, [e["train_loss"] for e in history], "o-", label="train")
    loss_ax.plot(epochs, [e["val_loss"] for e in history], "o-", label="validation")
    loss_ax.set(title="Loss (cross-entropy)", xlabel="epoch", ylabel="loss", yscale="log")
    # Error rate on a log scale: the difference between 99.2% and 99.6% accuracy is a factor of 2.
    acc_ax.plot(epochs, [100 * (1 - e["train_accuracy"]) for e in history], "o-", label="train")
    acc_ax.plot(epochs, [100 * (1 - e["val_accuracy"]) for e in history], "o-", label="validation")
    acc_ax.set(title="Error rate (100% - accuracy)", xlabel="epoch", ylabel="error (%)", yscale="log")
    lr_ax.plot(epochs, [e["lr"] for e in history], "o-", color="tab:purple")
    lr_ax.set(title="Learning rate (end of epoch)", xlabel="epoch", ylabel="learning rate", yscale="log")
    if kept_epoch:
        label = f"kept: epoch {kept_epoch}" + (" (early stop)" if stopped_early else "")
        for ax in (loss_ax, acc_ax, lr_ax):
            ax.axvline(kept_epoch, color="gray", linestyle="--", label=label)
    for ax in (loss_ax, acc_ax, lr_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], path: str | Path, title: str) -> Path:
    """Counts of true (rows) vs predicted (columns) digits, coloured by errors only: the diagonal
    (correct) cells stay white so that the mistakes stand out."""
    matrix = np.asarray(matrix)
    errors = np.where(np.eye(10, dtype=bool), 0, matrix)
    figure, ax = plt.subplots(figsize=(7.5, 6.5))
    sns.heatmap(errors, annot=matrix, fmt="d", cmap="Reds", cbar_kws={"label": "misclassified images"},
                linewidths=0.5, linecolor="lightgray", square=True, ax=ax)
    ax.set(xlabel="predicted digit", ylabel="true digit")
    accuracy = np.trace(matrix) / matrix.sum()
    ax.set_title(f"{title}\n{matrix.sum() - np.trace(matrix)} errors in {matrix.sum()} test images "
                 f"({accuracy:.2%} accuracy)")
    return save_figure(figure, path)


def _image_grid(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray, confidences: np.ndarray,
                path: str | Path, title: str, columns: int = 8) -> Path:
    count = len(images)
    rows = max(1, -(-count // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, label, prediction, confidence in zip(axes.flat, images, labels, predictions, confidences):
        ax.imshow(image.squeeze(), cmap="gray", vmin=0, vmax=1)
        color = CORRECT_COLOR if label == prediction else WRONG_COLOR
        ax.set_title(f"true {label} / pred {prediction}\n{confidence:.0%} sure", color=color, fontsize=9)
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)


def plot_predictions(images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, path: str | Path,
                     title: str, count: int = 32) -> Path:
    """The first `count` test images with true and predicted digit (green right, red wrong)."""
    predictions = probabilities.argmax(1)
    return _image_grid(images[:count], labels[:count], predictions[:count],
                       probabilities[:count].max(1), path, title)


def plot_misclassified(images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, path: str | Path,
                       title: str, count: int = 40) -> Path:
    """The misclassified test images, most confident mistakes first."""
    predictions = probabilities.argmax(1)
    wrong = np.flatnonzero(predictions != labels)
    wrong = wrong[np.argsort(-probabilities[wrong].max(1), kind="stable")][:count]
    return _image_grid(images[wrong], labels[wrong], predictions[wrong], probabilities[wrong].max(1), path,
                       f"{title}: {len(wrong)} of {int((predictions != labels).sum())} errors, "
                       "most confident first")


def plot_comparison(results: Sequence[dict], path: str | Path) -> Path:
    """Side-by-side bars of test error count, parameters and training time, one colour per model."""
    names = [r["architecture"] for r in results]
    panels = [
        ("test errors (of 10,000)", [r["test"]["errors"] for r in results], "{:.0f}"),
        ("test accuracy (%)", [100 * r["test"]["accuracy"] for r in results], "{:.2f}"),
        ("parameters", [r["parameters"] for r in results], "{:,.0f}"),
        ("training time (s)", [r["timing"]["training_s"] for r in results], "{:.0f}"),
    ]
    figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4))
    colors = sns.color_palette("deep", len(names))
    for ax, (label, values, fmt) in zip(axes, panels):
        bars = ax.bar(names, values, color=colors)
        ax.bar_label(bars, labels=[fmt.format(v) for v in values])
        ax.set(title=label, ylabel=label)
        ax.margins(y=0.15)
        if label.startswith("test accuracy"):
            ax.set_ylim(min(values) - 0.5, 100)
    figure.suptitle("basic vs improved CNN on the MNIST test set")
    figure.tight_layout()
    return save_figure(figure, path)


def plot_ablation(rows: Sequence[dict], path: str | Path, architecture: str) -> Path:
    """Validation and test error of each variant of the recipe (tools/benchmark.py --ablate): a dot
    per seed, a bar at the mean; the dashed lines are the defaults' means."""
    figure, axes = plt.subplots(1, 2, figsize=(12, 1.2 + 0.45 * len(rows)), sharey=True)
    names = [row["variant"] for row in rows]
    for ax, key, title in zip(axes, ("validation_error", "test_error"), ("validation error (%)", "test error (%)")):
        for y, row in enumerate(rows):
            values = [run[key] for run in row["runs"]]
            ax.scatter(values, [y] * len(values), color=sns.color_palette("deep")[0], alpha=0.7, zorder=3)
            ax.plot([np.mean(values)] * 2, [y - 0.3, y + 0.3], color="black", linewidth=2)
        if names and names[0] == "defaults":
            ax.axvline(np.mean([run[key] for run in rows[0]["runs"]]), color="gray", linestyle="--", linewidth=1)
        ax.set(title=title, xlabel=title, yticks=range(len(names)), yticklabels=names)
        ax.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()  # the table's order, top down (the axes share it)
    figure.suptitle(f"{architecture}: each technique taken out or put in (a dot per seed, a bar at the mean)")
    figure.tight_layout()
    return save_figure(figure, path)


def plot_run(metrics: dict, test, output_dir: Path) -> None:
    """A finished run's figures: training curves, and in test_results/ the confusion matrix (from
    metrics.json), the first test predictions and the misclassified images. `test` holds the test
    images, labels and the model's probabilities (experiment.TestResult)."""
    architecture = metrics["architecture"]
    results_dir = Path(output_dir) / "test_results"
    plot_training_curves(metrics["history"], Path(output_dir) / "training_curves.png", f"{architecture}: training",
                         metrics["kept_epoch"], metrics["stopped_early"])
    plot_confusion_matrix(metrics["confusion_matrix"], results_dir / "confusion_matrix.png",
                          f"{architecture}: confusion matrix")
    plot_predictions(test.images, test.labels, test.probabilities, results_dir / "predictions.png",
                     f"{architecture}: first test images")
    plot_misclassified(test.images, test.labels, test.probabilities, results_dir / "misclassified_examples.png",
                       f"{architecture}: misclassified test images")


def plot_user_images(results: Sequence, seen: dict, path: str | Path) -> Path | None:
    """Per classified image: the picture with the ink kept as digits in green, the ink dropped
    (sheet edges, desk, ruling, specks) in red, each digit's box and, where the digits were small
    in it, the crop they were read again from (dashed), the 28x28 images the model saw,
    and the probability of every digit (one bar per digit read); for a picture where no digit was
    found, the ink that was dropped and the reason. `results` are inference.Prediction records;
    `seen` maps a file to what inference.classify recorded of it."""
    shown = [r for r in results if Path(r.file) in seen]
    if not shown:
        return None
    figure, axes = plt.subplots(len(shown), 3, figsize=(10, 2.6 * len(shown)), squeeze=False)
    for (original_ax, seen_ax, bars_ax), result in zip(axes, shown):
        record = seen[Path(result.file)]
        picture = np.repeat(record["gray"][..., None], 3, axis=2) * 0.6 + 0.4  # faded, so the marks show
        picture[record["ink"] & ~record["kept"]] = (0.85, 0.15, 0.15)
        picture[record["kept"]] = (0.1, 0.65, 0.2)
        original_ax.imshow(picture)
        original_ax.set_title(f"{Path(result.file).name}: kept (green), dropped (red)", fontsize=9)
        for ax in (original_ax, seen_ax):
            ax.axis("off")
        if result.error:
            seen_ax.set_title("no digit read", fontsize=9)
            bars_ax.axis("off")
            bars_ax.text(0, 0.5, textwrap.fill(result.error, 40), fontsize=9, va="center")
            continue
        for left, top, right, bottom in record["boxes"]:  # each digit's, in the picture's pixels as shown
            original_ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False,
                                                edgecolor="tab:orange", linewidth=1))
        if "closer" in record:  # the digits were small here: read again from this crop at full resolution
            left, top, right, bottom = record["closer"]
            original_ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False,
                                                edgecolor="tab:blue", linewidth=1, linestyle="--"))
            original_ax.set_title(f"{Path(result.file).name}: kept (green), dropped (red), read closer (blue)",
                                  fontsize=9)
        # The 28x28 images side by side, a thin grey bar between two.
        gap = np.full((28, 1), 0.5, np.float32)
        strip = np.hstack([part for image in record["mnist"] for part in (image, gap)][:-1])
        seen_ax.imshow(strip, cmap="gray", vmin=0, vmax=1)
        seen_ax.set_title("as the model saw it (28x28 each)", fontsize=9)
        count = len(result.digits)
        for k, digit in enumerate(result.digits):
            colors = ["tab:blue"] * 10
            colors[int(np.argmax(digit.probabilities))] = "tab:gray" if digit.unsure else "tab:orange"
            bars_ax.bar(np.arange(10) + (k - (count - 1) / 2) * 0.8 / count, digit.probabilities,
                        width=0.8 / count, color=colors)
        answer = f"unsure: {result.reading} (at most {result.confidence:.1%})" if result.unsure else \
            f"prediction {result.prediction} ({result.confidence:.1%})"
        bars_ax.set(xticks=range(10), ylim=(0, 1), xlabel="digit" + (", one bar per digit read" if count > 1 else ""),
                    ylabel="probability", title=answer)
    figure.tight_layout()
    return save_figure(figure, path)


def redraw_run(run_dir: Path, data_dir: str | None = None) -> None:
    """Redraw a run's plots from its metrics.json and weights, re-scoring the test set (needs torch)."""
    import torch

    from mnist_cnn.data import load_mnist, to_float
    from mnist_cnn.experiment import TestResult
    from mnist_cnn.models import load_trained_model
    from mnist_cnn.training import predict_logits

    metrics = json.loads((run_dir / METRICS_FILE).read_text())
    model, _ = load_trained_model(run_dir / WEIGHTS_FILE)
    data = load_mnist(data_dir, download=data_dir is None)
    images = to_float(data.test_images)
    probabilities = torch.softmax(predict_logits(model, images, 1000), 1).numpy()
    plot_run(metrics, TestResult(images.numpy(), data.test_labels.numpy(), probabilities), run_dir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", type=Path,
                        default=[output_dir("basic_cnn"), output_dir("improved_cnn")],
                        help="output folders of trained runs (holding metrics.json and model.safetensors)")
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST files (default as in training)")
    args = parser.parse_args(argv)
    from mnist_cnn.data import DataError  # imports torch: not at the top, predict_custom.py imports this module

    for run_dir in args.runs:
        try:
            redraw_run(run_dir, args.data_dir)
        except (OSError, ValueError, KeyError, DataError) as error:  # ValueError: CheckpointError
            print(f"error: {run_dir}: cannot redraw its plots ({error})", file=sys.stderr)
            return 2
        print(f"redrew the plots in {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
