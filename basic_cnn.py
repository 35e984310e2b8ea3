"""Train the basic CNN on MNIST: two conv blocks and a small classifier, plain Adam with a one-cycle
schedule, no augmentation. Writes weights, metrics and plots to output_basic/.

    python basic_cnn.py                 # defaults: ~99% test accuracy in under a minute on 2 CPU cores
    python basic_cnn.py --limit 2000 --epochs 1 --output-dir /tmp/quick   # a quick smoke run

Where things live: the model (BasicCNN) and its default recipe in mnist_cnn/models.py, the settings
and their flags in mnist_cnn/config.py, the run itself in mnist_cnn/experiment.py, the training
loop in mnist_cnn/training.py, the plots in visualize.py.
"""

from __future__ import annotations

import sys

import visualize
from mnist_cnn import experiment


def main(argv: list[str] | None = None) -> int:
    return experiment.main("basic_cnn", __doc__, argv, plot=visualize.plot_run)


if __name__ == "__main__":
    sys.exit(main())
