"""Synthetic non-digits for outlier exposure (Hendrycks et al., 2019): during training the model
also sees things that are not digits and is asked for a flat output on them, so that its
confidence falls on a scribble or a shape instead of landing on some digit at 99%.

Two kinds, both shaped like what the preprocessing hands the model (ink fitted to a 20-pixel box
and centred in 28x28): pen strokes that make no digit (tangles of curves, zigzags, hatching, stars, blots), drawn once per run into a bank; and two training digits run together into one box, what a
number's touching digits look like when taken whole (so that cutting them apart reads better).
Two more kinds, polygon outlines and letters drawn as pen strokes from skeletons written here (none
that a digit is drawn like: no O, I, S, Z, B, G), are switches of their own, on in the improved
model's recipe (mnist_cnn/models.py).
The evaluation's held-out non-digits (letters from fonts, shapes, scribbles, blotches) come from
another generator (tools/photo_like.py).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from .preprocess import cropped_to_ink, fit_in_28

STROKE_KINDS = ("curves", "zigzag", "hatching", "star", "blots")
POLYGON = "polygon"  # a closed outline, close to some 0s: a kind of its own (--outlier-polygons)
LETTER = "letter"  # a pen letter (--outlier-letters)


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 12) -> list:
    """Points along an ellipse's arc, angles in degrees (0 = right, 90 = down: image rows grow down)."""
    angles = np.deg2rad(np.linspace(start, end, steps))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


# Each letter as pen strokes (polylines) in a unit box, x right, y down; small letters use the box's
# lower part (the fitting to 20 pixels evens the sizes out).
PEN_LETTERS: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.22, 0.6), (0.78, 0.6)]],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.75, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.48), (0.75, 0.48)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(0.9, 0), (0, 0.58)], [(0.3, 0.4), (1, 1)]],
    "M": [[(0, 1), (0.05, 0), (0.5, 0.65), (0.95, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "Y": [[(0, 0), (0.5, 0.5), (1, 0)], [(0.5, 0.5), (0.5, 1)]],
    "C": [_arc(0.5, 0.5, 0.5, 0.5, 40, 320)],
    "U": [[(0, 0)] + _arc(0.5, 0.55, 0.5, 0.45, 180, 0) + [(1, 0)]],
    "P": [[(0, 1), (0, 0), (0.5, 0)] + _arc(0.5, 0.25, 0.45, 0.25, -90, 90) + [(0, 0.5)]],
    "R": [[(0, 1), (0, 0), (0.5, 0)] + _arc(0.5, 0.25, 0.45, 0.25, -90, 90) + [(0, 0.5)], [(0.4, 0.5), (1, 1)]],
    "e": [[(0.05, 0.7), (1, 0.7)] + _arc(0.5, 0.7, 0.5, 0.3, 0, -330)],
    "h": [[(0, 0), (0, 1)], [(0, 0.65)] + _arc(0.5, 0.7, 0.5, 0.3, 180, 360) + [(1, 1)]],
    "m": [[(0, 0.4), (0, 1)], [(0, 0.6)] + _arc(0.25, 0.65, 0.25, 0.25, 180, 360) + [(0.5, 1)],
          [(0.5, 0.65)] + _arc(0.75, 0.65, 0.25, 0.25, 180, 360) + [(1, 1)]],
    "n": [[(0, 0.4), (0, 1)], [(0, 0.6)] + _arc(0.5, 0.7, 0.5, 0.3, 180, 360) + [(1, 1)]],
    "r": [[(0, 0.4), (0, 1)], [(0, 0.65)] + _arc(0.45, 0.7, 0.45, 0.3, 180, 290)],
    "u": [[(0, 0.4)] + _arc(0.5, 0.7, 0.5, 0.3, 180, 0) + [(1, 0.4), (1, 1)]],
    "k": [[(0, 0), (0, 1)], [(0.8, 0.4), (0, 0.75)], [(0.3, 0.65), (0.9, 1)]],
    "t": [[(0.4, 0), (0.4, 0.9)] + _arc(0.65, 0.9, 0.25, 0.1, 180, 90), [(0, 0.35), (0.85, 0.35)]],
    "y": [[(0, 0.35), (0.5, 0.8)], [(1, 0.35), (0.25, 1.2)]],
    "x": [[(0, 0.4), (1, 1)], [(1, 0.4), (0, 1)]],
}
BANK_SIZE = 4096
CALIBRATION_STREAM = 1_000_003  # added to a run's seed: its calibration non-digits are not its training bank's
_DRAW_SIZE = 112  # drawn at 4x, then shrunk with averaging (MNIST's anti-aliasing)


def stroke_bank(count: int = BANK_SIZE, seed: int = 0, polygons: bool = False, letters: bool = False) -> torch.Tensor:
    """`count` non-digit drawings as uint8 (count, 28, 28), white ink on black, fitted like MNIST;
    with `polygons` and `letters`, polygon outlines and pen letters are kinds of their own too."""
    rng = np.random.default_rng([seed, 0x0D1])  # a stream of its own: the run's other draws stay put
    kinds = STROKE_KINDS + ((POLYGON,) if polygons else ()) + ((LETTER,) if letters else ())
    return torch.from_numpy(np.stack([_fit_like_mnist(_draw_strokes(rng, kinds)) for _ in range(count)]))


def calibration_bank(seed: int, count: int = 2048) -> torch.Tensor:
    """Non-digits for fitting the "no digit" logit after training (calibration.py): every kind the
    training bank can hold, from a stream no training run draws."""
    return stroke_bank(count, seed=seed + CALIBRATION_STREAM, polygons=True, letters=True)


def _draw_strokes(rng: np.random.Generator, kinds: tuple[str, ...] = STROKE_KINDS) -> np.ndarray:
    sheet = Image.new("L", (_DRAW_SIZE, _DRAW_SIZE), 0)
    draw = ImageDraw.Draw(sheet)
    kind = kinds[rng.integers(len(kinds))]
    width = int(rng.integers(4, 13))
    middle = _DRAW_SIZE / 2

    def points(count, spread=35.0):
        return [tuple(p) for p in (middle + rng.uniform(-spread, spread, (count, 2)))]

    # Nothing that a digit could be drawn as: no single stroke (a 1, a 7), no loop or ring (a 0),
    # no lone blot; a tangle of strokes, zigzags, hatching, stars, blots.
    if kind == "curves":  # three or four random smooth strokes
        for _ in range(int(rng.integers(3, 5))):
            anchors = np.array(points(4))
            t = np.linspace(0, 1, 30)[:, None]
            bezier = ((1 - t) ** 3 * anchors[0] + 3 * (1 - t) ** 2 * t * anchors[1]
                      + 3 * (1 - t) * t ** 2 * anchors[2] + t ** 3 * anchors[3])
            draw.line([tuple(p) for p in bezier], fill=255, width=width, joint="curve")
    elif kind == "zigzag":
        count = int(rng.integers(5, 10))
        xs = np.linspace(middle - 38, middle + 38, count)
        ys = middle + rng.uniform(-35, 35) * (np.arange(count) % 2 * 2 - 1) * rng.uniform(0.5, 1, count)
        draw.line(list(zip(xs, ys)), fill=255, width=width, joint="curve")
    elif kind == "hatching":  # parallel or crossing strokes
        angle = rng.uniform(0, np.pi)
        for offset in np.linspace(-30, 30, int(rng.integers(3, 7))):
            for turn in (0, np.pi / 2) if rng.random() < 0.5 else (0,):
                dx, dy = np.cos(angle + turn), np.sin(angle + turn)
                cx, cy = middle - dy * offset, middle + dx * offset
                draw.line([(cx - 40 * dx, cy - 40 * dy), (cx + 40 * dx, cy + 40 * dy)], fill=255, width=width)
    elif kind == "star":  # a star: every other corner of a pentagon or heptagon joined
        count = int(rng.choice([5, 7]))
        angle = np.sort(rng.uniform(0, 2 * np.pi, count))
        corners = [(middle + 40 * np.cos(a), middle + 40 * np.sin(a)) for a in angle]
        star = corners[::2] + corners[1::2]
        draw.line(star + star[:1], fill=255, width=width, joint="curve")
    elif kind == POLYGON:  # a triangle to a hexagon: straight sides, sharp corners
        count = int(rng.integers(3, 7))
        angle = np.sort(rng.uniform(0, 2 * np.pi, count)) if rng.random() < 0.5 else \
            np.linspace(0, 2 * np.pi, count, endpoint=False) + rng.uniform(0, np.pi)
        corners = [(middle + 40 * np.cos(a), middle + 40 * np.sin(a)) for a in angle]
        draw.line(corners + corners[:2], fill=255, width=width)  # past the first corner, so that it closes sharp
    elif kind == LETTER:  # a pen letter: its skeleton slanted, stretched and wobbled, 70 px high
        strokes = PEN_LETTERS[list(PEN_LETTERS)[rng.integers(len(PEN_LETTERS))]]
        slant, aspect = rng.uniform(-0.3, 0.3), rng.uniform(0.55, 1.0)
        for stroke in strokes:
            xy = np.array(stroke) + rng.normal(0, 0.03, (len(stroke), 2))
            x = middle + 70 * aspect * (xy[:, 0] - 0.5) - 70 * slant * (xy[:, 1] - 0.5)
            draw.line(list(zip(x, middle + 70 * (xy[:, 1] - 0.5))), fill=255, width=width, joint="curve")
    else:  # blots
        for _ in range(int(rng.integers(3, 7))):
            x, y = middle + rng.uniform(-35, 35, 2)
            r = rng.uniform(5, 18)
            draw.ellipse((x - r, y - r * rng.uniform(0.4, 1), x + r, y + r), fill=255)
    return np.asarray(sheet)


def _fit_like_mnist(ink: np.ndarray) -> np.ndarray:
    """The ink's box fitted and centred in 28x28 as the preprocessing does it (uint8)."""
    fitted = fit_in_28(cropped_to_ink(ink))
    return np.clip(fitted, 0, 255).astype(np.uint8)


def run_together(images: torch.Tensor) -> torch.Tensor:
    """Each image beside the next one of the batch, both shrunk into one 28x28 box (width 28,
    height 14, centred): two touching digits as the preprocessing would fit them if taken whole."""
    pairs = torch.cat([images, images.roll(1, 0)], dim=3)  # (N, 1, 28, 56)
    squeezed = F.interpolate(pairs, size=(14, 28), mode="area")
    return F.pad(squeezed, (0, 0, 7, 7))


def outlier_batch(bank: torch.Tensor, digits: torch.Tensor, count: int) -> torch.Tensor:
    """`count` non-digits as float (count, 1, 28, 28) in [0, 1]: half drawn from the bank at random
    (torch's global generator: seeded per epoch like the rest), half training digits run together."""
    from_bank = count - count // 2
    index = torch.randint(len(bank), (from_bank,), device=bank.device)
    strokes = bank[index].unsqueeze(1).float().div_(255)
    pairs = run_together(digits[:count // 2])
    return torch.cat([strokes, pairs])
