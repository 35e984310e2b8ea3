"""Train the basic CNN on MNIST: two conv blocks and a small classifier, plain Adam with a one-cycle
schedule, no augmentation. Writes weights, metrics and plots to output_basic/.

    python basic_cnn.py                 # defaults: ~99% test accuracy in under a minute on 2 CPU cores
    python basic_cnn.py --limit 2000 --epochs 1 --output-dir /tmp/quick   # a quick smoke run
"""

from __future__ import annotations

import dataclasses
import sys

import torch.nn as nn

from config import TrainConfig
from experiment import main

ARCHITECTURE = "basic_cnn"

DEFAULTS = dataclasses.replace(TrainConfig(), epochs=3, batch_size=128, lr=3e-3, schedule="onecycle",
                               output_dir="output_basic")


class BasicCNN(nn.Module):
    """conv5x5(16) -> pool -> conv5x5(32) -> pool -> fc(64) -> fc(10)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 14 x 14
            nn.Conv2d(16, 32, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 7 x 7
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


if __name__ == "__main__":
    sys.exit(main(ARCHITECTURE, BasicCNN, DEFAULTS, __doc__))
