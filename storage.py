"""Files that are either whole or absent, and weights that load without running code.

Everything the project writes goes through `atomic_path`: the bytes land under a temporary
name in the target's own folder and are renamed into place only once complete, so a crash or a
Ctrl-C never leaves a truncated file under the real name (a rename within one file system is
atomic on POSIX and on Windows).

`model.safetensors`, the trained model a user is handed, holds raw arrays and a string-to-string
header, so loading it cannot execute code, whoever made the file. This module needs NumPy only,
not torch, so that predict_custom.py starts fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

# Written into every weight file's header; a safetensors file without it was not made here.
WEIGHTS_FORMAT = "mnist-cnn-weights/1"


class CheckpointError(ValueError):
    """A weight or checkpoint file that cannot be used; the message names the file and why."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` if the block succeeds.

    The temporary name keeps the suffix so that writers that infer the format from it
    (matplotlib's savefig) still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | os.PathLike, data: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


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
