"""A user's photo, scan or drawing of a digit turned into what MNIST would have made of it: white
ink on black, the digit scaled to fit a 20x20 box (aspect kept, anti-aliased) and centred by its
centre of mass in 28x28. NumPy and Pillow only.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}

# Refuse decompression bombs: an image over this many pixels is an error, not a warning.
Image.MAX_IMAGE_PIXELS = 40_000_000
WORKING_SIZE = 256     # long side, in pixels, that the ink is found at: plenty for one digit
MIN_INK_CONTRAST = 0.08  # ink must differ from the paper by this much (of the full 0-1 range)


class ImageError(ValueError):
    """An image that cannot be classified; the message says why."""


def read_image(path: str | Path) -> np.ndarray:
    """The image file as working greyscale (see `working_gray`); ImageError naming what is wrong."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return working_gray(ImageOps.exif_transpose(image))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageError(f"image too large, refused as a possible decompression bomb ({error})") from None
    except UnidentifiedImageError:
        raise ImageError("not an image PIL can read (PNG, JPEG, BMP, GIF, TIFF, WebP...)") from None
    except OSError as error:
        raise ImageError(f"cannot read the image ({error})") from None


def working_gray(image: Image.Image) -> np.ndarray:
    """Greyscale float image in [0, 1] (1 = white), transparency on white paper, shrunk to at most
    WORKING_SIZE on its long side."""
    gray = to_gray(image)
    if min(gray.shape) < 8:
        raise ImageError(f"image of {gray.shape[1]}x{gray.shape[0]} pixels is too small to hold a digit")
    scale = WORKING_SIZE / max(gray.shape)
    if scale < 1:  # shrink first: everything below is per-pixel work
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        gray = np.asarray(Image.fromarray(gray, "F").resize(size, Image.Resampling.BOX))
    return gray


# Full scale of Pillow's high-bit-depth greyscale modes. "I" (32-bit) is what 16-bit PNGs and TIFFs
# often open as; their values still stop at 65535.
_HIGH_BIT_FULL_SCALE = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535}


def to_gray(image: Image.Image) -> np.ndarray:
    """Any Pillow image as float greyscale in [0, 1]: 8-bit, 16-bit and 32-bit integer, float,
    bilevel, palette, RGB, CMYK...; transparency composited onto white paper."""
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return _as_float(Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("L"))
    if image.mode in _HIGH_BIT_FULL_SCALE or image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        if image.mode == "F":  # no fixed range: floats in [0, 1], or 8- or 16-bit values stored as floats
            peak = values.max(initial=0)
            full_scale = next((top for top in (1.0, 255.0, 65535.0) if peak <= top), peak)
        else:
            full_scale = max(_HIGH_BIT_FULL_SCALE[image.mode], values.max(initial=0))
        return np.clip(values / full_scale, 0, 1).astype(np.float32)
    if image.mode not in ("L", "1", "RGB", "P"):  # CMYK, YCbCr, LAB, HSV: through RGB, which Pillow knows for all
        image = image.convert("RGB")
    return _as_float(image.convert("L"))


def _as_float(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32) / 255


def ink_map(gray: np.ndarray) -> np.ndarray:
    """Ink strength in [0, 1] on a zero background, whatever the paper, light or dark, even or not."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    ink = 1 - gray if np.median(border) > 0.5 else gray.copy()  # light paper: dark ink, so invert
    ink -= _background(ink)
    # Paper grain and JPEG noise: anything within a few noise levels of the paper is paper. Ink
    # covers a minority of the pixels, so the median absolute deviation measures the paper's noise.
    noise = 1.4826 * np.median(np.abs(ink - np.median(ink)))
    threshold = max(5 * noise, 0.02)
    ink = np.clip(ink - threshold, 0, None)
    peak = np.percentile(ink[ink > 0], 95) if (ink > 0).any() else 0.0
    if peak < MIN_INK_CONTRAST:
        raise ImageError("no ink found: the image looks blank (or the digit is too faint)")
    return np.clip(ink / peak, 0, 1)


def _background(ink: np.ndarray) -> np.ndarray:
    """The paper's level everywhere, as a smooth quadratic surface fitted to the non-ink pixels.
    Uneven lighting is smooth; strokes are not, so two refits that drop the brightest pixels
    leave the paper alone, whatever the stroke width."""
    h, w = ink.shape
    ys, xs = np.mgrid[0:h, 0:w]
    step = max(1, max(h, w) // 64)
    y, x, v = (a[::step, ::step].ravel() for a in (ys / h, xs / w, ink))
    basis = lambda y, x: np.stack([np.ones_like(y), y, x, y * y, x * x, x * y], -1)  # noqa: E731
    keep = np.ones_like(v, dtype=bool)
    for _ in range(3):
        coefficients, *_ = np.linalg.lstsq(basis(y[keep], x[keep]), v[keep], rcond=None)
        residual = v - basis(y, x) @ coefficients
        keep = residual < np.percentile(residual, 70)
    return (basis(ys / h, xs / w) @ coefficients).astype(np.float32)


def ink_box(ink: np.ndarray, trim: float = 0.002) -> tuple[slice, slice]:
    """Rows and columns holding the ink, ignoring the faint outer `trim` of its mass at each side
    (so a speck of dust far from the digit does not stretch the box)."""
    def span(mass):
        cumulative = np.cumsum(mass) / mass.sum()
        return slice(int(np.searchsorted(cumulative, trim)), int(np.searchsorted(cumulative, 1 - trim)) + 1)
    return span(ink.sum(1)), span(ink.sum(0))


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary drawing: its area over half its outline length."""
    pixels = mask.astype(np.int8)
    edges = np.abs(np.diff(pixels, axis=0)).sum() + np.abs(np.diff(pixels, axis=1)).sum()
    return 2 * mask.sum() / max(edges, 1)


def to_mnist(gray: np.ndarray) -> np.ndarray:
    """MNIST's own procedure: (H, W) greyscale in [0, 1] -> (28, 28) white digit on black in [0, 1]."""
    ink = ink_map(gray)
    rows, cols = ink_box(ink)
    digit = ink[rows, cols]
    long_side = max(digit.shape)
    # MNIST strokes are about 2 px wide in the 20 px box (median 1.9 over its test set); a thin pen
    # line shrunk 10x would fade to nothing, so thicken it first to that width at this scale.
    wanted = 2.2 * long_side / 20
    width = stroke_width(digit > 0.5)
    if width < wanted:
        size = int(round(wanted - width)) // 2 * 2 + 1
        if size > 1:
            digit = np.asarray(Image.fromarray(digit).filter(ImageFilter.MaxFilter(size)))
    # Fit the longer side to 20 px, keeping the aspect ratio; LANCZOS averages over the source
    # pixels it shrinks, which is the anti-aliasing MNIST had.
    scale = 20 / long_side
    size = (max(1, round(digit.shape[1] * scale)), max(1, round(digit.shape[0] * scale)))
    small = np.clip(np.asarray(Image.fromarray(digit).resize(size, Image.Resampling.LANCZOS)), 0, 1)
    # Place so that the centre of mass falls on the centre of the 28x28 field.
    total = small.sum()
    com_y = (small.sum(1) * np.arange(small.shape[0])).sum() / total
    com_x = (small.sum(0) * np.arange(small.shape[1])).sum() / total
    top, left = int(round(13.5 - com_y)), int(round(13.5 - com_x))
    canvas = np.zeros((28 + 2 * 28, 28 + 2 * 28), np.float32)  # margin: a lopsided digit may shift far
    canvas[28 + top:28 + top + small.shape[0], 28 + left:28 + left + small.shape[1]] = small
    return canvas[28:56, 28:56]


def collect_images(paths: list[str]) -> list[Path]:
    """Files as given, and the image files inside any directory (sorted, not recursive)."""
    found = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        else:
            found.append(path)
    return found
