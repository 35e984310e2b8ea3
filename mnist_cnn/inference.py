"""The trained model run on users' images with onnxruntime: no torch import (seconds), one digit in
about a millisecond. Training writes `model.onnx` beside the weights (mnist_cnn/export.py); a test
checks that onnxruntime gives the torch model's predictions on the whole test set, for both models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

import numpy as np
import onnxruntime

from .calibration import softmax
from .paths import ONNX_FILE, output_dir
from .preprocess import ImageError, open_gray, read_picture_digits
from .storage import CheckpointError

# The graph's interface (mnist_cnn/export.py writes it): (N, 1, 28, 28) in [0, 1] -> (N, 10) logits.
INPUT_NAME, OUTPUT_NAME = "images", "logits"
ONNX_FORMAT = "mnist-cnn-onnx/1"  # in every exported graph's metadata; a graph without it was not made here

# Test-time augmentation (--tta): the probabilities averaged over the image and these views of it.
TTA_SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # (right, down), in pixels
TTA_ROTATIONS = (-8.0, 8.0)  # degrees, anticlockwise

# predict_custom.py's default: the improved model if it has been trained, else the basic one.
DEFAULT_MODELS = (output_dir("improved_cnn") / ONNX_FILE, output_dir("basic_cnn") / ONNX_FILE)


@dataclass(frozen=True)
class OnnxModel:
    architecture: str
    session: onnxruntime.InferenceSession
    temperature: float = 1.0  # fitted on the validation split at the end of training
    no_digit_logit: float = -np.inf  # the "no digit" option's (calibration.py); -inf: plain softmax
    min_confidence: float = 0.0  # below it, "unsure": chosen on the validation split (calibration.py)
    tta: bool = False  # average over `tta_views` (7 times the work)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """images: (N, 28, 28) floats in [0, 1], white ink on black."""
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: images.astype(np.float32)[:, None]})[0]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Calibrated: the softmax of the logits divided by the model's temperature, beside the "no
        digit" option (the ten sum to 1 less its probability); with `tta`, the mean of those over the
        views of each image."""
        if not self.tta:
            return softmax(self.logits(images), self.temperature, self.no_digit_logit)
        views = tta_views(images)
        return softmax(self.logits(views.reshape(-1, 28, 28)), self.temperature,
                       self.no_digit_logit).reshape(*views.shape[:2], 10).mean(0)


def tta_views(images: np.ndarray) -> np.ndarray:
    """(V, N, 28, 28): the (N, 28, 28) images, then each shifted by a pixel four ways (TTA_SHIFTS)
    and turned both ways (TTA_ROTATIONS), the whole batch in one call per view."""
    from scipy import ndimage  # only --tta needs it: kept out of a plain run's start-up

    images = images.astype(np.float32)
    views = [images]
    views += [ndimage.shift(images, (0, down, right), order=0, mode="constant") for right, down in TTA_SHIFTS]
    views += [ndimage.rotate(images, angle, axes=(2, 1), reshape=False, order=1, mode="constant").clip(0, 1)
              for angle in TTA_ROTATIONS]
    return np.stack(views)


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
    for key, default, low, high in (("temperature", 1.0, 0.01, 100), ("no_digit_logit", -np.inf, -np.inf, 100),
                                    ("min_confidence", 0.0, 0, 1)):
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
class DigitAnswer:
    prediction: int | None  # None when unsure
    confidence: float  # the top calibrated probability
    probabilities: list[float]
    unsure: bool  # confidence below the threshold: the top guesses are in `probabilities`
    box: list[int]  # left, top, right, bottom in the image's own pixels (right, bottom exclusive)
    touching: bool = False  # cut out of digits written touching: the cut is a guess
    no_digit: float = 0.0  # the "no digit" option's probability: what the ten leave of 1


@dataclass
class Prediction:
    file: str
    prediction: str | None = None  # the digits read, left to right ("7", "2025"); None if unsure or on error
    confidence: float | None = None  # the least confident digit's
    unsure: bool = False  # some digit is unsure
    digits: list[DigitAnswer] = field(default_factory=list)
    error: str | None = None

    @property
    def reading(self) -> str:
        """The digits read, left to right, with "?" for each unsure one ("20?5")."""
        return "".join("?" if digit.unsure else str(digit.prediction) for digit in self.digits)


def top_log_probability(model: OnnxModel, images: np.ndarray) -> np.ndarray:
    """The log of each image's top calibrated probability: how sure the model is that it is a
    digit at all, which decides where touching digits are cut (preprocess.read_digits)."""
    return np.log(model.probabilities(images).max(1))


def classify(model: OnnxModel, paths: list[Path], min_confidence: float | None = None, single: bool = False
             ) -> tuple[list[Prediction], dict[Path, dict[str, np.ndarray]]]:
    """One Prediction per file, errors and unsure answers included (see `read_picture`); plus, per
    file that could be read as an image (digits found or not), what the plots show
    (`read_picture`'s `shown`)."""
    results, seen = [], {}
    for path in paths:
        shown = {}
        results.append(read_picture(model, path, str(path), min_confidence, single, shown))
        if "ink" in shown:  # a refused picture's plot shows why: the ink found, all of it dropped
            seen[path] = shown
    return results, seen


def read_picture(model: OnnxModel, source: str | Path | BinaryIO, name: str, min_confidence: float | None = None,
                 single: bool = False, shown: dict | None = None) -> Prediction:
    """The digits in one picture (a file, or a binary stream such as an upload), left to right
    (with `single`, all its ink is one digit); an unreadable or blank picture gives a Prediction
    with its `error`. Below `min_confidence` (default: the model's own) a digit is unsure. `shown`,
    when given, receives what the plots show: the image as read ("gray"), the masks of the ink kept
    and of all the ink ("kept", "ink"), the 28x28 images the model saw ("mnist", one per digit) and
    the digits' boxes in the image as read ("boxes"), and where the digits were read again closer,
    the crop's box in it ("closer"); where no digit is found, what was read of it (the image and
    its ink) before the refusal."""
    min_confidence = model.min_confidence if min_confidence is None else min_confidence
    shown = {} if shown is None else shown
    try:
        full, reduction = open_gray(source)
        found = read_picture_digits(full, shown, single, score=partial(top_log_probability, model), sure=min_confidence)
    except ImageError as error:
        return Prediction(name, error=str(error))
    scale = full.shape[0] / shown["gray"].shape[0]
    shown["mnist"] = np.stack([digit.image for digit in found])
    shown["boxes"] = [tuple(edge / scale for edge in digit.box) for digit in found]
    digits = []
    for digit, probabilities in zip(found, model.probabilities(shown["mnist"])):
        confidence = float(probabilities.max())
        unsure = confidence < min_confidence
        digits.append(DigitAnswer(None if unsure else int(probabilities.argmax()), confidence,
                                  [round(float(p), 6) for p in probabilities], unsure,
                                  [edge * reduction for edge in digit.box], digit.touching,
                                  round(max(0.0, 1 - float(probabilities.sum())), 6)))
    unsure = any(d.unsure for d in digits)
    return Prediction(name, None if unsure else "".join(str(d.prediction) for d in digits),
                      min(d.confidence for d in digits), unsure, digits)
