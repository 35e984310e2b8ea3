"""Files that are either whole or absent, and weights that load without running code.

Everything the project writes goes through `atomic_path`: the bytes land under a temporary
name in the target's own folder and are renamed into place only once complete, so a crash or a
Ctrl-C never leaves a truncated file under the real name (a rename within one file system is
atomic on POSIX and on Windows).

Two kinds of weight file exist:
- `model.safetensors`: the trained model a user is handed. safetensors holds raw tensors and a
  string-to-string header, so loading it cannot execute code, whoever made the file.
- `checkpoint.pt`: the full training state for `--resume` (optimizer, scheduler, history).
  It is read with `torch.load(weights_only=True)`, which refuses any pickle that would build an
  object other than tensors and plain containers.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Iterator

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

# Written into every weight file's header; a safetensors file without it was not made here.
WEIGHTS_FORMAT = "mnist-cnn-weights/1"
CHECKPOINT_FORMAT = "mnist-cnn-training-state/1"


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


def save_weights(path: str | os.PathLike, state_dict: dict[str, torch.Tensor], metadata: dict[str, Any]) -> None:
    """Save a model's tensors with JSON-encoded metadata (architecture, normalisation...)."""
    header = {key: json.dumps(value) for key, value in metadata.items()}
    header["format"] = WEIGHTS_FORMAT
    tensors = {name: tensor.detach().to("cpu").contiguous() for name, tensor in state_dict.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=header)


def load_weights(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a file written by `save_weights`: (state_dict on CPU, metadata)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file (train one with basic_cnn.py or improved_cnn.py)")
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
        state_dict = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable safetensors weight file ({error})") from None
    if header.get("format") != WEIGHTS_FORMAT:
        raise CheckpointError(f"{path}: a safetensors file, but not a model saved by this project "
                              f"(expected format {WEIGHTS_FORMAT!r} in its header)")
    try:
        metadata = {key: json.loads(value) for key, value in header.items() if key != "format"}
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: damaged metadata in the header ({error})") from None
    return state_dict, metadata


def save_training_state(path: str | os.PathLike, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, **state}, tmp)


def load_training_state(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint to resume from (has a run with this --output-dir "
                              "finished an epoch?)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first_line = str(error).strip().splitlines()[0]
        raise CheckpointError(f"{path}: refused to load: the file holds objects other than tensors and "
                              f"plain data, which could run code ({first_line})") from None
    except Exception as error:  # torch raises RuntimeError, EOFError, zipfile errors... for damaged files
        raise CheckpointError(f"{path}: not a readable checkpoint, truncated or damaged "
                              f"({type(error).__name__}: {error})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a training checkpoint of this project "
                              f"(expected format {CHECKPOINT_FORMAT!r})")
    return state
