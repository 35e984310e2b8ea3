"""Every plot the project makes, each a function from plain data to a PNG file.

Files are written through `storage.atomic_path`, so an interrupted run never leaves half a PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display needed (CI, servers)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402

from storage import atomic_path  # noqa: E402

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


def plot_confusion_matrix(labels: np.ndarray, predictions: np.ndarray, path: str | Path, title: str) -> Path:
    """Counts of true (rows) vs predicted (columns) digits, coloured by errors only: the diagonal
    (correct) cells stay white so that the mistakes stand out."""
    matrix = confusion_matrix(labels, predictions, labels=range(10))
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
