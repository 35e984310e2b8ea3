"""One run end to end, shared by both training scripts: data, model, training, test metrics, outputs.

    output_dir/
      model.safetensors          trained weights + what rebuilds the model (architecture, normalisation)
      model.onnx                 the model for inference (onnxruntime, other runtimes; mnist_cnn/export.py)
      metrics.json               test metrics, per-class report, history, config, machine, timing
      checkpoint.pt              full training state after the last epoch (for --resume)
      training_curves.png, test_results/*.png    drawn by the `plot` function the script passes in
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import classification_report, confusion_matrix

from .config import TrainConfig, parse_config
from .data import MEAN, STD, DataError, load_mnist, split_train_val, to_float
from .calibration import calibrate, expected_calibration_error, softmax
from .export import export_onnx
from .models import MODELS, count_parameters
from .outliers import calibration_bank
from .paths import CHECKPOINT_FILE, METRICS_FILE, ONNX_FILE, WEIGHTS_FILE
from .runtime import Runtime, barrier, machine_info, replicas_identical, seed_everything, start, stop
from .storage import CheckpointError, write_json
from .training import FitResult, Split, TrainingInterrupted, fit, predict_logits
from .weights import save_weights


def recorded_split(run_dir: Path, num_images: int) -> tuple[dict, torch.Tensor]:
    """A finished run's config, from its metrics.json, and the validation indices (of the
    `num_images` training images) it held out, rebuilt from that config's seed and size."""
    config = json.loads((Path(run_dir) / METRICS_FILE).read_text())["config"]
    return config, split_train_val(num_images, config["val_size"], config["seed"])[1]


def calibrate_model(model: torch.nn.Module, val: Split, seed: int, batch_size: int) -> dict[str, float]:
    """Temperature, "no digit" logit and "unsure" threshold (calibration.py), fitted on the
    validation split and on synthetic non-digits drawn for it (the test set is never used for a
    choice); {} without a validation split."""
    if not len(val):
        return {}
    others = to_float(calibration_bank(seed)).to(val.images.device)
    return calibrate(predict_logits(model, val.images, batch_size).cpu().numpy(), val.labels.cpu().numpy(),
                     predict_logits(model, others, batch_size).cpu().numpy())


@dataclasses.dataclass
class TestResult:
    """The test set as NumPy arrays and the trained model's probabilities for it: what the plots need."""

    images: np.ndarray         # (N, 1, 28, 28) floats in [0, 1]
    labels: np.ndarray         # (N,)
    probabilities: np.ndarray  # (N, 10)


# plot(metrics, test, output_dir): draws a finished run's figures (visualize.plot_run).
PlotFunction = Callable[[dict, TestResult, Path], None]


def main(architecture: str, description: str, argv: Sequence[str] | None = None,
         plot: PlotFunction | None = None) -> int:
    """Parse flags, run, and turn the expected failures into one clear line and an exit status."""
    config = parse_config(MODELS[architecture].defaults, description, argv)
    try:
        run(architecture, config, plot)
    except TrainingInterrupted as interruption:
        print(f"\ninterrupted: {interruption}.", file=sys.stderr)
        if interruption.completed_epochs:
            print(f"The checkpoint of epoch {interruption.completed_epochs} is in "
                  f"{Path(config.output_dir) / CHECKPOINT_FILE}; continue with the same command plus --resume:\n"
                  f"  {' '.join(sys.argv)} --resume", file=sys.stderr)
        else:
            print("No epoch had finished, so there is nothing to resume; run again from the start.",
                  file=sys.stderr)
        return 128 + interruption.signal_number
    except (DataError, CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def run(architecture: str, config: TrainConfig, plot: PlotFunction | None = None) -> dict | None:
    """Train and evaluate one model; on the main process, write all outputs and return the metrics."""
    started = time.perf_counter()
    runtime = start(config.device)
    try:
        return _run(architecture, config, runtime, started, plot)
    finally:
        stop(runtime)


def _run(architecture: str, config: TrainConfig, runtime: Runtime, started: float,
         plot: PlotFunction | None) -> dict | None:
    output_dir = Path(config.output_dir)
    seed_everything(config.seed)
    model = MODELS[architecture].build(config)
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
    result = fit(model, architecture, train, val, config, runtime, output_dir / CHECKPOINT_FILE)
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
    metrics = build_metrics(architecture, parameters, config, runtime, result, logits, test.labels)
    calibration = calibrate_model(model, val, config.seed, config.eval_batch_size)
    test_logits, test_labels = logits.float().cpu().numpy(), test.labels.cpu().numpy()
    temperature = calibration.get("temperature", 1.0)
    metrics["calibration"] = calibration | {
        "test_ece_raw": expected_calibration_error(softmax(test_logits), test_labels),
        "test_ece_calibrated": expected_calibration_error(softmax(test_logits, temperature), test_labels),
    }
    metrics["images"] = {"train": len(train), "validation": len(val), "test": len(test)}
    metrics["timing"] = {
        "data_load_s": round(data_seconds, 2),
        "training_s": round(training_seconds, 2),
        "per_epoch_s": [round(s, 2) for s in result.epoch_seconds],
        # All ranks together; validation included (it is ~3% of an epoch's work).
        "train_images_per_s": round(len(train) * len(result.history) / sum(result.epoch_seconds)),
        "total_s": round(time.perf_counter() - started, 2),
    }
    save_weights(output_dir / WEIGHTS_FILE, {k: v.cpu().numpy() for k, v in model.state_dict().items()}, {
        "architecture": architecture, "mean": MEAN, "std": STD, "calibration": calibration,
        "parameters": parameters, "test_accuracy": metrics["test"]["accuracy"],
        "config": dataclasses.asdict(config),
    })
    export_onnx(model, output_dir / ONNX_FILE, architecture, calibration)
    write_json(output_dir / METRICS_FILE, metrics)
    if plot is not None:
        plot(metrics, TestResult(test.images.cpu().numpy(), test.labels.cpu().numpy(),
                                 torch.softmax(logits, 1).cpu().numpy()), output_dir)
    test_info = metrics["test"]
    print(f"test accuracy {test_info['accuracy']:.2%} ({test_info['errors']} errors), test loss "
          f"{test_info['loss']:.4f}; training {training_seconds:.1f}s for {len(result.history)} epochs "
          f"({metrics['timing']['train_images_per_s']:,} images/s); "
          f"outputs in {output_dir}/", flush=True)
    return metrics


def build_metrics(architecture: str, parameters: int, config: TrainConfig, runtime: Runtime,
                  result: FitResult, logits: torch.Tensor, labels: torch.Tensor) -> dict:
    """The metrics.json of a run, everything but its timing and image counts."""
    predictions = logits.argmax(1).cpu().numpy()
    expected = labels.cpu().numpy()
    report = classification_report(expected, predictions, labels=range(10), output_dict=True, zero_division=0)
    correct = int((predictions == expected).sum())
    return {
        "architecture": architecture,
        "parameters": parameters,
        "test": {
            "accuracy": correct / len(expected),
            "loss": F.cross_entropy(logits, labels).item(),
            "correct": correct,
            "errors": len(expected) - correct,
            "count": len(expected),
        },
        "per_class": {str(d): {k: report[str(d)][k] for k in ("precision", "recall", "f1-score", "support")}
                      for d in range(10)},
        "confusion_matrix": confusion_matrix(expected, predictions, labels=range(10)).tolist(),
        "epochs_run": len(result.history),
        "best_epoch": result.best_epoch,
        "kept_epoch": result.kept_epoch,
        "stopped_early": result.stopped_early,
        "history": result.history,
        "device": runtime.device_name,
        "world_size": runtime.world_size,
        "torch": torch.__version__,
        "machine": machine_info(runtime),
        "config": dataclasses.asdict(config),
    }
