"""`model.onnx`: the trained model as an ONNX graph, what `predict_custom.py` and the evaluation run
(with onnxruntime, no torch) and what other runtimes and languages can load.

The graph takes what a user has, not what training used: a batch of 28x28 digits as floats in
[0, 1], white ink on black (MNIST's convention), shape (N, 1, 28, 28), N free; MNIST's
normalisation is inside it. It returns the 10 digit logits. Its metadata names the architecture
the temperature that calibrates the logits' softmax (divide the logits by it) and the calibrated
confidence under which the answer is "unsure".
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from .data import MEAN, STD
from .inference import INPUT_NAME, ONNX_FORMAT, OUTPUT_NAME
from .storage import atomic_path


class _WithNormalisation(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model((images - MEAN) / STD)


def export_onnx(model: nn.Module, path: str | os.PathLike, architecture: str,
                calibration: dict[str, float] | None = None) -> None:
    """Write `model` (any device, any mode) to `path` as ONNX with a free batch size; atomic. The
    graph gives raw logits; `calibration` (temperature, min_confidence: mnist_cnn/calibration.py)
    goes into its metadata."""
    wrapped = _WithNormalisation(copy.deepcopy(model)).to("cpu", memory_format=torch.contiguous_format).eval()
    example = torch.zeros(2, 1, 28, 28)
    # The exporter narrates its steps on stdout and warns about its own internals: kept out of a run's log.
    with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(wrapped, (example,), dynamo=True, input_names=[INPUT_NAME],
                                    output_names=[OUTPUT_NAME], verbose=False,
                                    dynamic_shapes=({0: torch.export.Dim("batch")},))
    program.model.metadata_props.update({"format": ONNX_FORMAT, "architecture": architecture})
    program.model.metadata_props.update({key: repr(float(value)) for key, value in (calibration or {}).items()})
    with atomic_path(Path(path)) as tmp:
        program.save(str(tmp))
