"""The whole training configuration as one dataclass, and the command line derived from it.

Each model's recipe is `dataclasses.replace(TrainConfig(), ...)` in the registry (`models.py`);
every field is a flag, so `--help` always lists exactly what a run can change, and the run prints
the config it used.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .runtime import DEVICES

SCHEDULES = ("none", "onecycle", "cosine", "plateau")
OPTIMIZERS = ("adam", "adamw")


def _option(default, help: str, choices: Sequence[str] | None = None):
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class TrainConfig:
    # What is trained, and for how long.
    epochs: int = _option(5, "maximum number of passes over the training images")
    batch_size: int = _option(128, "images per optimisation step (across all processes)")
    lr: float = _option(3e-3, "peak learning rate")
    optimizer: str = _option("adam", "optimizer", OPTIMIZERS)
    weight_decay: float = _option(0.0, "decoupled weight decay (AdamW) or L2 penalty (Adam)")
    label_smoothing: float = _option(0.0, "label smoothing of the cross-entropy targets, in [0, 1)")
    schedule: str = _option("onecycle", "learning-rate schedule: per step (onecycle, cosine), or "
                            "per epoch on the validation loss (plateau)", SCHEDULES)
    plateau_patience: int = _option(1, "plateau schedule: epochs without improvement before the lr drops")
    plateau_factor: float = _option(0.3, "plateau schedule: factor the lr is multiplied by")
    # Architecture switches (the ablation's; the weights file records them).
    batch_norm: bool = _option(True, "improved model: batch norm after each conv and the hidden layer "
                               "(off: biases in their place)")
    dropout: float = _option(0.1, "dropout before the last layer, a probability in [0, 1)")
    # Regularisation by augmentation, on the GPU/CPU as batch tensors.
    augment: bool = _option(False, "random per-image affine transform and erasing of training images")
    rotation: float = _option(10.0, "augmentation: max rotation, degrees")
    translate: float = _option(0.1, "augmentation: max shift, fraction of the image size")
    scale: float = _option(0.1, "augmentation: max zoom in or out, fraction")
    shear: float = _option(10.0, "augmentation: max shear, degrees")
    aspect: float = _option(0.0, "augmentation: max stretch of one axis against the other, fraction")
    fill: float = _option(0.0, "augmentation: probability of stretching a digit's shorter side towards its "
                          "longer one, as USPS, Semeion and drawing apps that fill a square frame do")
    elastic: float = _option(0.0, "augmentation: elastic distortion, displacement in pixels (std)")
    thickness: float = _option(0.0, "augmentation: probability of thickening or thinning the strokes")
    one_flags: float = _option(0.0, "augmentation: probability of drawing a flag (and sometimes a base) on a 1")
    erase: float = _option(0.0, "augmentation: probability of erasing a random rectangle")
    # What is not a digit.
    outliers: float = _option(0.0, "outlier exposure: weight of a loss asking for a flat output on synthetic "
                              "non-digits (pen tangles, hatching, two digits run together), added to each step "
                              "(--outlier-share) (0: off)")
    outlier_share: float = _option(0.5, "outlier exposure: non-digits added to each step, as a fraction of its "
                                   "digits (each costs the forward and backward pass a digit does)")
    outlier_polygons: bool = _option(False, "outlier exposure: outlines of triangles to hexagons among the "
                                     "synthetic non-digits too")
    outlier_letters: bool = _option(False, "outlier exposure: letters drawn as pen strokes (none a digit is "
                                    "drawn like) among the synthetic non-digits too")
    # Weight averaging.
    ema: float = _option(0.0, "keep an exponential moving average of the weights with this decay per step "
                         "(e.g. 0.999) and validate, test and save it instead of the last weights (0: off)")
    # Guards.
    grad_clip: float = _option(0.0, "clip the global gradient norm to this value (0: off)")
    early_stop: int = _option(0, "stop after this many epochs without a lower validation loss "
                              "or a higher validation accuracy, and keep the most accurate epoch's weights (0: off)")
    val_size: int = _option(5000, "training images held out for validation (from the 60,000)")
    # Run.
    seed: int = _option(0, "seed for every random choice: split, order, init, augmentation, dropout")
    limit: int = _option(0, "train on only this many images, for quick runs (0: all)")
    data_dir: str = _option("", "folder with the four MNIST IDX files (default: ../shared/mnist if "
                            "complete, else ./data/mnist, downloaded when missing)")
    output_dir: str = _option("", "where the weights, metrics and plots go (default: the model's "
                              "output_basic/ or output_improved/ in the repo)")
    device: str = _option("auto", "auto picks CUDA, then Apple MPS, then CPU", DEVICES)
    compile: bool = _option(False, "torch.compile the model (worth it on a GPU)")
    resume: bool = _option(False, "continue from the checkpoint in --output-dir")
    eval_batch_size: int = _option(1000, "images per batch during evaluation")

    def describe(self) -> str:
        return "\n".join(f"  {f.name:<16} {getattr(self, f.name)!r}" for f in dataclasses.fields(self))


def parse_config(defaults: TrainConfig, description: str, argv: Sequence[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for f in dataclasses.fields(TrainConfig):
        default = getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=f.metadata["help"])
        else:
            parser.add_argument(flag, type=type(default), default=default, choices=f.metadata["choices"],
                                help=f.metadata["help"])
    config = TrainConfig(**vars(parser.parse_args(argv)))
    problems = config_problems(config)
    if problems:
        parser.error("; ".join(problems))
    return config


def config_problems(config: TrainConfig) -> list[str]:
    """Every nonsense setting, each as a message naming the flag."""
    problems = []
    for name in ("epochs", "batch_size", "eval_batch_size"):
        if getattr(config, name) < 1:
            problems.append(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(config, name)})")
    if not config.lr > 0:
        problems.append(f"--lr must be positive (got {config.lr})")
    for name in ("weight_decay", "grad_clip", "outliers", "rotation", "translate", "scale", "shear", "aspect", "elastic", "limit",
                 "early_stop", "val_size", "plateau_patience"):
        if getattr(config, name) < 0:
            problems.append(f"--{name.replace('_', '-')} must not be negative (got {getattr(config, name)})")
    for name in ("label_smoothing", "dropout", "ema"):
        if not 0 <= getattr(config, name) < 1:
            problems.append(f"--{name.replace('_', '-')} must be in [0, 1) (got {getattr(config, name)})")
    for name in ("erase", "thickness", "one_flags", "fill"):
        if not 0 <= getattr(config, name) <= 1:
            problems.append(f"--{name.replace('_', '-')} is a probability, in [0, 1] (got {getattr(config, name)})")
    if not 0 < config.outlier_share <= 1:
        problems.append(f"--outlier-share must be in (0, 1] (got {config.outlier_share})")
    if not 0 < config.plateau_factor < 1:
        problems.append(f"--plateau-factor must be in (0, 1) (got {config.plateau_factor})")
    if config.scale >= 1 or config.translate >= 1:
        problems.append("--scale and --translate must be below 1")
    if config.val_size >= 60000:
        problems.append(f"--val-size must leave training images (got {config.val_size} of 60000)")
    if config.data_dir and not Path(config.data_dir).is_dir():
        problems.append(f"--data-dir {config.data_dir}: no such folder")
    problem = _not_writable(Path(config.output_dir)) if config.output_dir else None
    if problem:
        problems.append(f"--output-dir {config.output_dir}: {problem}")
    return problems


def _not_writable(folder: Path) -> str | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        return f"not writable ({error.strerror or error})"
    return None

