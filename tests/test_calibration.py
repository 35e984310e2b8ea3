import numpy as np
import pytest

from mnist_cnn.calibration import (calibrate, confidence_threshold, expected_calibration_error, fit_no_digit_logit,
                                   fit_temperature, negative_log_likelihood, softmax)


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


def eleven_options(no_digit_logit: float, count: int = 6000, seed: int = 1):
    """Logits, and answers drawn from the softmax over them and a "no digit" option (10) of that logit."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (count, 10))
    probabilities = softmax(np.concatenate([logits, np.full((count, 1), no_digit_logit)], 1))
    return logits, np.array([rng.choice(11, p=p) for p in probabilities]), probabilities


def test_the_no_digit_option_takes_its_share_of_the_softmax():
    logits, _, eleven = eleven_options(2.0)
    ten = softmax(logits, 1.0, 2.0)
    assert np.allclose(ten, eleven[:, :10]) and np.allclose(1 - ten.sum(1), eleven[:, 10])
    assert np.allclose(softmax(logits, 1.0, -np.inf), softmax(logits))  # no option: plain softmax
    assert np.allclose(softmax(np.array([[40.0] + [0.0] * 9]), 1.0, 2.0)[0, 0], 1.0)  # a clear digit keeps it all
    assert softmax(np.zeros((1, 10)), 1.0, 5.0).sum() < 0.07  # all ten weak: mostly "no digit"


@pytest.mark.parametrize("true_logit", [-1.0, 2.5])
def test_the_fitted_no_digit_logit_is_the_one_that_made_the_answers(true_logit):
    logits, answers, _ = eleven_options(true_logit)
    digits, others = answers < 10, answers == 10
    fitted = fit_no_digit_logit(logits[digits], answers[digits], logits[others], 1.0)
    # The two sets are weighted alike, as if equally common: that moves the logit by the log of their ratio.
    assert fitted == pytest.approx(true_logit + np.log(digits.sum() / others.sum()), abs=0.15)
    calibration = calibrate(logits[digits], answers[digits], logits[others])
    assert set(calibration) == {"temperature", "no_digit_logit", "min_confidence"}
    confidence = softmax(logits[digits], calibration["temperature"], calibration["no_digit_logit"]).max(1)
    assert np.mean(confidence < calibration["min_confidence"]) == pytest.approx(0.01, abs=0.002)
