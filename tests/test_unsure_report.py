"""tools/unsure_report.py: the two "unsure" rules it compares, on the committed improved model."""

import numpy as np

from conftest import REPO_DIR
from mnist_cnn.data import split_train_val
from tools import unsure_report


def test_both_rules_withhold_one_percent_of_the_validation_digits(mnist):
    train_images = mnist.train_images.numpy().astype(np.float32) / 255
    found = unsure_report.rules(REPO_DIR / "output_improved", train_images)
    assert set(found) == {"top probability", 'with "no digit"'}
    assert found["top probability"].no_digit_logit == -np.inf and np.isfinite(found['with "no digit"'].no_digit_logit)
    _, val_index = split_train_val(60000, 5000, 0)  # the committed run's split (seed 0)
    for model in found.values():
        answered, predictions = unsure_report.answers(model, list(train_images[val_index.numpy()]))
        assert np.sum(~answered) == 50  # 1% of 5,000
    # A refused picture is never answered, whatever its probabilities would have been.
    answered, _ = unsure_report.answers(found["top probability"], [None, train_images[0]])
    assert list(answered) == [False, True]
