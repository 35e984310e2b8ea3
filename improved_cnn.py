"""Train the improved CNN on MNIST: three conv blocks with batch norm, dropout and Kaiming init,
trained with per-image augmentation, a learning-rate schedule, early stopping, gradient clipping,
AdamW and label smoothing on a train/validation split. Writes to output_improved/.

    python improved_cnn.py              # defaults: 99.6%+ test accuracy in under 5 minutes on 2 CPU cores
    python improved_cnn.py --schedule plateau --early-stop 3    # the reduce-on-plateau variant
"""

from __future__ import annotations

import dataclasses
import sys

import torch.nn as nn

from config import TrainConfig
from experiment import main

ARCHITECTURE = "improved_cnn"

DEFAULTS = dataclasses.replace(
    TrainConfig(), epochs=14, batch_size=256, lr=4e-3, optimizer="adamw", weight_decay=5e-4,
    label_smoothing=0.05, schedule="onecycle", augment=True, rotation=10.0, translate=0.1, scale=0.1,
    shear=10.0, erase=0.0, grad_clip=2.0, early_stop=6, output_dir="output_improved")


def conv_block(in_channels: int, out_channels: int, kernel_size: int) -> list[nn.Module]:
    # No conv bias: the BatchNorm right after it has its own shift.
    return [nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True)]


class ImprovedCNN(nn.Module):
    """Three conv blocks (28 -> 14 -> 7 -> 4 pixels), each conv + BN + ReLU + max-pool, then a
    two-layer classifier with BN and dropout. The last pool rounds up (ceil_mode) so that the 7th
    row and column of the 7x7 map are not dropped.

    On a CPU the cost is dominated by memory traffic at full resolution (every BN and ReLU reads
    and writes the whole activation), not by multiply-adds: so the early blocks stay narrow (16
    and 32 channels, multiples of 16 suit oneDNN's kernels) and get their capacity from 5x5
    kernels instead of extra layers.
    """

    def __init__(self, widths: tuple[int, int, int] = (16, 32, 64), kernels: tuple[int, int, int] = (5, 5, 3),
                 hidden: int = 256, dropout: float = 0.1):
        super().__init__()
        channels = (1, *widths)
        self.features = nn.Sequential(*[layer for i in range(3)
                                        for layer in conv_block(channels[i], channels[i + 1], kernels[i])])
        # Dropout only after the last BatchNorm: dropout in front of a BN shifts the variance BN sees
        # between training and inference, which costs accuracy.
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(widths[2] * 4 * 4, hidden, bias=False), nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, 10),
        )
        self._init_weights()

    def _init_weights(self) -> None:
        # Kaiming (He) init suits ReLU: it keeps activations' variance steady through the depth.
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x):
        return self.classifier(self.features(x))


if __name__ == "__main__":
    sys.exit(main(ARCHITECTURE, ImprovedCNN, DEFAULTS, __doc__))
