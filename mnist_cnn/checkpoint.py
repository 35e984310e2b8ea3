"""The full training state behind `--resume` (model, optimizer, scheduler, early stopping, history),
and the rules a resume must follow: same model, same settings.

Written with `torch.save` through `storage.atomic_path`; read with `torch.load(weights_only=True)`,
which refuses any pickle that would build an object other than tensors and plain containers, so a
tampered checkpoint cannot run code.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from .config import TrainConfig
from .storage import CheckpointError, atomic_path

CHECKPOINT_FORMAT = "mnist-cnn-training-state/1"

# Settings that do not change the result; a resumed run may differ from the original in these.
RUN_ONLY_FIELDS = {"resume", "device", "data_dir", "output_dir", "compile", "eval_batch_size"}


def save_training_state(path: str | os.PathLike, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, **state}, tmp)


def load_training_state(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint to resume from (has a run with this --output-dir "
                              "finished an epoch?)")
    if not zipfile.is_zipfile(path):  # what torch.save writes; random or cut-off bytes are not
        raise CheckpointError(f"{path}: not a readable checkpoint, truncated or damaged (not a torch archive)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        lines = str(error).splitlines()
        culprit = next((line.strip() for line in lines if "GLOBAL" in line), "unsupported object")
        raise CheckpointError(f"{path}: refused to load: the file holds objects other than tensors and "
                              f"plain data, which could run code ({culprit})") from None
    except Exception as error:  # torch raises RuntimeError, EOFError, zipfile errors... for damaged files
        raise CheckpointError(f"{path}: not a readable checkpoint, truncated or damaged "
                              f"({type(error).__name__}: {error})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a training checkpoint of this project "
                              f"(expected format {CHECKPOINT_FORMAT!r})")
    return state


def load_for_resume(path: str | os.PathLike, architecture: str, config: TrainConfig) -> dict[str, Any]:
    """The checkpoint's state, if it was written by a run of the same model with the same settings."""
    state = load_training_state(path)
    if state.get("architecture") != architecture:
        raise CheckpointError(f"{path}: a checkpoint of {state.get('architecture')!r}, not {architecture!r}")
    changed = differences(state["config"], config)
    if changed:
        raise CheckpointError(f"{path}: --resume needs the settings of the interrupted run; these differ: "
                              + "; ".join(changed))
    return state


def differences(saved: dict, config: TrainConfig) -> list[str]:
    """Settings that change the result and differ between a checkpoint's config and this one. A
    setting the checkpoint predates counts as TrainConfig's default: what runs did before it existed."""
    current, defaults = dataclasses.asdict(config), dataclasses.asdict(TrainConfig())
    return [f"{name}: checkpoint {saved.get(name, defaults[name])!r}, now {current[name]!r}"
            for name in current if name not in RUN_ONLY_FIELDS and saved.get(name, defaults[name]) != current[name]]
