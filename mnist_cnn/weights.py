"""`model.safetensors`: the trained weights a user is handed, and what rebuilds the model from them.

safetensors holds raw arrays and a string-to-string header, so loading it cannot execute code,
whoever made the file. The header carries JSON values: the architecture's registry name, the
normalisation constants, the layer list that inference replays, the training config. This module
needs NumPy only, not torch, so that predict_custom.py starts fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from .storage import CheckpointError, atomic_path

# Written into every weight file's header; a safetensors file without it was not made here.
WEIGHTS_FORMAT = "mnist-cnn-weights/1"


def save_weights(path: str | os.PathLike, arrays: dict[str, np.ndarray], metadata: dict[str, Any]) -> None:
    """Save a model's arrays with JSON-encoded metadata (architecture, normalisation, layers...)."""
    header = {key: json.dumps(value) for key, value in metadata.items()}
    header["format"] = WEIGHTS_FORMAT
    with atomic_path(path) as tmp:
        save_file({name: np.ascontiguousarray(a) for name, a in arrays.items()}, str(tmp), metadata=header)


def load_weights(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by `save_weights`: (arrays, metadata)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file (train one with basic_cnn.py or improved_cnn.py)")
    try:
        with safe_open(str(path), framework="np") as handle:
            header = handle.metadata() or {}
        arrays = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable safetensors weight file ({error})") from None
    if header.get("format") != WEIGHTS_FORMAT:
        raise CheckpointError(f"{path}: a safetensors file, but not a model saved by this project "
                              f"(expected format {WEIGHTS_FORMAT!r} in its header)")
    try:
        metadata = {key: json.loads(value) for key, value in header.items() if key != "format"}
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: damaged metadata in the header ({error})") from None
    return arrays, metadata


def require(metadata: dict[str, Any], path: str | os.PathLike, keys: Iterable[str]) -> None:
    """CheckpointError naming the file when its header lacks any of `keys`."""
    missing = [key for key in keys if key not in metadata]
    if missing:
        raise CheckpointError(f"{path}: the header lacks {', '.join(missing)}; retrain with this version")
