"""Confidence that means what it says: temperature scaling (Guo et al., 2017).

A network trained to low loss is overconfident: its top probability is higher than its accuracy at
that probability. Dividing the logits by one temperature T, fitted on held-out images (the
validation split, never the test set), fixes most of that without changing any prediction. The
fitted T travels with the model (in `model.safetensors`' header and in `model.onnx`'s metadata), and
`predict_custom.py --min-confidence` turns a low calibrated confidence into "unsure".
"""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    shifted = logits / temperature
    shifted = shifted - shifted.max(1, keepdims=True)  # exp cannot overflow
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return np.exp(log_softmax(logits, temperature))


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    return float(-log_softmax(logits, temperature)[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T in [0.05, 20] minimising the mean negative log-likelihood of softmax(logits / T). The
    likelihood is convex in 1/T, so a golden-section search over log T finds the minimum."""
    logits, labels = np.asarray(logits, np.float64), np.asarray(labels)
    low, high = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if negative_log_likelihood(logits, labels, np.exp(a)) < negative_log_likelihood(logits, labels, np.exp(b)):
            high = b
        else:
            low = a
    return float(np.exp((low + high) / 2))


# The share of validation digits answered "unsure" that sets a model's default threshold.
WITHHELD_SHARE = 0.01


def confidence_threshold(logits: np.ndarray, temperature: float, withheld: float = WITHHELD_SHARE) -> float:
    """The calibrated confidence below which `withheld` of these (validation) digits fall."""
    return float(np.quantile(softmax(logits, temperature).max(1), withheld))


def calibrate(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """What travels with a model: its temperature and its default "unsure" threshold, from
    held-out logits and labels."""
    temperature = fit_temperature(logits, labels)
    return {"temperature": temperature, "min_confidence": confidence_threshold(logits, temperature)}


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """The gap between confidence and accuracy, averaged over equal-width confidence bins weighted
    by how many images fall in each."""
    confidence, correct = probabilities.max(1), probabilities.argmax(1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    gaps = [abs(correct[which == b].mean() - confidence[which == b].mean()) * np.mean(which == b)
            for b in range(bins) if (which == b).any()]
    return float(sum(gaps))
