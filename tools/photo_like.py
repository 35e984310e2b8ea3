"""MNIST test digits rendered the way a user's photo of a handwritten digit looks: dark ink on
light, unevenly lit paper, off-centre on a larger canvas, blurred, noisy, colour, JPEG. Used by the
tests and by `tools/evaluate.py`.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter


def render_photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """digit: (28, 28) uint8, white on black. Returns an RGB JPEG-decoded PIL image."""
    size = int(rng.integers(70, 220))
    ink = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), np.float32) / 255
    height, width = int(size * rng.uniform(1.3, 2.2)), int(size * rng.uniform(1.3, 2.2))
    top, left = int(rng.integers(0, height - size)), int(rng.integers(0, width - size))
    canvas = np.zeros((height, width), np.float32)
    canvas[top:top + size, left:left + size] = np.clip(ink, 0, 1)
    ys, xs = np.mgrid[0:height, 0:width] / max(height, width)
    # Uneven light: a tilted plane plus a vignette; ink a little darker than the darkest paper.
    light = rng.uniform(0.7, 0.95) + rng.uniform(-0.2, 0.2) * (ys - 0.5) + rng.uniform(-0.2, 0.2) * (xs - 0.5)
    light -= rng.uniform(0, 0.25) * ((ys - 0.5) ** 2 + (xs - 0.5) ** 2)
    ink_level = rng.uniform(0.05, 0.3)
    gray = light * (1 - canvas) + ink_level * canvas
    camera = Image.fromarray(np.clip(gray * 255, 0, 255).astype(np.uint8))  # out of focus, grainy
    gray = np.asarray(camera.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5))), np.float32) / 255
    gray = gray + rng.normal(0, rng.uniform(0.005, 0.04), gray.shape)
    tint = rng.uniform(0.85, 1.0, 3)  # warm or cool paper
    rgb = np.clip(gray[..., None] * tint * 255, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=int(rng.integers(55, 92)))
    buffer.seek(0)
    return Image.open(buffer)


def write_photos(images: np.ndarray, folder: Path, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, digit in enumerate(images):
        path = folder / f"digit_{i:04d}.jpg"
        render_photo(digit, rng).save(path, quality=95)
        paths.append(path)
    return paths
