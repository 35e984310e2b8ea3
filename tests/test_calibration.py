import numpy as np
import pytest

from mnist_cnn.calibration import (calibrate, confidence_threshold, expected_calibration_error, fit_temperature,
                                   negative_log_likelihood, softmax)


def overconfident(temperature: float, count: int = 4000, seed: int = 0):
    """Logits whose softmax at `temperature` is calibrated by construction: labels drawn from it."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (count, 10))
    probabilities = softmax(logits, temperature)
    labels = np.array([rng.choice(10, p=p) for p in probabilities])
    return logits, labels


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 2.5])
def test_the_fitted_temperature_is_the_one_that_made_the_labels(true_temperature):
    logits, labels = overconfident(true_temperature)
    fitted = fit_temperature(logits, labels)
    assert fitted == pytest.approx(true_temperature, rel=0.1)
    for other in (fitted * 0.8, fitted * 1.25):  # and it is a minimum of the likelihood
        assert negative_log_likelihood(logits, labels, fitted) < negative_log_likelihood(logits, labels, other)


def test_calibration_error_drops_and_predictions_stay():
    logits, labels = overconfident(2.5)
    temperature = fit_temperature(logits, labels)
    assert expected_calibration_error(softmax(logits, temperature), labels) < \
        0.5 * expected_calibration_error(softmax(logits), labels)
    assert (softmax(logits, temperature).argmax(1) == logits.argmax(1)).all()


def test_the_threshold_withholds_the_share_asked():
    logits, labels = overconfident(1.0)
    threshold = confidence_threshold(logits, 1.0, withheld=0.05)
    assert np.mean(softmax(logits).max(1) < threshold) == pytest.approx(0.05, abs=0.002)
    assert set(calibrate(logits, labels)) == {"temperature", "min_confidence"}
