import dataclasses

import pytest
import torch

from conftest import REPO_DIR
from mnist_cnn import augment
from mnist_cnn.augment import augment_batch
from mnist_cnn.config import TrainConfig
from mnist_cnn.data import to_float
from mnist_cnn.models import load_trained_model
from mnist_cnn.training import predict_logits

CONFIG = dataclasses.replace(TrainConfig(), augment=True, erase=0.5)
CONFIG_NO_ERASE = dataclasses.replace(TrainConfig(), augment=True, rotation=10, translate=0.1, scale=0.1, shear=10)


def test_each_image_of_a_batch_gets_its_own_transform(mnist):
    one_digit = to_float(mnist.train_images[:1]).repeat(16, 1, 1, 1)
    torch.manual_seed(0)
    out = augment.random_affine(one_digit, rotation=15, translate=0.1, scale=0.1, shear=10)
    assert out.shape == one_digit.shape
    distinct = {tuple(image.flatten().round(decimals=3).tolist()) for image in out}
    assert len(distinct) == 16, "copies of one image must come out differently"


def test_erasing_blanks_a_rectangle_in_some_images_only():
    images = torch.ones(200, 1, 28, 28)
    torch.manual_seed(0)
    out = augment.random_erasing(images, probability=0.5)
    erased = (out == 0).flatten(1).sum(1)
    assert 60 < (erased > 0).sum() < 140  # about half the images
    assert erased.max() <= 0.12 * 28 * 28 + 2 * 28  # bounded by the area range, up to rounding
    sample = out[erased.argmax(), 0] == 0
    rows, cols = sample.any(1).nonzero().flatten(), sample.any(0).nonzero().flatten()
    assert sample[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all(), "the blank is a rectangle"


def test_zero_strength_is_the_identity(mnist):
    images = to_float(mnist.train_images[:8])
    assert torch.allclose(augment.random_affine(images, 0, 0, 0, 0), images, atol=1e-5)


def test_augmentation_changes_images_but_keeps_their_digit(mnist):
    """The improved model, trained on such images, still reads them: the digit stays the digit."""
    model, _ = load_trained_model(REPO_DIR / "output_improved" / "model.safetensors")
    images, labels = to_float(mnist.test_images[:2000]), mnist.test_labels[:2000]
    torch.manual_seed(0)
    augmented = augment_batch(images, labels, CONFIG)
    assert (augmented - images).abs().flatten(1).amax(1).min() > 0.1  # every image changed
    accuracy = (predict_logits(model, augmented, 500).argmax(1) == labels).float().mean().item()
    assert accuracy > 0.9  # 93.4% measured: erasing at p=0.5 hides strokes the model never saw hidden


@pytest.mark.parametrize("device", ["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
def test_augmentation_runs_on_the_batch_device(device):
    images = torch.rand(4, 1, 28, 28, device=device)
    assert augment_batch(images, torch.ones(4, dtype=torch.long, device=device), CONFIG).device.type == device


def test_style_augmentations_off_leave_the_random_stream_alone(mnist):
    """Runs that do not ask for the style augmentations draw exactly what they drew before them."""
    images = to_float(mnist.train_images[:32])
    torch.manual_seed(0)
    plain = augment.random_affine(images, 10, 0.1, 0.1, 10)
    after_plain = torch.rand(1)
    torch.manual_seed(0)
    styled_off = augment_batch(images, mnist.train_labels[:32], CONFIG_NO_ERASE)
    assert torch.equal(plain, styled_off) and torch.equal(torch.rand(1), after_plain)


def test_aspect_and_elastic_distortion_move_strokes_but_keep_the_ink(mnist):
    images = to_float(mnist.train_images[:64])
    torch.manual_seed(0)
    affine = augment.random_affine(images, 0, 0, 0, 0, aspect=0.0, elastic=1.5)
    moved = (affine - images).abs().flatten(1).amax(1)
    assert (moved > 0.2).float().mean() > 0.9
    ratio = affine.flatten(1).sum(1) / images.flatten(1).sum(1)  # strokes are bent, not erased
    assert 0.5 < ratio.min() and ratio.max() < 2
    torch.manual_seed(0)
    stretched = augment.random_affine(images, 0, 0, 0, 0, aspect=0.3)
    widths = (stretched[:, 0] > 0.5).any(1).sum(1).float() / (images[:, 0] > 0.5).any(1).sum(1).float()
    assert widths.min() < 0.9 and widths.max() > 1.1, "some narrower, some wider"


def test_thickness_makes_some_strokes_thicker_and_some_thinner(mnist):
    images = to_float(mnist.train_images[:200])
    torch.manual_seed(0)
    ratio = augment.random_thickness(images, 1.0).flatten(1).sum(1) / images.flatten(1).sum(1)
    assert (ratio > 1.2).any() and (ratio < 0.9).any()
    assert torch.equal(augment.random_thickness(images, 0.0), images)


def test_one_flags_are_drawn_on_ones_only_and_only_add_ink(mnist):
    images, labels = to_float(mnist.train_images[:300]), mnist.train_labels[:300]
    torch.manual_seed(0)
    flagged = augment.random_one_flags(images, labels, 1.0)
    added = (flagged - images).flatten(1)
    assert (added >= 0).all()
    assert (added[labels != 1].abs().amax(1) == 0).all()
    ones = added[labels == 1]
    # A flag can run along a 1 that leans left already; most must show.
    assert ((ones > 0.5).sum(1) >= 6).float().mean() >= 0.8


def test_frame_fill_widens_narrow_digits_towards_a_square(mnist):
    images, labels = to_float(mnist.train_images[:300]), mnist.train_labels[:300]
    torch.manual_seed(0)
    stretch_x, stretch_y = augment.frame_fill_stretch(images, 1.0)
    ink = images[:, 0] > 0.3
    tall = ink.any(1).sum(1) < ink.any(2).sum(1)  # fewer inked columns than rows (no gaps in MNIST's)
    assert tall.float().mean() > 0.7
    assert ((stretch_x == 1) | (stretch_y == 1)).all() and (stretch_x >= 1).all() and (stretch_y >= 1).all()
    assert (stretch_x[tall] > 1).float().mean() > 0.9  # the share drawn may be tiny
    assert stretch_x.max() <= augment.FILL_MOST and (stretch_x > 1.5).any()
    filled = augment.random_affine(images, 0, 0, 0, 0, fill=1.0)
    widths = (filled[:, 0] > 0.5).any(1).sum(1).float() / (images[:, 0] > 0.5).any(1).sum(1).float()
    assert widths.min() > 0.8 and widths[labels == 1].max() > 2, "1s come out far wider, nothing much narrower"
    assert all(torch.equal(factor, torch.ones(300)) for factor in augment.frame_fill_stretch(images, 0.0))
