"""Rebuild a trained model from its weights file, whichever script made it."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

import basic_cnn
import improved_cnn
from storage import CheckpointError, load_weights

ARCHITECTURES = {
    basic_cnn.ARCHITECTURE: basic_cnn.BasicCNN,
    improved_cnn.ARCHITECTURE: improved_cnn.ImprovedCNN,
}
def load_trained_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """(model in eval mode on `device`, metadata); CheckpointError if the file is not one of ours."""
    arrays, metadata = load_weights(path)
    architecture = metadata.get("architecture")
    if architecture not in ARCHITECTURES:
        raise CheckpointError(f"{path}: unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}")
    for key in ("mean", "std"):
        if not isinstance(metadata.get(key), (int, float)):
            raise CheckpointError(f"{path}: the normalisation constant {key!r} is missing from its header")
    model = ARCHITECTURES[architecture]()
    try:
        model.load_state_dict({name: torch.from_numpy(array) for name, array in arrays.items()})
    except RuntimeError as error:
        details = str(error).splitlines()[1:3]
        raise CheckpointError(f"{path}: its tensors do not fit the {architecture} architecture "
                              f"({' '.join(line.strip() for line in details)})") from None
    return model.to(device).eval(), metadata
