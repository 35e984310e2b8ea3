"""Confidence that means what it says: temperature scaling (Guo et al., 2017), and "no digit".

A network trained to low loss is overconfident: its top probability is higher than its accuracy at
that probability. Dividing the logits by one temperature T, fitted on held-out images (the
validation split, never the test set), fixes most of that without changing any prediction.

Softmax alone cannot say "none of these": it shares all of the probability among the ten digits
however weak every logit is. So an eleventh option, "no digit", gets a constant logit b (on the
temperature-scaled scale), fitted on the validation digits and on freshly drawn synthetic
non-digits: a picture whose ten logits are all low now gives most of its probability to "no
digit", while a clear digit, whose top logit is far above b, keeps what softmax gave it.

T, b and the threshold travel with the model (in `model.safetensors`' header and in `model.onnx`'s
metadata), and `predict_custom.py --min-confidence` turns a low calibrated confidence into "unsure".
"""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray, temperature: float = 1.0, no_digit_logit: float = -np.inf) -> np.ndarray:
    """Log-probabilities of the classes, from logits divided by `temperature`; with a finite
    `no_digit_logit`, one more option with that logit takes its share, and the classes' returned
    probabilities sum to the rest (1 - the probability of "no digit")."""
    shifted = logits / temperature
    top = np.maximum(shifted.max(1, keepdims=True), no_digit_logit)
    shifted = shifted - top  # exp cannot overflow
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True) + np.exp(no_digit_logit - top))


def softmax(logits: np.ndarray, temperature: float = 1.0, no_digit_logit: float = -np.inf) -> np.ndarray:
    return np.exp(log_softmax(logits, temperature, no_digit_logit))


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    return float(-log_softmax(logits, temperature)[np.arange(len(labels)), labels].mean())


def _golden_section(loss, low: float, high: float, steps: int = 60) -> float:
    """The minimum of a convex function of one variable on [low, high]."""
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(steps):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if loss(a) < loss(b):
            high = b
        else:
            low = a
    return (low + high) / 2


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T in [0.05, 20] minimising the mean negative log-likelihood of softmax(logits / T). The
    likelihood is convex in 1/T, so a golden-section search over log T finds the minimum."""
    logits, labels = np.asarray(logits, np.float64), np.asarray(labels)
    return float(np.exp(_golden_section(lambda t: negative_log_likelihood(logits, labels, np.exp(t)),
                                        np.log(0.05), np.log(20.0))))


def fit_no_digit_logit(logits: np.ndarray, labels: np.ndarray, other_logits: np.ndarray, temperature: float) -> float:
    """The "no digit" logit b in [-20, 50] minimising the negative log-likelihood of the digits'
    labels and of "no digit" for the pictures without one (`other_logits`), the two sets weighted
    alike. Each term is convex in b (a log-sum-exp of it, less b or a constant)."""
    logits, other_logits = np.asarray(logits, np.float64), np.asarray(other_logits, np.float64)
    rows = np.arange(len(labels))

    def loss(b):
        digits = -log_softmax(logits, temperature, b)[rows, labels].mean()
        # "No digit" as an eleventh column (its logit scaled back up, as log_softmax divides by T).
        with_option = np.column_stack([other_logits, np.full(len(other_logits), b * temperature)])
        return digits - log_softmax(with_option, temperature)[:, -1].mean()
    return float(_golden_section(loss, -20.0, 50.0))


# The share of validation digits answered "unsure" that sets a model's default threshold.
WITHHELD_SHARE = 0.01


def confidence_threshold(logits: np.ndarray, temperature: float, no_digit_logit: float = -np.inf,
                         withheld: float = WITHHELD_SHARE) -> float:
    """The calibrated confidence below which `withheld` of these (validation) digits fall."""
    return float(np.quantile(softmax(logits, temperature, no_digit_logit).max(1), withheld))


def calibrate(logits: np.ndarray, labels: np.ndarray, other_logits: np.ndarray | None = None) -> dict[str, float]:
    """What travels with a model, from held-out logits and labels: its temperature, its "no digit"
    logit (when the logits of pictures without a digit, `other_logits`, are given) and its default
    "unsure" threshold."""
    temperature = fit_temperature(logits, labels)
    calibration = {"temperature": temperature}
    if other_logits is not None:
        calibration["no_digit_logit"] = fit_no_digit_logit(logits, labels, other_logits, temperature)
    return calibration | {"min_confidence": confidence_threshold(logits, temperature,
                                                                 calibration.get("no_digit_logit", -np.inf))}


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """The gap between confidence and accuracy, averaged over equal-width confidence bins weighted
    by how many images fall in each."""
    confidence, correct = probabilities.max(1), probabilities.argmax(1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    gaps = [abs(correct[which == b].mean() - confidence[which == b].mean()) * np.mean(which == b)
            for b in range(bins) if (which == b).any()]
    return float(sum(gaps))
