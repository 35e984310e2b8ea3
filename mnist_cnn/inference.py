"""The trained model run on users' images with onnxruntime: no torch import (seconds), one digit in
about a millisecond. Training writes `model.onnx` beside the weights (mnist_cnn/export.py); a test
checks that onnxruntime gives the torch model's predictions on the whole test set, for both models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime

from .calibration import softmax
from .paths import ONNX_FILE, output_dir
from .preprocess import ImageError, read_image, to_mnist
from .storage import CheckpointError

# The graph's interface (mnist_cnn/export.py writes it): (N, 1, 28, 28) in [0, 1] -> (N, 10) logits.
INPUT_NAME, OUTPUT_NAME = "images", "logits"
ONNX_FORMAT = "mnist-cnn-onnx/1"  # in every exported graph's metadata; a graph without it was not made here

# predict_custom.py's default: the improved model if it has been trained, else the basic one.
DEFAULT_MODELS = (output_dir("improved_cnn") / ONNX_FILE, output_dir("basic_cnn") / ONNX_FILE)


@dataclass(frozen=True)
class OnnxModel:
    architecture: str
    session: onnxruntime.InferenceSession
    temperature: float = 1.0  # fitted on the validation split at the end of training
    min_confidence: float = 0.0  # below it, "unsure": chosen on the validation split (calibration.py)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """images: (N, 28, 28) floats in [0, 1], white ink on black."""
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: images.astype(np.float32)[:, None]})[0]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Calibrated: the softmax of the logits divided by the model's temperature."""
        return softmax(self.logits(images), self.temperature)


def load_model(path: str | Path) -> OnnxModel:
    """The model in a `model.onnx` written by this project; CheckpointError naming the file if it is
    missing, not ONNX, or not a digit classifier made here. (Loading ONNX parses a protobuf: it
    runs no code from the file.)"""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file (train one with basic_cnn.py or improved_cnn.py)")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # one image at a time: a thread pool costs more than it saves
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime's errors derive from Exception alone
        raise CheckpointError(f"{path}: not a readable ONNX model ({str(error).strip()[:200]})") from None
    metadata = session.get_modelmeta().custom_metadata_map
    if metadata.get("format") != ONNX_FORMAT:
        raise CheckpointError(f"{path}: an ONNX model, but not one exported by this project "
                              f"(expected format {ONNX_FORMAT!r} in its metadata)")
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if ([i.name for i in inputs] != [INPUT_NAME] or inputs[0].shape[1:] != [1, 28, 28]
            or [o.name for o in outputs] != [OUTPUT_NAME] or outputs[0].shape[1:] != [10]):
        raise CheckpointError(f"{path}: takes {[(i.name, i.shape) for i in inputs]} and gives "
                              f"{[(o.name, o.shape) for o in outputs]}, not 28x28 images to 10 digit scores")
    calibration = {}
    for key, default, low, high in (("temperature", 1.0, 0.01, 100), ("min_confidence", 0.0, 0, 1)):
        try:
            calibration[key] = float(metadata.get(key, default))
        except ValueError:
            calibration[key] = float("nan")
        if not low <= calibration[key] <= high:
            raise CheckpointError(f"{path}: its {key} {metadata.get(key)!r} is not a number in [{low}, {high}]")
    return OnnxModel(metadata.get("architecture", "unknown"), session, **calibration)


def default_model_path() -> Path:
    return next((path for path in DEFAULT_MODELS if path.is_file()), DEFAULT_MODELS[-1])


@dataclass
class Prediction:
    file: str
    prediction: int | None = None  # None when unsure or on error
    confidence: float | None = None  # the top calibrated probability
    probabilities: list[float] | None = None
    unsure: bool = False  # confidence below the threshold: the top guesses are in `probabilities`
    error: str | None = None


def classify(model: OnnxModel, paths: list[Path], min_confidence: float | None = None
             ) -> tuple[list[Prediction], dict[Path, dict[str, np.ndarray]]]:
    """One Prediction per file, errors and unsure answers included; plus, per classified file, what the plots show: the
    image as read ("gray"), the masks of the ink kept and of all the ink ("kept", "ink"), and the
    28x28 the model saw ("mnist"). Below `min_confidence` (default: the model's own) the answer is
    unsure."""
    min_confidence = model.min_confidence if min_confidence is None else min_confidence
    results, seen = [], {}
    for path in paths:
        shown = {}
        try:
            shown["gray"] = read_image(path)
            shown["mnist"] = to_mnist(shown["gray"], shown)
        except ImageError as error:
            results.append(Prediction(str(path), error=str(error)))
            continue
        probabilities = model.probabilities(shown["mnist"][None])[0]
        confidence = float(probabilities.max())
        unsure = confidence < min_confidence
        results.append(Prediction(str(path), None if unsure else int(probabilities.argmax()), confidence,
                                  [round(float(p), 6) for p in probabilities], unsure))
        seen[path] = shown
    return results, seen
