"""The failure classes seen on users' images, one by one: a sheet on a desk, ruled and squared
paper, faint pencil, high-bit-depth and unusual image modes, and pictures with no digit at all."""

import io
import itertools
from functools import partial

import matplotlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

matplotlib.use("Agg")  # files only
import matplotlib.pyplot as plt  # noqa: E402

from conftest import REPO_DIR
from mnist_cnn import preprocess
from mnist_cnn.inference import load_model, top_log_probability
from mnist_cnn.preprocess import (WEAK_POLARITY, ImageError, _among, _filled_sheet, _frame_ink, _line_near, _median,
                                  _percentile, _plain_paper, _small_digit_candidate, _smooth, _square_filter,
                                  _two_classes_threshold, _without_line, _without_separate_underline, cropped_to_ink,
                                  dot_grid_level, find_digit, ink_levels, ink_map, label_components, noise_level,
                                  polarity_evidence, polarity_in_doubt, read_image, read_picture_digits,
                                  ruling_level, to_gray, to_mnist, without_frame, without_ring, without_ruling, without_underline,
                                  working_gray)
from tools.evaluate import load_set
from tools.photo_like import (FONTS, PAGE_SPREAD, SHEET_SPREAD, _jpeg, continental_strokes, on_a_line, render_canvas,
                              render_hard_photo, render_non_digit, render_note, render_photo, render_tight_photo,
                              render_underlined, tight_crop)

MODEL = REPO_DIR / "output_improved" / "model.onnx"
INDICES = range(12)  # the first test digits: 7 2 1 0 4 1 4 9 5 9 0 6


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


def sheet(digit: np.ndarray, size=(420, 360), paper=0.88, ink=0.2, scale=5, lines=(), columns=(), desk=0,
          desk_level=0.25) -> np.ndarray:
    """A dark-ink digit (white-on-black 28x28 uint8) on light paper, greyscale in [0, 1]; optional
    ruled lines (rows), squared-paper columns, and a dark desk frame `desk` pixels wide."""
    page = np.full(size, paper, np.float32)
    for row in lines:
        page[row:row + 2] = paper - 0.25
    for column in columns:
        page[:, column:column + 2] = paper - 0.25
    big = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC), np.float32) / 255
    top, left = (size[0] - 28 * scale) // 2, (size[1] - 28 * scale) // 2
    region = page[top:top + 28 * scale, left:left + 28 * scale]
    region -= (region - ink) * np.clip(big, 0, 1)
    if desk:
        page[:desk], page[-desk:], page[:, :desk], page[:, -desk:] = desk_level, desk_level, desk_level, desk_level
    return page


def photographed(canvas: np.ndarray) -> Image.Image:
    """An RGB float picture in [0, 1] as a phone saves it: blurred a little, JPEG."""
    return _jpeg(np.asarray(Image.fromarray((canvas * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7))), 85)


def read_right_and_sure(model, picture: Image.Image | np.ndarray, label: int) -> bool:
    """Whether the command line's pipeline finds one digit in the picture (a Pillow image or
    greyscale) and reads it as `label`, at least as sure as the model's threshold; a refusal is wrong."""
    gray = to_gray(picture) if isinstance(picture, Image.Image) else picture
    try:
        found = read_picture_digits(gray, score=partial(top_log_probability, model), sure=model.min_confidence)
    except ImageError:
        return False
    read = model.probabilities(np.stack([digit.image for digit in found]))
    return len(found) == 1 and read[0].argmax() == label and read[0].max() >= model.min_confidence


def read_all(model, mnist, **scene) -> float:
    images = [to_mnist(sheet(mnist.test_images[i].numpy(), **scene)) for i in INDICES]
    predictions = model.probabilities(np.stack(images)).argmax(1)
    return float(np.mean(predictions == mnist.test_labels[list(INDICES)].numpy()))


def test_connected_components_match_a_known_layout():
    mask = np.zeros((8, 10), bool)
    mask[1:3, 1:3] = mask[3, 3] = True  # diagonal neighbours join (8-connectivity)
    mask[5:7, 5:9] = True
    mask[0, 9] = True
    labels, count = label_components(mask)
    assert count == 3
    assert labels[1, 1] == labels[3, 3] != labels[5, 5] and labels[0, 9] not in (0, labels[5, 5])
    assert (labels[~mask] == 0).all()


def flood_fill_components(mask: np.ndarray) -> np.ndarray:
    """The reference: 8-connected components by flood fill, numbered in the order of their first
    pixel, row by row."""
    labels, count = np.zeros(mask.shape, int), 0
    for start in zip(*np.nonzero(mask)):
        if labels[start]:
            continue
        count += 1
        labels[start], stack = count, [start]
        while stack:
            y, x = stack.pop()
            for dy, dx in itertools.product((-1, 0, 1), repeat=2):
                near = (y + dy, x + dx)
                if 0 <= near[0] < mask.shape[0] and 0 <= near[1] < mask.shape[1] and mask[near] and not labels[near]:
                    labels[near] = count
                    stack.append(near)
    return labels


def spiral(size: int) -> np.ndarray:
    """A one-pixel spiral path: the longest way round for labels to travel."""
    mask, (y, x), (dy, dx), step = np.zeros((size, size), bool), (size // 2, size // 2), (0, 1), 1
    while True:
        for _ in range(2):
            for _ in range(step):
                if not (0 <= y < size and 0 <= x < size):
                    return mask
                mask[y, x] = True
                y, x = y + dy, x + dx
            dy, dx = dx, -dy
        step += 2


@pytest.mark.parametrize("seed", range(6))
def test_connected_components_match_a_flood_fill(seed):
    rng = np.random.default_rng(seed)
    masks = [rng.random(tuple(rng.integers(1, 40, 2))) < share for share in (0.2, 0.45, 0.6)]
    masks += [spiral(int(rng.integers(5, 60))), np.zeros((7, 9), bool), np.ones((1, 12), bool)]
    for mask in masks:
        labels, count = label_components(mask)
        assert np.array_equal(labels, flood_fill_components(mask)) and count == labels.max(initial=0)


def test_square_filters_take_the_minimum_and_maximum_of_each_square():
    image = np.random.default_rng(0).random((23, 31)).astype(np.float32)
    for size in (1, 3, 5, 9, 27):
        half = size // 2
        padded = np.pad(image, half, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
        assert np.array_equal(_square_filter(image, size, np.minimum), windows.min(axis=(2, 3)))
        assert np.array_equal(_square_filter(image, size, np.maximum), windows.max(axis=(2, 3)))
        # It stands in for Pillow's MaxFilter (size^2 work per pixel) on a digit's thin strokes. Size 1
        # is left out: Pillow 12.3's MaxFilter(1) on a float picture stops the process (SIGFPE).
        if size > 1:
            maximum = np.asarray(Image.fromarray(image).filter(ImageFilter.MaxFilter(size)))
            assert np.array_equal(_square_filter(image, size, np.maximum), maximum)


def test_a_sheet_on_a_dark_desk_is_not_taken_for_the_digit(model, mnist):
    assert read_all(model, mnist, desk=40) >= 11 / 12
    page = sheet(mnist.test_images[0].numpy(), desk=40)
    kept = find_digit(ink_map(page))[0]
    rows, cols = np.flatnonzero(kept.any(1)), np.flatnonzero(kept.any(0))
    assert rows.min() > 40 and cols.min() > 40 and rows.max() < page.shape[0] - 40, "the desk was kept"


def test_ruled_and_squared_paper(model, mnist):
    ruled = dict(lines=range(15, 420, 45))
    assert read_all(model, mnist, **ruled) >= 11 / 12
    assert read_all(model, mnist, lines=range(15, 420, 45), columns=range(20, 360, 45)) >= 10 / 12


def test_a_faint_digit_across_a_fine_squared_grid_on_a_small_picture_is_found(model, mnist):
    # A thick stroke crossing a line every 24 pixels has half its pixels on the lines found, which
    # was taken for what the ruling's subtraction missed: of the first 24 test digits, 4 were refused
    # and 15 read right and sure before; now its strokes between the lines keep it.
    sure, refused = 0, 0
    for i in range(24):
        page = sheet(mnist.test_images[i].numpy(), size=(200, 145), paper=0.85, ink=0.5, scale=3,
                     lines=range(6, 200, 24), columns=range(5, 145, 24))
        picture = np.asarray(Image.fromarray((page * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.5)),
                             np.float32) / 255
        try:
            image = read_picture_digits(picture, single=True, score=partial(top_log_probability, model),
                                        sure=model.min_confidence)[0].image
        except ImageError:
            refused += 1
            continue
        probabilities = model.probabilities(image[None])[0]
        sure += int(probabilities.argmax() == int(mnist.test_labels[i]) and probabilities.max() >= model.min_confidence)
    assert refused <= 1 and sure >= 18


def in_perspective(page: np.ndarray, nearer: float) -> np.ndarray:
    """The page photographed with its left side nearer the camera, by `nearer` of its height on each
    end: straight lines converging to the right, a dark desk in the wedges above and below."""
    h, w = page.shape
    source = [(0, -nearer * h), (0, h + nearer * h), (w, h), (w, 0)]  # where each corner comes from
    rows = []
    for (x, y), (u, v) in zip([(0, 0), (0, h), (w, h), (w, 0)], source):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
    coefficients = np.linalg.solve(np.array(rows, float), np.array(source, float).ravel())
    picture = Image.fromarray(page, "F").transform((w, h), Image.Transform.PERSPECTIVE, tuple(coefficients),
                                                  Image.Resampling.BICUBIC, fillcolor=0.3)
    return np.asarray(picture, np.float32)


@pytest.mark.parametrize("nearer", [0.05, 0.15])
def test_ruling_that_converges_in_perspective_is_found(model, mnist, nearer):
    # One slope fitted all the lines: ruled paper photographed at a slant, its lines fanning out, was
    # read with pieces of them (here 8 and 3 of the 12 read right before, 12 and 12 now).
    images = [to_mnist(in_perspective(sheet(mnist.test_images[i].numpy(), lines=range(15, 420, 30)), nearer))
              for i in INDICES]
    predictions = model.probabilities(np.stack(images)).argmax(1)
    assert (predictions == mnist.test_labels[list(INDICES)].numpy()).sum() >= 11


def askew_grid(first: int, tilt: float = 0.0, bend: float = 0.0, size=(256, 220), spacing=40,
               stroke: tuple[slice, slice] | None = None) -> tuple[np.ndarray, list]:
    """A squared sheet, its lines blurred a little; the columns from `first`, each moved right by
    `tilt` pixels from top to bottom and bent by `bend` more (quadratically: a curled sheet); blank
    but for a pen's `stroke` (rows, columns), when given. Returns the picture and each column's x
    at every row."""
    h, w = size
    page = np.full(size, 0.88, np.float32)
    for row in range(20, h, spacing):
        page[row:row + 2] = 0.68
    ys = np.arange(h)
    columns = [np.round(c + tilt * ys / h + bend * (ys / h) ** 2).astype(int) for c in range(first, w, spacing)]
    for xs in columns:
        inside = (xs >= 0) & (xs < w - 1)
        page[ys[inside], xs[inside]] = page[ys[inside], xs[inside] + 1] = 0.68
    if stroke is not None:
        page[stroke] = 0.53
    page = np.asarray(Image.fromarray((page * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0)), np.float32) / 255
    return np.clip(page + np.random.default_rng(0).normal(0, 0.01, size), 0, 1).astype(np.float32), columns


def left_of_each_line(page: np.ndarray, columns: list) -> list[float]:
    """The share of each column's pixels still ink once the ruling found is taken out (as find_digit
    takes it out); about 0.13 where only the crossings with the rows stay (ink there is twice a line's)."""
    ink = _smooth(ink_map(page))
    noise = noise_level(ink)
    weak = ink_levels(without_ruling(ink, ruling_level(ink, noise)), noise)[0]
    left = []
    for xs in columns:
        ys = np.flatnonzero((xs >= 0) & (xs < page.shape[1] - 1))
        left.append(float(np.mean(weak[ys, xs[ys]] | weak[ys, xs[ys] + 1])))
    return left


def test_a_squared_sheets_outermost_line_askew_at_the_pictures_edge_is_ruling():
    # The search shears the picture so that a line at the slope tried is a row; this one is the
    # first row, and a row there was measured against copies of itself: never standing out, it
    # stayed, cut into cells' sides by the rows (84% of it left before; a scan read as a sure 1).
    page, columns = askew_grid(first=0, tilt=14)
    assert max(left_of_each_line(page, columns)) < 0.2


def test_ruling_that_strays_from_its_slope_is_followed():
    # Lines found at one slope, 1 degree from the next tried, bent a few pixels more (a curled
    # sheet): 19-20% of each was left before, beside the band found; 13-14% now (the crossings).
    page, columns = askew_grid(first=20, tilt=10, bend=-8)
    assert max(left_of_each_line(page, columns)) < 0.16


@pytest.mark.parametrize("gap", [2, 3, 4])
def test_a_stroke_lying_beside_a_line_is_not_the_line_straying(gap):
    # A pen's stroke along a squared sheet's column, `gap` pixels beside it and darker than it (the
    # stem of a 7 or a 1 written beside a line) pulled the line's course onto itself, and the stroke
    # was taken out as the line: 3-4% of it was left (a hard photo's 7 read as "71").
    column = 100
    rows, columns = slice(60, 170), slice(column + 2 + gap, column + 5 + gap)
    page, _ = askew_grid(first=20, stroke=(rows, columns))
    ink = _smooth(ink_map(page))
    noise = noise_level(ink)
    cleaned = without_ruling(ink, ruling_level(ink, noise))
    weak = ink_levels(cleaned, noise)[0]
    assert weak[rows, columns].mean() > 0.99
    assert cleaned[rows, columns].mean() > 0.85 * ink[rows, columns].mean()


def test_faint_ruling_is_found_on_a_sheet_that_fills_part_of_the_picture(model, mnist):
    # Squared paper whose lines stand out of the paper by less than twice its grain (the grain breaks
    # them into dashes), the sheet covering 5/7 of the picture's height (a desk below) and the digit
    # crossing three of its rows. A search in a mask of the ink missed the rows the digit crossed.
    page = sheet(mnist.test_images[4].numpy(), paper=0.85)  # a 4
    rows, columns = range(15, 300, 40), range(20, 360, 40)
    for row in rows:
        page[row:row + 2] -= 0.05
    for column in columns:
        page[:300, column:column + 2] -= 0.05
    page[300:] = 0.3
    page = np.clip(page + np.random.default_rng(0).normal(0, 0.03, page.shape), 0, 1).astype(np.float32)
    ink = _smooth(ink_map(page))
    level = ruling_level(ink, noise_level(ink))
    assert all(level[row, 250:350].mean() > 0 for row in rows)
    assert all(level[10:100, column].mean() > 0 for column in columns)
    assert model.probabilities(to_mnist(page)[None])[0].argmax() == 4


def test_a_dot_grid_is_found_and_ruled_lines_and_grain_are_no_dot_grid():
    ink = np.zeros((256, 256), np.float32)
    ys, xs = np.mgrid[5:256:12, 5:256:12].reshape(2, -1)
    for y, x in zip(ys, xs):  # a bullet journal's dots, two pixels across
        ink[y:y + 2, x:x + 2] = 0.4
    ink[40:200, 100:112] = 1.0  # a broad stroke across them
    noise = 0.02
    rows = np.zeros_like(ink, bool)
    rows[(ys[xs == 5])[:, None] + np.arange(2)] = True  # the rows of dots, as the ruling search finds them
    level = dot_grid_level(ink, noise, rows)
    assert level[5, 5] == pytest.approx(0.4) and level[125, 125] > 0 and not level[100:140, 102:110].any()
    # Solid ruled lines through the same dots: the dots are no longer what lies on the lines.
    ruled = ink.copy()
    ruled[rows] = 0.4
    assert not dot_grid_level(ruled, noise, rows).any()
    # A strip of shadow along an edge, its dots run together, larger than a broad digit's stroke:
    # the stroke was counted as ink on the lines that no dot makes (a 1 read as "11").
    shaded = ink.copy()
    shaded[40:200, 80:124] = 1.0  # a broader stroke
    shaded[:, 226:] = np.maximum(shaded[:, 226:], 0.3)
    assert dot_grid_level(shaded, noise, rows)[5, 5] > 0
    # Specks of grain scattered at random lie at no one distance from each other.
    grain = np.zeros_like(ink)
    at = np.random.default_rng(0).integers(0, 254, (len(ys), 2))
    grain[at[:, 0], at[:, 1]] = 0.4
    assert not dot_grid_level(grain, noise).any()


def dot_grid_photo(digit: np.ndarray, seed: int) -> Image.Image:
    """A digit written with a broad felt pen (the paper's dots showing through its ink) on a bullet
    journal's dot grid, photographed: light falling off to one side, a little blur, JPEG."""
    rng = np.random.default_rng(seed)
    page = Image.new("RGB", (520, 520), (245, 242, 232))
    draw = ImageDraw.Draw(page)
    step, offset, radius = int(rng.integers(16, 28)), int(rng.integers(0, 16)), rng.uniform(1.0, 2.2)
    for y in range(offset, 520, step):
        for x in range(offset, 520, step):
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(150, 150, 150))
    size = int(rng.integers(200, 360))
    pen = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), np.float32) / 255
    pen = 0.9 * np.clip(pen, 0, 1)[..., None]
    picture = np.asarray(page, np.float32) / 255
    top, left = int(rng.integers(0, 520 - size)), int(rng.integers(0, 520 - size))
    region = picture[top:top + size, left:left + size]
    picture[top:top + size, left:left + size] = region * (1 - pen) + np.array([0.1, 0.1, 0.2]) * pen
    picture *= (0.85 + 0.15 * np.linspace(1, 0, 520))[None, :, None]
    photo = Image.fromarray((picture * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    return _jpeg(np.asarray(photo), 80)


def test_a_digit_on_a_dot_grid_is_read_whole(model, mnist):
    # A dot grid's rows of dots were found as ruled lines and subtracted at the dots' level: a broad
    # stroke crossing them was carved into strips, a 1 read as "111", a 4 as "1". The dots are taken
    # out instead. Read as the command line reads them (a number where ink lies side by side), the
    # test set's first 20 1s: 20 one digit, right and sure (18 before, two read "111" and "11"); its
    # first 30 digits: 27 (25; a 4 read "41" twice and a 0 "01" before, a 2, a 5 and a 0 unsure now).
    labels = mnist.test_labels.numpy()
    for chosen, least in ((np.flatnonzero(labels == 1)[:20], 20), (np.arange(30), 27)):
        right = sum(read_right_and_sure(model, dot_grid_photo(mnist.test_images[index].numpy(), int(index)), labels[index])
                    for index in chosen)
        assert right >= least, chosen


def test_faint_pencil_on_grey_paper(model, mnist):
    rng = np.random.default_rng(0)
    images = []
    for i in INDICES:
        page = sheet(mnist.test_images[i].numpy(), paper=0.62, ink=0.5)  # contrast 0.12
        images.append(to_mnist(np.clip(page + rng.normal(0, 0.01, page.shape), 0, 1).astype(np.float32)))
    predictions = model.probabilities(np.stack(images)).argmax(1)
    assert np.mean(predictions == mnist.test_labels[list(INDICES)].numpy()) >= 11 / 12


# The sheet's digit fills rows 140-280 and columns 110-250; MNIST's ink lies in their rows ~160-260.
@pytest.mark.parametrize("row", [256, 164], ids=["written-on", "touching-the-line-above"])
def test_a_single_line_the_digit_touches_is_not_part_of_it(model, mnist, row):
    assert read_all(model, mnist, lines=(row,)) >= 11 / 12
    for i in INDICES:
        kept = find_digit(ink_map(sheet(mnist.test_images[i].numpy(), lines=(row,))))[0]
        columns = np.flatnonzero(kept.any(0))
        assert columns.min() >= 110 and columns.max() < 250, f"test digit {i}: the line was kept"


def test_grain_where_the_line_runs_off_the_picture_is_not_the_digits_extent(model, mnist):
    # A smudge where the line meets the picture's edge came with the line and stood above it: taken
    # for part of the digit, it left the line no reach past the digit on that side, and the line was
    # kept (the first 12 digits: 5 read right before, 6 lines kept; 12 now, none kept).
    right = 0
    for i in INDICES:
        page = sheet(mnist.test_images[i].numpy(), lines=(256,))
        page[240:262, :6] = 0.3
        kept = find_digit(ink_map(page))[0]
        columns = np.flatnonzero(kept.any(0))
        assert columns.min() >= 110 and columns.max() < 250, f"test digit {i}: the line was kept"
        right += model.probabilities(to_mnist(page)[None]).argmax() == int(mnist.test_labels[i])
    assert right >= 11


def test_a_margin_line_the_digit_touches_is_not_part_of_it(model, mnist):
    # A notebook's margin, or the side of a form's box, running from edge to edge of the picture
    # through the digit's leftmost stroke: it came with the digit as one piece, and the model saw a
    # 1 beside a squeezed digit (2 of 12 read right before, every line kept).
    right = 0
    for i in INDICES:
        digit = mnist.test_images[i].numpy()
        margin = 110 + 5 * np.flatnonzero((digit > 127).any(0)).min() + 1  # on the ink's left edge
        page = sheet(digit, columns=(margin,))
        rows = np.flatnonzero(find_digit(ink_map(page))[0].any(1))
        assert rows.min() >= 140 and rows.max() < 280, f"test digit {i}: the margin line was kept"
        right += model.probabilities(to_mnist(page)[None]).argmax() == int(mnist.test_labels[i])
    assert right >= 11


@pytest.mark.parametrize("upright", [False, True], ids=["level", "upright"])
def test_a_faint_line_across_the_digit_is_taken_out(model, mnist, upright):
    # A fold's crease or a scanner's streak from edge to edge through the digit's middle, a seventh
    # as dark as the digit: it came with the digit, whose strokes lie on both sides of it (the first
    # 12 digits: 7 level and 2 upright read right before, every line kept; 12 and 12 now).
    right = 0
    for i in INDICES:
        page = sheet(mnist.test_images[i].numpy())
        if upright:
            page[:, 179:182] -= 0.1
        else:
            page[209:212] -= 0.1
        kept = find_digit(ink_map(page))[0]
        assert not (kept[:, :100].any() or kept[:, 260:].any() or kept[:130].any() or kept[290:].any()), \
            f"test digit {i}: the line was kept"
        right += model.probabilities(to_mnist(page)[None]).argmax() == int(mnist.test_labels[i])
    assert right >= 11


def test_a_digit_in_a_forms_box_is_read_without_the_box(model, mnist):
    # The box's lines run on to the picture's edges and cross each side twice; taken for a 0 cropped
    # tight (a ring reaching all four sides), they were kept with a 1 and outweighed it (8 of the
    # first 12 1s read right before).
    ones = np.flatnonzero(mnist.test_labels.numpy() == 1)[:12]
    right = 0
    for i in ones:
        page = sheet(mnist.test_images[i].numpy(), lines=(128, 292), columns=(98, 262))
        kept = find_digit(ink_map(page))[0]
        assert not kept[128:130].any() and not kept[:, 98:100].any(), f"test digit {i}: the box was kept"
        right += model.probabilities(to_mnist(page)[None]).argmax() == 1
    assert right >= 11


def in_a_box(digit: np.ndarray, side: int, overlap: int) -> Image.Image:
    """A form's printed box with a label above it, the digit (white-on-black 28x28 uint8) written
    big in blue-black ink and running `overlap` pixels onto or past one `side` of the box (0-3: top,
    bottom, left, right), photographed: blurred a little, saved as JPEG."""
    page = Image.new("RGB", (640, 600), (250, 250, 245))
    draw = ImageDraw.Draw(page)
    if FONTS:
        draw.text((200, 150), "Amount:", fill=(40, 40, 40), font=ImageFont.truetype(FONTS[0], 18))
    left, top, size = 200, 190, 240
    draw.rectangle((left, top, left + size, top + size), outline=(60, 60, 60), width=2)
    pen = np.asarray(Image.fromarray(digit).resize((240, 240), Image.Resampling.BICUBIC), np.float32) / 255
    rows, cols = np.nonzero(pen > 0.3)
    y = top + (size - np.ptp(rows)) // 2 - rows.min()
    x = left + (size - np.ptp(cols)) // 2 - cols.min()
    y = (top - rows.min() - overlap, top + size - rows.max() + overlap, y, y)[side]
    x = (x, x, left - cols.min() - overlap, left + size - cols.max() + overlap)[side]
    canvas = np.asarray(page, np.float32) / 255
    region = canvas[y:y + 240, x:x + 240]
    region += (np.array([0.1, 0.1, 0.3]) - region) * 0.9 * np.clip(pen, 0, 1)[..., None]
    return photographed(canvas)


def test_a_digit_running_onto_its_forms_box_is_read_without_the_box(model, mnist):
    # The digit touching the box made one piece with it, and the box, its label above with it, was
    # read with the digit: the first 20 test digits so written, touching a side or crossing it,
    # 8 and 6 read right and sure before, 20 and 20 now.
    labels = mnist.test_labels.numpy()
    for overlap in (4, 20):
        right = sum(read_right_and_sure(model, in_a_box(mnist.test_images[i].numpy(), side=i % 4, overlap=overlap),
                                        labels[i]) for i in range(20))
        assert right >= 19, f"{right} of 20 read right running {overlap} pixels onto the box"


def in_a_row_of_boxes(digits: np.ndarray) -> Image.Image:
    """A form's row of printed boxes sharing their sides (a postcode's, a date's), one digit of
    `digits` (white-on-black 28x28 uint8) written in each, well clear of its sides (a digit near a
    side is joined to the boxes at the working size), photographed."""
    page = Image.new("RGB", (900, 400), (250, 250, 245))
    draw = ImageDraw.Draw(page)
    left, top, size = 120, 100, 150
    for k in range(len(digits)):
        draw.rectangle((left + k * size, top, left + (k + 1) * size, top + size), outline=(60, 60, 60), width=2)
    canvas = np.asarray(page, np.float32) / 255
    for k, digit in enumerate(digits):
        pen = np.asarray(Image.fromarray(digit).resize((90, 90), Image.Resampling.BICUBIC), np.float32) / 255
        region = canvas[top + 30:top + 120, left + k * size + 30:left + k * size + 120]
        region += (np.array([0.1, 0.1, 0.3]) - region) * 0.9 * np.clip(pen, 0, 1)[..., None]
    return photographed(canvas)


def test_digits_in_a_row_of_boxes_are_read_as_the_number(model, mnist):
    # Digits in boxes lie further apart than a number's written freely: only the heaviest was read
    # (its box, looked at closer). Within a frame, as tall as the row and level with it, they are
    # the number's however far apart: the test set's digits 0-39 four to a row of boxes, 0 -> 8 of
    # 10 numbers read right and sure (the other two right, a 5 and a 3 in them unsure).
    labels = mnist.test_labels.numpy()
    score = partial(top_log_probability, model)
    right = 0
    for first in range(0, 40, 4):
        picture = in_a_row_of_boxes(mnist.test_images[first:first + 4].numpy())
        found = read_picture_digits(to_gray(picture), score=score, sure=model.min_confidence)
        read = model.probabilities(np.stack([digit.image for digit in found]))
        right += ("".join(map(str, read.argmax(1))) == "".join(map(str, labels[first:first + 4]))
                  and read.max(1).min() >= model.min_confidence)
    assert right >= 8


def shown_by_matplotlib(digit: np.ndarray, cmap: str) -> Image.Image:
    """A 28x28 digit as many users first save one: `plt.imshow(digit, cmap=cmap)` on a default
    figure (640x480, the axes' frame, ticks and their labels around the image), saved as PNG."""
    figure = plt.figure()
    plt.imshow(digit, cmap=cmap)
    saved = io.BytesIO()
    figure.savefig(saved, format="png")
    plt.close(figure)
    return Image.open(saved)


def test_a_digit_shown_by_matplotlib_in_grey_is_read(model, mnist):
    # White strokes on the image's black square, on the figure's white page. The square was read
    # as the digit ("0", or a sure "13"), and read again as a photo only the same way round; the
    # strokes' cores, white like the page, were taken for its flat paper. The test set's first 30
    # digits: 25 read right and sure before, 29 now (digit 8, a 5, is read unsure from its own 28x28 file too).
    right = sum(read_right_and_sure(model, shown_by_matplotlib(digit, "gray"), label)
                for digit, label in zip(mnist.test_images[:30].numpy(), mnist.test_labels[:30].numpy()))
    assert right >= 29


def test_a_1_shown_by_matplotlib_between_its_axes_is_no_ruling(model, mnist):
    # Black on white ("gray_r"): the 1's stem, evenly between the axes' two sides, made three upright
    # "lines" with them, and was cut lengthwise as ruling (unsure, or a sure "11"). The test set's
    # first 45 1s: 38 read right and sure before, all now.
    ones = mnist.test_images[mnist.test_labels == 1][:45].numpy()
    assert all(read_right_and_sure(model, shown_by_matplotlib(digit, "gray_r"), 1) for digit in ones)


def test_the_flat_papers_level_inside_other_ink_is_ink():
    # A white page's exact level is paper where it reaches the picture's edge; white strokes on a
    # black image lying on that page have it too, and were left as two outlines.
    page = np.ones((240, 320), np.float32)
    page[40:200, 80:240] = 0.0
    page[70:170, 150:166] = 1.0
    ink = ink_map(page, dark_ink=False, canvas=False)
    assert ink[80:160, 154:162].min() > 0.5
    assert ink[:30].max() <= 0 and ink[:, :60].max() <= 0


def test_a_frame_is_four_thin_sides_and_no_digit_is_one(mnist):
    # A 1 against a frame's left side, a stroke crossing its right side, a label outside the frame.
    mask = np.zeros((200, 200), bool)
    mask[40:42, 30:170] = mask[168:170, 30:170] = mask[40:170, 30:32] = mask[40:170, 168:170] = True
    mask[60:150, 32:37] = True  # the 1, along the left side
    mask[100:104, 150:190] = True  # a stroke crossing the right side
    mask[20:30, 40:90] = True  # the label above, taken in with the box
    kept = without_frame(mask)
    assert kept[60:150, 32:37].all() and kept[100:104, 150:190].all(), "the digit's strokes were cut"
    assert not kept[41, 60:160].any() and not kept[169].any() and not kept[20:30].any()
    assert not kept[130:160, 168:170].any() and not kept[45:55, 30:32].any()
    # A square 0 drawn with a pen (nothing inside it) is no frame; nor is one as thick as a digit's
    # strokes (a tenth of its size), nor a frame open on one side; nor any of the test set's first 400 digits.
    square = np.zeros((200, 200), bool)
    square[40:43, 30:170] = square[167:170, 30:170] = square[40:170, 30:33] = square[40:170, 167:170] = True
    assert np.array_equal(without_frame(square), square)
    thick = np.zeros((200, 200), bool)
    thick[40:170, 30:170] = True
    thick[54:156, 44:156] = False
    thick[70:140, 90:110] = True
    assert np.array_equal(without_frame(thick), thick)
    open_frame = mask.copy()
    open_frame[168:170] = False
    assert np.array_equal(without_frame(open_frame), open_frame)
    for i, digit in enumerate(mnist.test_images[:400].numpy()):
        digit = np.pad(np.asarray(Image.fromarray(digit).resize((140, 140), Image.Resampling.BICUBIC)) > 100, 20)
        assert np.array_equal(without_frame(digit), digit), f"test digit {i} lost strokes"


def in_a_ring(digit: np.ndarray, gap: int, tilt: float) -> Image.Image:
    """The digit (white-on-black 28x28 uint8) written in blue-black ink, ringed by hand with the same
    pen: an oval `gap` pixels out from its ink box's corners' ellipse (0 runs through its outermost
    strokes), turned `tilt` degrees, its ends overlapping; photographed (blurred a little, JPEG)."""
    page = Image.new("L", (640, 480), 0)
    pen = np.asarray(Image.fromarray(digit).resize((200, 200), Image.Resampling.BICUBIC), np.float32) / 255
    rows, cols = np.nonzero(pen > 0.3)
    centre_y, centre_x = 140 + (rows.min() + rows.max()) / 2, 220 + (cols.min() + cols.max()) / 2
    half_height, half_width = np.ptp(rows) / 2 + gap, max(np.ptp(cols) / 2, 0.45 * np.ptp(rows)) + gap
    turn = np.linspace(0.3, 0.3 + 2.1 * np.pi, 240)
    x, y = half_width * np.cos(turn), half_height * np.sin(turn)
    tilt = np.deg2rad(tilt)
    ImageDraw.Draw(page).line(list(zip(centre_x + x * np.cos(tilt) - y * np.sin(tilt),
                                       centre_y + x * np.sin(tilt) + y * np.cos(tilt))), fill=255, width=5)
    ink = np.asarray(page, np.float32) / 255
    ink[140:340, 220:420] = np.maximum(ink[140:340, 220:420], np.clip(pen, 0, 1))
    canvas = np.full((480, 640, 3), (0.97, 0.97, 0.94), np.float32)
    canvas += (np.array([0.1, 0.1, 0.3]) - canvas) * 0.9 * ink[..., None]
    return photographed(canvas)


def test_a_digit_in_a_ring_it_touches_is_read_without_the_ring(model, mnist):
    # A ring drawn close around the digit (a circled answer) makes one piece with it, and was read
    # with it, as a 0 (sure of it for 21 of the 40) or unsure: the first 20 test digits so
    # ringed, touching or a little apart, level or turned, 4 and 3 read right and sure before, 18
    # and 19 now (test digit 8, a 5 the model reads at 51% as it is, is unsure; through its
    # outermost strokes, a 7 whose bar runs along the ring is still read as a 0).
    labels = mnist.test_labels.numpy()
    for gap, least in ((0, 17), (12, 18)):
        right = sum(read_right_and_sure(model, in_a_ring(mnist.test_images[i].numpy(), gap, tilt=(-30, 0, 30)[i % 3]),
                                        labels[i]) for i in range(20))
        assert right >= least, f"{right} of 20 read right in a ring {gap} pixels out"


def test_a_ring_is_an_ellipse_around_ink_and_no_digit_is_one(mnist):
    # A turned ring, a 1 inside it touching it at the top.
    rows, cols = np.mgrid[0:200, 0:200]
    turn = np.deg2rad(25)
    u = (cols - 100) * np.cos(turn) + (rows - 100) * np.sin(turn)
    v = -(cols - 100) * np.sin(turn) + (rows - 100) * np.cos(turn)
    distance = np.hypot(u / 60, v / 85)
    ring = (distance >= 1) & (distance <= 1.05)
    one = np.zeros((200, 200), bool)
    one[30:160, 96:104] = True
    kept = without_ring(ring | one)
    assert kept[45:160, 96:104].all(), "the digit's stroke was cut"
    assert not (kept & ring & ~one).any(), "the ring was kept"
    # An oval 0 (nothing inside) is no ring; nor an oval with a stroke lying along it inside
    # (a 6's loop, seen alone), nor any of the test set's first 400 digits.
    assert np.array_equal(without_ring(ring), ring)
    inner = ring | ((distance >= 0.85) & (distance < 1) & (v > 0))
    assert np.array_equal(without_ring(inner), inner)
    for i, digit in enumerate(mnist.test_images[:400].numpy()):
        digit = np.pad(np.asarray(Image.fromarray(digit).resize((140, 140), Image.Resampling.BICUBIC)) > 100, 20)
        assert np.array_equal(without_ring(digit), digit), f"test digit {i} lost strokes"


def on_a_blackboard(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The digit (white-on-black 28x28 uint8) in grainy chalk on a dark green board, with the haze
    of earlier erasing around it (broad soft patches a tenth as light as the chalk, two touching
    the digit), saved as a JPEG."""
    board = np.full((480, 640), 0.2, np.float32) + rng.normal(0, 0.01, (480, 640)).astype(np.float32)
    rows, cols = np.mgrid[0:480, 0:640]
    for centre_y, centre_x, height, width in ((150, 250, 40, 110), (330, 420, 50, 90), (80, 520, 60, 150)):
        board += 0.08 * np.exp(-((rows - centre_y) / height) ** 2 - ((cols - centre_x) / width) ** 2)
    chalk = np.asarray(Image.fromarray(digit).resize((240, 240), Image.Resampling.BICUBIC)
                       .filter(ImageFilter.MaxFilter(5)), np.float32) / 255
    chalk *= 0.55 + 0.45 * rng.uniform(0, 1, chalk.shape)  # the grain of chalk on the board
    region = board[120:360, 200:440]
    region += (0.85 - region) * chalk
    return _jpeg(np.clip(np.stack([board * 0.9, board * 1.1, board], axis=-1), 0, 1), 85)


def test_a_digit_in_chalk_is_read_without_the_haze_of_erasing(model, mnist):
    # Broad faint patches touching the digit were kept with it (read as part of it, or as a digit
    # beside it, mostly unsure): the first 20 test digits so written, 7 read right and sure before, 20 now.
    rng = np.random.default_rng(0)
    right = sum(read_right_and_sure(model, on_a_blackboard(mnist.test_images[i].numpy(), rng), mnist.test_labels[i])
                for i in range(20))
    assert right >= 19, f"{right} of 20 read right"


def test_a_smudge_is_broad_and_faint_and_no_digits_edge_is_one(mnist):
    # A 1 with a faint broad patch against it: the patch is left out.
    ink = np.zeros((200, 200), np.float32)
    ink[40:160, 95:105] = 1.0
    ink[60:120, 105:170] = 0.15
    weak, strong = ink_levels(ink, 0.01)
    found = preprocess._select_unsmudged(ink, weak, strong)
    assert found[40:160, 95:105].all() and not found[60:120, 110:170].any()
    # The faint edges of a 28x28 digit shown 8 times its size are a pixel of its own wide: kept,
    # for the test set's first 100 digits.
    for i, digit in enumerate(mnist.test_images[:100].numpy()):
        ink = np.pad(np.kron(digit, np.ones((8, 8))).astype(np.float32) / 255, 20)
        weak, strong = ink_levels(ink, 0.002)
        assert np.array_equal(preprocess._select_unsmudged(ink, weak, strong),
                              preprocess._select_digit(ink, weak, strong)), f"test digit {i} lost its edges"


def test_the_ghost_of_an_erased_digit_beside_it_is_not_read(model, mnist):
    # Erased pencil or a wiped whiteboard leaves a faint copy of what was written: a tenth as dark
    # as the digit here, beside it. It was read as the number's next digit (or, with --single, as
    # part of the digit); each of the first 12 digits with the next one's ghost: 1 of 12 read
    # before, 12 now.
    right = 0
    for i in INDICES:
        page = sheet(mnist.test_images[i].numpy(), size=(360, 560))
        ghost = sheet(mnist.test_images[i + 1].numpy(), size=(360, 560))
        page -= 0.1 * (0.88 - np.roll(ghost, 150, axis=1))
        found = read_picture_digits(page, score=partial(top_log_probability, model), sure=model.min_confidence)
        right += len(found) == 1 and model.probabilities(found[0].image[None]).argmax() == int(mnist.test_labels[i])
    assert right >= 11


def test_polarity_evidence_points_to_dark_ink_on_paper_and_to_chalk(mnist):
    rng = np.random.default_rng(5)
    for digit in mnist.test_images[:5].numpy():
        photo = working_gray(render_hard_photo(digit, rng, pen="normal", desk=True, shadow=False))
        assert polarity_evidence(photo) < -0.3 and polarity_evidence(1 - photo) > 0.3
    assert polarity_evidence(sheet(mnist.test_images[0].numpy())) == 0.0  # a plain canvas: its paper tells


def test_a_photo_whose_polarity_is_in_doubt_is_read_the_way_the_model_reads_surely(model, mnist):
    # A sheet on a desk under a shadow: its edges and the shadow's dominate the picture's detail, and
    # the skew said, weakly, light ink. Read so, what stood out was the lit paper between the edges,
    # and the model was unsure; read the other way round, the digit is read surely. Test digits 5068
    # and 5121 (hard photos, seed 40): "1?" and "6?" before, 4 and 7 now, and so again inverted (as
    # chalk on a dark board). Of 700 hard photos (5000-5299 seed 40, 6000-6399 seed 41), 4 more read
    # right either way round, none other changed, and as many blank sheets were refused as before.
    rng = np.random.default_rng(40)
    photos = {5000 + i: render_hard_photo(digit, rng, {}, spread=SHEET_SPREAD)
              for i, digit in enumerate(mnist.test_images[5000:5122].numpy())}
    reading = partial(top_log_probability, model)
    for index in (5068, 5121):
        gray = to_gray(photos[index])
        assert abs(polarity_evidence(working_gray(photos[index]))) < WEAK_POLARITY
        for picture in (gray, 1 - gray):
            found = read_picture_digits(picture, score=reading, sure=model.min_confidence)
            probabilities = model.probabilities(np.stack([digit.image for digit in found]))
            assert len(found) == 1 and probabilities[0].argmax() == mnist.test_labels[index]
            assert probabilities[0].max() >= model.min_confidence


def test_a_round_bottom_lying_on_a_line_does_not_keep_it(model, mnist):
    # A 0's, a 6's or an 8's round bottom lying along the line thickens it where its thickness is
    # measured: a line measured thicker than 40% of the height above it was kept. The first 60 0s, 6s
    # and 8s, each on a line (on_a_line, seed 0) and photographed: 54 read right (51 before).
    labels = mnist.test_labels.numpy()
    chosen = np.flatnonzero(np.isin(labels, (0, 6, 8)))[:60]
    rng = np.random.default_rng(0)
    pictures = [render_photo(on_a_line(digit, rng), rng) for digit in mnist.test_images.numpy()[chosen]]
    assert read_right(model, pictures, labels[chosen]) >= 53


def fives_and_sevens_on_sheets(mnist, below_top: int):
    """The test set's first 40 5s and 7s, each as (sheet(), the row `below_top` pixels under its top
    ink there, its label): where the line above may run through its bar."""
    labels = mnist.test_labels.numpy()
    for i in np.flatnonzero(np.isin(labels, (5, 7)))[:40]:
        digit = mnist.test_images[i].numpy()
        top = 140 + 5 * np.flatnonzero((digit > 127).any(1)).min()  # sheet()'s digit starts at row 140
        yield sheet(digit), top + below_top, labels[i]


def test_a_bar_lying_along_a_blurred_line_keeps_what_stands_out_of_it(model, mnist):
    # A photographed line's blurred shoulders widen what the line rule takes out; a 5's or a 7's bar
    # under the line above lies in them. The first 40 5s and 7s with a thick line through their top
    # row, blurred: 29 read right when the whole widened band went, 32 now.
    right = 0
    for page, row, label in fives_and_sevens_on_sheets(mnist, below_top=2):
        page[row - 3:row + 3] = 0.28
        page = np.asarray(Image.fromarray((page * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(3)), np.float32) / 255
        right += model.probabilities(to_mnist(page)[None]).argmax() == label
    assert right >= 31


def test_a_bar_lying_along_a_fainter_line_is_kept(model, mnist):
    # A 5's or a 7's bar written along the ruled line above, the ruling fainter than the pen (0.6 of
    # its darkness, as a notebook's grey or blue lines are): the line's rows went under the digit, and
    # the bar with them. The first 40 5s and 7s with such a line 2 px thick through their top row,
    # photographed: 27 read right and sure before, 32 with this rule, 36 with the stubs of the line
    # on the strokes' ends taken off too (see the next test).
    right = 0
    for page, row, label in fives_and_sevens_on_sheets(mnist, below_top=4):
        page[row - 5:row + 5] = np.minimum(page[row - 5:row + 5], 0.88 - 0.6 * (0.88 - 0.2))
        right += read_right_and_sure(model, photographed(np.repeat(page[..., None], 3, -1)), label)
    assert right >= 34


def test_only_strokes_through_a_line_keep_its_pixels_when_asked():
    mask = np.zeros((60, 100), bool)
    mask[10:12] = True  # the line above the digit, from edge to edge
    mask[12:45, 40:43] = True  # a stroke ending on it from below (a 4's arm)
    mask[4:45, 60:63] = True  # a stroke through it
    line = _line_near(mask, None)
    for only_crossing in (False, True):
        kept = _without_line(mask, line, False, only_crossing=only_crossing)
        assert not kept[10:12, :30].any() and not kept[10:12, 70:].any()  # the line beside the digit goes
        assert kept[10:12, 60:63].all() and kept[4:10, 60:63].all()  # the stroke through it is not cut
        assert kept[10:12, 40:43].any() != only_crossing  # the stub on the stroke's end stays only by default


def right_and_sure_of_the_first(model, mnist, digits: tuple[int, ...], render, count: int = 60, seed: int = 1) -> int:
    """How many of the test set's first `count` digits of the kinds `digits`, each drawn by
    `render(digit, rng)` (one generator of `seed` for all, in order), read right and sure."""
    labels = mnist.test_labels.numpy()
    rng = np.random.default_rng(seed)
    return sum(read_right_and_sure(model, render(mnist.test_images[i].numpy(), rng), labels[i])
               for i in np.flatnonzero(np.isin(labels, digits))[:count])


def test_a_stroke_ending_on_a_line_keeps_no_stub_of_it(model, mnist):
    # Where a stroke meets the line, the line's pixels under it stayed, so that a stroke crossing it
    # is not cut; under the ends of a 4's arms touching the line above, or of a 0 resting on an
    # underline, that stub closed the 4's top or gave the 0 a base (read as a 9, a 2 or unsure).
    # The first 60 0s and 4s, each on a line (on_a_line, seed 1), photographed: 43 read right and
    # sure with the stubs, 54 now.
    def on_a_photographed_line(digit, rng):
        return render_photo(on_a_line(digit, rng), rng)
    assert right_and_sure_of_the_first(model, mnist, (0, 4), on_a_photographed_line) >= 52


def test_a_short_underline_goes_where_the_digit_reads_better_without_it(model, mnist):
    # An underline reaching past the digit by 35% of its height on each side falls short of the line
    # rule's 40%; 2s with a long base reach that far too. Given the model's reading, such a line goes
    # where the digit left reads better: the first 12 0s, 3s and 5s underlined, 6 read right without
    # the model's choice, 10 with it; the 2s whose base reaches past by over a quarter of their
    # height on both sides (among the test set's first 10,000) keep it.
    labels = mnist.test_labels.numpy()
    reading = partial(top_log_probability, model)
    right = 0
    for i in np.flatnonzero(np.isin(labels, (0, 3, 5)))[:12]:
        digit = mnist.test_images[i].numpy()
        rows, columns = (np.flatnonzero((digit > 127).any(axis)) for axis in (1, 0))
        height = 5 * (rows.max() - rows.min() + 1)
        reach = round(0.35 * height)
        page = sheet(digit)
        row = 140 + 5 * rows.max() + 3  # sheet()'s digit starts at row 140 and column 110
        page[row:row + 5, 110 + 5 * columns.min() - reach:110 + 5 * columns.max() + reach] = 0.2
        found = read_picture_digits(page, single=True, score=reading, sure=model.min_confidence)
        right += model.probabilities(found[0].image[None]).argmax() == labels[i]
    assert right >= 10
    for i in (208, 1031, 2184, 8409, 8719):
        ink = ink_map(sheet(mnist.test_images[i].numpy()))
        assert np.array_equal(find_digit(ink, score=reading)[0], find_digit(ink)[0]), f"test digit {i} lost its base"


def test_an_underline_reaching_well_past_the_strokes_goes_unless_the_digit_reads_better_with_it(model, mnist):
    # An underline touched by a 4's stem or a 7's foot qualifies loosely, and went only where the
    # digit read e times likelier without it: with it, many read as a sure 1 or 2, which nothing can
    # beat e times over. Thin, reaching 15% of the height past the strokes that meet it, the model now
    # decides on equal terms. The first 60 4s and 7s underlined by hand (render_underlined, seed 1):
    # 44 read right and sure before, 54 now.
    assert right_and_sure_of_the_first(model, mnist, (4, 7), render_underlined) >= 52


def test_a_digits_own_bars_and_bases_are_not_taken_for_a_line(mnist):
    """7s, 5s, 2s, 4s and 1s of the test set, enlarged: what the line search sees of a digit alone.
    Upright, a 4's stem or a 1 is no margin line."""
    labels = mnist.test_labels[:400].numpy()
    for i in np.flatnonzero(np.isin(labels, (1, 2, 4, 5, 7))):
        digit = Image.fromarray(mnist.test_images[i].numpy()).resize((140, 140), Image.Resampling.BICUBIC)
        mask = np.pad(np.asarray(digit) > 100, 20)
        assert np.array_equal(without_underline(mask), mask), f"test digit {i} (a {labels[i]}) lost a stroke"
        upright = without_underline(mask, upright=True)
        assert np.array_equal(upright, mask), f"test digit {i} (a {labels[i]}) lost its stem"
    # The same digit with a line under it reaching past it on both sides loses the line alone.
    mask = np.pad(np.asarray(Image.fromarray(mnist.test_images[0].numpy()).resize((140, 140))) > 100, 20)
    lined = mask.copy()
    lined[153:157, 5:175] = True  # through the 7's foot (its ink: rows 55-154, columns 50-128)
    cleaned = without_underline(lined)
    assert np.array_equal(cleaned[:148], mask[:148]) and not cleaned[153:157, :45].any() and not cleaned[153:157, 135:].any()


def test_a_circle_drawn_around_the_digit_is_not_taken_for_it(model, mnist):
    ring = Image.new("L", (360, 420))
    ImageDraw.Draw(ring).ellipse((90, 120, 270, 300), outline=255, width=5)  # around the digit's 140x140 box
    ring = np.asarray(ring, np.float32) / 255
    for i in (2, 5, 7, 3):  # 1, 1, 9, 0: a circled 1 weighs less than its circle
        page = sheet(mnist.test_images[i].numpy())
        page -= (page - 0.2) * ring
        kept = find_digit(ink_map(page))[0]
        assert not kept[118:130].any() and not kept[:, 88:100].any(), f"test digit {i}: the circle was kept"
        assert model.probabilities(to_mnist(page)[None]).argmax() == int(mnist.test_labels[i])


@pytest.mark.parametrize("body", [0.15, 0.55], ids=["dark-pen", "red-pen"])
def test_a_pen_lying_beside_the_digit_is_not_read(model, mnist, body):
    # A pen as thick as half the digit is tall, inside the picture: it weighed more than the digit and
    # was read as a "1" (photos of test digits 7000-7059 beside such a pen: 18 read right, now 56).
    pen = Image.new("L", (560, 420))
    ImageDraw.Draw(pen).line((420, 50, 480, 370), fill=255, width=64)
    pen = np.asarray(pen.filter(ImageFilter.GaussianBlur(1.5)), np.float32) / 255
    for i in INDICES:
        page = sheet(mnist.test_images[i].numpy(), size=(420, 560))
        page -= (page - body) * pen
        kept = find_digit(ink_map(page))[0]
        assert not kept[:, 400:].any(), f"test digit {i}: the pen was kept"
        assert model.probabilities(to_mnist(page)[None]).argmax() == int(mnist.test_labels[i])
    # A white pen shows only its faint edges, thinner than the digit's strokes: the digit stays.
    page = sheet(mnist.test_images[0].numpy(), size=(420, 560))
    edges = np.asarray(Image.fromarray((pen > 0.5).astype(np.uint8) * 255).filter(ImageFilter.FIND_EDGES),
                       np.float32) / 255
    page -= 0.04 * edges
    assert find_digit(ink_map(page))[0][140:280, 210:350].any()


def test_a_fine_underline_under_a_markers_digit_leaves_the_digit(model, mnist):
    # A thin line is no writing to compare a thick digit with (render_underlined, seed 41: with the
    # pen rule before this condition, 3 of test digits 6000-6299 were read as their underline).
    rng = np.random.default_rng(41)
    pictures = [render_underlined(digit, rng) for digit in mnist.test_images[6000:6163].numpy()]
    for i in (98, 110, 162):  # a 7 and two 1s
        found = read_picture_digits(to_gray(pictures[i]), single=True)
        assert model.probabilities(found[0].image[None]).argmax() == mnist.test_labels[6000 + i]


def test_a_thin_separate_stroke_stays_with_its_digit():
    page = np.full((300, 300), 0.9, np.float32)
    page[80:220, 140:146] = 0.1   # the body of a 5 (roughly)
    page[70:76, 150:210] = 0.1    # its flag, drawn apart, 4 pixels above the body
    kept = find_digit(ink_map(page))[0]
    assert kept[72, 180] and kept[150, 142]


def test_a_crossing_of_strokes_wider_than_the_paper_filter_stays_ink():
    # A large digit drawn with a thick brush: where its strokes cross, the ink is wider than the
    # squares the paper's level is found over, and was taken for paper (a hole in the digit).
    page = np.full((300, 300), 1.0, np.float32)
    page[40:260, 120:190] = 0.0    # a stem 70 pixels wide
    page[110:180, 50:250] = 0.0    # a bar as thick across it
    kept = find_digit(ink_map(page))[0]
    assert kept[145, 155] and kept[60, 155] and kept[145, 70]


def test_mnist_style_28x28_files_read_as_the_digits_themselves(model, mnist):
    # What many users try first: a digit saved from MNIST itself, 28x28 white on black (or
    # inverted). At 28 pixels the paper filters filled its loops and the ruling search took its
    # strokes for lines (94.6% of the test set read, 274 refused); enlarged first, 99.61%.
    # Test digits 200-599: 396 of 400 read (375 before), inverted 99 of the first 100 (94 before).
    digits, labels = mnist.test_images[200:600].numpy(), mnist.test_labels[200:600].numpy()
    assert read_right(model, (Image.fromarray(digit) for digit in digits), labels) >= 392
    assert read_right(model, (Image.fromarray(255 - digit) for digit in digits[:100]), labels[:100]) >= 98


def test_tiny_pictures_of_1s_are_not_taken_for_shadows(mnist):
    # A digit saved at 8 or 10 pixels (an icon, a thumbnail) is enlarged 32 or 25 times: a 1's
    # stroke becomes thick, faint and fading to one side where the pixel grid cut it, as a shadow
    # along a sheet's edge does in a photo. The first 60 1s of the test set: 8 and 7 refused as
    # blank before the shadow rule was kept to photos, none now.
    ones = mnist.test_images.numpy()[mnist.test_labels.numpy() == 1][:60]
    for size in (8, 10):
        for digit in ones:
            read_picture_digits(to_gray(Image.fromarray(digit).resize((size, size), Image.Resampling.BOX)))


def test_digits_cropped_tight_are_read(model, mnist):
    # A digit drawn to fill its canvas, or cut out with no paper around it, touches all four sides,
    # as a desk around a sheet does; and its ink may cover more of the picture than the paper, which
    # turned the paper's level and the polarity. Test digits 200-399 cut to their ink, dark on
    # white, 8 times larger: 178 of 200 read (57 before).
    digits, labels = mnist.test_images[200:400].numpy(), mnist.test_labels[200:400].numpy()
    pictures = map(tight_crop, digits)
    assert read_right(model, pictures, labels) >= 172


def test_a_zero_or_a_seven_cropped_tight_is_no_desk(model, mnist):
    # A 0 cropped tight touches all four sides where its ring curves, around the middle third of
    # the picture and not through it, and a 7's stroke may miss it too: taken for a desk's edge
    # running along the sides, they were refused. The test set's first 120 0s and 7s cut to their
    # ink: 105 read right and 11 refused (90 and 26 before); 109 once a canvas of two flat levels
    # was plain; 116 since a ring covering half of one side (a 0's flattest curve) may still span
    # the picture, where a desk reaching all four sides covers most of two.
    labels = mnist.test_labels.numpy()
    chosen = np.flatnonzero(np.isin(labels, (0, 7)))[:120]
    pictures = map(tight_crop, mnist.test_images.numpy()[chosen])
    assert read_right(model, pictures, labels[chosen]) >= 114


def test_the_paper_of_a_plain_canvas_is_its_one_level():
    rng = np.random.default_rng(0)
    drawing = np.ones((200, 200), np.float32)
    drawing[20:180, 40:160] = 0.1  # ink over half of the picture: a digit cropped tight
    assert _plain_paper(drawing) == (1.0, True)
    chalk = np.where(drawing < 0.5, 0.9, 0.2).astype(np.float32)  # light strokes on a dark board
    assert _plain_paper(chalk) == (51 / 255, False)
    grainy = (0.85 * drawing + rng.normal(0, 0.02, drawing.shape)).astype(np.float32)
    assert _plain_paper(grainy) is None  # a photo's paper spreads over many levels
    on_desk = sheet(np.zeros((28, 28), np.uint8), desk=30)  # a plain sheet, a desk all round it
    assert _plain_paper(on_desk) is None


def test_a_canvas_of_two_flat_levels_is_plain_though_its_ink_covers_most_of_it():
    # A thick 1 cropped tight (anti-aliased): its ink is the picture's commonest level and covers
    # its top and bottom rows; the paper, the border's commonest level, is what its ink lies on.
    big = Image.new("L", (320, 800), 255)
    ImageDraw.Draw(big).line([(200, -40), (120, 840)], fill=0, width=280)
    drawing = np.asarray(big.resize((80, 200), Image.Resampling.BOX), np.float32) / 255
    assert _plain_paper(drawing) == (1.0, True)
    assert _plain_paper(1 - drawing) is None  # chalk so cropped: its polarity is left to the evidence
    # A photo's desk may be flat (clipped black) along most of the border, beside a sheet reaching
    # two sides; but the sheet is no flat level of ink: grain.
    rng = np.random.default_rng(0)
    photo = np.where(drawing > 0.5, 0.0, np.clip(rng.normal(0.8, 0.05, drawing.shape), 0, 1)).astype(np.float32)
    assert _plain_paper(photo) is None


def app_screenshot(digit: np.ndarray, title: bool = False, button: bool = False, page_level: int = 240,
                   black_canvas: bool = False) -> Image.Image:
    """A screenshot of a drawing app: a white canvas with a black border on a light grey page (with
    `title`, the app's name above it; with `button`, a blue "Predict" button below it), the digit
    drawn on it with a thin dark pen. `page_level`: the page's grey (a dark mode's is dark);
    `black_canvas`: the canvas black, the pen white."""
    page = Image.new("RGB", (800, 600), (page_level,) * 3)
    draw = ImageDraw.Draw(page)
    draw.rectangle((258, 88, 541, 371), fill="black" if black_canvas else "white", outline="black", width=2)
    if title or button:
        font = ImageFont.truetype(FONTS[0], 30) if FONTS else ImageFont.load_default(30)
    if title:
        draw.text((230, 20), "MNIST digit recognizer", fill=(20, 20, 20), font=font)
    if button:
        draw.rounded_rectangle((340, 400, 460, 445), 8, fill=(30, 100, 220))
        draw.text((400, 422), "Predict", fill="white", font=font.font_variant(size=22), anchor="mm")
    page = page.convert("L")
    pen = np.asarray(Image.fromarray(digit).resize((220, 220), Image.Resampling.BICUBIC), np.float32) / 255
    canvas = np.asarray(page, np.float32) / 255
    if black_canvas:
        canvas[120:340, 290:510] = np.maximum(canvas[120:340, 290:510], np.clip(pen, 0, 1))
    else:
        canvas[120:340, 290:510] *= 1 - np.clip(pen, 0, 1)
    return Image.fromarray((canvas * 255).astype(np.uint8))


def test_a_thin_digit_on_a_white_canvas_within_a_grey_page_is_dark_ink(model, mnist):
    # The page's grey is the commonest level, the white canvas lies beyond it on the light side, and
    # a thin 1 and the canvas's border are a percent or two of the picture on the dark side: the
    # canvas was taken for light ink around a hole. What lies beyond the paper on its empty side
    # must also lie near it. The test set's first 20 1s so drawn: 20 read right (15 before). With
    # the app's name above the canvas, the band of grey between them, narrower than the paper's
    # filter, was taken for ink and joined them: the grey's exact level is paper wherever it lies.
    # So drawn: 20 (1 before; of the first 20 7s and 4s, 12 each).
    labels = mnist.test_labels.numpy()
    ones = np.flatnonzero(labels == 1)[:20]
    pictures = [app_screenshot(digit) for digit in mnist.test_images.numpy()[ones]]
    assert _plain_paper(to_gray(pictures[0])) is None
    assert read_right(model, pictures, labels[ones]) == 20
    titled = [app_screenshot(digit, title=True) for digit in mnist.test_images.numpy()[ones]]
    assert read_right(model, titled, labels[ones]) == 20


def test_a_frame_around_ink_bounds_the_digit():
    ink = np.zeros((200, 300), np.float32)
    ink[20:150, 50:52] = ink[20:150, 178:180] = ink[20:22, 50:180] = ink[148:150, 50:180] = 1.0  # a canvas's border
    ink[60:140, 110:114] = 1.0  # a 1 drawn on the canvas
    ink[160:180, 80:150] = 1.0  # a button below the canvas, near the 1 and heavier...
    ink[166:174, 86:144] = 0.0  # ...its label paper-coloured
    kept = find_digit(ink, noise=0.01)[0]
    assert kept[100, 111] and not kept[21, 100] and not kept[162, 100]  # joined to the 1 before


def test_an_apps_button_outside_the_canvas_around_the_digit_is_none_of_it(model, mnist):
    # The app's button below its canvas, a solid block as dark as ink, was joined to the digit, or
    # (heavier than a thin 1) taken for it, the digit joined to it. A frame around ink says what to
    # read. So drawn, the test set's first 20 1s: 20 read right (14 before); its first 40 digits: 40 (33).
    labels = mnist.test_labels.numpy()
    for chosen in (np.flatnonzero(labels == 1)[:20], np.arange(40)):
        pictures = [app_screenshot(digit, button=True) for digit in mnist.test_images.numpy()[chosen]]
        assert read_right(model, pictures, labels[chosen]) == len(chosen)


def solid_cut(digit: np.ndarray, scale: int = 1) -> Image.Image:
    """A white-on-black uint8 digit drawn with a solid dark brush on white, cut at its ink,
    enlarged `scale` times pixel for pixel."""
    ink = cropped_to_ink(np.where(digit > 100, 255, 0).astype(np.uint8))
    return Image.fromarray(255 - ink).resize((ink.shape[1] * scale, ink.shape[0] * scale), Image.Resampling.NEAREST)


def test_a_solid_digit_cropped_tight_and_a_thick_1_cut_at_its_ink_are_read(model, mnist):
    # A digit drawn with a solid brush and cut at its ink, and a thick 1 cropped tight, cover more
    # of the picture than its paper does: neither the paper's share nor the polarity's evidence
    # told their paper, and a 1 was refused, or read as the paper on either side of it. The test
    # set's first 100 digits so drawn (4x): 95 read right (85 before); its first 60 1s cropped
    # tight (tools/evaluate.py's "tight"): 58 (41 before).
    digits, labels = mnist.test_images.numpy(), mnist.test_labels.numpy()
    assert read_right(model, (solid_cut(digit, 4) for digit in digits[:100]), labels[:100]) >= 91
    ones = np.flatnonzero(labels == 1)[:60]
    assert read_right(model, map(tight_crop, digits[ones]), labels[ones]) >= 56


def test_a_1_cut_at_its_ink_from_a_small_drawing_is_read(model, mnist):
    # Cut at its ink from a 28x28 drawing, a 1 is 2 to 7 pixels wide: it was refused as "too small
    # to hold a digit". The test set's first 60 1s so cut: 53 read right (16 before); a picture
    # under 8 pixels on its long side is still refused.
    labels = mnist.test_labels.numpy()
    ones = np.flatnonzero(labels == 1)[:60]
    cut = [solid_cut(digit) for digit in mnist.test_images.numpy()[ones]]
    assert min(min(picture.size) for picture in cut) < 8
    assert read_right(model, cut, labels[ones]) >= 50
    with pytest.raises(ImageError, match="too small"):
        read_picture_digits(np.ones((7, 5), np.float32))


def read_in_photos(model, digits: np.ndarray, labels: np.ndarray, seed: int) -> int:
    """How many of the digits, cropped tight in a photo (render_tight_photo), the CLI reads right
    and sure, as one digit."""
    rng = np.random.default_rng(seed)
    return sum(read_right_and_sure(model, render_tight_photo(digit, rng), label) for digit, label in zip(digits, labels))


def test_a_digit_cropped_tight_in_a_photo_is_read(model, mnist):
    # Its strokes are as broad as the paper's level is measured over (a fifth of the picture), so
    # what was taken for paper cut holes in them, or left a single stroke (a 7's stem, a 0's side,
    # read as a sure 1), or the paper beside a 1 was read as light ink. It is read again with the
    # paper parted from the ink by the picture's two classes of level, the polarity from the
    # border. The test set's first 60 digits so photographed: 58 right and sure (47 with the paper
    # measured over half the picture instead, 34 before either); its first 40 1s: 40 (20). A 1 so
    # cut spans about 0.8 of the picture's width once blurred: held to 0.9 of it both ways, 34.
    digits, labels = mnist.test_images.numpy(), mnist.test_labels.numpy()
    assert read_in_photos(model, digits[:60], labels[:60], seed=5) >= 54
    ones = np.flatnonzero(labels == 1)[:40]
    assert read_in_photos(model, digits[ones], labels[ones], seed=6) >= 37


def test_the_paper_around_a_digit_filling_its_picture_is_found_under_the_light():
    # A thick stroke covering half the picture, on paper lit unevenly: the local opening takes the
    # stroke for paper, but the picture's two classes part it from the paper, whose level is a plane.
    rng = np.random.default_rng(0)
    rows, columns = np.mgrid[0:200, 0:80] / 200
    paper = 0.8 + 0.1 * (columns - 0.2) - 0.08 * (rows - 0.5)
    stroke = (np.abs(np.arange(80) - 42) < 22)[None, :].repeat(200, 0)
    gray = (np.where(stroke, 0.25, paper) + rng.normal(0, 0.01, (200, 80))).astype(np.float32)
    assert np.array_equal(gray <= _two_classes_threshold(gray), stroke)
    assert _frame_ink(gray)[0] and not _frame_ink(1 - gray)[0]
    assert np.array_equal(_frame_ink(gray)[1], stroke) and np.array_equal(_frame_ink(1 - gray)[1], stroke)
    ink = ink_map(gray, dark_ink=True, frame_filling=True)
    assert np.abs(ink[~stroke]).max() < 0.05  # the light's slope is gone from the paper
    assert np.allclose(ink[stroke], paper[stroke] - 0.25, atol=0.05)
    assert _median(ink_map(gray, dark_ink=True)[stroke]) < 0.3  # the usual opening took much of it for paper


@pytest.mark.parametrize("index", [1, 49, 68, 95])
def test_a_thick_stroke_is_not_ruling(mnist, index):
    # Enlarged, an MNIST digit's strokes are a brush's, their columns as long as ruling runs; the
    # ripples of ink inside them were found as three or more thin lines and cut out of the digit.
    big = Image.fromarray(mnist.test_images[index].numpy()).resize((256, 256), Image.Resampling.BILINEAR)
    ink = _smooth(ink_map(working_gray(big)))
    assert not ruling_level(ink, noise_level(ink)).any()


def test_a_digit_filling_the_picture_is_not_ruling(model, mnist):
    # Ink covering most of the picture's rows (a digit cropped tight, a 28x28 file enlarged) made
    # rows inside its strokes pass for ruling, whose removal cut the digit into pieces read as a
    # number. Before the pixel-by-pixel check: ruling found in 48 of these 200 tight crops and in 4
    # of the 200 files; 3 and 1 of them read as several digits.
    tight = [tight_crop(digit) for digit in mnist.test_images[200:400].numpy()]
    files = [Image.fromarray(digit) for digit in mnist.test_images[:200].numpy()]
    reading = partial(top_log_probability, model)
    for picture in tight + files:
        ink = _smooth(ink_map(working_gray(picture)))
        assert not ruling_level(ink, noise_level(ink)).any()
    several = 0
    for picture in tight + files:
        try:
            several += len(read_picture_digits(to_gray(picture), score=reading, sure=model.min_confidence)) > 1
        except ImageError:
            pass  # 15 tight crops refused, as before (test_digits_cropped_tight_are_read counts them)
    assert several == 0


def test_faint_specks_joining_a_digit_to_the_border_do_not_make_it_a_desk():
    # Uneven light leaves faint specks along a picture's edge; joined to a digit, they once made it
    # a component touching the border along a quarter of a side (a desk's edge), and it was refused.
    ink = np.zeros((100, 100), np.float32)
    ink[30:80, 45:52] = 1.0        # a 1, strong ink
    ink[80:, 48] = 0.03            # faint specks from its foot to the border...
    ink[99, 10:90] = 0.03          # ...and along the border
    kept = find_digit(ink, noise=0.01)[0]
    assert kept[50, 48]


@pytest.mark.parametrize("name, picture", [
    ("blank page", np.full((300, 300), 0.9, np.float32)),
    ("ruled lines only", sheet(np.zeros((28, 28), np.uint8), lines=range(15, 420, 45))),
    ("uniform noise", np.random.default_rng(0).random((300, 300)).astype(np.float32)),
    # The grid, once found and subtracted, leaves nothing; read again without the subtraction, it
    # must not be taken whole for a digit (it was, before its own pixels were left out there too).
    ("a blank squared sheet on a desk", np.clip(
        sheet(np.zeros((28, 28), np.uint8), lines=range(60, 380, 40), columns=range(60, 320, 40), desk=40)
        + np.random.default_rng(0).normal(0, 0.01, (420, 360)), 0, 1).astype(np.float32)),
])
def test_pictures_without_a_digit_are_refused(name, picture):
    with pytest.raises(ImageError, match="no digit found"):
        to_mnist(picture)


def test_a_faint_digit_is_refused_as_too_faint_not_as_blank(mnist):
    # Ink 3% darker than clean paper: it is found, and refused for its contrast (4% at least).
    faint = sheet(mnist.test_images[0].numpy(), paper=0.9, ink=0.87)
    with pytest.raises(ImageError, match=r"too faint \(it differs from the paper by [23]\.\d% of the full range"):
        to_mnist(faint)
    with pytest.raises(ImageError, match="nothing stands out"):
        to_mnist(np.full((300, 300), 0.9, np.float32))


@pytest.mark.parametrize("mode", ["I;16", "I", "F", "CMYK", "P", "1", "LA"])
def test_every_image_mode_reads_at_its_full_scale(mode, mnist, model, tmp_path):
    page = sheet(mnist.test_images[0].numpy(), size=(200, 200), scale=5)  # a 7
    if mode == "I;16":
        image = Image.fromarray((page * 65535).astype(np.uint16))
    elif mode == "I":
        image = Image.fromarray((page * 65535).astype(np.int32))
    elif mode == "F":
        image = Image.fromarray(page)
    else:
        image = Image.fromarray((page * 255).astype(np.uint8)).convert(mode if mode != "P" else "RGB")
        if mode == "P":
            image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    path = tmp_path / ("digit.tiff" if mode in ("I", "F", "CMYK") else "digit.png")
    image.save(path)
    gray = read_image(path)
    assert gray.dtype == np.float32 and 0.7 < np.median(gray) <= 1.0, "the paper must stay light"
    assert model.probabilities(to_mnist(gray)[None])[0].argmax() == 7


@pytest.mark.parametrize("bits", [8, 10, 12])
def test_a_16_bit_file_holding_fewer_bits_reads_at_their_scale(bits, mnist, model, tmp_path):
    # A 12-bit camera or scanner, or a program storing 8-bit values as 16-bit: at 16 bits' full scale
    # the page is at most a sixteenth of it, and the picture was refused as blank.
    page = sheet(mnist.test_images[0].numpy(), size=(200, 200), scale=5)  # a 7
    Image.fromarray(np.round(page * (2 ** bits - 1)).astype(np.uint16)).save(tmp_path / "scan.png")
    gray = read_image(tmp_path / "scan.png")
    assert 0.7 < np.median(gray) <= 1.0, "the paper must stay light"
    assert model.probabilities(to_mnist(gray)[None])[0].argmax() == 7


def read_right(model, pictures, labels) -> int:
    """How many of the pictures the pipeline (as predict_custom.py --single reads a file) and the
    model read as their label."""
    correct = 0
    for picture, label in zip(pictures, labels):
        try:
            image = read_picture_digits(to_gray(picture), single=True)[0].image
            correct += model.probabilities(image[None])[0].argmax() == label
        except ImageError:
            pass  # a refusal counts as an error
    return correct


def accuracy_on(model, mnist, render, count, **fixed) -> float:
    rng = np.random.default_rng(1)
    digits = mnist.test_images[:count].numpy()
    pictures = (render(digit, rng, **fixed) for digit in digits)
    return read_right(model, pictures, mnist.test_labels[:count].numpy()) / count


PLAIN = dict(pen="normal", faint=False, ruling="plain", desk=False, angle=0.0, shadow=False, scan=False)


@pytest.mark.parametrize("trouble", [dict(desk=True), dict(shadow=True), dict(ruling="ruled", angle=3.0),
                                     dict(ruling="squared"), dict(scan=True), dict(pen="thin"), dict(pen="thick"),
                                     dict(faint=True), dict(faint=True, pen="thin")],
                         ids=["desk", "shadow", "ruled askew", "squared", "16-bit scan", "thin pen", "thick marker",
                              "faint pencil", "faint thin pencil"])
def test_rendered_photos_one_trouble_at_a_time(model, mnist, trouble):
    # Measured on these 40 (seed 1): 1.00 each, except thin pen 0.975, thick marker 0.95, faint thin 0.925.
    assert accuracy_on(model, mnist, render_hard_photo, 40, **(PLAIN | trouble)) >= 0.875


def test_a_thin_pen_on_squared_paper_on_a_desk(model, mnist):
    # Measured on these 40 (seed 1): 1.00; 0.925 with the ruling searched in a mask of the ink, which
    # missed faint lines and lines beside a stroke, and took a digit along a line for the line.
    thin_on_squared = dict(ruling="squared", pen="thin", desk=True)
    assert accuracy_on(model, mnist, render_hard_photo, 40, **(PLAIN | thin_on_squared)) >= 0.95


def test_faint_thin_pencil_on_a_sheet_on_a_grainy_desk(model, mnist):
    # Measured on these 40 (seed 1): 0.90; 0.775 when the noise was measured over the whole picture,
    # where the desk's grain raised it over the faint strokes' contrast.
    faint_on_desk = dict(faint=True, pen="thin", desk=True)
    assert accuracy_on(model, mnist, render_hard_photo, 40, **(PLAIN | faint_on_desk)) >= 0.85


def test_hard_photos_and_canvas_drawings(model, mnist):
    # Every trouble at random at once: 97% of these 100 (the first 500: README); canvas 98%.
    assert accuracy_on(model, mnist, render_hard_photo, 100) >= 0.9
    assert accuracy_on(model, mnist, render_canvas, 100) >= 0.96


def test_a_flag_on_a_1_and_a_bar_across_a_7(model, mnist):
    images, labels = mnist.test_images.numpy(), mnist.test_labels.numpy()
    one, seven = images[2], images[0]  # the test set's third image is a 1, its first a 7
    rng = np.random.default_rng(0)
    added_to_1 = continental_strokes(one, 1, rng).astype(float) - one
    added_to_7 = continental_strokes(seven, 7, rng).astype(float) - seven
    pixel = 255.0  # a pixel's worth of ink; drawing at 4x and back smears a little along every stroke
    rows = np.flatnonzero(one.max(1) > 127)
    top, bottom = rows.min(), rows.max()
    top_column = int(np.flatnonzero(one[top] > 127).min())
    # The flag runs from the 1's top down to the left, nothing is added right of it above the foot
    # (this draw adds a base too, around the foot).
    assert added_to_1[top:top + 10, :top_column].sum() > 6 * pixel
    assert np.clip(added_to_1[:bottom - 3, top_column + 4:], 0, None).sum() < 3 * pixel
    assert added_to_1[bottom - 3:].sum() > 6 * pixel
    # The bar crosses the 7 about half-way down; its top bar is left as it was.
    rows = np.flatnonzero(seven.max(1) > 127)
    third = (rows.max() - rows.min()) // 3
    assert added_to_7[rows.min() + third:rows.max() - third + 2].sum() > 6 * pixel
    assert np.clip(added_to_7[:rows.min() + third], 0, None).sum() < 3 * pixel
    # Photographed, the first 40 1s and 7s so written: 38 read right by the committed improved model
    # (its 1s with a flag: 85.2% of 264, README), refusals counting as errors.
    chosen = np.flatnonzero(np.isin(labels, (1, 7)))[:40]
    pictures = (render_photo(continental_strokes(digit, label, rng), rng)
                for digit, label in zip(images[chosen], labels[chosen]))
    assert read_right(model, pictures, labels[chosen]) >= 35


def sheet_edge_in_shadow(top=30, bottom=200, width=40, desk=True, marker=False) -> np.ndarray:
    """Paper beside a sheet's edge (a dark desk on the left, the edge itself catching the light)
    with a shadow along it from row `top` to `bottom`, darkest at the edge and fading into the paper
    over `width` pixels; with `marker`, a bar as thick as a marker's stroke to the right of it,
    fading from top to bottom as the marker runs dry."""
    page = np.full((220, 200), 0.85, np.float32)
    page[top:bottom, 22:22 + width] -= np.linspace(0.2, 0, width)[None]
    if desk:
        page[:, :20] = 0.3
    page[:, 20:22] = 0.95
    if marker:
        page[60:170, 120:135] = np.linspace(0.15, 0.65, 110)[:, None]
    page = np.asarray(Image.fromarray((page * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0)), np.float32) / 255
    return np.clip(page + np.random.default_rng(0).normal(0, 0.01, page.shape), 0, 1).astype(np.float32)


@pytest.mark.parametrize("shadow", [{}, dict(top=0), dict(bottom=220), dict(width=60), dict(desk=False)])
def test_a_shadow_along_a_sheets_edge_is_no_digit(shadow):
    # Read as a thick 1 before (all five; in the selection's blank sheets, two sure 1s of 300): it
    # is ink fading from one side, where a pen's stroke, however thick, is darkest inside (fading
    # along its length is no shadow's sign).
    with pytest.raises(ImageError, match="no digit found"):
        to_mnist(sheet_edge_in_shadow(**shadow))
    ink = _smooth(ink_map(sheet_edge_in_shadow(marker=True, **shadow)))
    kept = find_digit(ink, noise_level(ink))[0]
    assert kept[60:170, 122:133].all() and not kept[:, :100].any()


def test_photos_of_a_blank_sheet_are_mostly_refused():
    # The hard photos' desks, sheet edges, rulings and shadows with nothing written: 29 of these 30
    # refused (25 while strips of desk along a side, in pieces, were still read as a 1; README).
    rng = np.random.default_rng(2)
    refused = 0
    for _ in range(30):
        try:
            to_mnist(working_gray(render_hard_photo(np.zeros((28, 28), np.uint8), rng)))
        except ImageError:
            refused += 1
    assert refused >= 28


PAGE = dict(spread=PAGE_SPREAD)  # a whole page in view, the digit written small on it


def test_digits_written_small_on_a_page_photographed_whole_are_read_up_close(model, mnist):
    # The hard photos' troubles on a page 6 to 12 times the digit's size, as a phone photo of a whole
    # sheet shows it. Measured on these 40 (seed 1): every trouble at random 36 read right (33 read
    # at the working size alone, where the page is shrunk 3 to 9 times); ruled paper 37 (30: its
    # lines shrunk to a percent above the paper joined the digit as ink, unfound as ruling).
    assert accuracy_on(model, mnist, render_hard_photo, 40, **PAGE) >= 35 / 40
    assert accuracy_on(model, mnist, render_hard_photo, 40, **(PLAIN | PAGE | dict(ruling="ruled"))) >= 35 / 40


def test_photos_of_a_blank_page_are_refused():
    # Measured: all of these 30 refused, before the closer look as with it.
    rng = np.random.default_rng(2)
    refused = 0
    for _ in range(30):
        try:
            read_picture_digits(to_gray(render_hard_photo(np.zeros((28, 28), np.uint8), rng, **PAGE)))
        except ImageError:
            refused += 1
    assert refused >= 29


def test_a_small_digit_is_read_from_a_crop_and_boxed_in_the_pictures_own_pixels(model, mnist, tmp_path):
    import visualize
    from mnist_cnn.inference import classify

    # A 7 of 84 pixels on a 1600x1200 page: 7% of its height, 13 pixels at the working size.
    size, scale = (1200, 1600), 3
    Image.fromarray((sheet(mnist.test_images[0].numpy(), size=size, scale=scale) * 255).astype(np.uint8)
                    ).save(tmp_path / "page.png")
    Image.fromarray((sheet(mnist.test_images[0].numpy()) * 255).astype(np.uint8)).save(tmp_path / "sheet.png")
    results, seen = classify(model, [tmp_path / "page.png", tmp_path / "sheet.png"])
    assert [r.prediction for r in results] == ["7", "7"]
    assert "closer" in seen[tmp_path / "page.png"] and "closer" not in seen[tmp_path / "sheet.png"]
    # The box, in the page's own pixels, lies on the square the digit was drawn in and covers its ink.
    top, left = (size[0] - 28 * scale) // 2, (size[1] - 28 * scale) // 2
    box_left, box_top, box_right, box_bottom = results[0].digits[0].box
    assert left <= box_left and box_right <= left + 28 * scale and top <= box_top and box_bottom <= top + 28 * scale
    assert box_right - box_left > 10 * scale and box_bottom - box_top > 15 * scale
    # The plot draws the crop read up close (dashed, blue) on the picture as seen at the working size.
    visualize.plot_user_images(results[:1], seen, tmp_path / "seen.png")
    with Image.open(tmp_path / "seen.png") as plot:
        colours = np.asarray(plot.convert("RGB")).reshape(-1, 3).astype(int)
    assert (colours[:, 2] - colours[:, 0] > 80).sum() > 100  # blue, in the plot of a picture without any


def test_a_ruled_line_joined_to_a_desk_does_not_make_it_a_digit_cropped_tight():
    # Blank sheet 351 of the evaluation's set: grainy desk along two sides, one ruled line running
    # into it. Ink touching the border that reaches the middle third is a digit cropped tight, and
    # the line carried the desk there, until a line's own pixels stopped counting.
    pictures, _ = load_set("blank", 352)
    with pytest.raises(ImageError, match="no digit found"):
        to_mnist(working_gray(next(itertools.islice(pictures, 351, None))))


def test_the_plot_shows_what_was_kept_and_what_was_dropped(model, mnist, tmp_path):
    import visualize
    from mnist_cnn.inference import classify

    page = sheet(mnist.test_images[0].numpy(), desk=40, lines=range(15, 420, 45))
    Image.fromarray((page * 255).astype(np.uint8)).save(tmp_path / "ruled.png")
    results, seen = classify(model, [tmp_path / "ruled.png"])
    record = seen[tmp_path / "ruled.png"]
    assert results[0].prediction == "7"
    # The ruled lines stand out as ink, and are dropped; the desk is not kept.
    assert not record["kept"][:25].any() and (record["ink"] & ~record["kept"]).sum() > 500
    assert record["kept"].sum() > 500
    visualize.plot_user_images(results, seen, tmp_path / "seen.png")
    with Image.open(tmp_path / "seen.png") as plot:
        colours = np.asarray(plot.convert("RGB")).reshape(-1, 3)
    assert ((colours[:, 0] > 180) & (colours[:, 1] < 80)).any() and ((colours[:, 1] > 130) & (colours[:, 0] < 60)).any()


def test_the_plot_shows_a_refused_picture_with_its_reason(model, mnist, tmp_path):
    import visualize
    from mnist_cnn.inference import classify

    Image.fromarray((sheet(mnist.test_images[0].numpy()) * 255).astype(np.uint8)).save(tmp_path / "digit.png")
    Image.fromarray((sheet(np.zeros((28, 28), np.uint8), lines=range(15, 420, 45)) * 255).astype(np.uint8)
                    ).save(tmp_path / "lines.png")
    paths = [tmp_path / "digit.png", tmp_path / "lines.png"]
    results, seen = classify(model, paths)
    assert results[1].error.startswith("no digit found") and set(seen) == set(paths)
    assert seen[paths[1]]["ink"].sum() > 500 and not seen[paths[1]]["kept"].any()  # the lines, all dropped
    heights = []
    for name, shown in (("one.png", {paths[0]: seen[paths[0]]}), ("both.png", seen)):
        visualize.plot_user_images(results, shown, tmp_path / name)
        with Image.open(tmp_path / name) as plot:
            heights.append(plot.size[1])
    assert heights[1] > 1.7 * heights[0]  # a row for the refused picture too


def test_non_digits_are_often_refused_or_unsure(model):
    # Held-out letters, shapes, scribbles and blotches photographed like the digits: 32 of these 40
    # refused or answered unsure by the improved model (taught what is not a digit by outlier
    # exposure) at its own threshold, against 19 before it; the basic model, without it: 17.
    rng = np.random.default_rng(3)
    rejected = 0
    for _ in range(40):
        try:
            rejected += model.probabilities(to_mnist(working_gray(render_non_digit(rng)))[None])[0].max() \
                < model.min_confidence
        except ImageError:
            rejected += 1
    assert rejected >= 28


def test_the_order_statistics_are_numpys_to_the_bit():
    # The pipeline's own median, percentile and label lookup (numpy's reach numpy.ma, slow to import).
    rng = np.random.default_rng(5)
    for n in (1, 2, 7, 256, 1001):
        values = (rng.random(n).astype(np.float32) ** 3) - 0.2
        for q in (0, 12.5, 50, 95, 99, 100):
            ours, numpys = _percentile(values, q), np.percentile(values, q)
            assert ours == numpys and type(ours) is type(numpys)
        assert _median(values) == np.median(values)
    cube = rng.random((9, 12, 16)).astype(np.float32)
    for axis in (None, 0, 1, 2):
        assert np.array_equal(_median(cube, axis=axis), np.median(cube, axis=axis))
    assert np.array_equal(_median(cube, axis=2, keepdims=True), np.median(cube, axis=2, keepdims=True))
    labels = rng.integers(0, 30, (20, 20))
    assert np.array_equal(_among(labels, np.array([3, 0, 29, 3])), np.isin(labels, [3, 0, 29]))
    assert not _among(labels, np.array([], dtype=int)).any()


def test_a_note_on_a_dark_desk_is_read_dark_ink_on_light(model, mnist):
    # A small note lying on a desk, all of it in the frame: against the coarse blur the lit note is
    # the picture's bright tail, and the evidence said light ink; read so, the note was a filled
    # square, "no digit". The detail over 16 pixels says dark ink, so the picture's polarity is in
    # doubt and the model reads it both ways. Test digits 5000-5039 (render_note, seed 40): 9 with
    # the evidence saying light ink (2 of them over +1), all 9 in doubt; read right and sure 33
    # before, 40 now.
    rng = np.random.default_rng(40)
    pictures = [render_note(digit, rng) for digit in mnist.test_images[5000:5040].numpy()]
    evidence = [(polarity_evidence(gray), gray) for gray in map(working_gray, pictures)]
    light = [gray for skew, gray in evidence if skew > 0]
    assert len(light) >= 5 and all(polarity_in_doubt(gray, polarity_evidence(gray)) for gray in light)
    reading = partial(top_log_probability, model)
    right = 0
    for picture, label in zip(pictures, mnist.test_labels[5000:5040].numpy()):
        found = read_picture_digits(to_gray(picture), single=True, score=reading, sure=model.min_confidence)
        probabilities = model.probabilities(found[0].image[None])[0]
        right += probabilities.argmax() == label and probabilities.max() >= model.min_confidence
    assert right >= 38


def clean_note(digit: np.ndarray, desk_level: float = 0.2) -> Image.Image:
    """A white note on a flat desk, all of it in the frame, the digit written on it in dark blue: a
    clean scan or a photo denoised by its phone, without the grain of render_note's."""
    picture = np.full((360, 480, 3), desk_level, np.float32)
    picture[40:320, 100:400] = 0.95
    pen = np.asarray(Image.fromarray(digit).resize((220, 220), Image.Resampling.BICUBIC), np.float32)[..., None] / 255
    pen = np.clip(pen, 0, 1)
    picture[70:290, 140:360] = picture[70:290, 140:360] * (1 - pen) + np.array([0.1, 0.1, 0.4]) * pen
    return Image.fromarray(np.round(picture * 255).astype(np.uint8))


def test_a_flat_page_around_a_canvas_or_a_flat_desk_around_a_note_is_no_plain_canvas(model, mnist):
    # Its commonest level is flat and holds the border: the dark page of a drawing app in dark mode
    # around its white canvas, a light page around a black canvas, a flat desk around a clean note.
    # That level was taken for a plain canvas's paper, the canvas or the note for light "ink" around
    # holes: unsure readings of a filled square. Read again as a photo is, where the first reading
    # is unsure. The test set's first 20 digits in each: 19, 19 and 19 right and sure (0, 0 and 3
    # before; the one left is test digit 8, a 5 read unsure in all three).
    reading = partial(top_log_probability, model)
    digits, labels = mnist.test_images[:20].numpy(), mnist.test_labels[:20].numpy()
    for draw in (partial(app_screenshot, page_level=40), partial(app_screenshot, black_canvas=True), clean_note):
        pictures = [to_gray(draw(digit)) for digit in digits]
        assert _plain_paper(working_gray(draw(digits[0]))) is not None  # taken for a plain canvas
        right = 0
        for picture, label in zip(pictures, labels):
            found = read_picture_digits(picture, single=True, score=reading, sure=model.min_confidence)
            probabilities = model.probabilities(found[0].image[None])[0]
            right += probabilities.argmax() == label and probabilities.max() >= model.min_confidence
        assert right >= 19, draw


def test_a_filled_sheet_is_told_from_a_digit(mnist):
    sure, nothing, unsure, read = 0.36, np.log([0.01]), np.log([0.2]), np.log([0.9])
    gray = np.full((120, 120), 0.95, np.float32)  # a white page
    gray[15:105, 15:105] = 0.1  # a black canvas on it
    gray[35:85, 55:61] = 0.95  # a white 1 drawn on the canvas
    canvas = np.zeros_like(gray, bool)
    canvas[15:105, 15:105] = True
    assert _filled_sheet(gray < 0.5, gray, nothing, sure)  # the canvas taken for ink, the 1 a hole in it
    assert _filled_sheet(gray < 0.5, gray, read, sure)  # even read as a digit: the 1's strokes are in it
    assert _filled_sheet(canvas, gray, read, sure)  # the 1 blurred into the ink kept
    gray[35:85, 55:60] = 0.1  # a 1 one pixel wide: too little of it to tell, where read as a digit
    assert not _filled_sheet(canvas, gray, unsure, sure)
    assert _filled_sheet(canvas, gray, nothing, sure)
    assert not _filled_sheet(canvas, gray, nothing, sure, photo=True)  # on a photo: a blotch of ink
    paper = np.full((90, 90), 0.95, np.float32)
    paper[10:80, 30:60] = 0.5  # a thick grey 1, its core black: it fills its box, and nothing lies in it
    paper[20:70, 40:50] = 0.0  # (its core is half the range from its level, away from the page's)
    assert not _filled_sheet(paper < 0.9, paper, unsure, sure)
    for digit in mnist.test_images[:20].numpy():  # a digit's strokes fill far less of its box
        assert not _filled_sheet(digit > 100, 1 - digit / 255, nothing, sure)


def test_a_black_canvas_on_a_light_apps_page_under_its_title_is_read(model, mnist):
    # The app's dark title on its light page makes the picture no plain canvas, and its detail says
    # dark ink: the black canvas was read as the digit (unsure, a "0"). A photo's reading that is such
    # a sheet, the digit's strokes in it, is read the other way round too. The test set's first 30
    # digits: 25 read right and sure before, 29 now (digit 8, a 5, is read unsure from its own 28x28 file too).
    right = sum(read_right_and_sure(model, app_screenshot(digit, title=True, black_canvas=True), label)
                for digit, label in zip(mnist.test_images[:30].numpy(), mnist.test_labels[:30].numpy()))
    assert right >= 29


def test_an_underline_drawn_by_hand_is_not_read_as_part_of_the_digit(model, mnist):
    # A hand-drawn underline is often no wider than the digit, and apart from it or touching it at
    # one place: it reached past the digit by less than the loose rule's quarter of its height and
    # was read with it (a 4 as "1", a 0 as "2", or unsure). Test digits 5000-5039 (render_underlined,
    # seed 40): 23 read right and sure before, 35 now.
    rng = np.random.default_rng(40)
    reading = partial(top_log_probability, model)
    right = 0
    for digit, label in zip(mnist.test_images[5000:5040].numpy(), mnist.test_labels[5000:5040].numpy()):
        found = read_picture_digits(to_gray(render_underlined(digit, rng)), single=True, score=reading,
                                    sure=model.min_confidence)
        probabilities = model.probabilities(found[0].image[None])[0]
        right += probabilities.argmax() == label and probabilities.max() >= model.min_confidence
    assert right >= 33


def test_a_separate_line_goes_from_under_a_digit_not_from_above_it_nor_a_shapes_side(mnist):
    digit = sheet(mnist.test_images[0].numpy())  # a 7, at rows 140-280, columns 110-250 of the sheet
    ink = ink_map(digit)
    mask, _ = find_digit(ink)
    under, over = np.zeros_like(mask), np.zeros_like(mask)
    bottom, top = np.flatnonzero(mask.any(1))[[-1, 0]]
    left, right = np.flatnonzero(mask.any(0))[[0, -1]]
    under[bottom + 8:bottom + 12, left:right] = True
    over[top - 12:top - 8, left:right] = True  # where a 5's flag lies
    assert np.array_equal(_without_separate_underline(mask | under, ink, None, 0.0), mask)
    assert np.array_equal(_without_separate_underline(mask | over, ink, None, 0.0), mask | over)
    square = np.zeros((200, 200), bool)  # a square's outline: its bottom side is no underline
    square[50:150, 50:54] = square[50:150, 146:150] = square[50:54, 50:150] = square[146:150, 50:150] = True
    assert np.array_equal(_without_separate_underline(square, square.astype(float), None, 0.0), square)
    assert np.array_equal(without_underline(square), square)


def test_a_thick_markers_blob_in_a_photo_stays_ink(model, mnist):
    # A 6 in a thick marker whose loop closed into a blob wider than the paper filter's squares (a
    # fifth of the picture): the opening kept the blob as paper and the 6 came out hollow, answered
    # unsure. A level 70% of the way up to the ink, inside the picture, is now ink on photos too.
    # The first 20 6s from test digit 7000 on, strokes thickened by 2 pixels of 28, on grainy paper:
    # 10 read right and sure before, 14 now.
    labels = mnist.test_labels.numpy()
    rng = np.random.default_rng(0)
    reading = partial(top_log_probability, model)
    right = 0
    for i in 7000 + np.flatnonzero(labels[7000:] == 6)[:20]:
        marker = Image.fromarray(mnist.test_images[i].numpy()).filter(ImageFilter.MaxFilter(3))
        ink = np.asarray(marker.resize((150, 150), Image.Resampling.BICUBIC), np.float32) / 255
        photo = np.full((256, 256), 0.93, np.float32)
        photo[53:203, 53:203] -= 0.83 * np.clip((ink - 0.15) / 0.6, 0, 1)
        photo = np.clip(photo + rng.normal(0, 0.02, photo.shape), 0, 1)
        found = read_picture_digits(photo, single=True, score=reading, sure=model.min_confidence)
        probabilities = model.probabilities(found[0].image[None])[0]
        right += probabilities.argmax() == 6 and probabilities.max() >= model.min_confidence
    assert right >= 13


def test_a_small_digit_joined_to_a_darker_edge_by_specks_is_found_on_a_second_look(mnist):
    # A large photo shrunk to the working size, a small digit near an edge where the paper is a
    # little darker (uneven light): specks of paper there joined the digit to the edge, and it was
    # dropped with them. A second look with the ink held to a higher standard finds it. Measured:
    # found in 8 of these 10 (5 without the second look, as for a picture not shrunk).
    found = {False: 0, True: 0}
    for seed in range(10):
        rng = np.random.default_rng(seed)
        ink = rng.normal(0, 0.02, (256, 256)).astype(np.float32)
        ink[:, -16:] += 0.024 * np.linspace(0, 1, 16) ** 2
        digit = np.asarray(Image.fromarray(mnist.test_images[seed].numpy()).resize((30, 30), Image.Resampling.BICUBIC))
        ink[110:140, 220:250] += 0.7 * digit.astype(np.float32) / 255
        ink = _smooth(ink)
        for shrunk in found:
            found[shrunk] += bool(find_digit(ink, noise_level(ink), shrunk=shrunk)[0][110:140, 220:250].any())
    assert found[True] >= 8 and found[True] > found[False]


def test_a_thin_faint_digit_small_on_a_large_page_is_found_a_finer_look(model, mnist, monkeypatch):
    # A page photographed whole, 4x the working size: a thin faint stroke, shrunk that far, is
    # averaged into the paper and its grid and nothing stands out. Looked at 2x finer, it is found
    # and read up close. Measured on these 12: 10 read right, 6 without the finer look.
    reading = partial(top_log_probability, model)

    def right_on_pages() -> int:
        right = 0
        for i in INDICES:
            rng = np.random.default_rng(i)
            page = np.full((1100, 1000), 0.7, np.float32) + rng.normal(0, 0.015, (1100, 1000)).astype(np.float32)
            page[20::40] -= 0.03  # squared paper, lines 2 pixels wide
            page[21::40] -= 0.03
            page[:, 20::40] -= 0.03
            page[:, 21::40] -= 0.03
            digit = Image.fromarray(mnist.test_images[i].numpy()).resize((80, 80), Image.Resampling.BICUBIC)
            top, left = rng.integers(150, 870, 2)
            page[top:top + 80, left:left + 80] -= 0.08 * np.asarray(digit.filter(ImageFilter.MinFilter(5)), np.float32) / 255
            try:
                found = read_picture_digits(page, single=True, score=reading, sure=model.min_confidence)
            except ImageError:
                continue
            box_left, box_top, box_right, box_bottom = found[0].box
            in_place = box_left < left + 80 and box_right > left and box_top < top + 80 and box_bottom > top
            right += in_place and model.probabilities(found[0].image[None])[0].argmax() == int(mnist.test_labels[i])
        return right

    with_finer_look = right_on_pages()
    monkeypatch.setattr(preprocess, "FINER_LOOK", 1000)  # only pictures shrunk 2000x would get it
    assert with_finer_look >= 9 and with_finer_look >= right_on_pages() + 3


def test_a_small_digit_joined_to_a_shadow_reaching_the_edge_is_found_by_its_strongest_ink(mnist):
    # A shadow cast across a page from its lower edge up to a small bold digit: the two are one
    # component, which reaches the picture's edge and is dropped as a shadow. The digit is the
    # picture's strongest ink, far darker than the shadow, and a last look at that alone finds it.
    rng = np.random.default_rng(0)
    rows, columns = np.mgrid[0:256, 0:240]
    ink = rng.normal(0, 0.002, (256, 240)).astype(np.float32)
    ink += 0.03 * np.clip((1 - ((columns - 120) / 70) ** 2 - ((rows - 256) / 45) ** 2) / 0.3, 0, 1)
    zero = Image.fromarray(mnist.test_images[3].numpy()).resize((24, 24), Image.Resampling.BICUBIC)
    ink[196:220, 108:132] += 0.5 * np.asarray(zero, np.float32) / 255
    ink = _smooth(ink)
    noise = noise_level(ink)
    assert not find_digit(ink, noise, shrunk=True)[0].any()
    nothing = np.zeros(ink.shape, bool)
    working, candidate = _small_digit_candidate(np.ones((768, 720), np.float32), ink.shape, ink, noise, nothing, True)
    found_rows, found_columns = np.nonzero(candidate)
    assert working == ink.shape and candidate[196:220, 108:132].any()
    assert found_rows.min() >= 192 and found_rows.max() <= 223 and found_columns.min() >= 104 and found_columns.max() <= 135
