"""The trained model run on users' images with NumPy alone.

Importing torch takes seconds; classifying one 28x28 digit with NumPy takes a millisecond. So the
weights file records its own layer list (written at training time by `layer_spec`), and this
module replays it without torch. A test checks that this matches the torch model's output on the
test set, for both architectures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .paths import WEIGHTS_FILE, output_dir
from .preprocess import ImageError, read_image, to_mnist
from .storage import CheckpointError
from .weights import load_weights, require

# predict_custom.py's default: the improved model if it has been trained, else the basic one.
DEFAULT_MODELS = (output_dir("improved_cnn") / WEIGHTS_FILE, output_dir("basic_cnn") / WEIGHTS_FILE)


def layer_spec(model) -> list[dict]:
    """The model's leaf modules in execution order, as plain data. Only sequential models made of
    the layers below are supported; anything else is refused when saving, not when predicting."""
    spec = []
    for name, module in model.named_modules():
        kind = type(module).__name__
        if list(module.children()):
            continue
        if kind == "Conv2d":
            if module.stride != (1, 1) or module.padding[0] != module.padding[1] or module.groups != 1:
                raise ValueError(f"{name}: only square-padded, stride-1, ungrouped convolutions are supported")
            spec.append({"op": "conv", "name": name, "padding": module.padding[0]})
        elif kind in ("BatchNorm2d", "BatchNorm1d"):
            spec.append({"op": "batchnorm", "name": name, "eps": module.eps})
        elif kind == "MaxPool2d":
            if module.kernel_size not in (2, (2, 2)) or module.stride not in (2, (2, 2)):
                raise ValueError(f"{name}: only 2x2 max-pooling is supported")
            spec.append({"op": "maxpool2", "ceil": module.ceil_mode})
        elif kind in ("ReLU", "Flatten", "Linear"):
            spec.append({"op": kind.lower(), "name": name})
        elif kind not in ("Dropout", "Dropout2d", "Identity"):  # identities at inference
            raise ValueError(f"{name}: layer type {kind} has no NumPy implementation")
    return spec


@dataclass(frozen=True)
class NumpyModel:
    architecture: str
    layers: list[dict]
    arrays: dict[str, np.ndarray]
    mean: float
    std: float

    def logits(self, images: np.ndarray) -> np.ndarray:
        """images: (N, 28, 28) floats in [0, 1], white ink on black."""
        x = ((images.astype(np.float32) - self.mean) / self.std)[:, None]
        for layer in self.layers:
            x = _APPLY[layer["op"]](x, layer, self.arrays)
        return x

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        logits = self.logits(images)
        exp = np.exp(logits - logits.max(1, keepdims=True))
        return exp / exp.sum(1, keepdims=True)


def load_numpy_model(path: str | Path) -> NumpyModel:
    arrays, metadata = load_weights(path)
    require(metadata, path, ("architecture", "layers", "mean", "std"))
    model = NumpyModel(metadata["architecture"], metadata["layers"],
                       {k: v.astype(np.float32) for k, v in arrays.items()}, metadata["mean"], metadata["std"])
    try:
        out = model.logits(np.zeros((1, 28, 28), np.float32))
    except (KeyError, ValueError, TypeError) as error:
        raise CheckpointError(f"{path}: its tensors do not fit its layer list ({type(error).__name__}: "
                              f"{error})") from None
    if out.shape != (1, 10):
        raise CheckpointError(f"{path}: the model gives {out.shape[1:]} outputs, not 10 digit scores")
    return model


def default_model_path() -> Path:
    return next((path for path in DEFAULT_MODELS if path.is_file()), DEFAULT_MODELS[-1])


@dataclass
class Prediction:
    file: str
    prediction: int | None = None
    confidence: float | None = None
    probabilities: list[float] | None = None
    error: str | None = None


def classify(model: NumpyModel, paths: list[Path]) -> tuple[list[Prediction], dict[Path, dict[str, np.ndarray]]]:
    """One Prediction per file, errors included; plus, per classified file, what the plots show: the
    image as read ("gray"), the masks of the ink kept and of all the ink ("kept", "ink"), and the
    28x28 the model saw ("mnist")."""
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
        results.append(Prediction(str(path), int(probabilities.argmax()), float(probabilities.max()),
                                  [round(float(p), 6) for p in probabilities]))
        seen[path] = shown
    return results, seen


def _conv(x, layer, arrays):
    weight, bias = arrays[layer["name"] + ".weight"], arrays.get(layer["name"] + ".bias")
    pad, k = layer["padding"], weight.shape[-1]
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x, (k, k), axis=(2, 3))  # N, C, H, W, k, k
    out = np.tensordot(windows, weight, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    return out + bias[None, :, None, None] if bias is not None else out


def _batchnorm(x, layer, arrays):
    get = lambda suffix: arrays[layer["name"] + suffix]  # noqa: E731
    scale = get(".weight") / np.sqrt(get(".running_var") + layer["eps"])
    shift = get(".bias") - get(".running_mean") * scale
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return x * scale.reshape(shape) + shift.reshape(shape)


def _maxpool2(x, layer, arrays):
    if layer["ceil"]:  # an odd last row/column becomes a window of its own
        x = np.pad(x, ((0, 0), (0, 0), (0, x.shape[2] % 2), (0, x.shape[3] % 2)), constant_values=-np.inf)
    n, c, h, w = x.shape
    return x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def _linear(x, layer, arrays):
    out = x @ arrays[layer["name"] + ".weight"].T
    bias = arrays.get(layer["name"] + ".bias")
    return out + bias if bias is not None else out


_APPLY = {
    "conv": _conv,
    "batchnorm": _batchnorm,
    "maxpool2": _maxpool2,
    "linear": _linear,
    "relu": lambda x, layer, arrays: np.maximum(x, 0),
    "flatten": lambda x, layer, arrays: x.reshape(len(x), -1),
}
