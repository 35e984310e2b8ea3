import numpy as np
from PIL import Image

import visualize

HISTORY = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_accuracy": 0.9 + e / 100,
            "val_accuracy": 0.89 + e / 100, "lr": 1e-3 / e} for e in range(1, 6)]


def assert_png(path, min_size=(300, 200)):
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] >= min_size[0] and image.size[1] >= min_size[1]


def test_training_curves(tmp_path):
    assert_png(visualize.plot_training_curves(HISTORY, tmp_path / "curves.png", "t", kept_epoch=4,
                                              stopped_early=True))


def test_confusion_matrix_and_image_grids(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 300)
    probabilities = rng.dirichlet(np.ones(10), 300)
    images = rng.random((300, 1, 28, 28))
    matrix = np.zeros((10, 10), int)
    np.add.at(matrix, (labels, probabilities.argmax(1)), 1)
    assert_png(visualize.plot_confusion_matrix(matrix, tmp_path / "cm.png", "t"))
    assert_png(visualize.plot_predictions(images, labels, probabilities, tmp_path / "p.png", "t"))
    assert_png(visualize.plot_misclassified(images, labels, probabilities, tmp_path / "sub" / "m.png", "t"))
    assert sorted(p.name for p in tmp_path.rglob("*.png")) == ["cm.png", "m.png", "p.png"]


def test_comparison(tmp_path):
    runs = [{"architecture": name, "parameters": p, "test": {"errors": e, "accuracy": 1 - e / 1e4},
             "timing": {"training_s": t}} for name, p, e, t in [("basic_cnn", 114314, 78, 38.0),
                                                                 ("improved_cnn", 107130, 38, 280.0)]]
    assert_png(visualize.plot_comparison(runs, tmp_path / "comparison.png"))
