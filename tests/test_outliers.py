"""Outlier exposure: synthetic non-digits shaped like the model's inputs, and what training on them does."""

import dataclasses

import numpy as np
import pytest
import torch
from scipy import ndimage

from mnist_cnn.config import config_problems
from mnist_cnn.models import MODELS
from mnist_cnn.outliers import LETTER, PEN_LETTERS, POLYGON, _draw_strokes, outlier_batch, run_together, stroke_bank
from mnist_cnn.training import make_optimizer, predict_logits, training_step
from test_training import small_splits, train_small  # noqa: F401  (a fixture, and the small run)


def test_the_bank_is_fitted_like_mnist_and_fixed_by_the_seed():
    bank = stroke_bank(64, seed=3)
    assert bank.shape == (64, 28, 28) and bank.dtype == torch.uint8
    assert torch.equal(bank, stroke_bank(64, seed=3)) and not torch.equal(bank, stroke_bank(64, seed=4))
    ink = bank.numpy() > 40
    rows, cols = ink.any(2), ink.any(1)
    long_side = np.maximum(rows.sum(1), cols.sum(1))
    assert np.median(long_side) == 20 and long_side.min() >= 14 and long_side.max() <= 21  # fitted to 20 px
    mass = bank.numpy().astype(float)
    centre_y = (mass.sum(2) * np.arange(28)).sum(1) / mass.sum((1, 2))
    assert np.abs(centre_y - 13.5).max() < 1.5


def test_polygon_outlines_are_closed_and_only_drawn_when_asked():
    rng = np.random.default_rng(0)
    for _ in range(20):
        ink = _draw_strokes(rng, (POLYGON,)) > 0
        # Closed: some paper inside is cut off from the sheet's edge by the outline.
        paper, _ = ndimage.label(~ink)
        outside = set(np.unique(np.concatenate([paper[0], paper[-1], paper[:, 0], paper[:, -1]])))
        assert set(np.unique(paper[paper > 0])) - outside
    plain, with_polygons = stroke_bank(64, seed=3), stroke_bank(64, seed=3, polygons=True)
    assert not torch.equal(plain, with_polygons)
    assert torch.equal(plain, stroke_bank(64, seed=3, polygons=False))


def test_pen_letters_are_no_digit_look_alikes_and_only_drawn_when_asked():
    assert not set(PEN_LETTERS) & set("OoIlSsZzBGgqbD")  # each of these is written like some digit
    rng = np.random.default_rng(0)
    for _ in range(40):
        ink = _draw_strokes(rng, (LETTER,)) > 0
        rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
        assert rows[-1] - rows[0] > 25 and cols[-1] - cols[0] > 25  # a letter's size, in the 112-px sheet
    plain, with_letters = stroke_bank(64, seed=3), stroke_bank(64, seed=3, letters=True)
    assert not torch.equal(plain, with_letters)
    assert torch.equal(plain, stroke_bank(64, seed=3, letters=False))


def test_two_digits_run_together_fill_one_flat_box(mnist):
    digits = mnist.train_images[:8].unsqueeze(1).float() / 255
    pairs = run_together(digits)
    assert pairs.shape == (8, 1, 28, 28)
    assert pairs[:, :, :7].sum() == 0 and pairs[:, :, 21:].sum() == 0  # 14 rows high, centred
    assert (pairs[:, 0, :, :14].sum((1, 2)) > 5).all() and (pairs[:, 0, :, 14:].sum((1, 2)) > 5).all()
    batch = outlier_batch(stroke_bank(16), digits, 6)
    assert batch.shape == (6, 1, 28, 28) and 0 <= batch.min() and batch.max() <= 1


@pytest.mark.parametrize("share, extra", [(0.5, 8), (0.25, 4), (1.0, 16)])
def test_the_outlier_share_sets_how_many_non_digits_join_each_step(mnist, share, extra):
    config = dataclasses.replace(MODELS["improved_cnn"].defaults, outlier_share=share)
    model = MODELS["improved_cnn"].build(config)
    batch_sizes = []
    model.register_forward_hook(lambda module, inputs, output: batch_sizes.append(len(inputs[0])))
    digits, labels = mnist.train_images[:16].unsqueeze(1).float() / 255, mnist.train_labels[:16]
    training_step(model, model, make_optimizer(model, config), digits, labels, config, stroke_bank(32))
    assert batch_sizes == [16 + extra]
    assert config_problems(dataclasses.replace(config, outlier_share=0.0)) == [
        "--outlier-share must be in (0, 1] (got 0.0)"]


def test_training_with_outliers_flattens_the_output_on_non_digits(small_splits, tmp_path):  # noqa: F811
    held_out = stroke_bank(300, seed=99).unsqueeze(1).float() / 255  # another seed than training's
    top = {}
    for weight in (0.0, 1.0):
        model, result = train_small(small_splits, tmp_path / str(weight), outliers=weight)
        assert result.history[-1]["val_accuracy"] > 0.8
        top[weight] = torch.softmax(predict_logits(model, held_out, 300), 1).max(1).values.mean().item()
    assert top[1.0] < 0.5 < top[0.0], top
