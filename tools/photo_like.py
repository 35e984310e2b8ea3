"""MNIST test digits rendered the way a user's photo of a handwritten digit looks: dark ink on
light, unevenly lit paper, off-centre on a larger canvas, blurred, noisy, colour, JPEG. Used by the
tests and by `tools/evaluate.py`.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from skimage.morphology import skeletonize

from mnist_cnn.preprocess import cropped_to_ink



def render_photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """digit: (28, 28) uint8, white on black (or a row of them, (28, W): a number). Returns an RGB
    JPEG-decoded PIL image."""
    size = int(rng.integers(70, 220))
    size_x = round(size * digit.shape[1] / digit.shape[0])
    ink = np.asarray(Image.fromarray(digit).resize((size_x, size), Image.Resampling.BICUBIC), np.float32) / 255
    height, width = int(size * rng.uniform(1.3, 2.2)), int(size_x * rng.uniform(1.3, 2.2))
    top, left = int(rng.integers(0, height - size)), int(rng.integers(0, width - size_x))
    canvas = np.zeros((height, width), np.float32)
    canvas[top:top + size, left:left + size_x] = np.clip(ink, 0, 1)
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
    return _jpeg(rgb, int(rng.integers(55, 92)))


def _jpeg(rgb: np.ndarray, quality: int) -> Image.Image:
    """An RGB float or uint8 picture as a camera would save it: JPEG-encoded, then decoded."""
    if rgb.dtype != np.uint8:
        rgb = np.clip(rgb * 255, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer)


def tight_crop(digit: np.ndarray, scale: int = 8) -> Image.Image:
    """A white-on-black uint8 digit as dark ink on white, cut at its ink on every side and
    enlarged `scale` times: a digit cropped tight."""
    ink = cropped_to_ink(digit)
    size = (ink.shape[1] * scale, ink.shape[0] * scale)
    return Image.fromarray(255 - ink).resize(size, Image.Resampling.BICUBIC)


def render_tight_photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A digit cut at its ink (tight_crop) as a photo: grey paper and ink, uneven light, blur,
    grain, a tint, JPEG. What a user's photo cropped to the digit looks like."""
    picture = np.asarray(tight_crop(digit), np.float32) / 255  # 1 is paper
    h, w = picture.shape
    paper, ink = rng.uniform(0.7, 0.95), rng.uniform(0.1, 0.35)
    rows, columns = np.mgrid[0:h, 0:w] / max(h, w)
    light = 1 + rng.uniform(-0.12, 0.12) * (columns - 0.5) + rng.uniform(-0.12, 0.12) * (rows - 0.5)
    lit = np.clip((ink + (paper - ink) * picture) * light * 255, 0, 255).astype(np.uint8)
    blurred = Image.fromarray(lit).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    grainy = np.asarray(blurred, np.float32) / 255 + rng.normal(0, rng.uniform(0.01, 0.03), (h, w))
    rgb = np.clip(grainy[..., None] * rng.uniform(0.9, 1.0, 3) * 255, 0, 255).astype(np.uint8)
    return _jpeg(rgb, int(rng.integers(60, 92)))


INKS = ((0.08, 0.08, 0.1), (0.1, 0.15, 0.55))  # black and blue pens, RGB
NOTE_COLOURS = ((0.98, 0.93, 0.45), (0.97, 0.97, 0.95), (0.98, 0.8, 0.85), (0.8, 0.95, 0.98))


def _write(canvas: np.ndarray, digit: np.ndarray, left: int, top: int, size: int, colour, thin: bool = False) -> None:
    """Write a white-on-black 28x28 digit into an RGB float canvas in a pen of `colour`, `size`
    pixels square at (left, top); `thin`: a fine pen, its strokes about half as wide."""
    ink = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), np.float32) / 255
    ink = np.clip((ink - 0.5) / 0.25 if thin else (ink - 0.15) / 0.6, 0, 1)[..., None]
    region = canvas[top:top + size, left:left + size]
    region[:] = region * (1 - ink) + np.asarray(colour, np.float32) * ink


def render_underlined(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A digit underlined by hand on plain paper: the line 0.9-1.5 times the digit's width, under
    it by up to 15% of its height (touching it or apart), up to 4 degrees off level, in the same pen."""
    paper = rng.uniform(0.8, 0.98)
    canvas = np.full((256, 256, 3), paper, np.float32)
    size = int(rng.integers(110, 160))
    left, top = int(rng.integers(20, 256 - size - 20)), int(rng.integers(10, 60))
    colour = INKS[int(rng.integers(len(INKS)))]
    _write(canvas, digit, left, top, size, colour)
    cols, rows = np.flatnonzero(digit.max(0) > 60), np.flatnonzero(digit.max(1) > 60)
    ink_left, ink_right = left + cols[0] * size / 28, left + (cols[-1] + 1) * size / 28
    ink_bottom, height = top + (rows[-1] + 1) * size / 28, (rows[-1] + 1 - rows[0]) * size / 28
    width = ink_right - ink_left
    length = width * rng.uniform(0.9, 1.5)
    middle = (ink_left + ink_right) / 2 + rng.uniform(-0.15, 0.15) * width
    level = ink_bottom + rng.uniform(0.0, 0.15) * height
    tilt = np.tan(np.deg2rad(rng.uniform(-4, 4))) * length / 2
    picture = Image.fromarray((canvas * 255).astype(np.uint8))
    pen = max(2, int(round(size / 28 * rng.uniform(1.2, 2.2))))
    ImageDraw.Draw(picture).line([middle - length / 2, level - tilt, middle + length / 2, level + tilt],
                                 fill=tuple(int(v * 255) for v in colour), width=pen)
    canvas = np.asarray(picture, np.float32) / 255 + rng.normal(0, rng.uniform(0.005, 0.03), canvas.shape)
    return _jpeg(canvas, int(rng.integers(70, 95)))


def render_note(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A digit on a small note or card lying on a desk, all of the note in the frame (a third to
    three fifths of it wide): a yellow, white, pink or blue note on a dark to mid-grey desk, in a
    pen or a fine pen."""
    canvas = np.full((300, 300, 3), rng.uniform(0.05, 0.6), np.float32)
    canvas *= (1.0, 0.8, 0.55) if rng.random() < 0.6 else 1.0  # wood or grey
    note = int(rng.integers(110, 230))
    left, top = int(rng.integers(5, 300 - note - 5)), int(rng.integers(5, 300 - note - 5))
    canvas[top:top + note, left:left + note] = NOTE_COLOURS[int(rng.integers(len(NOTE_COLOURS)))]
    size = int(note * rng.uniform(0.55, 0.85))
    margin = (note - size) // 2
    colour = INKS[int(rng.random() >= 0.5)]
    _write(canvas, digit, left + margin, top + margin, size, colour, thin=rng.random() < 0.5)
    canvas += rng.normal(0, rng.uniform(0.01, 0.04), canvas.shape)
    return _jpeg(canvas, int(rng.integers(70, 95)))


SPACINGS = {"spaced": (3, 8), "close": (0, 2), "touching": (-3, -1)}  # gaps between digits, MNIST pixels


LINE_KINDS = ("written on a line", "underlined", "touching the line above")


def on_a_line(digit: np.ndarray, rng: np.random.Generator, record: dict | None = None) -> np.ndarray:
    """An MNIST digit (28x28 uint8, white on black) with one straight line it touches, drawn with a
    pen like its own: the line of a form or of ruled paper it was written on (running on well past
    it), an underline (a little past the digit each way, wavering), or the line above it crossing
    its top. Tilted up to 4 degrees, 1-3 pixels wide, as dark as the digit or fainter.
    Returns (28, W) with room beside the digit; `record` gets the kind ("kind")."""
    kind = LINE_KINDS[int(rng.integers(len(LINE_KINDS)))]
    if record is not None:
        record["kind"] = kind
    side = int(rng.integers(8, 20))
    strip = np.pad(digit, ((0, 0), (side, side)))
    rows = np.flatnonzero(digit.max(1) > 127)
    scale = 4
    layer = Image.new("L", (strip.shape[1] * scale, 28 * scale))
    width, level = rng.uniform(1.0, 3.0) * scale, int(rng.uniform(0.5, 1.0) * 255)
    if kind == "touching the line above":
        y = rows.min() + rng.uniform(0.5, 2.5)
    else:
        y = rows.max() + rng.uniform(-0.5, 1.0)
    if kind == "underlined":
        reach = rng.uniform(0.3, 0.6) * 20  # past the digit's 20-pixel box on each side
        xs = np.linspace(side + 4 - reach, side + 24 + reach, 8)
        ys = y + rng.normal(0, 0.3, 8)  # a hand's line wanders
    else:
        xs, ys = np.array([0.0, strip.shape[1]]), np.array([y, y])
    ys = ys + np.tan(np.deg2rad(rng.uniform(-4, 4))) * (xs - xs.mean())
    ImageDraw.Draw(layer).line(list(zip(xs * scale, ys * scale)), fill=level, width=round(width), joint="curve")
    line = np.asarray(layer.resize(strip.shape[::-1], Image.Resampling.BOX))
    return np.maximum(strip, line)


def compose_number(digits: list[np.ndarray], rng: np.random.Generator, spacing: str) -> np.ndarray:
    """MNIST digits (28x28 uint8, white on black) written side by side as one number, (28, W): each
    cut to its own columns, moved up or down by up to 2 pixels, with gaps drawn from SPACINGS
    (negative: the digits' boxes overlap, so their strokes often touch)."""
    low, high = SPACINGS[spacing]
    pieces = []
    for digit in digits:
        columns = np.flatnonzero(digit.max(0) > 30)
        piece = np.roll(digit[:, columns.min():columns.max() + 1], int(rng.integers(-2, 3)), axis=0)
        pieces.append(piece)
    gaps = [int(rng.integers(low, high + 1)) for _ in pieces[1:]]
    width = 8 + sum(p.shape[1] for p in pieces) + sum(gaps)
    number = np.zeros((28, width), np.uint8)
    x = 4
    for piece, gap in zip(pieces, gaps + [0]):
        view = number[:, x:x + piece.shape[1]]
        np.maximum(view, piece, out=view)  # overlapping strokes merge, as ink does
        x += piece.shape[1] + gap
    return number


def write_photos(images: np.ndarray, folder: Path, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, digit in enumerate(images):
        path = folder / f"digit_{i:04d}.jpg"
        render_photo(digit, rng).save(path, quality=95)
        paths.append(path)
    return paths


SHEET_SPREAD = (1.6, 2.4)  # the sheet in view, in digit sizes each way: a note photographed
PAGE_SPREAD = (6, 12)  # a whole page photographed, the digit written small on it


def render_hard_photo(digit: np.ndarray, rng: np.random.Generator, record: dict | None = None,
                      spread: tuple[float, float] = SHEET_SPREAD, **fixed) -> Image.Image:
    """A harder photo of a handwritten digit, each trouble drawn at random: the sheet's edges and a
    desk in view, the sheet rotated, ruled or squared paper, a shadow, faint pencil on grey paper, a
    thin pen or a thick marker, or a 16-bit greyscale scan (PNG) instead of a JPEG photo. `fixed`
    pins any of them (pen, faint, ruling, desk, angle, shadow, scan), for tests of one trouble;
    `record`, when given, receives the troubles drawn. The sheet in view is `spread` times the
    digit's size each way (drawn between the two): PAGE_SPREAD is a page photographed whole."""
    record = {} if record is None else record

    def pick(name, draw):  # every draw is made, pinned or not, so the other troubles stay the same
        value = draw()
        record[name] = fixed.get(name, value)
        return record[name]

    size = int(rng.integers(80, 180))
    pen = pick("pen", lambda: rng.choice(["normal", "thin", "thick"]))
    big = Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)
    k = int(rng.choice([5, 7, 9]))
    if pen == "thick":  # a marker: each stroke edge moved out by (k - 1) / 2 pixels
        record["pen_filter"] = k
        big = big.filter(ImageFilter.MaxFilter(k))
    elif pen == "thin":  # a ballpoint: the digit's centre line drawn 3, 2 or 1 pixels wide, whatever its size
        record["pen_width"] = width = {5: 3, 7: 2, 9: 1}[k]
        line = skeleton(big.point(lambda v: 255 * (v > 127)))
        for shift in range(1, width):
            line |= np.roll(line, shift, 0) | np.roll(line, shift, 1)
        big = Image.fromarray(line.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(0.4))
    ink = np.clip(np.asarray(big, np.float32) / 255, 0, 1)
    height, width = int(size * rng.uniform(*spread)), int(size * rng.uniform(*spread))
    faint = pick("faint", lambda: rng.random() < 0.25)
    paper = rng.uniform(0.55, 0.75) if faint else rng.uniform(0.75, 0.95)
    ink_level = paper - rng.uniform(0.12, 0.25) if faint else rng.uniform(0.05, 0.3)
    sheet = np.full((height, width), paper, np.float32)
    ruling = pick("ruling", lambda: rng.choice(["plain", "ruled", "squared"]))
    spacing = int(size * rng.uniform(0.3, 0.55))
    line_level = paper - rng.uniform(0.1, 0.25)
    if ruling != "plain":
        sheet[int(rng.integers(0, spacing))::spacing] = line_level
    if ruling == "squared":
        sheet[:, int(rng.integers(0, spacing))::spacing] = line_level
    # The digit stays clear of what the sheet's rotation (at most 5 degrees) crops off its corners:
    # within a quarter of its size of the edge on a sheet a few times its size, further on a page.
    clear = max(size // 4, int(np.sin(np.deg2rad(5)) * max(height, width)) + 1)
    top, left = int(rng.integers(clear, height - size - clear)), int(rng.integers(clear, width - size - clear))
    region = sheet[top:top + size, left:left + size]
    region += (ink_level - region) * ink
    # The sheet, slightly rotated, lying on a desk that shows on some sides.
    angle = pick("angle", lambda: rng.uniform(-5, 5))
    desk_level = rng.uniform(0.1, 0.45)
    picture = Image.fromarray(sheet, "F").rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=-1.0)
    margins = [int(rng.integers(0, size // 2)) if rng.random() < 0.6 else 0 for _ in range(4)]
    if "desk" in fixed:
        margins = [m or size // 4 for m in margins] if fixed["desk"] else [0, 0, 0, 0]
    record["desk"] = any(margins)
    canvas = np.full((picture.height + margins[0] + margins[1], picture.width + margins[2] + margins[3]),
                     -1.0, np.float32)
    canvas[margins[0]:margins[0] + picture.height, margins[2]:margins[2] + picture.width] = np.asarray(picture)
    # Crop the rotation's empty corners off where no desk margin was asked for on that side.
    crop_y, crop_x = int(abs(np.sin(np.deg2rad(angle))) * width) + 1, int(abs(np.sin(np.deg2rad(angle))) * height) + 1
    canvas = canvas[(0 if margins[0] else crop_y):canvas.shape[0] - (0 if margins[1] else crop_y),
                    (0 if margins[2] else crop_x):canvas.shape[1] - (0 if margins[3] else crop_x)]
    desk = desk_level + rng.normal(0, 0.03, canvas.shape)
    gray = np.where(canvas < 0, desk, canvas)
    ys, xs = np.mgrid[0:gray.shape[0], 0:gray.shape[1]] / max(gray.shape)
    if pick("shadow", lambda: rng.random() < 0.4):  # a soft shadow across part of the picture (a hand, a phone)
        direction = rng.uniform(0, 2 * np.pi)
        along = np.cos(direction) * (xs - 0.5) + np.sin(direction) * (ys - 0.5)
        gray = gray * (1 - rng.uniform(0.15, 0.4) / (1 + np.exp(-(along - rng.uniform(-0.2, 0.3)) / 0.05)))
    gray = gray * (1 + rng.uniform(-0.15, 0.15) * (ys - 0.5))
    if pick("scan", lambda: rng.random() < 0.2):  # a flatbed scan: sharp, clean, 16-bit greyscale
        gray = np.clip(gray + rng.normal(0, 0.004, gray.shape), 0, 1)
        return Image.fromarray((gray * 65535).astype(np.uint16))
    camera = Image.fromarray(np.clip(gray * 255, 0, 255).astype(np.uint8))
    gray = np.asarray(camera.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2))), np.float32) / 255
    gray = gray + rng.normal(0, rng.uniform(0.005, 0.03), gray.shape)
    rgb = np.clip(gray[..., None] * rng.uniform(0.85, 1.0, 3) * 255, 0, 255).astype(np.uint8)
    return _jpeg(rgb, int(rng.integers(60, 92)))


def skeleton(shape: Image.Image) -> np.ndarray:
    """The centre lines, one pixel wide and connected, of the shapes in a binary (0/255) image."""
    return skeletonize(np.asarray(shape) > 0)


def render_canvas(digit: np.ndarray, rng: np.random.Generator, kind: str | None = None) -> Image.Image:
    """A digit drawn on a web canvas or in a paint program: black strokes on white, sharp and
    anti-aliased, thin (down to a pixel or two) or thick, and much smaller or larger than its canvas.
    `kind` pins one of "thin", "one-pixel", "thick", "small", "large"."""
    canvas_size = int(rng.integers(150, 400))
    drawn = rng.choice(["thin", "one-pixel", "thick", "small", "large"])
    kind = kind or drawn
    fraction = {"small": rng.uniform(0.12, 0.25), "large": rng.uniform(0.95, 1.1)}.get(kind, rng.uniform(0.4, 0.8))
    size = max(14, int(canvas_size * fraction))
    # Strokes of constant width: the digit's shape thresholded at high resolution, then thinned or thickened.
    big = Image.fromarray(digit).resize((size * 2, size * 2), Image.Resampling.BICUBIC).point(lambda v: 255 * (v > 100))
    if kind in ("thin", "one-pixel", "small"):
        big = big.filter(ImageFilter.MinFilter(5 if size > 100 else 3))
    elif kind == "thick":
        big = big.filter(ImageFilter.MaxFilter(int(rng.choice([5, 9, 13]))))
    strokes = np.asarray(big.resize((size, size), Image.Resampling.BOX), np.float32) / 255  # anti-aliased
    if kind == "one-pixel":  # strokes one pixel wide, not anti-aliased
        strokes = skeleton(big.resize((size, size), Image.Resampling.BOX).point(lambda v: 255 * (v > 127)))
        strokes = strokes.astype(np.float32)
    canvas = np.zeros((canvas_size, canvas_size), np.float32)
    top = int(rng.integers(0, max(1, canvas_size - size))) if size < canvas_size else (canvas_size - size) // 2
    left = int(rng.integers(0, max(1, canvas_size - size))) if size < canvas_size else (canvas_size - size) // 2
    ys, xs = slice(max(top, 0), min(top + size, canvas_size)), slice(max(left, 0), min(left + size, canvas_size))
    canvas[ys, xs] = strokes[ys.start - top:ys.stop - top, xs.start - left:xs.stop - left]
    return Image.fromarray((255 * (1 - canvas)).astype(np.uint8)).convert("RGB")


def continental_strokes(digit: np.ndarray, label: int, rng: np.random.Generator) -> np.ndarray:
    """A 1 or 7 of MNIST's (28x28 uint8, white on black) written as much of Europe writes it: a 1
    with a flag from its top down to the left, 25-60 degrees below the horizontal and 20-45% of its
    height long (one time in three a base as well), a 7 with a bar across its stem. Drawn with
    Pillow at four times the size, apart from the training's own flags (mnist_cnn/augment.py)."""
    scale = 4
    rows = np.flatnonzero(digit.max(1) > 127)
    top, bottom = int(rows.min()), int(rows.max())
    span = max(bottom - top, 4)

    def centre(row: int) -> float:  # where the stroke crosses that row (a broken one: the digit's middle)
        columns = np.flatnonzero(digit[row] > 127)
        return (float((columns if len(columns) else np.flatnonzero(digit.max(0) > 127)).mean()) + 0.5) * scale

    big = Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(big)
    width = round(rng.uniform(1.8, 2.8) * scale)

    def stroke(start: tuple[float, float], end: tuple[float, float]) -> None:  # round ends, as a pen's
        draw.line([start, end], fill=255, width=width)
        for x, y in (start, end):
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)

    if label == 1:
        angle, length = np.deg2rad(rng.uniform(25, 60)), rng.uniform(0.2, 0.45) * span * scale
        x0, y0 = centre(top), (top + 0.5) * scale
        stroke((x0, y0), (x0 - length * np.cos(angle), y0 + length * np.sin(angle)))
        if rng.random() < 1 / 3:
            half, y = rng.uniform(0.15, 0.3) * span * scale, (bottom + 0.5) * scale
            stroke((centre(bottom) - half, y), (centre(bottom) + half, y))
    elif label == 7:
        row = top + round(rng.uniform(0.45, 0.6) * span)
        half, tilt = rng.uniform(0.15, 0.25) * span * scale, np.tan(np.deg2rad(rng.uniform(-8, 8)))
        x, y = centre(row), (row + 0.5) * scale
        stroke((x - half, y + half * tilt), (x + half, y - half * tilt))
    return np.asarray(big.resize((28, 28), Image.Resampling.BOX))


NON_DIGIT_KINDS = ("printed letter", "handwritten letter", "shape", "scribble", "blotches")
# Letters that are digits in another hand (O 0, I l 1, Z 2, S 5, b 6, q g 9, B 8...) are left out:
# answering those with a digit is not wrong.
LETTERS = "ACEFHKMNPRUVWXYacdefhkmnprtuvwxy"
FONTS = [path for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
                           "DejaVuSans-ExtraLight.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Oblique.ttf")
         if (path := Path("/usr/share/fonts/truetype/dejavu") / name).is_file()]


def render_non_digit(rng: np.random.Generator, kind: str | None = None) -> Image.Image:
    """Something that is not a digit, drawn in dark ink on paper and photographed like
    `render_photo`'s digits: a printed letter (several fonts and weights), a letter drawn as a pen
    line, a shape, a scribble or blotches. `kind` pins one of NON_DIGIT_KINDS."""
    kind = kind or str(rng.choice(NON_DIGIT_KINDS))
    size = 280
    sheet = Image.new("L", (size, size), 0)  # ink as white on black, turned into a photo below
    draw = ImageDraw.Draw(sheet)
    width = int(rng.integers(3, 14))
    if kind in ("printed letter", "handwritten letter"):
        letter = str(rng.choice(list(LETTERS)))
        font_size = int(rng.integers(120, 200))
        font = ImageFont.truetype(str(rng.choice(FONTS)), font_size) if FONTS else ImageFont.load_default(font_size)
        draw.text((size / 2, size / 2), letter, fill=255, font=font, anchor="mm")
        if kind == "handwritten letter":  # its centre line, drawn with a pen of its own width
            line = skeleton(sheet.point(lambda v: 255 * (v > 127)))
            sheet = Image.fromarray(line.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(width // 2 * 2 + 1))
    elif kind == "shape":
        corners = int(rng.choice([3, 4, 5, 6]))
        angles = np.sort(rng.uniform(0, 2 * np.pi, corners)) if rng.random() < 0.5 else \
            np.linspace(0, 2 * np.pi, corners, endpoint=False) + rng.uniform(0, np.pi)
        radius = rng.uniform(60, 120)
        points = [(size / 2 + radius * np.cos(a), size / 2 + radius * np.sin(a)) for a in angles]
        if rng.random() < 0.5:  # a star: every other corner joined
            points = points[::2] + points[1::2] if corners % 2 else points
        draw.line(points + points[:1], fill=255, width=width, joint="curve")
    elif kind == "scribble":
        steps = rng.normal(0, 25, (int(rng.integers(8, 30)), 2)).cumsum(0)
        steps = steps - steps.mean(0) + size / 2
        draw.line([tuple(p) for p in steps.clip(20, size - 20)], fill=255, width=width, joint="curve")
    else:  # blotches: a few ink spots, as a dirty or stained sheet
        for _ in range(int(rng.integers(2, 7))):
            x, y, r = rng.uniform(40, size - 40), rng.uniform(40, size - 40), rng.uniform(5, 30)
            draw.ellipse((x - r, y - r * rng.uniform(0.4, 1), x + r, y + r), fill=int(rng.integers(120, 256)))
    return render_photo(np.asarray(sheet.resize((28, 28), Image.Resampling.BOX)), rng)
