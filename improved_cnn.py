"""Train the improved CNN on MNIST: three conv blocks with batch norm, dropout and Kaiming init,
trained with per-image augmentation, a learning-rate schedule, early stopping, gradient clipping,
AdamW and label smoothing on a train/validation split. Writes to output_improved/. Dropout (and
erasing) are off by default, where the ablation measured them costing validation accuracy (README).

    python improved_cnn.py              # defaults: about 99.6% test accuracy in 8 minutes on 2 CPU cores
    python improved_cnn.py --schedule onecycle    # the one-cycle schedule instead of the rate cut on validation

Where things live: the model (ImprovedCNN) and its default recipe in mnist_cnn/models.py, the
augmentation in mnist_cnn/augment.py, the training loop (schedules, early stopping, clipping,
resume) in mnist_cnn/training.py, the run itself in mnist_cnn/experiment.py, the plots in
visualize.py.
"""

from __future__ import annotations

import sys

import visualize
from mnist_cnn import experiment


def main(argv: list[str] | None = None) -> int:
    return experiment.main("improved_cnn", __doc__, argv, plot=visualize.plot_run)


if __name__ == "__main__":
    sys.exit(main())
