"""Batch augmentation with independent random parameters for every image.

torchvision's v2 transforms, given a batched tensor, draw one random transform and apply it to the
whole batch. Here each image gets its own affine matrix (one `affine_grid` + `grid_sample` call for
the batch) and its own erasing rectangle, all drawn as tensors on the batch's device.
Images are expected in [0, 1] with black (0) background, before normalisation, so that the pixels
that move in from outside the frame and the erased ones are true background.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .config import TrainConfig


def _uniform(n: int, low: float, high: float, like: torch.Tensor) -> torch.Tensor:
    return torch.empty(n, device=like.device, dtype=like.dtype).uniform_(low, high)


def random_affine(images: torch.Tensor, rotation: float, translate: float, scale: float,
                  shear: float) -> torch.Tensor:
    """Rotate by up to +-`rotation` degrees, shift by up to +-`translate` of the size, zoom by up to
    +-`scale`, shear by up to +-`shear` degrees; each image drawn independently."""
    n = images.shape[0]
    angle = torch.deg2rad(_uniform(n, -rotation, rotation, images))
    shear_angle = torch.deg2rad(_uniform(n, -shear, shear, images))
    zoom = _uniform(n, 1 - scale, 1 + scale, images)
    # affine_grid works in [-1, 1] coordinates, where the full width is 2.
    shift_x = _uniform(n, -2 * translate, 2 * translate, images)
    shift_y = _uniform(n, -2 * translate, 2 * translate, images)
    cos, sin, tan = torch.cos(angle), torch.sin(angle), torch.tan(shear_angle)
    # theta maps output coordinates to input coordinates: rotation @ shear, divided by the zoom.
    theta = torch.stack([
        torch.stack([cos, cos * tan - sin, shift_x], dim=1),
        torch.stack([sin, sin * tan + cos, shift_y], dim=1),
    ], dim=1) / torch.stack([zoom, zoom, torch.ones_like(zoom)], dim=1).unsqueeze(1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_erasing(images: torch.Tensor, probability: float, area: tuple[float, float] = (0.02, 0.12),
                   aspect: tuple[float, float] = (0.3, 3.3)) -> torch.Tensor:
    """Blank one random rectangle (a fraction `area` of the image) in each image with `probability`."""
    n, _, height, width = images.shape
    rect_area = _uniform(n, *area, images) * height * width
    log_aspect = _uniform(n, math.log(aspect[0]), math.log(aspect[1]), images)
    rect_h = torch.sqrt(rect_area * torch.exp(log_aspect)).clamp(max=height)
    rect_w = torch.sqrt(rect_area / torch.exp(log_aspect)).clamp(max=width)
    top = _uniform(n, 0, 1, images) * (height - rect_h)
    left = _uniform(n, 0, 1, images) * (width - rect_w)
    rows = torch.arange(height, device=images.device, dtype=images.dtype).view(1, height, 1)
    cols = torch.arange(width, device=images.device, dtype=images.dtype).view(1, 1, width)
    inside = ((rows >= top.view(n, 1, 1)) & (rows < (top + rect_h).view(n, 1, 1))
              & (cols >= left.view(n, 1, 1)) & (cols < (left + rect_w).view(n, 1, 1)))
    chosen = (_uniform(n, 0, 1, images) < probability).view(n, 1, 1)
    return images.masked_fill((inside & chosen).unsqueeze(1), 0.0)


def augment_batch(images: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """The training-time augmentation `config` asks for: affine always, erasing when its probability is set."""
    images = random_affine(images, config.rotation, config.translate, config.scale, config.shear)
    if config.erase > 0:
        images = random_erasing(images, config.erase)
    return images
