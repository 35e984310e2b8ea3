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

FILL_MOST = 3.0  # a frame-filling stretch widens a 1 at most this much: fully stretched it is a block


def _uniform(n: int, low: float, high: float, like: torch.Tensor) -> torch.Tensor:
    return torch.empty(n, device=like.device, dtype=like.dtype).uniform_(low, high)


def random_affine(images: torch.Tensor, rotation: float, translate: float, scale: float, shear: float,
                  aspect: float = 0.0, elastic: float = 0.0, fill: float = 0.0) -> torch.Tensor:
    """Rotate by up to +-`rotation` degrees, shift by up to +-`translate` of the size, zoom by up to
    +-`scale`, shear by up to +-`shear` degrees, stretch one axis against the other by up to
    +-`aspect`, with probability `fill` stretch the digit's shorter side towards its longer one (see
    `frame_fill_stretch`), and bend the strokes by a smooth random displacement of `elastic` pixels
    (standard deviation); each image drawn independently, all in one resampling."""
    n, _, height, width = images.shape
    angle = torch.deg2rad(_uniform(n, -rotation, rotation, images))
    shear_angle = torch.deg2rad(_uniform(n, -shear, shear, images))
    zoom = _uniform(n, 1 - scale, 1 + scale, images)
    # Drawn only when asked for, so that runs without it keep their random streams.
    stretch = torch.exp(_uniform(n, -math.log1p(aspect), math.log1p(aspect), images)) if aspect > 0 else 1.0
    # affine_grid works in [-1, 1] coordinates, where the full width is 2.
    shift_x = _uniform(n, -2 * translate, 2 * translate, images)
    shift_y = _uniform(n, -2 * translate, 2 * translate, images)
    cos, sin, tan = torch.cos(angle), torch.sin(angle), torch.tan(shear_angle)
    zoom_x, zoom_y = zoom * stretch, zoom / stretch
    if fill > 0:
        fill_x, fill_y = frame_fill_stretch(images, fill)
        zoom_x, zoom_y = zoom_x * fill_x, zoom_y * fill_y
    # theta maps output coordinates to input coordinates: rotation @ shear, each axis divided by its zoom.
    theta = torch.stack([
        torch.stack([cos / zoom_x, (cos * tan - sin) / zoom_x, shift_x], dim=1),
        torch.stack([sin / zoom_y, (sin * tan + cos) / zoom_y, shift_y], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    if elastic > 0:
        # A coarse 4x4 field of random offsets, smoothly interpolated: strokes bend, they do not tear.
        coarse = torch.randn(n, 2, 4, 4, device=images.device, dtype=images.dtype) * (2 * elastic / width)
        field = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=True)
        grid = grid + field.permute(0, 2, 3, 1)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def frame_fill_stretch(images: torch.Tensor, probability: float, most: float = FILL_MOST
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image (x, y) stretch factors: with `probability`, the shorter side of the digit's ink box
    is stretched towards the longer one, by a random share of the way (at most `most` times). USPS,
    Semeion and many drawing apps scale each digit to fill a square frame, aspect lost, where MNIST
    kept it: their 1s, 4s and 9s come out far wider than any MNIST writer's."""
    n = images.shape[0]
    ink = images[:, 0] > 0.3
    def extent(inked: torch.Tensor) -> torch.Tensor:  # inked rows (or columns) from first to last
        first = inked.float().argmax(1)
        last = inked.shape[1] - 1 - inked.flip(1).float().argmax(1)
        return (last - first + 1).clamp(min=1).to(images.dtype)
    ink_height, ink_width = extent(ink.any(2)), extent(ink.any(1))
    ratio = (torch.maximum(ink_height, ink_width) / torch.minimum(ink_height, ink_width)).clamp(max=most)
    share = _uniform(n, 0, 1, images) * (_uniform(n, 0, 1, images) < probability)
    factor = ratio ** share
    ones = torch.ones_like(factor)
    return torch.where(ink_width < ink_height, factor, ones), torch.where(ink_height < ink_width, factor, ones)


def random_thickness(images: torch.Tensor, probability: float) -> torch.Tensor:
    """With `probability`, make an image's strokes thicker (by up to a pixel on each side) or thinner
    (by up to half that): a per-image blend towards its 3x3 grey dilation or erosion. MNIST's pens
    are all alike; people's range from a fine pen to a marker."""
    n = images.shape[0]
    amount = _uniform(n, -0.5, 1, images) * (_uniform(n, 0, 1, images) < probability)
    dilated = F.max_pool2d(images, 3, stride=1, padding=1)
    eroded = -F.max_pool2d(-images, 3, stride=1, padding=1)
    amount = amount.view(n, 1, 1, 1)
    return images + amount.clamp(min=0) * (dilated - images) + (-amount).clamp(min=0) * (eroded - images)


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


def random_one_flags(images: torch.Tensor, labels: torch.Tensor, probability: float) -> torch.Tensor:
    """With `probability`, give a 1 the strokes many people write and MNIST's writers rarely did: a
    flag from its top down to the left, and one time in three a base. Drawn per image on the batch
    tensor, as anti-aliased line segments about as wide as MNIST's strokes."""
    n, _, height, width = images.shape
    chosen = (labels == 1) & (_uniform(n, 0, 1, images) < probability)
    length, angle = _uniform(n, 0.2, 0.45, images), torch.deg2rad(_uniform(n, 20, 55, images))
    stroke, base = _uniform(n, 1.6, 2.6, images), _uniform(n, 0, 1, images) < 1 / 3
    base_half = _uniform(n, 0.15, 0.3, images)
    ink = images[:, 0] > 0.5
    rows = torch.arange(height, device=images.device, dtype=images.dtype)
    cols = torch.arange(width, device=images.device, dtype=images.dtype)
    inked_rows = ink.any(2)
    top = inked_rows.float().argmax(1).to(images.dtype)
    bottom = (height - 1 - inked_rows.flip(1).float().argmax(1)).to(images.dtype)
    def centre_column(row):  # where the stroke is on that row
        line = ink[torch.arange(n, device=images.device), row.long()].to(images.dtype)
        return (line * cols).sum(1) / line.sum(1).clamp(min=1)
    top_col, bottom_col = centre_column(top), centre_column(bottom)
    span = (bottom - top).clamp(min=4)
    flag = _segments(rows, cols, (top, top_col),
                     (top + span * length * torch.sin(angle), top_col - span * length * torch.cos(angle)), stroke)
    foot = _segments(rows, cols, (bottom, bottom_col - span * base_half), (bottom, bottom_col + span * base_half), stroke)
    drawn = torch.maximum(flag, foot * base.view(n, 1, 1))
    return torch.where(chosen.view(n, 1, 1, 1), torch.maximum(images, drawn.unsqueeze(1)), images)


def _segments(rows: torch.Tensor, cols: torch.Tensor, start: tuple, end: tuple, width: torch.Tensor) -> torch.Tensor:
    """(N, H, W) coverage of one line segment per image, from start to end ((row, column) tensors of N)."""
    (y0, x0), (y1, x1) = [(a.view(-1, 1, 1), b.view(-1, 1, 1)) for a, b in (start, end)]
    py, px = rows.view(1, -1, 1), cols.view(1, 1, -1)
    dy, dx = y1 - y0, x1 - x0
    t = (((py - y0) * dy + (px - x0) * dx) / (dy * dy + dx * dx).clamp(min=1e-6)).clamp(0, 1)
    distance = torch.sqrt((py - y0 - t * dy) ** 2 + (px - x0 - t * dx) ** 2)
    return (width.view(-1, 1, 1) / 2 + 0.5 - distance).clamp(0, 1)


def augment_batch(images: torch.Tensor, labels: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """The training-time augmentation `config` asks for: styles (a 1's flag, stroke thickness), then
    affine and elastic distortion in one resampling, then erasing."""
    if config.one_flags > 0:
        images = random_one_flags(images, labels, config.one_flags)
    if config.thickness > 0:
        images = random_thickness(images, config.thickness)
    images = random_affine(images, config.rotation, config.translate, config.scale, config.shear,
                           config.aspect, config.elastic, config.fill)
    if config.erase > 0:
        images = random_erasing(images, config.erase)
    return images
