"""The full training state behind `--resume`: model, optimizer, scheduler, early stopping, history.

Written with `torch.save` through `storage.atomic_path`; read with `torch.load(weights_only=True)`,
which refuses any pickle that would build an object other than tensors and plain containers, so a
tampered checkpoint cannot run code.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from storage import CheckpointError, atomic_path

CHECKPOINT_FORMAT = "mnist-cnn-training-state/1"


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
