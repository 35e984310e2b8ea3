"""One run end to end, shared by both scripts: data, model, training, test evaluation, outputs.

    output_dir/
      model.safetensors          trained weights + what rebuilds the model (architecture, normalisation)
      metrics.json               test metrics, per-class report, history, config, timing
      checkpoint.pt              full training state after the last epoch (for --resume)
      training_curves.png
      test_results/confusion_matrix.png, predictions.png, misclassified_examples.png
"""

from __future__ import annotations

import dataclasses
import platform
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import classification_report, confusion_matrix

import visualize
from config import TrainConfig, parse_config
from numpy_model import layer_spec
from mnist_data import MEAN, STD, DataError, load_mnist, split_train_val, to_float
from runtime import Runtime, barrier, replicas_identical, seed_everything, start, stop
from storage import CheckpointError, save_weights, write_json
from training import FitResult, Split, TrainingInterrupted, fit, predict_logits


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def main(architecture: str, build_model: Callable[[], nn.Module], defaults: TrainConfig, description: str,
         argv: Sequence[str] | None = None) -> int:
    """Parse flags, run, and turn the expected failures into one clear line and an exit status."""
    config = parse_config(defaults, description, argv)
    try:
        run(architecture, build_model, config)
    except TrainingInterrupted as stop_info:
        print(f"\ninterrupted: {stop_info}.", file=sys.stderr)
        if stop_info.completed_epochs:
            print(f"The checkpoint of epoch {stop_info.completed_epochs} is in {stop_info.checkpoint}; continue "
                  f"with the same command plus --resume:\n  {' '.join([sys.argv[0], *sys.argv[1:]])} --resume",
                  file=sys.stderr)
        else:
            print("No epoch had finished, so there is nothing to resume; run again from the start.",
                  file=sys.stderr)
        return 128 + stop_info.signal_number
    except (DataError, CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def run(architecture: str, build_model: Callable[[], nn.Module], config: TrainConfig) -> dict | None:
    """Train and evaluate one model; on the main process, write all outputs and return the metrics."""
    started = time.perf_counter()
    runtime = start(config.device)
    try:
        return _run(architecture, build_model, config, runtime, started)
    finally:
        stop(runtime)


def _run(architecture: str, build_model, config: TrainConfig, runtime: Runtime, started: float) -> dict | None:
    output_dir = Path(config.output_dir)
    seed_everything(config.seed)
    model = build_model()
    parameters = count_parameters(model)
    if runtime.is_main:
        print(f"{architecture}: {parameters:,} parameters\n{runtime.describe()}\nconfig:\n{config.describe()}",
              flush=True)

    # An explicit --data-dir must already hold the files; only the default folder is downloaded into.
    data = load_mnist(config.data_dir or None, download=not config.data_dir)
    train_index, val_index = split_train_val(len(data.train_labels), config.val_size, config.seed)
    if config.limit:
        train_index = train_index[:config.limit]
    device = runtime.device
    train = Split(to_float(data.train_images[train_index]).to(device), data.train_labels[train_index].to(device))
    val = Split(to_float(data.train_images[val_index]).to(device), data.train_labels[val_index].to(device))
    test = Split(to_float(data.test_images).to(device), data.test_labels.to(device))
    data_seconds = time.perf_counter() - started
    if runtime.is_main:
        print(f"data: {len(train)} train, {len(val)} validation, {len(test)} test images "
              f"({data_seconds:.1f}s to load)", flush=True)

    model.to(device, memory_format=torch.channels_last)
    fit_started = time.perf_counter()
    result = fit(model, architecture, train, val, config, runtime, output_dir / "checkpoint.pt")
    training_seconds = time.perf_counter() - fit_started
    identical = replicas_identical(model, runtime)
    if runtime.distributed and runtime.is_main:
        print(f"weights identical on all {runtime.world_size} ranks: {identical}")
    if not identical:
        raise RuntimeError("DDP replicas diverged: the ranks hold different weights")
    barrier(runtime)
    if not runtime.is_main:
        return None

    logits = predict_logits(model, test.images, config.eval_batch_size)
    metrics = _metrics(architecture, model, config, runtime, result, logits, test)
    metrics["images"] = {"train": len(train), "validation": len(val), "test": len(test)}
    metrics["timing"] = {
        "data_load_s": round(data_seconds, 2),
        "training_s": round(training_seconds, 2),
        "per_epoch_s": [round(s, 2) for s in result.epoch_seconds],
        # All ranks together; validation included (it is ~3% of an epoch's work).
        "train_images_per_s": round(len(train) * len(result.history) / sum(result.epoch_seconds)),
        "total_s": round(time.perf_counter() - started, 2),
    }
    save_weights(output_dir / "model.safetensors", {k: v.cpu().numpy() for k, v in model.state_dict().items()}, {
        "architecture": architecture, "layers": layer_spec(model), "mean": MEAN, "std": STD,
        "parameters": parameters,
        "test_accuracy": metrics["test"]["accuracy"], "config": dataclasses.asdict(config),
    })
    write_json(output_dir / "metrics.json", metrics)
    _plot(architecture, metrics, result, test, logits, output_dir)
    test_info = metrics["test"]
    print(f"test accuracy {test_info['accuracy']:.2%} ({test_info['errors']} errors), test loss "
          f"{test_info['loss']:.4f}; training {training_seconds:.1f}s for {len(result.history)} epochs "
          f"({metrics['timing']['train_images_per_s']:,} images/s); "
          f"outputs in {output_dir}/", flush=True)
    return metrics


def _metrics(architecture: str, model: nn.Module, config: TrainConfig, runtime: Runtime, result: FitResult,
             logits: torch.Tensor, test: Split) -> dict:
    labels = test.labels.cpu().numpy()
    predictions = logits.argmax(1).cpu().numpy()
    report = classification_report(labels, predictions, labels=range(10), output_dict=True, zero_division=0)
    correct = int((predictions == labels).sum())
    return {
        "architecture": architecture,
        "parameters": count_parameters(model),
        "test": {
            "accuracy": correct / len(labels),
            "loss": F.cross_entropy(logits, test.labels).item(),
            "correct": correct,
            "errors": len(labels) - correct,
            "count": len(labels),
        },
        "per_class": {str(d): {k: report[str(d)][k] for k in ("precision", "recall", "f1-score", "support")}
                      for d in range(10)},
        "confusion_matrix": confusion_matrix(labels, predictions, labels=range(10)).tolist(),
        "epochs_run": len(result.history),
        "best_epoch": result.best_epoch,
        "kept_epoch": result.kept_epoch,
        "stopped_early": result.stopped_early,
        "history": result.history,
        "device": runtime.describe(),
        "world_size": runtime.world_size,
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {platform.system()}",
        "config": dataclasses.asdict(config),
    }


def _plot(architecture: str, metrics: dict, result: FitResult, test: Split, logits: torch.Tensor,
          output_dir: Path) -> None:
    images = test.images.cpu().numpy()
    labels = test.labels.cpu().numpy()
    probabilities = torch.softmax(logits, 1).cpu().numpy()
    results_dir = output_dir / "test_results"
    visualize.plot_training_curves(metrics["history"], output_dir / "training_curves.png",
                                   f"{architecture}: training", result.kept_epoch, result.stopped_early)
    visualize.plot_confusion_matrix(labels, probabilities.argmax(1), results_dir / "confusion_matrix.png",
                                    f"{architecture}: confusion matrix")
    visualize.plot_predictions(images, labels, probabilities, results_dir / "predictions.png",
                               f"{architecture}: first test images")
    visualize.plot_misclassified(images, labels, probabilities, results_dir / "misclassified_examples.png",
                                 f"{architecture}: misclassified test images")
