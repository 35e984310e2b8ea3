"""A user's photo, scan or drawing of a digit turned into what MNIST would have made of it: white
ink on black, the digit scaled to fit a 20x20 box (aspect kept, anti-aliased) and centred by its
centre of mass in 28x28. NumPy and Pillow only (with pillow-heif's plugin for an iPhone's HEIC
photos, imported when one comes).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Callable, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".avif", ".heic", ".heif",
                  ".jp2"}

# Refuse decompression bombs by the pixels a picture would be decoded to: a phone's 48- to 200-megapixel
# JPEG decodes at an eighth to a half of its size (`_decode_smaller`); a PNG or TIFF decodes whole.
DECODED_MOST = 40_000_000
# Pillow's own check, on the size the file claims (a warning, made an error): the largest phones'
# photos are 200 megapixels.
Image.MAX_IMAGE_PIXELS = 256_000_000
WORKING_SIZE = 256     # long side, in pixels, that the ink is found at: plenty for one digit
MIN_INK_CONTRAST = 0.04  # ink must differ from the paper by this much (of the full 0-1 range)
# A group of ink wider than this times its height may be touching digits (9% of MNIST's test digits
# are wider than tall, 0.5% over 1.5 times; two digits side by side: median 1.5 times).
CUT_ASPECT = 1.0
CORE_LEVEL = 0.5  # the ink's core, where digits written close are told apart: over this share of its peak
DIGIT_HEIGHT_SHARE = 0.45  # a digit of a number is at least this share of its row's height
CUT_PENALTY = 3.0  # log-odds against cutting: one digit alone is the usual picture
WIDE_DIGIT_RATE = 5.9  # log-likelihood lost per unit of aspect (width / height) over 1
FAINTEST_COMPANION = 0.25  # ink kept with the heaviest piece is on average at least this share as dark
# A smudge the digit touches (the haze of erased chalk or pencil, a stain): ink under SMUDGE_LEVEL of
# the digit's, broader than SMUDGE_WIDTHS of its strokes (and 7 pixels at the working size). A
# stroke's faint edge is a pixel or two wide; a small digit shown big (a 28x28 image in a figure)
# has edges a pixel of its own wide, a third of a stroke.
SMUDGE_LEVEL, SMUDGE_WIDTHS = 0.25, 1.5
# A piece of ink with strokes this many times as wide as a digit's beside it is an object lying in
# the picture (a pen, an eraser, a blot), not writing.
THICKEST_WRITING = 2.5
# A line the digit touches reaches past it on both sides by LINE_REACH of its height and is at most
# LINE_THICKNESS of it thick (see without_underline). A level one reaching LOOSE_LINE_REACH past, or
# up to LOOSE_LINE_THICKNESS thick, may be the digit's own stroke: the model decides.
LINE_REACH, LINE_THICKNESS = 0.4, 0.5
LOOSE_LINE_REACH, LOOSE_LINE_THICKNESS = 0.25, 0.8
LOOSE_LINE_PENALTY = 1.0  # log-odds against taking such a line out: the digit must read e times likelier
# An underline the digit touches qualifies loosely where it reaches this share of the height past
# the outermost places where the digit's strokes meet it (see _underline_past_strokes).
UNDERLINE_REACH = 0.05
# Reaching UNDERLINE_CLEAR past them, and at most UNDERLINE_THICKNESS of the height thick, the model
# decides on equal terms whether it goes (a 4 or a 7 underlined reads as a sure 1 or 2 with the line;
# a 2's base rarely reaches that far past its stroke, and a long curved one is thicker).
UNDERLINE_CLEAR, UNDERLINE_THICKNESS = 0.15, 0.25
DARKER_THAN_LINE = 1.3  # ink this much darker than a line the digit touches is the digit's own
FAINT_LINE = 0.34  # a line across the digit under this share of its ink's level is taken out of it
# A frame the digit touches (a form's box it was written into, a canvas's border): four thin straight
# sides, each within FRAME_EDGE of the digit's extent from its edge and along FRAME_SIDE of it or more,
# at most FRAME_THICKNESS of it thick (a square 0 drawn with a marker is thicker).
FRAME_SIDE, FRAME_EDGE, FRAME_THICKNESS = 0.85, 0.15, 0.08
# A ring drawn around the digit that it touches (a circled answer): an ellipse that the outermost
# pixels follow, within RING_FIT of its size, in RING_FITS of RING_DIRECTIONS directions from the
# centre; a stroke no thicker than RING_THICKNESS of its short half-axis in RING_THIN of them (where
# the digit's strokes meet it, it looks thicker), with RING_INSIDE of the pixels inside it and
# RING_CLEAR apart from it, RING_GAP pixels or more in most directions (more than pixels bridge).
RING_DIRECTIONS, RING_FIT, RING_FITS, RING_THICKNESS, RING_THIN, RING_INSIDE = 90, 0.15, 0.92, 0.3, 0.3, 0.15
RING_CLEAR, RING_GAP = 0.05, 3
# log-odds for the ring: the whole must read e times likelier than what is inside to keep it (a ring
# close around a 1 reads as a slashed 0 about as surely as the 1 alone reads as a 1)
RING_PENALTY = 1.0
# The slopes a line is looked for at, within 6 degrees of level (a hand, a tilted photo); a frame's
# sides, seen two pixels wider each way, at every other one.
LINE_ANGLES = np.array([0, -1, 1, -2, 2, -3, 3, -4, 4, -5, 5, -6, 6])
LINE_SLOPES, FRAME_SLOPES = np.tan(np.deg2rad(LINE_ANGLES)), np.tan(np.deg2rad(LINE_ANGLES[LINE_ANGLES % 2 == 0]))
# Digits found smaller than this share of the working picture's short side are read from a crop
# of the picture around them, widened by CLOSER_MARGIN times their size on each side, where the
# picture has at least CLOSER_GAIN times the working picture's pixels. On such a picture, ink
# covering CLOSER_SMALLEST of the least share a digit must cover is looked at closer too (up close,
# it must pass the usual rules).
CLOSER_BELOW = 0.25
CLOSER_MARGIN = 1.0
CLOSER_GAIN = 2.0
CLOSER_SMALLEST = 0.5
FINER_LOOK = 2  # where nothing is found on a picture shrunk 4x or more, it is looked at again 2x finer
# The last look for a small digit takes this share of the picture's strongest ink for the paper's
# noise: ink over 0.25 of it (and somewhere over 0.5) is kept, a shadow's edge beside a pen's stroke is not.
STRONGEST_INK = 0.1
# A photo whose polarity evidence is weaker than this either way, or whose detail at a middle scale
# says the opposite, is read both ways where the model is unsure (see polarity_in_doubt).
WEAK_POLARITY = 0.3
PAPER_OPENING = 0.2  # the paper's level is what is broader than a fifth of the picture
# A digit filling its frame (cropped tight in a photo) has strokes as broad as that. Read again with
# the paper found as _frame_paper finds it, it is kept where its box spans FRAME_FILLING_SPAN of the
# picture one way and FRAME_FILLING_ACROSS the other (the blur of a photo cropped at a stroke's
# outer edge leaves it a little inside: a 1 or an 8 so cut spans 0.8 of the width), and covers about
# as much of it as its paper: the picture's detail is not skewed far either way (polarity_evidence
# under FRAME_FILLING_EVIDENCE); a dark desk along a sheet's side is a far tail (2 and more).
FRAME_FILLING_SPAN = 0.9
FRAME_FILLING_ACROSS = 0.75
FRAME_FILLING_EVIDENCE = 1.25
# Ink covering more than this share of a side of the picture is a desk or a sheet's edge, not a
# digit's strokes ending there (a 0's flattest curve may cover half of one).
DESK_SIDE = 0.8
SHADOW_LEAN = 0.25  # ink leaning this much to one side of its runs across (see _lean_across) is a shadow's,
SHADOW_DARKEST = 0.3  # where on average fainter than this (a shadow takes a little of the light)
DECODED_LEAST = 6 * WORKING_SIZE  # a large JPEG is decoded smaller, its long side no shorter than this


class ImageError(ValueError):
    """An image that cannot be classified; the message says why."""


def read_image(path: str | Path | BinaryIO) -> np.ndarray:
    """The image (a file or a binary stream) as working greyscale (see `working_gray`); ImageError
    naming what is wrong."""
    return working_size(open_gray(path)[0])


def open_gray(path: str | Path | BinaryIO) -> tuple[np.ndarray, int]:
    """(the image, a file or a binary stream, as float greyscale upright as its EXIF orientation
    says (see `to_gray`), the image's own pixels per pixel of it): at its own resolution, except a
    large one, decoded smaller (a JPEG, see `_decode_smaller`) or averaged down as soon as decoded
    (other formats, see `_averaged_smaller`). ImageError naming what is wrong."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with _open_image(path) as image:
                reduction = _decode_smaller(image)
                if image.size[0] * image.size[1] > DECODED_MOST:  # before a pixel is decoded
                    raise ImageError(f"image too large, refused as a possible decompression bomb "
                                     f"({image.size[0]}x{image.size[1]} pixels decoded, over {DECODED_MOST:,})")
                ImageOps.exif_transpose(image, in_place=True)  # no copy where it is upright already
                image, averaged = _averaged_smaller(image)
                return to_gray(image), reduction * averaged
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageError(f"image too large, refused as a possible decompression bomb ({error})") from None
    except UnidentifiedImageError:
        raise ImageError(_known_other_kind(path)
                         or "not an image PIL can read (PNG, JPEG, BMP, GIF, TIFF, WebP, AVIF, HEIC...)") from None
    except OSError as error:
        raise ImageError(f"cannot read the image ({error})") from None


def _known_other_kind(source: str | Path | BinaryIO) -> str:
    """What a file Pillow cannot read is, where it is a kind a scanner or a drawing program saves
    and can export as a picture instead, with how; "" for any other."""
    try:
        if isinstance(source, (str, Path)):
            with open(source, "rb") as file:
                start = file.read(1024)
        else:
            source.seek(0)
            start = source.read(1024)
    except OSError:
        return ""
    if not start:  # an interrupted download or copy leaves one
        return "an empty file (0 bytes), not an image"
    if start.startswith(b"%PDF"):
        return "a PDF document, not a picture: export its page as PNG or JPEG (e.g. `pdftoppm -png`)"
    if b"<svg" in start.lower():
        return "an SVG drawing (shapes, not pixels): export it as PNG"
    return ""


def _open_image(source: str | Path | BinaryIO) -> Image.Image:
    """Image.open, and where Pillow knows no format for it, again with pillow-heif's HEIF opener
    (HEIC: what iPhones save photos as), imported only then, not on every start (0.015 s)."""
    try:
        return Image.open(source)
    except UnidentifiedImageError:
        if not _heif_opener():
            raise
        if not isinstance(source, (str, Path)):
            source.seek(0)
        return Image.open(source)


@functools.cache
def _heif_opener() -> bool:
    """pillow-heif's opener registered with Pillow (once); False where pillow-heif is not installed."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _decode_smaller(image: Image.Image) -> int:
    """Has a JPEG of over twice DECODED_LEAST on its long side (a phone's photo: 12 megapixels and
    more) decode at a half, a quarter or an eighth of its size, which JPEG gives at a fraction of
    the work, its long side kept at DECODED_LEAST or more; returns the reduction (1: none). Every
    step after costs a quarter as much, and a digit written small on a page photographed whole keeps
    pixels to spare for the closer look. Colour is decoded as its luminance, the grey `to_gray`
    would make of it."""
    if image.format != "JPEG" or max(image.size) < 2 * DECODED_LEAST:
        return 1
    width, height = image.size
    least = DECODED_LEAST / max(width, height)
    image.draft("L" if image.mode == "RGB" else image.mode, (int(width * least), int(height * least)))
    return round(width / image.size[0])


# Modes whose pixels can be averaged as they are: not palette indices, dithered bilevel dots or a
# transparent colour key. 16-bit greyscale is averaged as 32-bit ("I"), which Pillow converts exactly.
_AVERAGED_MODES = {"L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "I", "F"}
# Pillow's high-bit-depth greyscale modes. "I" (32-bit) is what 16-bit PNGs and TIFFs often open as.
_HIGH_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_AVERAGED_AS_I = _HIGH_BIT_MODES - {"I"}


def _averaged_smaller(image: Image.Image) -> tuple[Image.Image, int]:
    """A large picture in a format without scaled decoding (a scanner's PNG or TIFF page: A4 at 300
    dpi is 2480x3508) averaged over whole blocks of pixels, its long side kept at DECODED_LEAST or
    more, before anything makes floats of all its pixels; with the reduction (1: none, the image
    itself). As `_decode_smaller` does for a JPEG, and for the same reason."""
    factor = max(image.size) // DECODED_LEAST
    if factor < 2 or "transparency" in image.info:
        return image, 1
    if image.mode in _AVERAGED_AS_I:
        image = image.convert("I")
    if image.mode not in _AVERAGED_MODES:
        return image, 1
    return image.reduce(factor), factor


def working_gray(image: Image.Image) -> np.ndarray:
    """Greyscale float image in [0, 1] (1 = white), transparency on white paper, at the working
    size (see `working_size`)."""
    return working_size(to_gray(image))


def working_size(gray: np.ndarray) -> np.ndarray:
    """A greyscale picture shrunk to at most WORKING_SIZE on its long side (or half of it on its
    short side, whichever is larger); one under half that size is enlarged to it."""
    # A 1 cut at its ink from a small drawing may be a few pixels wide: only the long side must
    # hold a digit.
    if max(gray.shape) < 8:
        raise ImageError(f"image of {gray.shape[1]}x{gray.shape[0]} pixels is too small to hold a digit")
    # A wide picture (a number) keeps its short side at half the working size at least, so that
    # each of its digits keeps enough pixels; one of a digit (aspect within 2) is unchanged by it.
    scale = max(WORKING_SIZE / max(gray.shape), WORKING_SIZE / 2 / min(gray.shape))
    if min(gray.shape) < 8:  # that 1: its long side no longer than twice the working size
        scale = min(scale, 2 * WORKING_SIZE / max(gray.shape))
    # Shrunk first: everything below is per-pixel work. A small picture (an MNIST-style 28x28, an
    # icon-sized drawing) is enlarged: the filters below are sized for the working size, and at 28
    # pixels they fill a digit's loops.
    if scale < 1 or scale > 2:
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        gray = _resize(gray, size, Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR)
    return gray


# High-bit-depth greyscale is read at the scale of the fewest bits holding its values: a 12-bit camera or a
# program storing 8-bit values as 16-bit writes no more, and at 16 bits' scale its picture is blank.
_INTEGER_FULL_SCALES = tuple(2.0 ** bits - 1 for bits in (8, 10, 12, 14, 16))
_FLOAT_FULL_SCALES = (1.0, 255.0, 65535.0)  # floats in [0, 1], or 8- or 16-bit values stored as floats


def to_gray(image: Image.Image) -> np.ndarray:
    """Any Pillow image as float greyscale in [0, 1]: 8-bit, 16-bit and 32-bit integer, float,
    bilevel, palette, RGB, CMYK...; transparency composited onto white paper."""
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        on_white = _as_float(Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("L"))
        # Strokes told apart by their opacity alone (white or pale ink on a transparent canvas)
        # vanish on white paper: then the opacity is the drawing, dark where opaque.
        opacity = _as_float(rgba.getchannel("A"))
        return 1 - opacity if np.ptp(opacity) > 2 * np.ptp(on_white) else on_white
    if image.mode in _HIGH_BIT_MODES or image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        peak = values.max(initial=0)
        scales = _FLOAT_FULL_SCALES if image.mode == "F" else _INTEGER_FULL_SCALES
        full_scale = next((top for top in scales if peak <= top), peak)
        return np.clip(values / full_scale, 0, 1).astype(np.float32)
    if image.mode == "1":  # a bilevel scan's dithering stands for grey: average it back
        return _as_float(image.convert("L").filter(ImageFilter.GaussianBlur(1.5)))
    if image.mode not in ("L", "RGB", "P"):  # CMYK, YCbCr, LAB, HSV: through RGB, which Pillow knows for all
        image = image.convert("RGB")
    return _as_float(image.convert("L"))


def _as_float(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32) / 255


def ink_map(gray: np.ndarray, dark_ink: bool | None = None, frame_filling: bool = False,
            canvas: bool = True) -> np.ndarray:
    """Ink strength with the paper at zero (not yet normalised), whatever the paper, light or dark,
    evenly lit or not: everything that stands out of the paper locally, the digit and whatever
    else is in view. `dark_ink` gives the polarity; by default `polarity_evidence` decides it.
    With `frame_filling`, the paper is what a digit filling the picture leaves (see _frame_paper);
    with `canvas` False, the picture is not taken for a plain canvas (see _read_either_way)."""
    # A plain canvas tells its paper and polarity outright, even where the ink covers as much of it
    # as the paper does (a digit cropped tight), which would turn the estimates below.
    plain = _plain_paper(gray) if canvas else None
    if plain is not None:
        paper, dark_ink = plain
        return paper - gray if dark_ink else gray - paper
    if dark_ink is None:
        dark_ink = _dark_ink(gray, polarity_evidence(gray))
    ink = 1 - gray if dark_ink else gray.copy()
    if frame_filling:
        return ink - _frame_paper(ink)
    ink -= _paper_level(ink)
    # A clean picture's paper may be one exact level and yet no plain canvas: a screenshot shows the
    # app's grey around a white canvas, in bands narrower than the paper's filter, which took them
    # for ink. Wherever the picture is at that level and joined to its edge, it is paper (inside
    # other ink the same level is a stroke's core: white strokes on a black image on a white page).
    quantised, _, paper = _flat_paper(gray)
    if paper is not None:
        ink[_joined_to_edge(quantised == paper)] = 0
    return ink - _median(ink)  # the paper at zero


def polarity_evidence(gray: np.ndarray, canvas: bool = True) -> float:
    """Which way the ink lies in a photo: negative for dark ink, positive for light (chalk), and
    the further from zero the surer; 0.0 on a plain canvas, whose paper tells (see ink_map), unless
    `canvas` is False."""
    if canvas and _plain_paper(gray) is not None:
        return 0.0
    # From the fine detail alone (the picture less its blur): strokes are the thin extreme there,
    # dark ink skews it down, chalk up. The picture as a whole would not do: a shadow or a desk can
    # cover half of it. Against a coarse blur, a thick stroke stands out whole; where that leaves
    # the skew weak (a thin pen on a sheet whose edges against a desk dominate the detail), a blur
    # over four pixels decides, which leaves of an edge only two thin lobes that cancel.
    h, w = gray.shape
    skew = _detail_skew(gray, (4, 4))
    if abs(skew) < 0.15:
        skew = _detail_skew(gray, (max(1, w // 4), max(1, h // 4)))
    return skew


def polarity_in_doubt(gray: np.ndarray, evidence: float) -> bool:
    """Whether a photo's `evidence` (see polarity_evidence) leaves its polarity in doubt: weaker than
    WEAK_POLARITY, or contradicted by the detail against a blur over 16 pixels. A small sheet or a
    note on a dark desk is what the coarse blur gets wrong: the lit note is the picture's bright
    tail, and it says light ink (up to +1.5 there); over 16 pixels the note is flat and its dark
    strokes stand out."""
    if abs(evidence) < WEAK_POLARITY:
        return True
    h, w = gray.shape
    return bool(np.sign(_detail_skew(gray, (max(1, w // 16), max(1, h // 16)))) != np.sign(evidence))


def _detail_skew(gray: np.ndarray, blurred: tuple[int, int]) -> float:
    """The skew of the picture less its blur (shrunk to `blurred` pixels and brought back)."""
    return _skewness(gray - _resize(_resize(gray, blurred), gray.shape[::-1]))


def _dark_ink(gray: np.ndarray, evidence: float) -> bool:
    """The polarity the evidence points to; without any, a light picture's ink is dark."""
    return evidence < 0 if evidence != 0 else float(_median(gray)) > 0.5


def _plain_paper(gray: np.ndarray, share: float = 0.2) -> tuple[float, bool] | None:
    """(the paper's level, whether the ink is darker) on a plain canvas: a drawing, a scan whitened
    by its app, a digit cropped tight whose ink may cover more of the picture than the paper does.
    The paper is then one grey level, the commonest, covering at least `share` of the picture and
    most of its border, with next to nothing beyond it on one side; or, where solid ink covers more
    of the picture than that, the border's commonest level beside a flat level of ink. None
    otherwise: a photo's grain and uneven light spread the paper over many levels, and a desk along
    the sides is not the sheet."""
    quantised, counts, paper = _flat_paper(gray, share)
    if paper is not None:
        return _ink_side(counts, paper)
    border = np.concatenate(_sides(quantised))
    # A thick digit cropped tight, or drawn with a solid brush to fill its canvas, covers more of
    # the picture than the paper and much of the border. Its canvas is then two flat levels: the
    # border's commonest, light, and its solid dark ink, the commonest level beyond it and as far
    # as the picture goes, reaching two sides or more (an upright 1's edges may not reach its
    # sides). A photo's ink is no flat level (grain); shrunk many times, a page's photo is flat
    # too, but there the border's level is a dark desk and the sheet lighter, and a flat sheet on
    # a flat desk all round it reaches no side.
    paper = int(np.argmax(np.bincount(border, minlength=256)))
    if counts[paper] < TWO_LEVEL_PAPER * gray.size or np.mean(border == paper) < 0.25:
        return None
    plain = _ink_side(counts, paper)
    if plain is None or not plain[1]:  # light ink so cropped is left to the polarity evidence
        return None
    ink = int(np.flatnonzero(counts)[0])
    if (paper - ink >= 128 and counts[ink] >= TWO_LEVEL_INK * gray.size and ink == np.argmax(counts[:paper - 2])
            and sum((side != paper).any() for side in _sides(quantised)) >= 2):
        return plain
    return None


def _flat_paper(gray: np.ndarray, share: float = 0.2) -> tuple[np.ndarray, np.ndarray, int | None]:
    """(the picture quantised to 256 levels, its pixels per level, the level of its flat paper): the
    commonest level where it covers at least `share` of the picture and half of its border (a flat
    desk around a flat sheet is no paper with a digit on it), else None."""
    quantised = np.clip(np.round(gray * 255), 0, 255).astype(np.intp)
    counts = np.bincount(quantised.ravel(), minlength=256)
    paper = int(np.argmax(counts))
    if counts[paper] >= share * gray.size and np.mean(np.concatenate(_sides(quantised)) == paper) >= 0.5:
        return quantised, counts, paper
    return quantised, counts, None


TWO_LEVEL_PAPER = 0.05  # a two-level canvas's paper covers at least this share of it, and a quarter of its border
TWO_LEVEL_INK = 0.005  # and its ink's own flat level at least this share, half the range or more from the paper


# On the side of a plain canvas's paper that holds no ink, no more than this share of the picture
# lies a quarter of the range or further from the paper: a thin 1 is no more than a percent or two of it.
FAR_FROM_PAPER = 0.001


def _ink_side(counts: np.ndarray, paper: int) -> tuple[float, bool] | None:
    """(the paper's level, whether the ink is darker) where next to nothing lies beyond the paper's
    level on one side (`counts`: pixels per level of 256), and none of that far from it; None where
    the picture spreads both ways. A thin dark digit on a white canvas, within a grey page (a
    screenshot of a drawing app), leaves the page's grey commonest and little on its dark side: but
    that little is black, and the white beyond the grey is no ink."""
    far = 64  # levels: a quarter of the range
    for dark_ink, beyond, far_beyond in ((True, counts[paper + 3:], counts[paper + far:]),
                                         (False, counts[:max(paper - 2, 0)], counts[:max(paper - far + 1, 0)])):
        if beyond.sum() <= 0.02 * counts.sum() and far_beyond.sum() <= FAR_FROM_PAPER * counts.sum():
            return paper / 255, dark_ink
    return None


def _stretches_along(side: np.ndarray, count: int, gap: int = 3) -> np.ndarray:
    """How many separate stretches of each component (label 1..count) lie along one side, pieces
    under `gap` pixels apart counted as one."""
    at = np.flatnonzero(side)
    if len(at) == 0:
        return np.zeros(count, int)
    which = side[at]
    new = np.r_[True, (np.diff(at) > gap) | (which[1:] != which[:-1])]
    return np.bincount(which[new], minlength=count + 1)[1:]


def _sides(image: np.ndarray) -> tuple[np.ndarray, ...]:
    """The picture's top and bottom rows and its left and right columns."""
    return image[0], image[-1], image[:, 0], image[:, -1]


# np.median, np.percentile, np.unique and np.isin each reach numpy.ma (a NaN or mask check), whose
# import is a tenth of the command line's start: a picture holds no NaNs, and labels are small integers.
def _median(values: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    values = np.asarray(values)
    if axis is None:
        values, axis = values.reshape(-1), 0
    n = values.shape[axis]
    if n == 0:
        return np.median(values, axis=axis, keepdims=keepdims)  # NaN, with numpy's warning
    middle = [n // 2 - 1, n // 2] if n % 2 == 0 else [n // 2]
    return np.take(np.partition(values, middle, axis=axis), middle, axis=axis).mean(axis=axis, keepdims=keepdims)


def _joined_to_edge(mask: np.ndarray) -> np.ndarray:
    """The pixels of `mask` in its connected pieces that reach the picture's edge."""
    labels, _ = label_components(mask)
    return mask & _among(labels, np.concatenate(_sides(labels)))


def _among(labels: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where `labels` is one of `wanted` (non-negative integers), by a lookup table."""
    wanted = np.asarray(wanted, dtype=np.intp)
    table = np.zeros(max(int(labels.max(initial=0)), int(wanted.max(initial=0))) + 1, dtype=bool)
    table[wanted] = True
    return table[labels]


def _percentile(values: np.ndarray, q: float) -> np.floating:
    """np.percentile of all the values, in their dtype (linear interpolation, numpy's default)."""
    flat = np.asarray(values).reshape(-1)
    position = q / 100 * (len(flat) - 1)
    low = int(np.floor(position))
    high = min(low + 1, len(flat) - 1)
    below, above = np.partition(flat, [low, high])[[low, high]]
    share = position - low
    # numpy's own interpolation, in the values' dtype, exact at both ends
    return below + (above - below) * share if share < 0.5 else above - (above - below) * (1 - share)


def _skewness(values: np.ndarray) -> float:
    spread = float(np.mean(values ** 2))
    return float(np.mean(values ** 3)) / spread ** 1.5 if spread > 1e-6 else 0.0


def _resize(image: np.ndarray, size: tuple[int, int], resample=Image.Resampling.BILINEAR) -> np.ndarray:
    return np.asarray(Image.fromarray(image.astype(np.float32, copy=False), "F").resize(size, resample))


def _paper_level(ink: np.ndarray) -> np.ndarray:
    """The paper's level everywhere: a grey opening (minimum, then maximum, over squares
    PAPER_OPENING times the picture's short side wide) removes every stroke narrower than that and
    keeps what is broad, uneven light, a shadow's edge, a desk. Computed at half resolution: it is
    smooth, and the filters cost the square of their size."""
    h, w = ink.shape
    small = _resize(ink, (max(1, w // 2), max(1, h // 2)))
    size = int(PAPER_OPENING * min(h, w) / 2) // 2 * 2 + 1
    # Continued past the edges as it runs (odd reflection), so that a gradient of light is not bent there.
    padded = np.pad(small, size, mode="reflect", reflect_type="odd")
    opened = _square_filter(_square_filter(padded, size, np.minimum), size, np.maximum)[size:-size, size:-size]
    # Where strokes wider than the squares cross (a large digit drawn with a thick brush), the
    # opening keeps their crossing as paper, a hole in the digit. A level that far up from the paper
    # towards the ink and not reaching the picture's edge is ink: the paper's level goes there. On
    # a clean, noiseless canvas (a drawing) from a tenth of the way up, so that the stroke's blurred
    # shoulders go too, not stay as grey patches; on a photo, whose shadows and desks this must not
    # touch, only from BLOB_LEVEL of the way (a thick marker's 6 whose loop closed into a blob).
    paper = _median(opened)
    rise = 0.1 if noise_level(small) < CLEAN_NOISE else BLOB_LEVEL
    high = opened > paper + rise * (_percentile(small, 99) - paper)
    opened = np.where(high & ~_joined_to_edge(high), paper, opened)
    # Brought back to full size, a sharp step (a sheet's edge against the desk) comes back blurred,
    # and the sharp original would stand out of it as a thin line along the edge: a small maximum
    # filter lifts the paper level to the step's top there. Strokes are gone from it already.
    return _square_filter(_resize(opened, (w, h)), 5, np.maximum)


CLEAN_NOISE = 0.002  # the paper's noise under which a picture is a drawing, not a photo or a scan
# On a photo, a broad level this far up from the paper to the ink, inside the picture, is ink (a
# blob of marker): at half way, a shadow's dark patch on a blank sheet read as a 1.
BLOB_LEVEL = 0.7


def _frame_paper(ink: np.ndarray) -> np.ndarray:
    """The paper's level everywhere where a digit fills the picture (`ink`, the polarity given):
    its strokes are as broad as any opening that keeps the paper, but the picture holds only the
    two, ink and paper, so a threshold between the picture's two classes of level parts them
    (Otsu's), and the paper's pixels give its level as a plane: the light across a small crop."""
    paper = ink <= _two_classes_threshold(ink)
    h, w = ink.shape
    rows, columns = np.nonzero(paper)
    known = np.stack([np.ones(len(rows)), rows / h, columns / w], axis=1)
    level = np.linalg.lstsq(known, ink[paper].astype(np.float64), rcond=None)[0]
    everywhere = level[0] + level[1] * np.arange(h)[:, None] / h + level[2] * np.arange(w) / w
    return everywhere.astype(np.float32)


def _two_classes_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Half way between the means of the two classes Otsu's method parts the values into (the
    split with the largest between-class variance): where two levels lie far apart, any split
    between them has that variance, and the first would leave the darker class's grain over it."""
    counts, edges = np.histogram(values, bins=bins)
    levels = (edges[:-1] + edges[1:]) / 2
    under = np.cumsum(counts)
    over = under[-1] - under
    sum_under = np.cumsum(counts * levels)
    mean_under = sum_under / np.maximum(under, 1)
    mean_over = (sum_under[-1] - sum_under) / np.maximum(over, 1)
    split = np.argmax(under * over * (mean_under - mean_over) ** 2)
    return float(mean_under[split] + mean_over[split]) / 2


def _square_filter(image: np.ndarray, size: int, pairwise) -> np.ndarray:
    """Minimum or maximum (`pairwise`: np.minimum or np.maximum) over size x size squares, edges
    replicated: along rows, then columns, each window the overlap of two windows of a power of two,
    which come from doubling (about log2(size) operations per pixel instead of size)."""
    half = size // 2
    for _ in range(2):
        padded = np.pad(image, ((half, size - 1 - half), (0, 0)), mode="edge")
        width = 1
        while 2 * width <= size:
            padded = pairwise(padded[:-width], padded[width:])
            width *= 2
        image = pairwise(padded[:len(image)], padded[size - width:size - width + len(image)]).T
    return image


def _smooth(image: np.ndarray) -> np.ndarray:
    """A light blur ([1, 2, 1] / 4 along rows, then columns, twice: a Gaussian of about a pixel).
    Along a stroke one or two pixels wide it averages several pixels of ink while the noise,
    independent from pixel to pixel, averages out: faint pencil stands out of grainy paper."""
    for axis in (0, 1, 0, 1):
        padded = np.pad(image, [(1, 1) if a == axis else (0, 0) for a in (0, 1)], mode="edge")
        ahead, here, behind = (np.take(padded, range(k, k + image.shape[axis]), axis=axis) for k in (0, 1, 2))
        image = (ahead + 2 * here + behind) / 4
    return image


def noise_level(ink: np.ndarray, block: int = 16) -> float:
    """The paper's noise (grain, JPEG, sensor), as a standard deviation: the median absolute
    deviation within squares of `block` pixels, the median over the squares. Over the whole picture
    at once, a grainy desk filling a third of it would count: faint strokes on the paper would fall
    under a noise that is not theirs. Ink covers a minority of the squares."""
    h, w = ink.shape
    if h < 2 * block or w < 2 * block:
        return float(1.4826 * _median(np.abs(ink - _median(ink))))
    squares = ink[:h // block * block, :w // block * block].reshape(h // block, block, w // block, block)
    squares = squares.transpose(0, 2, 1, 3).reshape(h // block, w // block, block * block)
    deviation = np.abs(squares - _median(squares, axis=2, keepdims=True))
    return float(1.4826 * _median(_median(deviation, axis=2)))


def _bridged_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """`mask`'s pixels labelled by piece (0 elsewhere), pixels two apart joined: a one-pixel pen line
    shrunk to the working size breaks up into dots and dashes."""
    labels, count = label_components(_dilate(mask, 3))
    return np.where(mask, labels, 0), count


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a boolean image: (labels 1..n in the order of their first pixel,
    row by row; 0 for background; n). NumPy only (scipy.ndimage would do it, but its import alone
    costs the CLI half a second): a forest of pixel indices, each pixel's root hooked under the
    smallest index among its neighbours, then pointer jumping, until every component is one tree
    rooted at its first pixel; a few rounds, however long the strokes. Worked on the box around
    the mask, where the ink is."""
    result = np.zeros(mask.shape, np.intp)
    box = nonzero_box(mask)
    if box is None:
        return result, 0
    h, w = mask[box].shape
    background = h * w
    inked = np.flatnonzero(mask[box])
    parent = np.full(h * w + 1, background)
    parent[inked] = inked
    while True:
        padded = np.pad(parent[:-1].reshape(h, w), 1, constant_values=background)
        rows_min = np.minimum(np.minimum(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])  # separable 3x3 min
        smallest = np.minimum(np.minimum(rows_min[:-2], rows_min[1:-1]), rows_min[2:]).ravel()[inked]
        own = parent[inked]
        if np.array_equal(smallest, own):
            break
        np.minimum.at(parent, own, smallest)  # a root takes the smallest label next to its tree
        parent[inked] = np.minimum(parent[inked], smallest)
        while not np.array_equal(jumped := parent[parent], parent):
            parent = jumped
    # Number the roots (each component's first pixel) 1..n in order.
    roots = np.flatnonzero(parent[:-1] == np.arange(h * w))
    dense = np.zeros(h * w + 1, np.intp)
    dense[roots] = np.arange(1, len(roots) + 1)
    result[box] = dense[parent[:-1]].reshape(h, w)
    return result, len(roots)


def component_boxes(labels: np.ndarray, count: int) -> tuple[np.ndarray, ...]:
    """(top, bottom, left, right) of components 1..count of a label image, inclusive; a label with
    no pixel gets an empty box (top past the bottom row, bottom 0)."""
    h, w = labels.shape
    rows, cols = np.nonzero(labels)
    ids = labels[rows, cols] - 1
    top, bottom = np.full(count, h), np.zeros(count, int)
    left, right = np.full(count, w), np.zeros(count, int)
    np.minimum.at(top, ids, rows), np.maximum.at(bottom, ids, rows)
    np.minimum.at(left, ids, cols), np.maximum.at(right, ids, cols)
    return top, bottom, left, right


def ink_levels(ink: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """(weak, strong) masks: above 2.5 and above 5 noise levels of the paper (with absolute floors)."""
    return ink > max(2.5 * noise, 0.01), ink > max(5 * noise, 0.02)


def find_digit(ink: np.ndarray, noise: float | None = None, smallest: float = 1.0, shrunk: bool = False,
               score: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mask, ink): the pixels of the digit, and the ink with the lines of ruled or squared paper
    taken out. The digit is the connected components of ink, less what touches the image's border
    (the sheet's edges, a desk, shadows) and specks, with its separate strokes (a 5's flag, a broken
    pencil line) kept together; the mask is empty when nothing could be a digit. Faint strokes are
    kept by hysteresis: a component counts when it is above 2.5 noise levels everywhere and above 5
    somewhere. `smallest` scales the least share of the picture a digit's ink may cover; `shrunk`:
    the picture was shrunk to the working size from twice its size or more (see ruling_level), and
    where nothing is found on it, it is looked at again with the ink held to a higher standard;
    `score`: a model's reading (see read_digits), which decides doubtful lines (see _without_lines)."""
    noise = noise_level(ink) if noise is None else noise
    found, cleaned = _find_digit(ink, noise, smallest, shrunk, score)
    if shrunk and not found.any():
        # A picture shrunk from a large photo: a small digit near its edge may be joined to the edge
        # by specks of paper a little darker there (uneven light), and dropped with them. Ink held to
        # a higher standard leaves the specks out.
        found, cleaned = _find_digit(ink, STRICTER_NOISE * noise, smallest, shrunk, score)
    return found, cleaned


STRICTER_NOISE = 1.6  # the second look's noise: ink above 4 and 8 times the paper's noise, not 2.5 and 5


def _find_digit(ink: np.ndarray, noise: float, smallest: float, shrunk: bool,
                score: Callable[[np.ndarray], np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    weak, strong = ink_levels(ink, noise)
    # A drawing, or a tiny picture enlarged, has no shadows (see _select_digit).
    select = functools.partial(_select_unsmudged, smallest=smallest, photo=noise >= CLEAN_NOISE)
    lines = ruling_level(ink, noise, shrunk=shrunk)
    if lines.any():
        # A dot grid's rows of dots pass for ruled lines, and subtracted as lines they carve a broad
        # stroke that crosses them into strips: where they are dots, the dots are taken out instead.
        dots = dot_grid_level(ink, noise, lines > 0)
        lines = dots if dots.any() else lines
    if lines.any():
        cleaned = without_ruling(ink, lines)
        # What is left mostly on the lines' own pixels (no darker than twice the line) is what the
        # subtraction missed of them, not a digit; a digit's stroke along a line is darker than that.
        # Where nothing is left (a stroke cropped tight, taken for one of the lines), the picture is
        # read as it is, still without what lies mostly on the lines' own pixels (a blank sheet's grid).
        line_pixels = (lines > 0) & (ink < 2 * lines)
        cleaned_weak, cleaned_strong = ink_levels(cleaned, noise)
        found = select(cleaned, cleaned_weak, cleaned_strong, on_lines=line_pixels)
        if found.any():
            return _without_lines(found, cleaned_weak, cleaned, score, noise), cleaned
        found = select(ink, weak, strong, on_lines=line_pixels)
        return _without_lines(found, weak, ink, score, noise), ink
    return _without_lines(select(ink, weak, strong), weak, ink, score, noise), ink


def _select_unsmudged(ink: np.ndarray, weak: np.ndarray, strong: np.ndarray, **options) -> np.ndarray:
    """The digit's pixels (_select_digit), chosen again without the smudges among them where there
    are any: faint ink (SMUDGE_LEVEL of the digit's) joined to an area of it broader than the
    digit's strokes, touching it or kept beside it as a stroke of its own (the haze of erased chalk
    on a blackboard)."""
    found = _select_digit(ink, weak, strong, **options)
    if not found.any():
        return found
    faint = found & (ink < SMUDGE_LEVEL * _percentile(ink[found], 95))
    size = max(7, int(SMUDGE_WIDTHS * stroke_width(found & ~faint)) | 1)
    broad = _square_filter(faint, size, np.minimum)
    if not broad.any():
        return found
    labels, _ = label_components(faint)
    smudge = _among(labels, np.unique(labels[broad]))
    return _select_digit(ink, weak & ~smudge, strong & ~smudge, **options)


def _without_lines(mask: np.ndarray, ink: np.ndarray, strength: np.ndarray,
                   score: Callable[[np.ndarray], np.ndarray] | None = None, noise: float = 0.0) -> np.ndarray:
    """`without_underline` for a line near level, then for one near upright. With `score` (see
    read_digits), a level line that qualifies only loosely (reaching less far past the digit, or
    thicker beside it) goes where the one digit left then reads clearly better than with it (by
    LOOSE_LINE_PENALTY; only better, where it is thin and reaches UNDERLINE_CLEAR of the height past
    the strokes meeting it): a short underline under a 0 goes, a 2's long base stays. Then, by the
    model's reading too, what is far darker than the line under the digit stays (a 5's bar written
    along the ruled line above), and the stubs of the line left on strokes that end on it go (a 4's
    arms under the line above). A frame or a ring the digit touches goes first (see without_frame,
    without_ring)."""
    mask = without_ring(without_frame(mask, strength, score, noise), strength, score, noise)
    mask = _without_separate_underline(mask, strength, score, noise)
    line = _line_near(mask, ink)
    level = _without_line(mask, line, False, strength)
    if score is not None:
        loosely = _without_line(mask, line, False, strength, loose=True)
        if not np.array_equal(loosely, level) and len(split_digits(loosely)) == 1:
            # An underline reaching well past where the strokes meet it is judged on equal terms.
            clear = _underline_past_strokes(line, UNDERLINE_CLEAR, UNDERLINE_THICKNESS)
            penalty = 0.0 if clear else LOOSE_LINE_PENALTY
            level = loosely if _reads_likelier(score, strength, noise, loosely, level, penalty) else level
        # Of a line taken out, a stroke lying along it (fainter) stays where the digit reads better
        # with it, and the stubs go where it reads clearly better without them. A line the model
        # kept stays whole: without its stubs, a 2's long curved base left a sure 1.
        loose = level is loosely
        darker = _without_line(mask, line, False, strength, loose=loose, keep_darker=True)
        if not np.array_equal(darker, level) and _reads_likelier(score, strength, noise, darker, level):
            level = darker
        crossing = _without_line(mask, line, False, strength, loose=loose, keep_darker=level is darker,
                                 only_crossing=True)
        if not np.array_equal(crossing, level) and _reads_likelier(score, strength, noise, crossing, level,
                                                                   LOOSE_LINE_PENALTY):
            level = crossing
    return without_underline(level, ink, upright=True, strength=strength)


def without_frame(mask: np.ndarray, strength: np.ndarray | None = None,
                  score: Callable[[np.ndarray], np.ndarray] | None = None, noise: float = 0.0) -> np.ndarray:
    """The digit's pixels (`mask`) less a frame around it that it touches, and so came with it: a
    form's box the digit was written into and runs onto, a canvas's border in a screenshot. A frame
    apart from the digit is dropped before (see _select_digit); a touching one makes one piece with
    it, the largest of the mask. Its four sides are thin straight lines (see _frame_side). Where the
    digit's strokes meet a side, the side's pixels under them stay (a stroke crossing the box is not
    cut); what has nothing inside the frame goes (a label beside the box, taken in with it). Where
    nothing is left inside, or the model (`score`, on the ink's level `strength`) reads the whole
    better (a square 0), the mask stays."""
    inked_rows, inked_columns = (np.flatnonzero(mask.any(axis)) for axis in (1, 0))
    if len(inked_rows) < 20 or len(inked_columns) < 20:
        return mask
    top, left = inked_rows[0], inked_columns[0]
    box = mask[top:inked_rows[-1] + 1, left:inked_columns[-1] + 1]  # a fraction of the whole picture's work
    if not _may_be_framed(box):
        return mask
    labels, count = _bridged_components(box)  # pieces as _select_digit joins them
    largest = np.argmax(np.bincount(labels.ravel(), minlength=count + 1)[1:]) + 1
    piece_ys, piece_xs = np.nonzero(labels == largest)
    if len(piece_ys) < 40:
        return mask
    sides = []
    for along, across in ((piece_xs, piece_ys), (piece_ys, piece_xs)):  # the level sides, then the upright
        for far in (False, True):
            side = _frame_side(along, across, far)
            if side is None:
                return mask
            sides.append(side)
    # A printed frame is as thick all round; a side with a stroke lying along it looks thicker.
    thickness = min(side.last - side.first + 1 for side in sides)
    if thickness > max(3, FRAME_THICKNESS * min(side.extent for side in sides)):
        return mask
    # Each side's band: its outermost rows of that thickness (the digit is inside), with shoulders.
    sides = [side._replace(first=side.last - thickness - 1, last=side.last + 2) if side.far
             else side._replace(first=side.first - 2, last=side.first + thickness + 1) for side in sides]
    ys, xs = np.nonzero(box)
    rows = [side.rows(along, across) for side, (along, across) in zip(sides, [(xs, ys)] * 2 + [(ys, xs)] * 2)]
    bands = [(row >= side.first) & (row <= side.last) for side, row in zip(sides, rows)]
    in_band = np.any(bands, axis=0)
    inside = np.all([row < side.first if side.far else row > side.last for side, row in zip(sides, rows)], axis=0)
    taken = np.zeros(len(ys), bool)
    for side, row, band, along in zip(sides, rows, bands, (xs, xs, ys, ys)):
        # The places along the side where the digit's strokes come to it (or leave it) keep it.
        meets = ~in_band & _beside(row, side.first, side.last)
        taken |= band & ~_widened(along[meets], along.max() + 1)[along]
    if np.sum(inside & ~taken) < 20:
        return mask
    remaining = np.zeros_like(box)
    remaining[ys[~taken], xs[~taken]] = True
    labels, count = _bridged_components(remaining)
    has_inside = np.bincount(labels[ys[inside], xs[inside]], minlength=count + 1) > 0
    has_inside[0] = False
    kept = np.zeros_like(mask)
    kept[top:top + box.shape[0], left:left + box.shape[1]] = has_inside[labels]
    kept &= mask
    if score is not None and strength is not None and _reads_likelier(score, strength, noise, mask, kept):
        return mask
    return kept


def _may_be_framed(box: np.ndarray) -> bool:
    """Whether a digit's pixels (`box`, cropped to them) may hold a frame, cheaply: on each side, the
    pixels near it (where a side at any of FRAME_SLOPES would lie) cover FRAME_SIDE_LEAST of its
    length, level with it. Most digits miss one side (two thirds of MNIST's); a frame with its label
    above or beside it, widening the box, covers more."""
    for pixels in (box, box[::-1], box.T, box.T[::-1]):
        across, along = pixels.shape
        near = int(FRAME_EDGE * across + FRAME_SLOPES.max() * along) + 3
        if np.count_nonzero(pixels[:near].any(0)) < FRAME_SIDE_LEAST * along:
            return False
    return True


FRAME_SIDE_LEAST = 0.6


class _FrameSide(NamedTuple):
    slope: float
    along0: int  # where the piece's pixels start along the side
    row0: int    # and across it, with the slope taken out
    extent: int  # the piece's extent across it
    first: int   # the side's rows (across it, the slope taken out)
    last: int
    far: bool    # the bottom or right side

    def rows(self, along: np.ndarray, across: np.ndarray) -> np.ndarray:
        """Pixels' rows across the side, with its slope taken out."""
        return across - np.round(self.slope * (along - self.along0)).astype(int) - self.row0


def _frame_side(along: np.ndarray, across: np.ndarray, far: bool) -> _FrameSide | None:
    """The side of a frame among a piece's pixels (`along` and `across` it: columns and rows for a
    level side), near (top, left) or `far`: the straight line within FRAME_EDGE of the pixels'
    extent from that edge, at a slope within 6 degrees (FRAME_SLOPES), that covers the most of their
    length, where it covers FRAME_SIDE of it or more (seen two pixels wider each way: a printed line
    is straight, a photo's may waver), with `first` and `last` the rows next to it that fill half
    the length or more (a stroke lying along it among them). None where there is none."""
    along0 = int(along.min())
    length, best = int(along.max()) + 1 - along0, None
    for slope in FRAME_SLOPES:
        rows = _FrameSide(slope, along0, 0, 0, 0, 0, far).rows(along, across)
        row0 = int(rows.min())
        rows -= row0
        extent = int(rows.max()) + 1
        depth = extent - 1 - rows if far else rows  # counted from the side's own edge
        band = int(FRAME_EDGE * extent) + 1
        near = depth < band
        grid = np.zeros((band + 6, length), bool)  # depth d at row d + 3, three empty rows each way
        grid[depth[near] + 3, along[near] - along0] = True
        # Seen two rows wider each way: the columns holding any pixel of five rows in a row.
        stacked = np.cumsum(grid, axis=0)
        covered = np.count_nonzero(stacked[5:] - stacked[:-5], axis=1)[:band]
        if best is None or covered.max() > best[0]:
            best = covered.max(), _FrameSide(slope, along0, row0, extent, 0, 0, far), grid[3:-3]
    covered, side, grid = best
    if covered < FRAME_SIDE * length:
        return None
    # Its rows: the fullest, and those next to it that its pixels fill over half of the length
    # (counted from the side's edge; `first` and `last` are counted from the near edge).
    filled = grid.sum(1)
    first = last = int(np.argmax(filled))
    filled = filled > 0.5 * length
    while first > 0 and filled[first - 1]:
        first -= 1
    while last < len(filled) - 1 and filled[last + 1]:
        last += 1
    if far:
        first, last = side.extent - 1 - last, side.extent - 1 - first
    return side._replace(first=first, last=last)


def without_ring(mask: np.ndarray, strength: np.ndarray | None = None,
                 score: Callable[[np.ndarray], np.ndarray] | None = None, noise: float = 0.0) -> np.ndarray:
    """The digit's pixels (`mask`) less a ring drawn around it (a circled answer) that it touches or
    comes near enough to be joined to, and so came with it; a ring apart from it is dropped before
    (see _select_digit). The ring is the outermost run of pixels in each direction from the centre,
    following an ellipse (fitted to them) nearly all round, thin in much of it (see RING_FIT), with
    pixels inside clear of it (a 0 has none). Where the digit's strokes meet it, only the ring's own
    width goes; what is left of it in bits goes too. Where the model (`score`, on the ink's level
    `strength`) reads the whole clearly better (RING_PENALTY), the mask stays."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 40:
        return mask
    half_width, half_height = (xs.max() - xs.min() + 1) / 2, (ys.max() - ys.min() + 1) / 2
    dx, dy = xs - (xs.min() + xs.max()) / 2, ys - (ys.min() + ys.max()) / 2
    radius = np.hypot(dx, dy)
    direction = np.round(np.arctan2(dy, dx) / (2 * np.pi) * RING_DIRECTIONS).astype(int) % RING_DIRECTIONS
    order = np.lexsort((-radius, direction))  # each direction's pixels, outermost first
    first_of_direction = np.r_[True, direction[order][1:] != direction[order][:-1]]
    outermost = order[first_of_direction]
    on_ellipse = _ellipse_radius(dx[outermost], dy[outermost], max(half_width, half_height))
    if on_ellipse is None:
        return mask
    follows = np.zeros(RING_DIRECTIONS, bool)  # a direction with no pixel has none
    follows[direction[outermost]] = np.abs(on_ellipse - 1) <= RING_FIT
    if np.mean(follows) < RING_FITS:
        return mask
    # Each direction's outermost run of pixels: from the outermost one inwards, until a gap.
    gap = np.r_[False, -np.diff(radius[order]) > 1.5] & ~first_of_direction
    runs = np.cumsum(gap)
    outer = np.zeros(len(ys), bool)
    outer[order] = runs == np.maximum.accumulate(np.where(first_of_direction, runs, 0))
    inner_edge = np.full(RING_DIRECTIONS, np.inf)
    np.minimum.at(inner_edge, direction[outer], radius[outer])
    farthest = np.zeros(RING_DIRECTIONS)
    farthest[direction[outermost]] = radius[outermost]
    thickness = farthest - inner_edge
    thin = follows & (thickness <= max(3, RING_THICKNESS * min(half_width, half_height)))
    if np.mean(thin) < RING_THIN:
        return mask
    ring_width = np.percentile(thickness[follows], 25)  # its own, where no stroke meets it
    ring = outer & (radius >= farthest[direction] - max(ring_width, 1) - 1)
    # Inside it, what the digit's strokes make: some of it clear of the ring (a 0's thick half is
    # not), by more than a gap that pixels bridge (a thick stroke's edges may part round its middle).
    if np.sum(~ring) < max(20, RING_INSIDE * len(ys)) or np.sum(~outer) < RING_CLEAR * len(ys):
        return mask
    content_far = np.zeros(RING_DIRECTIONS)
    np.maximum.at(content_far, direction[~outer], radius[~outer])
    holding = follows & (content_far > 0)
    if not holding.any() or np.median((inner_edge - content_far)[holding]) < RING_GAP:
        return mask
    inside = np.zeros_like(mask)
    inside[ys[~ring], xs[~ring]] = True
    labels, count = _bridged_components(inside)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[0] = 0
    kept = sizes[labels] >= 0.1 * sizes.max()  # bits of the ring left where strokes met it go
    if score is not None and strength is not None and _reads_likelier(score, strength, noise, mask, kept, RING_PENALTY):
        return mask
    return kept


def _ellipse_radius(dx: np.ndarray, dy: np.ndarray, scale: float) -> np.ndarray | None:
    """Where points (offsets `dx`, `dy` from about their centre) lie against the ellipse fitted
    through them (least squares, a conic): 1 on it, 0.5 halfway out from its centre. None where
    the fit is no ellipse, or one more than 4 times as long as wide."""
    u, v = dx / scale, dy / scale  # near unit size, for a well-conditioned fit
    terms = np.stack([u * u, u * v, v * v, u, v], axis=1)
    a, b, c, d, e = np.linalg.lstsq(terms, np.ones(len(u)), rcond=None)[0]
    quadratic = np.array([[a, b / 2], [b / 2, c]])
    if abs(np.linalg.det(quadratic)) < 1e-12:
        return None
    centre = np.linalg.solve(2 * quadratic, [-d, -e])
    level = 1 - (centre @ quadratic @ centre + d * centre[0] + e * centre[1])
    if level == 0:
        return None
    axes = np.linalg.eigvalsh(quadratic / level)
    if axes.min() <= 0 or axes.max() > 16 * axes.min():
        return None
    u, v = u - centre[0], v - centre[1]
    return np.sqrt((a * u * u + b * u * v + c * v * v) / level)


def _without_separate_underline(mask: np.ndarray, strength: np.ndarray,
                                score: Callable[[np.ndarray], np.ndarray] | None, noise: float) -> np.ndarray:
    """The mask less an underline drawn apart from the digit: a piece of it that is a straight thin
    line within 6 degrees of level (at least 4 times as long as thick), with all the rest of the
    digit above it, as wide as half of it or more. No digit has a separate stroke wholly under
    itself (a 5's flag or a 7's bar lies above or across); a 2's base drawn apart stays where the
    model (`score`) reads the digit clearly better with it (by LOOSE_LINE_PENALTY)."""
    labels, count = label_components(mask)
    if count < 2:
        return mask
    ys, xs = np.nonzero(mask)
    pieces = labels[ys, xs]
    for piece in range(1, count + 1):
        mine = pieces == piece
        px, py = xs[mine].astype(float), ys[mine].astype(float)
        length = px.max() - px.min() + 1
        if mine.sum() < 10 or length < 8:
            continue
        slope, intercept = np.polyfit(px, py, 1)
        off_line = py - (slope * px + intercept)
        thickness = off_line.max() - off_line.min() + 1
        rest_x, rest_y = xs[~mine], ys[~mine]
        if (abs(slope) > np.tan(np.deg2rad(6)) or length < 4 * thickness
                or np.any(rest_y >= slope * rest_x + intercept + off_line.min())
                or length < 0.5 * (rest_x.max() - rest_x.min() + 1)):
            continue
        kept = mask & (labels != piece)
        if score is not None and _reads_likelier(score, strength, noise, mask, kept, LOOSE_LINE_PENALTY):
            return mask
        return kept
    return mask


def without_underline(mask: np.ndarray, ink: np.ndarray | None = None, upright: bool = False,
                      strength: np.ndarray | None = None) -> np.ndarray:
    """The digit's pixels (`mask`) less a straight line that it touches and so came with it: the
    form's line or the ruled line it was written on, an underline, the line above it. That is a thin
    line within 6 degrees of horizontal with at least 80% of the rest of the digit on one side of it,
    reaching past the rest on both sides by 40% of its height (with the line's thickness); how far
    it reaches is measured on all the picture's `ink` (a mask), as the digit may hold only the piece
    of it under itself.
    Where the digit's strokes meet the line, the line's pixels under them stay (a 1's or a 9's foot).
    A digit's own long strokes do not qualify: a 7's or a 5's bar ends where the digit's stroke
    leaves it, a 2's base rarely reaches that far out on both sides.
    `upright`: the same for a line within 6 degrees of vertical (a notebook's margin, the side of a
    form's box), which must also reach past the rest of the digit by its whole height both ways, or
    run from edge to edge of the picture with the rest clear of the edges: a 4's stem, however long,
    reaches past its arm by less.
    With `strength` (the ink's level), a line running from edge to edge through the digit, with its
    strokes on both sides, is taken out too where it is far fainter than the digit (see
    _without_faint_line). A line that only loosely qualifies: see _without_lines."""
    if upright:
        mask, ink, strength = mask.T, None if ink is None else ink.T, None if strength is None else strength.T
        return _without_line(mask, _line_near(mask, ink), True, strength).T
    return _without_line(mask, _line_near(mask, ink), False, strength)


class _LineNearDigit(NamedTuple):
    """The straightest line among a digit's pixels (`ys`, `xs`) and the rest of the digit beside it,
    measured once and judged by the strict and the loose rule alike (see _without_line)."""
    ys: np.ndarray
    xs: np.ndarray
    rows: np.ndarray     # each pixel's row with the line's slope taken out
    top: int             # the line's band (rows, its blurred shoulders included)
    bottom: int
    first: int           # its span along the picture (columns)
    last: int
    thickness: int
    rest: np.ndarray     # the pixels that make the digit's extent
    grain: np.ndarray    # pieces at the picture's border that go with the line


def _line_near(mask: np.ndarray, ink: np.ndarray | None) -> _LineNearDigit | None:
    """The line of a digit's pixels to judge, or None where the digit is too small for one, or
    nothing of it lies off the line."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 20:
        return None
    # The line's row and slope: the row at a slope with the most pixels. A line drawn by hand wanders
    # by a pixel or two: seen two pixels taller each way, it is straight (its span and thickness).
    tall_ys, tall_xs = np.nonzero(_dilate_rows(mask, 5))
    ink_ys, ink_xs = np.nonzero(_dilate_rows(mask if ink is None else ink | mask, 5))
    best = None
    for slope in LINE_SLOPES:
        shift = np.round(slope * np.arange(mask.shape[1])).astype(int)  # a line at this slope becomes one row
        counts = np.bincount(ys - shift[xs] + shift.max())
        if best is None or counts.max() > best[0]:
            best = counts.max(), shift, int(np.argmax(counts)) - shift.max()
    _, shift, line_row = best
    rows, ink_rows = ys - shift[xs], ink_ys - shift[ink_xs]
    # The line's span: the run of ink along its row (gaps of three pixels bridged) that holds most of
    # the digit's pixels on that row.
    on_row = np.sort(ink_xs[ink_rows == line_row])
    breaks = np.flatnonzero(np.diff(on_row) > 4)
    starts, ends = on_row[np.r_[0, breaks + 1]], on_row[np.r_[breaks, len(on_row) - 1]]
    digit_on_row = tall_xs[tall_ys - shift[tall_xs] == line_row]
    held = [np.sum((digit_on_row >= start) & (digit_on_row <= end)) for start, end in zip(starts, ends)]
    first, last = starts[int(np.argmax(held))], ends[int(np.argmax(held))]
    # Its thickness: the rows next to it that the ink fills over half of that span.
    in_span = (ink_xs >= first) & (ink_xs <= last)
    low = min(ink_rows.min(), line_row)
    fill = np.bincount(ink_rows[in_span] - low, minlength=ink_rows.max() - low + 1) / (last - first + 1)
    top = bottom = line_row - low
    while top > 0 and fill[top - 1] > 0.5:
        top -= 1
    while bottom < len(fill) - 1 and fill[bottom + 1] > 0.5:
        bottom += 1
    # Less the two rows each way it was seen taller by, with its shoulders (blurred, grainy: partly
    # ink), which the digit's extent must not count.
    thickness = max(1, bottom - top - 3)
    shoulder = max(2, thickness // 2)
    top, bottom = top + low + 2 - shoulder, bottom + low - 2 + shoulder
    rest = (rows < top) | (rows > bottom)
    if rest.sum() < 20:
        return None
    # The digit's extent, less specks of noise that came with the line (pieces of it under 2% of it).
    pieces = np.zeros(mask.shape, bool)
    pieces[ys[rest], xs[rest]] = True
    labels, count = label_components(pieces)
    sizes = np.bincount(labels[ys, xs], minlength=count + 1)
    rest &= sizes[labels[ys, xs]] >= 0.02 * rest.sum()
    # Nor grain where the line runs off the picture: pieces at its border, bar the largest.
    near_border = np.zeros(count + 1, bool)
    near_border[np.concatenate([side.ravel() for side in (labels[:3], labels[-3:], labels[:, :3], labels[:, -3:])])] = True
    near_border[[0, np.argmax(sizes[1:]) + 1]] = False
    grain = near_border[labels[ys, xs]]
    rest &= ~grain
    if not rest.any():
        return None
    return _LineNearDigit(ys, xs, rows, top, bottom, int(first), int(last), thickness, rest, grain)


def _without_line(mask: np.ndarray, line: _LineNearDigit | None, upright: bool,
                  strength: np.ndarray | None = None, loose: bool = False, keep_darker: bool = False,
                  only_crossing: bool = False) -> np.ndarray:
    """The mask less the line measured near it, where the line passes the rule (strict, or `loose`).
    `keep_darker` (with `strength`): under the digit, what is far darker than the line stays;
    `only_crossing`: see _line_stays."""
    if line is None:
        return mask
    ys, xs, rows, top, bottom, first, last, thickness, rest, grain = line
    span = (xs >= first) & (xs <= last)
    rest_left, rest_right = xs[rest].min(), xs[rest].max()
    rest_height = rows[rest].max() - rows[rest].min() + 1
    # By 40% of the digit's height, line included (a 2's long base may reach a quarter of it out): of
    # its width, a narrow digit's (a 1, a 7's stem under a long bar) would be a pixel or two; a
    # number's, too far. Thin: up to half the height of the rest, as a digit's stroke lying on the
    # line (a 0's or a 6's bottom) thickens it where measured. The thresholds were chosen on
    # pictures apart from the evaluation's.
    # Loosely, a line running off the picture is held to the rule: a blank sheet's grid leaves such
    # pieces, and a stroke's worth of one reads as a 1.
    loose = loose and first > 0 and last < mask.shape[1] - 1
    reach = (LOOSE_LINE_REACH if loose else LINE_REACH) * (rest_height + thickness)
    thin = thickness <= max(3, (LOOSE_LINE_THICKNESS if loose else LINE_THICKNESS) * rest_height)
    if loose and _underline_past_strokes(line):
        reach = -np.inf
    edge_to_edge = first == 0 and last == mask.shape[1] - 1
    if upright:
        clear = (min(rest_left, ys[rest].min()) >= 2 and rest_right < mask.shape[1] - 2
                 and ys[rest].max() < mask.shape[0] - 2)
        if not (clear and edge_to_edge):
            reach = max(reach, rest_right - rest_left + 1)
    if not (thin and first <= rest_left - reach and last >= rest_right + reach
            and max(np.mean(rows[rest] < top), np.mean(rows[rest] > bottom)) >= 0.8):
        # One through the digit's middle (strokes on both sides) goes only where far fainter than it.
        if strength is not None and thin and edge_to_edge:
            return _without_faint_line(mask, strength, ys, xs, rest, ~rest & span, rest_left, rest_right)
        return mask
    # The columns where the digit's strokes come down to the line (or leave it below) keep it.
    band = ~rest & span
    taken = band & ~_line_stays(line, mask.shape[1], only_crossing)[xs]
    # The band is widened by the line's blurred shoulders, where a stroke lying along the line (a
    # 5's bar under the line above, a 2's base on it) sits too: under the digit, only the line's own
    # rows go, as measured beside it and joined straight across (a row more each way: a hand wavers).
    under = (xs >= rest_left) & (xs <= rest_right)
    own = _line_rows(xs[band & ~under], rows[band & ~under], rest_left, rest_right, mask.shape[1])
    if own is not None:
        taken &= ~under | ((rows >= own[0][xs] - 1) & (rows <= own[1][xs] + 1))
    if keep_darker:
        taken &= ~(under & _darker_than_line(strength, ys, xs, band & ~under))
    taken |= grain  # the grain goes with the line
    kept = mask.copy()
    kept[ys[taken], xs[taken]] = False
    return kept


def _darker_than_line(strength: np.ndarray, ys: np.ndarray, xs: np.ndarray, beside: np.ndarray) -> np.ndarray:
    """Which pixels (`ys`, `xs`) are DARKER_THAN_LINE times as dark as the line's core beside the
    digit (the `beside` pixels' darkest in each column, their median over the columns): a stroke
    lying along a fainter line (a 5's or 7's bar on the line above), but also a digit's grey edges
    where its strokes run close."""
    if beside.sum() < 5:
        return np.zeros(len(ys), bool)
    peaks = np.full(strength.shape[1], -np.inf, strength.dtype)
    np.maximum.at(peaks, xs[beside], strength[ys[beside], xs[beside]])
    return strength[ys, xs] > DARKER_THAN_LINE * _median(peaks[peaks > -np.inf])


def _line_stays(line: _LineNearDigit, columns: int, only_crossing: bool = False) -> np.ndarray:
    """Over the picture's columns, where the line's pixels stay: where the digit's strokes meet it
    (a 1's or a 9's foot on it, a 4's stem through it), a column either side. `only_crossing`: only
    where strokes meet it from both sides, so that a stroke ending on it (a 4's arms under the line
    above, a 0 resting on an underline) keeps no stub of the line."""
    meeting = _strokes_at(line)
    if not only_crossing:
        return _widened(line.xs[meeting], columns)
    above, below = meeting & (line.rows < line.top), meeting & (line.rows > line.bottom)
    return _widened(line.xs[above], columns) & _widened(line.xs[below], columns)


def _strokes_at(line: _LineNearDigit) -> np.ndarray:
    """Which of the digit's pixels meet the line: those of the rest within 3 rows of its band."""
    return line.rest & _beside(line.rows, line.top, line.bottom)


def _beside(rows: np.ndarray, first: int, last: int) -> np.ndarray:
    """Which `rows` lie within 3 of the band `first`..`last`, outside it: where a stroke meets a line."""
    return ((rows >= first - 3) & (rows < first)) | ((rows > last) & (rows <= last + 3))


def _widened(places: np.ndarray, size: int) -> np.ndarray:
    """Over 0..size-1, true at `places` and a place either side: where strokes meet a line, it stays
    (a stroke crossing it is not cut)."""
    met = np.zeros(size + 2, bool)
    met[places + 1] = True
    return met[:-2] | met[1:-1] | met[2:]


def _underline_past_strokes(line: _LineNearDigit | None, reach: float = UNDERLINE_REACH,
                            thickness: float = LINE_THICKNESS) -> bool:
    """Whether a line under the rest of the digit (80% of it above), at most `thickness` of the
    height thick, reaches `reach` of the height past the outermost places where the digit's strokes
    meet it: an underline touched by a 4's stem or a 0's bottom, however little it reaches past the
    digit; a 2's base starts where its stroke comes down, a shape's bottom side where its sides do."""
    if line is None:
        return False
    near, rest_rows = _strokes_at(line), line.rows[line.rest]
    if not near.any() or np.mean(rest_rows < line.top) < 0.8:
        return False
    height = rest_rows.max() - rest_rows.min() + 1
    margin = reach * (height + line.thickness)
    met = line.xs[near]
    return (line.thickness <= max(3, thickness * height)
            and line.first <= met.min() - margin and line.last >= met.max() + margin)


def _line_rows(xs: np.ndarray, rows: np.ndarray, left: int, right: int, columns: int
               ) -> tuple[np.ndarray, np.ndarray] | None:
    """(top, bottom) row of a line in each of `columns`, from its pixels (`xs`, `rows`) beside a
    digit spanning columns `left` to `right`: its median edges on each side, joined straight across
    (level with the one side that has three columns of it); None where neither has."""
    top, bottom = np.full(columns, rows.max(initial=0) + 1), np.full(columns, rows.min(initial=0) - 1)
    np.minimum.at(top, xs, rows)
    np.maximum.at(bottom, xs, rows)
    found = np.flatnonzero(bottom >= top)
    edges = [(float(np.mean(side)), float(_median(top[side])), float(_median(bottom[side])))
             for side in (found[found < left], found[found > right]) if len(side) >= 3]
    if not edges:
        return None
    (x0, top0, bottom0), (x1, top1, bottom1) = edges[0], edges[-1]
    across = (np.arange(columns) - x0) / (x1 - x0) if x1 > x0 else np.zeros(columns)
    return np.round(top0 + across * (top1 - top0)), np.round(bottom0 + across * (bottom1 - bottom0))


def _without_faint_line(mask: np.ndarray, strength: np.ndarray, ys: np.ndarray, xs: np.ndarray, rest: np.ndarray,
                        line: np.ndarray, rest_left: int, rest_right: int) -> np.ndarray:
    """The mask less a line crossing the digit from edge to edge of the picture, where the line is
    far fainter than the digit (a scanner's streak, a fold's crease, one faint ruled line): its
    pixels go, bar where the digit's darker strokes cross it, as ruling is subtracted."""
    away = line & ((xs < rest_left) | (xs > rest_right))
    if away.sum() < 5:
        return mask
    line_level = float(_median(strength[ys[away], xs[away]]))
    if line_level >= FAINT_LINE * float(_median(strength[ys[rest], xs[rest]])):
        return mask
    faint = line & (strength[ys, xs] < 2 * line_level)
    kept = mask.copy()
    kept[ys[faint], xs[faint]] = False
    return kept


def ruling_level(ink: np.ndarray, noise: float, fraction: float = 0.65, shrunk: bool = False) -> np.ndarray:
    """The ink of ruled or squared paper's lines, zero elsewhere: subtracted from the picture, it
    leaves the digit whole where it crosses a line in darker ink (removing the lines' pixels would
    cut the digit at every crossing).

    Lines are straight lines within 6 degrees of horizontal or vertical, as a sheet photographed
    slightly askew keeps its ruling straight, not level; parallel, or fanning out where one side of
    the sheet was nearer the camera; each running along at least `fraction` of the picture.
    Searched at half resolution (a 2x2 block keeps its darkest ink), where a line one or two pixels
    wide stays one row and the search costs a quarter."""
    h, w = ink.shape
    padded = np.pad(ink, ((0, h % 2), (0, w % 2)), mode="edge")
    block_ink = padded.reshape((h + 1) // 2, 2, (w + 1) // 2, 2).max(axis=(1, 3))
    level = np.zeros(block_ink.shape, np.float32)
    for strength, found in ((block_ink, level), (block_ink.T, level.T)):
        lines = _parallel_lines(strength, noise, fraction, shrunk)
        if lines is not None:
            _line_levels(found, strength, *lines)  # `found` is a view of `level`: written through
    # Back to full size, widened by a pixel each side: a blurred line is wider than its core.
    return _square_filter(level.repeat(2, 0).repeat(2, 1)[:h, :w], 3, np.maximum)


def without_ruling(ink: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """The ink with the ruling (`lines`, see ruling_level) taken out: a line's own pixels go to the
    paper's level; darker ink where the digit crosses it stays as it is (from twice the line's
    level up), so that the stroke is not cut there."""
    return np.where(ink >= 2 * lines, ink, 2 * (ink - lines))


def dot_grid_level(ink: np.ndarray, noise: float, lines: np.ndarray | None = None) -> np.ndarray:
    """The ink's level on the dots of a dot grid (a bullet journal's paper), zero elsewhere: specks
    (at most DOT_SIZE of the picture across) that lie on a regular lattice, most of them their
    nearest neighbour's usual distance apart, each with two neighbours or more at that distance.
    With `lines` (the pixels of ruled lines found, see ruling_level), only where such dots make
    most of the ink on them, bar the largest piece of ink (the digit, or a ruling joined to it), in
    every quarter of the picture that holds ruling: rows of dots pass for ruled lines, and a ruled
    line's few specks of grain for dots; and a shadow or the light may leave a page's ruling whole
    in one part and only its crossings standing out in another."""
    weak = ink_levels(ink, noise)[0]
    labels, count = label_components(weak)
    none = np.zeros_like(ink)
    if count < DOT_GRID_LEAST:
        return none
    h, w = ink.shape
    top, bottom, left, right = component_boxes(labels, count)
    speck = np.zeros(count + 1, bool)
    speck[1:] = np.maximum(bottom - top, right - left) + 1 <= max(3.0, DOT_SIZE * max(h, w))
    if not DOT_GRID_LEAST <= speck.sum() <= DOT_GRID_MOST:
        return none
    area = np.bincount(labels.ravel(), minlength=count + 1)
    area[0] = 0
    quarters = None
    if lines is not None:
        # The digit is the largest piece, or the largest inside the picture where a strip of
        # shadow along an edge, its dots run together, is larger.
        inside = area.copy()
        inside[np.concatenate(_sides(labels))] = 0
        digit = _among(labels, np.array([np.argmax(area), np.argmax(inside)]))
        quarters = _on_lines_by_quarter(labels, lines & ~digit)
    # The dots are among the specks: where the specks do not make the lines' ink, the dots do not.
    if quarters is not None and not _make_the_lines(speck, quarters):
        return none
    specks = np.flatnonzero(speck)
    ys, xs = np.nonzero(labels)
    ids = labels[ys, xs]
    centres = np.stack([np.bincount(ids, ys, count + 1), np.bincount(ids, xs, count + 1)], 1)[specks] / area[specks, None]
    distance = np.hypot(*(centres[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(distance, np.inf)
    nearest = distance.min(1)
    step = float(_median(nearest))
    at_step = np.abs(distance - step) <= 0.2 * step
    regular = at_step.any(1)
    if step < 4 or regular.mean() < 0.6:  # grain and noise lie at any distance from each other
        return none
    dots = np.zeros(count + 1, bool)
    dots[specks[regular & (at_step.sum(1) >= 2)]] = True
    if quarters is not None and not _make_the_lines(dots, quarters):
        return none
    return _square_filter(np.where(dots[labels], ink, 0), 3, np.maximum)


def _on_lines_by_quarter(labels: np.ndarray, lines: np.ndarray) -> list[np.ndarray]:
    """The labels of the ink on the `lines`' pixels, in each quarter of the picture."""
    h, w = labels.shape
    on_lines = lines & (labels > 0)
    return [labels[rows, columns][on_lines[rows, columns]]
            for rows in (slice(0, h // 2), slice(h // 2, h)) for columns in (slice(0, w // 2), slice(w // 2, w))]


def _make_the_lines(chosen: np.ndarray, quarters: list[np.ndarray]) -> bool:
    """Whether the `chosen` components (a flag per label) make at least half of the ink on the
    lines (its labels in each quarter of the picture, see _on_lines_by_quarter) in every quarter
    that holds DOT_GRID_LEAST such pixels or more, and some ink lies on them."""
    return (all(chosen[quarter].mean() >= 0.5 for quarter in quarters if len(quarter) >= DOT_GRID_LEAST)
            and any(len(quarter) for quarter in quarters))


# Ink mostly on the ruling's pixels is a digit where CLEAR_OF_LINES of it lies LINE_CLEARANCE pixels
# or more from them (a faint 7 across a fine squared grid: a fifth) and its box is no thinner than
# COMPACT_DIGIT of its length (a stretch of a line found only in part is a thin box) and spans at
# most GRID_SPAN of the picture each way (a grid found only in part spans the sheet).
LINE_CLEARANCE, CLEAR_OF_LINES, COMPACT_DIGIT, GRID_SPAN = 2, 0.1, 0.4, 0.6
DOT_SIZE = 0.03  # a dot grid's dots are at most this share of the picture across (a 1's stroke is as wide)
DOT_GRID_LEAST, DOT_GRID_MOST = 25, 2000  # specks that can make a dot grid (a grainy photo's many more are grain)


# (angle, spread) in degrees: parallel lines up to 6 degrees off level, then lines fanning out as a
# sheet photographed with one side nearer the camera shows them (their angle changes down the page).
LINE_ANGLES = ([(angle, 0.0) for angle in range(-6, 7)]
               + [(angle, spread) for angle in (-2, 0, 2) for spread in (-8.0, -4.0, 4.0, 8.0)])
FAN_MARGIN = 1.25
LINE_DRIFT = 2  # rows (at half the working size) a line may stray from the slope it was found at
STROKE_DARKER = 4.0  # a stroke along the ruling's slope is this many times darker than its lines
STRAYED_DARKEST = 1.25  # where it strays, no darker than this times its level along its band


@functools.lru_cache(maxsize=2)
def _shear(h: int, w: int) -> tuple[np.ndarray, ...]:
    """For each of LINE_ANGLES, the picture (h x w) sheared so that a line at that slope or on that
    fan is a row: each sheared pixel's row in the picture, whether it lies inside it, and its flat
    index there (clipped to the picture), all (angle, row, column); and how many pixels of each
    sheared row lie inside (angle, row). Each row's own angle is `angle` at the middle, `spread`
    more or less at the top and bottom. The same for every picture of a size: the last two sizes
    (a picture's rows, then its columns) are kept, read-only."""
    angle, spread = np.array(LINE_ANGLES).T[:, :, None]
    slope = np.tan(np.deg2rad(angle + spread * (np.arange(h) - h / 2) / (h / 2)))
    rows = np.arange(h)[:, None] + np.round(slope[:, :, None] * np.arange(w)).astype(int)
    inside = (rows >= 0) & (rows < h)
    pixels = rows.clip(0, h - 1) * w + np.arange(w)
    geometry = rows, inside, pixels, inside.sum(2)
    for array in geometry:
        array.flags.writeable = False
    return geometry


def _parallel_lines(strength: np.ndarray, noise: float, fraction: float, shrunk: bool = False):
    """Three or more thin lines within 6 degrees of the rows, parallel or fanning out (see
    LINE_ANGLES), each running along at least `fraction` of the picture: (line pixels in sheared
    coordinates, their rows in the picture, which sheared pixels lie inside it), at the slope or fan
    whose lines stand out most; None if none does. Each is tried by shearing the picture so that a
    line at that slope, or on that fan, becomes a row."""
    h, w = strength.shape
    # A page photographed whole and shrunk to the working size keeps its ruling as lines a percent
    # or less above the paper, still ink: on a picture shrunk that much, lines that faint are
    # searched too, and taken where they make more lines than those standing a percent out (at its
    # own size, a stroke's edge ripples that much: an enlarged MNIST file, a digit cropped tight).
    # Each floor keeps its own best slope.
    floors = (0.01, 0.005) if shrunk else (0.01,)
    best, best_score, lines = [None] * len(floors), [0.0] * len(floors), [0] * len(floors)
    rows, inside, pixels, length = _shear(h, w)
    sheared = np.where(inside, np.take(strength, pixels), -np.inf)
    # A row's ink along most of its length (the level that `fraction` of its pixels reach): high
    # on a line, even one broken into dashes by noise or faint ink, and not raised by a digit's
    # stroke or a desk, which cover a minority of the row. Read off each row sorted.
    position = w - length + np.floor((1 - fraction) * (length - 1)).astype(int)
    along = np.take_along_axis(np.sort(sheared, axis=2), position[:, :, None], axis=2)[:, :, 0]
    along = np.where(length >= fraction * w, along, 0)
    # A line stands out of the rows around it, by more than the paper's noise. Ruling is thin and
    # comes in three or more lines; a thick stroke, or a long stroke or two (a 1, the sides of a
    # 0 cropped tight), is not ruling.
    around = _median(sliding_window_view(np.pad(along, ((0, 0), (5, 5)), mode="edge"), 11, axis=1), axis=2)
    # The first and last rows have no rows beyond them: what is around them is the rows inside (a
    # squared sheet's outermost line may lie there, the sheet seen askew).
    around[:, 0], around[:, -1] = _median(along[:, 1:6], axis=1), _median(along[:, -6:-1], axis=1)
    # A line on paper at least doubles the ink of the rows around it; inside a thick stroke (a
    # large digit drawn with a brush) the rows' ink only ripples.
    standing = along - around
    standing = np.where(standing >= 0.5 * along, standing, 0)
    for tried, (_, fan) in enumerate(LINE_ANGLES):
        for k, floor in enumerate(floors):
            on_line = _thin_bands(standing[tried], max(noise, floor), max(3, round(0.02 * h)))
            # A fan must stand out clearly more than parallel lines do: fitted to parallel lines a
            # little askew, it takes most of them and leaves one, which reads as a 1.
            margin = FAN_MARGIN if fan else 1.0
            if float(standing[tried][on_line].sum()) / margin <= best_score[k]:
                continue  # (taking strokes out below only lowers the score: looked at where it may win)
            on_line = _without_strokes(on_line, sheared[tried], along[tried], fraction)
            score, count = float(standing[tried][on_line].sum()) / margin, len(_bands(on_line)[0])
            # Ruling is lines on paper: three or more of them must also stand out of the rows just
            # beside them, pixel by pixel, not only row by row (see _lines_standing_locally).
            if (count >= 3 and score > best_score[k]
                    and _lines_standing_locally(on_line, standing[tried], sheared[tried]) >= 3):
                line = (on_line[:, None] & inside[tried]
                        & (sheared[tried] >= (around[tried] + 0.5 * standing[tried])[:, None]))
                best[k], best_score[k], lines[k] = (line, rows[tried], inside[tried]), score, count
    return best[int(np.argmax(lines))]  # the first floor's where as many lines


def _without_strokes(on_line: np.ndarray, sheared: np.ndarray, along: np.ndarray, fraction: float) -> np.ndarray:
    """`on_line` (rows of the sheared picture) without the bands that are a stroke lying at the
    lines' slope, not a line: a 1's stem between a frame's two sides, or among a desk's grain, makes
    three "lines" at even spacing. A line's level is its ink where it was found (its row's ink
    along most of the picture); a stroke is STROKE_DARKER times darker than the set's median line
    and reaches half its level along less than `fraction` of the picture, where ruling is printed
    alike all along it."""
    starts, ends = _bands(on_line)
    if len(starts) < 3:
        return on_line
    levels, present = [], []
    for start, end in zip(starts, ends):
        peak = sheared[start:end].max(0)
        peak = peak[np.isfinite(peak)]
        found = peak[peak >= along[start:end].max()]
        level = float(_median(found)) if found.size else 0.0
        levels.append(level)
        present.append(np.mean(peak >= 0.5 * level))
    levels, present = np.array(levels), np.array(present)
    strokes = (levels > STROKE_DARKER * _median(levels)) & (present < fraction)
    kept = on_line.copy()
    for start, end in zip(starts[strokes], ends[strokes]):
        kept[start:end] = False
    return kept


def _lines_standing_locally(on_line: np.ndarray, standing: np.ndarray, sheared: np.ndarray,
                            share: float = 0.4) -> int:
    """How many bands of `on_line` (rows of the sheared picture) stand out of the rows just beyond
    them (two rows past each side) pixel by pixel along `share` of their length, by half of what
    they stand out of the rows around them. A line on paper does, crossed by a stroke or not, bar
    where a desk or a shadow takes part of it. Rows inside ink that fills most of the picture (a
    digit cropped tight, or enlarged from a 28x28 file) do not: their levels step from row to row,
    and a step may pass for a line among its neighbours."""
    count = 0
    for start, end in zip(*_bands(on_line)):
        peak = start + int(np.argmax(standing[start:end]))
        row = sheared[peak]
        inside = np.isfinite(row)
        nothing = np.full_like(row, -np.inf)  # beyond the picture's edge: nothing beside the line
        above = sheared[start - 2] if start >= 2 else nothing
        below = sheared[end + 1] if end + 1 < len(sheared) else nothing
        beside = np.maximum(above, below)[inside]
        local = np.sort(np.where(np.isfinite(beside), row[inside] - beside, np.inf))
        count += bool(local[int((1 - share) * (len(local) - 1))] >= 0.5 * standing[peak])
    return count


def _line_levels(found: np.ndarray, strength: np.ndarray, line: np.ndarray, rows: np.ndarray,
                 inside: np.ndarray) -> None:
    """Writes into `found` each line's ink level along it (from `strength`, the ink), all along the
    picture, past where it was found: a line breaks up in a shadow."""
    h, w = found.shape
    columns = np.broadcast_to(np.arange(w), (h, w))
    sheared_strength = strength[rows.clip(0, h - 1), columns]
    reach = max(4, w // 6)
    for start, end in zip(*_bands(line.any(1))):
        # A line a little off the slope it was found at (a curled sheet, a lens's bend) strays from
        # its band by a row or two along part of its length, leaving the band fainter: it is
        # followed where it went, at about its own level. A stroke lying beside it is darker than
        # it; inside a thick stroke taken for a line, the band is as dark. (The band takes in the
        # line's middle where it was found a row off it, as at the picture's edge.)
        centre = _line_centre(sheared_strength, start, end)
        band = np.arange(min(start, centre), max(end, centre + 1))[:, None]
        strayed = (band + _line_drift(sheared_strength, centre, reach)).clip(0, h - 1)
        peak = sheared_strength[band[:, 0]].max(0)
        found_at = line[start:end].any(0)
        level = _median(peak[found_at])
        strayed_peak = np.take_along_axis(sheared_strength, strayed, 0).max(0)
        moved = (peak < 0.8 * strayed_peak) & (strayed_peak <= STRAYED_DARKEST * level)
        peak = np.where(moved, strayed_peak, peak)
        # A running median of the line's darkest row, over a stretch longer than a digit crossing it,
        # capped at twice its median over its whole length: a stroke lying along it for a while is
        # not its level.
        local = _median(sliding_window_view(np.pad(peak, reach, mode="reflect"), 2 * reach + 1), axis=1)
        local = np.minimum(local, 2 * _median(peak[found_at]))
        for band_rows, where in ((np.broadcast_to(band, strayed.shape), True), (strayed, moved)):
            on_picture = np.take_along_axis(inside, band_rows, 0) & where
            ys, xs = np.take_along_axis(rows, band_rows, 0)[on_picture], columns[:len(band)][on_picture]
            found[ys, xs] = np.maximum(found[ys, xs], np.broadcast_to(local, on_picture.shape)[on_picture])


def _line_centre(sheared_strength: np.ndarray, start: int, end: int) -> int:
    """The row, of those found to hold a line (`start` to `end`) and the one either side, darkest
    along the line (by its median): the search may find a line a row off its middle."""
    first, last = max(start - 1, 0), min(end + 1, sheared_strength.shape[0])
    return first + int(np.argmax(_median(sheared_strength[first:last], axis=1)))


def _line_drift(sheared_strength: np.ndarray, centre: int, reach: int) -> np.ndarray:
    """For each column of the sheared picture, how many rows (up to LINE_DRIFT either way) the line
    along row `centre` has strayed there: where its darkest row lies, as a running median over
    2 `reach` + 1 columns, so that a stroke crossing the line does not pull it."""
    h = sheared_strength.shape[0]
    shifts = np.arange(-LINE_DRIFT, LINE_DRIFT + 1)
    darkest = shifts[np.argmax(sheared_strength[(centre + shifts).clip(0, h - 1)], axis=0)]
    drift = _median(sliding_window_view(np.pad(darkest, reach, mode="reflect"), 2 * reach + 1), axis=1)
    return np.round(drift).astype(int)


def _bands(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the runs of True in a 1-D boolean array, ends exclusive."""
    steps = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return np.flatnonzero(steps == 1), np.flatnonzero(steps == -1)


def _thin_bands(values: np.ndarray, threshold: float, max_width: int) -> np.ndarray:
    """Where `values` (1-D) reaches `threshold`, in runs whose core (what reaches half the run's
    peak: a strong line's shoulders reach the threshold too) is at most `max_width` long."""
    starts, ends = _bands(values >= threshold)
    keep = np.zeros(values.shape, bool)
    for start, end in zip(starts, ends):
        run = values[start:end]
        keep[start:end] = np.sum(run >= 0.5 * run.max()) <= max_width
    return keep


def _dilate(mask: np.ndarray, size: int) -> np.ndarray:
    """A boolean image grown by size // 2 pixels each way (a size x size square)."""
    return _square_filter(mask, size, np.maximum)


def _dilate_rows(mask: np.ndarray, size: int) -> np.ndarray:
    """A boolean image grown up and down by size // 2 pixels."""
    half = size // 2
    return sliding_window_view(np.pad(mask, ((half, half), (0, 0))), size, axis=0).any(axis=-1)


def _select_digit(ink: np.ndarray, weak: np.ndarray, strong: np.ndarray, on_lines: np.ndarray | None = None,
                  smallest: float = 1.0, photo: bool = True) -> np.ndarray:
    labels, count = _bridged_components(weak)
    if count == 0:
        return np.zeros_like(weak)
    h, w = ink.shape
    index = np.arange(1, count + 1)
    has_strong = np.bincount(labels[strong], minlength=count + 1)[1:] > 0
    area = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    top, bottom, left, right = component_boxes(labels, count)
    height, width = bottom - top + 1, right - left + 1
    # A digit cropped tight touches the border where its strokes end; a desk or a sheet's edge runs
    # along it. Only strong ink counts: faint specks at the picture's edge (what is left there of
    # uneven light) may join a digit's component without the digit reaching the border.
    on_border = np.zeros((h, w), bool)
    on_border[[0, -1]], on_border[:, [0, -1]] = True, True
    strong_on_border = np.bincount(np.where(strong, labels, 0)[on_border], minlength=count + 1)[1:]
    touches_border = strong_on_border > 0
    runs_along = strong_on_border > 0.25 * max(h, w)
    # A side more than half covered by ink is a desk or a sheet's edge there, which the desk's grain
    # may break into many pieces, each short along the side; a digit touches a side where its strokes end.
    for side in _sides(labels):
        if np.mean(side > 0) > 0.5:
            runs_along[side[side > 0] - 1] = True
    # What lies within a few pixels of a side and in its outer quarter, together a narrow bar along
    # it, is a strip of desk beside the sheet's edge, whole or cut up by ruling or grain (a 1 that
    # close to a side is rare).
    gap = max(3.0, 0.03 * max(h, w))
    strip_of_desk = np.zeros(count, bool)
    for near, far, start, end, size in ((left, right, top, bottom, w), (w - 1 - right, w - 1 - left, top, bottom, w),
                                        (top, bottom, left, right, h), (h - 1 - bottom, h - 1 - top, left, right, h)):
        strip = (near <= gap) & (far < 0.25 * size)
        if strip.any():
            length = end[strip].max() - start[strip].min() + 1
            if length >= 0.05 * max(h, w) and far[strip].max() + 1 <= 0.5 * length:
                touches_border |= strip
                strip_of_desk |= strip
    # No digit is a long flat horizontal line; a long vertical one may be a 1, unless there are several.
    horizontal_line = (width >= 0.6 * w) & (height <= 0.15 * width)
    vertical_line = (height >= 0.6 * h) & (width <= 0.15 * height)
    usable = has_strong & (area >= 0.0005 * smallest * h * w) & ~horizontal_line
    mass = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count + 1)[1:]
    level = mass / np.maximum(area, 1)  # each component's mean ink
    # Nor is a shadow along a sheet's edge in a `photo`, faint, darkest at the edge and fading into the
    # paper: a pen's stroke is darkest inside, however thick (a stroke's junction, thick, may lean: it
    # is dark). A tiny picture enlarged has thick, faint strokes fading to one side where its pixels cut them.
    if photo:
        usable &= (_lean_across(labels, count, ink, height >= width) <= SHADOW_LEAN) | (level >= SHADOW_DARKEST)
    if on_lines is not None:
        # What the ruling's subtraction missed lies on the lines' pixels, or along them where a
        # line was found in part: long and thin, or a grid found in part: across the sheet. A faint
        # digit crossing a fine grid on a small picture has half its pixels on them too, but a
        # compact box, and strokes well clear of them.
        beside_lines = _dilate(on_lines, 2 * LINE_CLEARANCE + 1)
        clear_of_lines = np.bincount(labels[~beside_lines], minlength=count + 1)[1:]
        compact = ((np.minimum(height, width) >= COMPACT_DIGIT * np.maximum(height, width))
                   & (height <= GRID_SPAN * h) & (width <= GRID_SPAN * w))
        usable &= ((np.bincount(labels[on_lines], minlength=count + 1)[1:] < 0.5 * area)
                   | ((clear_of_lines >= CLEAR_OF_LINES * area) & compact))
    # A flat stroke is no digit on its own (the edge of a sheet, a stretch of a line), though it
    # may belong to one (a 7's or a 5's bar drawn apart): it joins a digit, it does not start one.
    flat = (width >= 0.15 * w) & (height <= 0.15 * width)
    candidates = usable & ~touches_border & ~vertical_line
    # A ring drawn around the digit (a circled answer) holds ink of weight inside its box on every
    # side: it is no digit's stroke, however heavy (a circled 1 weighs less than its circle).
    among = np.flatnonzero(candidates)
    t, b, l, r, m = top[among], bottom[among], left[among], right[among], mass[among]
    ring = ((t[:, None] < t) & (b[:, None] > b) & (l[:, None] < l) & (r[:, None] > r)
            & (m >= 0.1 * m[:, None])).any(1)
    rings = among[ring]
    candidates[rings] = False
    # Nor is a pen lying beside the digit, an eraser, a blot: far thicker than the writing.
    objects = _objects(labels, ink, candidates & ~flat, level, height, width, 0.0015 * smallest * h * w,
                       0.08 * max(h, w))
    usable &= ~objects
    candidates &= ~objects
    # A digit cropped tight touches the border where its strokes end, a 1 is a vertical line: taken
    # when nothing away from the border could be a digit, or only specks that weigh far less. Its
    # strokes also pass through the middle of the picture, which a desk, a sheet's edge or a shadow
    # along the sides does not reach: ink touching the border there is a digit cropped tight, even
    # where it runs along a side for a while (a 0's curve) and beside parts of it that do not touch.
    # A ruled line's own pixels do not count: joined to a desk, one would carry it to the middle.
    middle = np.zeros((h, w), bool)
    middle[h // 3:h - h // 3, w // 3:w - w // 3] = True
    if on_lines is not None:
        middle &= ~on_lines
    in_middle = np.bincount(labels[middle], minlength=count + 1)[1:] > 0
    # So does one reaching all four sides, each only where its strokes end or curve: a 0 cropped
    # tight, whose ring passes around the middle, not through it. A desk reaching all four sides
    # covers most of two of them or more, or nearly all of one (a 0's flattest curve may cover half
    # of one); the lines of a form's boxes cross the sides at two places or more, a 0 meets them
    # once (or one twice).
    sides_mostly_covered = np.zeros(count, int)
    a_side_covered = np.zeros(count, bool)
    broken_sides = np.zeros(count, int)
    for side in _sides(labels):
        covered = np.bincount(side, minlength=count + 1)[1:] / len(side)
        sides_mostly_covered += covered > 0.5
        a_side_covered |= covered > DESK_SIDE
        broken_sides += _stretches_along(side, count) > 1
    near_side = 0.05 * max(h, w)
    spans = ((top <= near_side) & (left <= near_side) & (bottom >= h - 1 - near_side) & (right >= w - 1 - near_side)
             & touches_border & (sides_mostly_covered <= 1) & ~a_side_covered & (broken_sides <= 1))
    many_lines = vertical_line & (np.sum(usable & vertical_line) > 2)
    tight = usable & ~strip_of_desk & (~runs_along | in_middle | spans) & ~many_lines
    heaviest = np.where(candidates & ~flat, mass, 0).max(initial=0)
    cropped_tight = tight & touches_border & (in_middle | spans) & ~flat & ~vertical_line
    if np.where(tight & ~flat, mass, 0).max(initial=0) > 4 * heaviest or cropped_tight.any():
        candidates = tight
    if not (candidates & ~flat).any():
        return np.zeros_like(weak)
    # A frame drawn around ink (a canvas's border in a screenshot, a ring around an answer) says
    # what to read: the digit is inside it, and what lies outside the innermost one around the
    # digit (the app's buttons and captions, however heavy) is none of it.
    inside = _surrounded(labels, rings, top, bottom, left, right)
    framed = candidates & ~flat & inside.any(0)
    # Grow a box from the heaviest candidate (framed, where any is), taking in the candidates close to it.
    seed = np.argmax(np.where(framed if framed.any() else candidates & ~flat, mass, -1))
    kept = index == seed + 1
    apart = 0.8  # how far apart the digits of a number may lie, in heights of its row
    if inside[:, seed].any():
        around = np.flatnonzero(inside[:, seed])
        candidates &= inside[around[np.argmin((height * width)[rings[around]])]]
        apart = np.inf  # within a frame (a row of boxes, a digit in each), however far
    # One pen wrote the digit, and the digits of a number: ink far fainter than the heaviest piece's
    # is something else (the ghost of an erased digit on a whiteboard or in pencil, a stain).
    candidates &= level >= FAINTEST_COMPANION * level[seed]
    box = [top[seed], left[seed], bottom[seed], right[seed]]
    while True:
        extent = max(box[2] - box[0], box[3] - box[1])
        reach = 0.35 * extent + 2
        # Near, and no larger than what is kept: a sheet's outline around the digit is not a stroke of it.
        near = (candidates & ~kept & (mass >= 0.03 * mass[seed]) & (np.maximum(height, width) <= 1.5 * extent + 2)
                & (top <= box[2] + reach) & (bottom >= box[0] - reach)
                & (left <= box[3] + reach) & (right >= box[1] - reach))
        # The next digit of a number: as tall as the row and level with it, a little further away.
        row = box[2] - box[0] + 1
        shared_rows = np.minimum(bottom, box[2]) - np.maximum(top, box[0]) + 1
        near |= (candidates & ~kept & ~flat & (height >= 0.6 * row) & (height <= 1.5 * row) & (shared_rows >= 0.7 * height)
                 & (left <= box[3] + apart * row) & (right >= box[1] - apart * row))
        if not near.any():
            # However faint, a digit covers more than a blob of noise does.
            return _among(labels, index[kept]) if area[kept].sum() >= 0.0015 * smallest * h * w else np.zeros_like(weak)
        kept |= near
        box = [top[kept].min(), left[kept].min(), bottom[kept].max(), right[kept].max()]


def _lean_across(labels: np.ndarray, count: int, ink: np.ndarray, tall: np.ndarray, least: int = 8) -> np.ndarray:
    """For components 1..count of `labels` at least `least` pixels wide (see _stroke_widths): how
    far their ink leans to one side across them, row by row where they are `tall`, column by column
    elsewhere. Each run of `least` pixels or more (shorter ones lean by where the pixel grid cuts
    their edges; those cut by the picture's edge are left out) leans by (darker half's ink -
    lighter half's) / (both halves'), or by as much within its lighter half if less; the mean,
    weighted by length. Near 0 for a stroke, darkest in its middle; about 0.5 for ink fading from
    one side to the other; 0 for a thinner component, whose long runs are along its strokes, where
    ink may fade as the pen runs dry."""
    leans = []
    for along, values in ((labels, ink), (labels.T, ink.T)):
        width = along.shape[1] + 2  # a column of paper each side keeps the rows' runs apart
        flat = np.pad(along, ((0, 0), (1, 1))).ravel()
        running = np.concatenate([[0.0], np.cumsum(np.pad(np.clip(values, 0, None), ((0, 0), (1, 1))).ravel())])
        starts = np.flatnonzero((flat[1:] != flat[:-1]) & (flat[1:] != 0)) + 1
        ends = np.flatnonzero((flat[:-1] != flat[1:]) & (flat[:-1] != 0)) + 1
        length, quarter = ends - starts, (ends - starts) // 4
        # The ink of each run's quarters, the middle pixels of a run not a multiple of 4 left out.
        q1, q2 = running[starts + quarter] - running[starts], running[starts + 2 * quarter] - running[starts + quarter]
        q3, q4 = running[ends - quarter] - running[ends - 2 * quarter], running[ends] - running[ends - quarter]
        counted = ((length >= least) & (starts % width != 1) & (ends % width != width - 1)
                   & (q1 + q2 > 0) & (q3 + q4 > 0))
        def share(part, whole):  # over the runs counted, whose halves hold ink; 0 elsewhere
            return np.divide(part, whole, out=np.zeros(len(starts)), where=counted)
        # Towards its darker half, and within its lighter half too: a shadow fades all the way,
        # where a stroke with a faint patch beside it (a smudge) steps down, then stays flat.
        halves = share(q3 + q4 - q1 - q2, q1 + q2 + q3 + q4)
        lighter = np.where(halves > 0, share(q2 - q1, q1 + q2), share(q3 - q4, q3 + q4))
        lean = np.where(counted, length * np.sign(halves) * np.minimum(np.abs(halves), np.clip(lighter, 0, None)), 0)
        total = np.bincount(flat[starts], weights=lean, minlength=count + 1)[1:]
        runs = np.bincount(flat[starts], weights=np.where(counted, length, 0), minlength=count + 1)[1:]
        leans.append(np.abs(total) / np.maximum(runs, 1))
    return np.where(_stroke_widths(labels, count) >= least, np.where(tall, *leans), 0.0)


def _surrounded(labels: np.ndarray, rings: np.ndarray, top: np.ndarray, bottom: np.ndarray, left: np.ndarray,
                right: np.ndarray) -> np.ndarray:
    """(len(rings), components): which components (boxes `top`...`right`) each of the `rings` lies
    around: within its box, and its ink above, below, left and right of theirs, in line with
    them. A box is not enough: a line under a number, joined to some of its digits, boxes the rest."""
    surrounded = np.zeros((len(rings), len(top)), bool)
    for k, ring in enumerate(rings):
        within = (top > top[ring]) & (bottom < bottom[ring]) & (left > left[ring]) & (right < right[ring])
        if not within.any():
            continue
        rows, cols = np.nonzero(labels == ring + 1)
        for inner in np.flatnonzero(within):
            above_below = rows[(cols >= left[inner]) & (cols <= right[inner])]
            beside = cols[(rows >= top[inner]) & (rows <= bottom[inner])]
            surrounded[k, inner] = ((above_below < top[inner]).any() and (above_below > bottom[inner]).any()
                                    and (beside < left[inner]).any() and (beside > right[inner]).any())
    return surrounded


def _objects(labels: np.ndarray, ink: np.ndarray, digit_like: np.ndarray, level: np.ndarray, height: np.ndarray,
             width: np.ndarray, least_area: float, least_size: float) -> np.ndarray:
    """Which components are objects lying beside the writing (a pen, an eraser, a blot): of the
    `digit_like` ones, those whose strokes are THICKEST_WRITING times as wide as those of another
    that could be a digit by itself: `least_area` pixels or more, `least_size` tall or wide, at
    least half as tall as wide (an underline drawn with a fine pen under a marker's digit is no
    writing to compare with) and at least half as dark on average (`level`: grain and shadows are
    fainter, and break up thin)."""
    count = len(digit_like)
    objects = np.zeros(count, bool)
    if digit_like.sum() < 2:
        return objects
    # Each component's core, its ink over a third of its own peak (a blurred edge widens a thin
    # stroke more than a thick one), and the core's mean width: its area over half its outline.
    peak = np.zeros(count + 1, ink.dtype)
    np.maximum.at(peak, labels.ravel(), ink.ravel())
    core = np.where(ink >= 0.3 * peak[labels], labels, 0)
    area = np.bincount(core.ravel(), minlength=count + 1)
    stroke = _stroke_widths(core, count)
    writing = (digit_like & (area[1:] >= least_area) & (np.maximum(height, width) >= least_size)
               & (height >= 0.5 * width))
    for i in np.flatnonzero(digit_like):
        others = writing & (np.arange(count) != i) & (level >= 0.5 * level[i])
        objects[i] = others.any() and stroke[i] >= THICKEST_WRITING * stroke[others].min()
    return objects


def _stroke_widths(labels: np.ndarray, count: int) -> np.ndarray:
    """The mean width of components 1..count of `labels`: each one's area over half its outline
    (which the picture's edge closes)."""
    outline = np.bincount(np.concatenate(_sides(labels)), minlength=count + 1)
    for before, after in ((labels[:-1], labels[1:]), (labels[:, :-1], labels[:, 1:])):
        edge = before != after
        outline += np.bincount(before[edge], minlength=count + 1) + np.bincount(after[edge], minlength=count + 1)
    area = np.bincount(labels.ravel(), minlength=count + 1)
    return (2 * area / np.maximum(outline, 1))[1:]


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


def to_mnist(gray: np.ndarray, shown: dict | None = None) -> np.ndarray:
    """MNIST's own procedure: (H, W) greyscale in [0, 1] -> (28, 28) white digit on black in [0, 1],
    all the ink found taken as one digit. ImageError when no digit is found. `shown`: see read_digits."""
    return read_digits(gray, shown, single=True)[0].image


def read_digits(gray: np.ndarray, shown: dict | None = None, single: bool = False,
                score: Callable[[np.ndarray], np.ndarray] | None = None, sure: float = 0.0,
                dark_ink: bool | None = None) -> list[FoundDigit]:
    """The digits of the picture, left to right, each as MNIST would have made it; with `single`,
    all the ink found is one digit. `score` (N 28x28 images -> the log-probability of each one's
    likeliest digit, from a model) lets ink that may be touching digits be cut apart where that
    reads better, into parts each read with at least the probability `sure` (the model's threshold
    for an answer); without it, each group of ink is one digit. ImageError when no digit is found.
    When `shown` is a dict, it receives the masks of what was kept as digits ("kept") and of all
    the ink that stood out of the paper ("ink"), for plots. `dark_ink`: see ink_map."""
    ink, noise = _ink(gray, shown, dark_ink)
    cleaned, keep = _look(ink, noise, shown, score=score)
    return _read_kept(cleaned, keep, noise, single, score, sure)


def _ink(gray: np.ndarray, shown: dict | None, dark_ink: bool | None = None,
         frame_filling: bool = False, canvas: bool = True) -> tuple[np.ndarray, float]:
    """(ink, noise): the picture's ink, smoothed, and the paper's noise; `shown` gets all the ink."""
    ink = _smooth(ink_map(gray, dark_ink, frame_filling, canvas))
    noise = noise_level(ink)
    if shown is not None:  # all the ink, ruling included
        shown["ink"] = ink_levels(ink, noise)[0]
    return ink, noise


def _look(ink: np.ndarray, noise: float, shown: dict | None, shrunk: bool = False,
          score: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(ink with the ruling taken out, the digits' pixels) (see find_digit); `shown` gets the latter."""
    keep, cleaned = find_digit(ink, noise, shrunk=shrunk, score=score)
    if shown is not None:
        shown["kept"] = keep
    return cleaned, keep


def _read_kept(ink: np.ndarray, keep: np.ndarray, noise: float, single: bool,
               score: Callable[[np.ndarray], np.ndarray] | None, sure: float) -> list[FoundDigit]:
    if not keep.any():
        raise ImageError("no digit found: nothing stands out as a digit (the image looks blank, "
                         "or holds only lines, edges or noise; a digit cropped with no paper around it "
                         "touches the edges like a desk: leave a margin; one far smaller than the "
                         "picture is a speck: crop closer)")
    peak = _percentile(ink[keep], 95)
    # Ink must stand out of the paper in absolute terms and well above the paper's own noise.
    needed = max(MIN_INK_CONTRAST, 5 * noise)
    if peak < needed:
        raise ImageError(f"no digit found: what could be a digit is too faint (it differs from the paper by "
                         f"{peak:.1%} of the full range, at least {needed:.1%} needed)")
    if single:
        return [_found(ink, keep, noise, False)]
    groups = split_digits(keep, core=keep & (ink > CORE_LEVEL * peak))
    if score is None:
        return [_found(ink, group, noise, False) for group in groups]
    found = []
    for group in _rejoined(ink, groups, noise, score, peak):
        found += _read_touching(ink, group, noise, score, sure)
    return found


def _rejoined(ink: np.ndarray, groups: list[np.ndarray], noise: float,
              score: Callable[[np.ndarray], np.ndarray], peak: float) -> list[np.ndarray]:
    """Neighbouring groups of ink that share columns and are joined by dark ink (the core's level,
    CORE_LEVEL of the digit's `peak`) that the digit's pixels left out are one digit again where the
    model reads them together as likelier than apart: a line taken out from under a 6 or a 0 parts
    its loop where it lay along the line. Digits of a number written on a line are joined by it too,
    and read as two digits far better than as one; close digits whose faint edges meet are not asked."""
    if len(groups) < 2:
        return groups
    dark, count = label_components(ink > CORE_LEVEL * peak)

    def dark_pieces(mask):  # which pieces of dark ink the mask's pixels lie on
        return np.bincount(dark[mask], minlength=count + 1)[1:] > 0

    merged = [groups[0]]
    for group in groups[1:]:
        last = merged[-1]
        columns = [np.flatnonzero(mask.any(0)) for mask in (last, group)]
        if columns[1][0] <= columns[0][-1] and (dark_pieces(last) & dark_pieces(group)).any():
            union = last | group
            masks = (union, last, group)
            read = score(np.stack([_centred(ink, mask, noise) for mask in masks]))
            aspect = np.array([_aspect(mask) for mask in masks])
            log_p = read + _wide_digit_prior(aspect)
            if log_p[0] > log_p[1] + log_p[2]:
                merged[-1] = union
                continue
        merged.append(group)
    return merged


def _wide_digit_prior(aspect: np.ndarray) -> np.ndarray:
    """The log-likelihood a digit loses for being wider than tall (`aspect`: width / height)."""
    return -WIDE_DIGIT_RATE * np.maximum(aspect - 1.0, 0)


def _aspect(mask: np.ndarray) -> float:
    """Width over height of the box around a mask's pixels."""
    rows, columns = nonzero_box(mask)
    return (columns.stop - columns.start) / (rows.stop - rows.start)


def read_picture_digits(full: np.ndarray, shown: dict | None = None, single: bool = False,
                        score: Callable[[np.ndarray], np.ndarray] | None = None, sure: float = 0.0
                        ) -> list[FoundDigit]:
    """`read_digits` on a picture at its own resolution (greyscale in [0, 1]), with its digits'
    boxes in its own pixels. The ink is found at the working size; where what was found is small
    there (a digit written on a page photographed whole) and the picture is at least CLOSER_GAIN
    times the working size, it is read from a crop of the picture around it, at the working size: up close, where its
    strokes keep their width and contrast. Where the picture leaves in doubt which way its ink
    lies (see polarity_in_doubt), the model (`score`) reads it both ways and the clearer reading
    wins; so does a plain canvas read unsure, read again as a photo (see _read_either_way). The
    picture may also hold a digit filling its frame, of which the usual reading found
    only part, or nothing: see _frame_filling_digit. `shown` (see read_digits) also receives the
    working picture ("gray") and, after a closer look, the crop's box in it ("closer")."""
    gray = working_size(full)
    if shown is not None:
        shown["gray"] = gray
    evidence = polarity_evidence(gray)
    if score is None:
        return _read_either_way(full, gray, evidence, shown, single, score, sure)
    seen = {}
    try:
        found = _read_either_way(full, gray, evidence, seen, single, score, sure)
    except ImageError:
        if shown is not None:
            shown.update(seen)
        filling = _frame_filling_digit(full, gray, evidence, shown, single, score, sure)
        if filling is None:
            raise
        return filling
    if shown is not None:
        shown.update(seen)
    if score(np.stack([digit.image for digit in found])).min() < _sure_log_probability(sure):
        return _frame_filling_digit(full, gray, evidence, shown, single, score, sure) or found
    if "closer" in seen:  # a small digit on a large picture, read up close, fills no frame
        return found
    return _frame_filling_digit(full, gray, evidence, shown, single, score, sure, beside=seen["kept"]) or found


def _frame_filling_digit(full: np.ndarray, gray: np.ndarray, evidence: float, shown: dict | None, single: bool,
                         score: Callable[[np.ndarray], np.ndarray], sure: float, beside: np.ndarray | None = None
                         ) -> list[FoundDigit] | None:
    """A digit cropped tight in a photo: its strokes are as broad as the paper's level is measured
    over, and what was taken for paper cut holes in them or left only one of them (a 7's stem, a
    0's side, read as a 1). Read again with the paper as a digit filling the picture leaves it
    (see _frame_paper), it is kept where it is one sure digit spanning the picture, running along
    no side as a desk does. Where the usual reading was sure, what it kept (`beside`, the mask of its
    digit's pixels) must be less ink than this reading keeps: it took some of the digit for paper.
    `evidence`: the picture's polarity_evidence; a plain canvas (0) tells its paper outright and
    is read the same either way. None otherwise."""
    if evidence == 0 or abs(evidence) >= FRAME_FILLING_EVIDENCE:
        return None
    dark_ink, ink = _frame_ink(gray)
    # A desk or a sheet's edge in view runs along a whole side (a 7's bar may too: it is left out).
    # Light "ink" that is less of the border is a sheet on a desk (each such photo of the hard
    # ones), far more often than chalk cropped tight, which is left to the first reading.
    if not dark_ink or max(side.mean() for side in _sides(ink)) > DESK_SIDE:
        return None
    seen = {}
    # As one digit: a wide one is not searched for touching digits (a tenth of a second).
    try:
        found = _read_picture(full, gray, dark_ink, seen, True, score, sure, frame_filling=True)
    except ImageError:
        return None
    if not single and len(split_digits(seen["kept"])) > 1:  # digits side by side: a number
        return None
    if score(found[0].image[None])[0] < _sure_log_probability(sure):
        return None
    left, top, right, bottom = found[0].box
    height, width = full.shape
    spans = sorted(((right - left) / width, (bottom - top) / height))
    if spans[1] < FRAME_FILLING_SPAN or spans[0] < FRAME_FILLING_ACROSS:
        return None
    if beside is not None and seen["kept"].sum() <= beside.sum():
        return None
    if shown is not None:
        shown.update(seen)
    return found


def _frame_ink(gray: np.ndarray) -> tuple[bool, np.ndarray]:
    """(whether the ink is darker than the paper, where the ink is) in a picture that a digit fills:
    of the picture's two classes of level, the paper is most of its border, which the digit's
    strokes cross only where they end or curve. (How the detail is skewed says little there: the
    ink covers about as much of the picture as the paper.)"""
    dark = gray <= _two_classes_threshold(gray)
    dark_ink = bool(np.concatenate(_sides(dark)).mean() < 0.5)
    return dark_ink, dark if dark_ink else ~dark


def _read_either_way(full: np.ndarray, gray: np.ndarray, evidence: float, shown: dict | None, single: bool,
                     score: Callable[[np.ndarray], np.ndarray] | None, sure: float, canvas: bool = True
                     ) -> list[FoundDigit]:
    """read_picture_digits with the polarity from the picture's `evidence` (see polarity_evidence)
    or, where that is in doubt, from the model. A plain canvas (evidence 0) tells its paper and
    polarity outright, unless what was read there is a filled sheet (see _filled_sheet): the
    commonest level was a flat page around a canvas (a drawing app's dark page around its white
    canvas, a light one around a black canvas, a figure's white page around its black image) or a
    flat desk around a clean note, and the canvas or the note was taken for ink. Then it is read
    again as a photo is (`canvas` False: the polarity from its detail), and a sure, clearer reading
    wins. A photo whose reading is a filled sheet is read the other way round too: its detail, the
    page's text and edges, took the canvas for ink."""
    plain = canvas and evidence == 0
    if score is None:
        return _read_picture(full, gray, _dark_ink(gray, evidence), shown, single, score, sure, chosen=False,
                             canvas=canvas)
    in_doubt = not plain and polarity_in_doubt(gray, evidence)
    if plain:
        first = functools.partial(_read_picture, full, gray, _dark_ink(gray, evidence), chosen=False)

        def second(**reading):  # the detail's evidence is looked at only when needed
            return _read_either_way(full, gray, polarity_evidence(gray, canvas=False), canvas=False, **reading)
    else:
        first = functools.partial(_read_picture, full, gray, evidence < 0, canvas=canvas, chosen=in_doubt)
        second = functools.partial(_read_picture, full, gray, evidence > 0, canvas=canvas)
    # The first reading decides, unless the model is unsure of what it found there and reads the
    # second surely and more clearly (where the polarity is in doubt, or a sheet was read). A picture
    # refused one way stays refused: a blank sheet read the wrong way round is strips of paper
    # between its edges, one a "1".
    least = _sure_log_probability(sure)
    first_seen = {}
    try:
        found = first(shown=first_seen, single=single, score=score, sure=sure)
    finally:  # a refused picture's plot shows what was dropped
        if shown is not None:
            shown.update(first_seen)
    read = score(np.stack([digit.image for digit in found]))
    if not (_filled_sheet(first_seen["kept"], gray, read, sure, photo=not plain) or (in_doubt and read.min() < least)):
        return found
    seen = {} if shown is not None else None
    try:
        other = second(shown=seen, single=single, score=score, sure=sure)
    except ImageError:
        return found
    read_other = score(np.stack([digit.image for digit in other]))
    if read_other.min() < least or read_other.mean() <= read.mean():
        return found
    if shown is not None:
        shown.update(seen)
    return other


def _filled_sheet(kept: np.ndarray, gray: np.ndarray, read: np.ndarray, sure: float, photo: bool = False) -> bool:
    """Whether what a reading kept as its digit (`kept`, in the picture `gray`, read with
    log-probabilities `read`) is a sheet, not a digit: it fills SHEET_FILL of its box or more, the
    digit's strokes holes in it, and either those strokes make SHEET_HOLES of the box (a figure's
    black image on its white page, split into a sure "13") or, on a plain canvas (not a `photo`,
    where a blotch of ink fills its box and reads as nothing), the model reads it as no digit at
    all (the top digit under a tenth of the threshold `sure`). The strokes are the pixels in its box
    half the range or more from its level towards the page's, enclosed: a thin one, blurred into
    the sheet's ink, still counts. Chosen on probes of screenshots and notes (0.78 to 0.99 of their box filled,
    0.017 at most read as a digit); the digits of MNIST, USPS and Semeion on a plain canvas and
    read unsure fill 0.78 of their box at most, and those filling 0.7 or more are read 0.12 or
    higher. A thick digit filling its box holds few such pixels, a 1 none: of USPS's 2,007 digits,
    12 thick 0s and 8s (their loops) pass, and are read the same, a little surer."""
    box = nonzero_box(kept)
    if box is None:
        return False
    sheet, level = kept[box], gray[box]
    if sheet.sum() < SHEET_FILL * sheet.size:
        return False
    # The strokes lie on the page's side of the sheet's level (not ink, where the sheet was ink),
    # enclosed by it: the blurred edge of a thick digit's own stroke reaches its box's side.
    page, strokes = gray[~kept], 0
    if page.size:  # (a sheet covering the whole picture leaves no page to tell their side by)
        sheet_level = float(_median(level[sheet]))
        towards_page = 1.0 if float(_median(page)) > sheet_level else -1.0
        light = (level - sheet_level) * towards_page >= 0.5
        strokes = int(np.sum(light & ~_joined_to_edge(light)))
    return (strokes >= SHEET_HOLES * sheet.size
            or (not photo and read.max() < _sure_log_probability(sure / 10)))


SHEET_FILL = 0.75
SHEET_HOLES = 0.02


def _sure_log_probability(sure: float) -> float:
    """The least log-probability of a sure answer, the model's threshold being `sure`."""
    return float(np.log(max(sure, 1e-300)))


def _read_picture(full: np.ndarray, gray: np.ndarray, dark_ink: bool, shown: dict | None, single: bool,
                  score: Callable[[np.ndarray], np.ndarray] | None, sure: float, chosen: bool = True,
                  frame_filling: bool = False, canvas: bool = True) -> list[FoundDigit]:
    """read_picture_digits with the ink's polarity given, `gray` the picture at the working size.
    Up close, a crop is read the same way round where the polarity was `chosen` by the model, and
    tells its own otherwise (mostly paper and digit, it tells it better than the whole picture).
    `frame_filling`, `canvas`: see ink_map."""
    scale = full.shape[0] / gray.shape[0]
    shrunk = scale >= CLOSER_GAIN
    raw, noise = _ink(gray, shown, dark_ink, frame_filling, canvas)
    ink, keep = _look(raw, noise, shown, shrunk, score)
    if shrunk:
        working, candidate = _small_digit_candidate(full, gray.shape, raw, noise, keep, dark_ink)
        closer = _closer_look(full, working, candidate, single, score, sure, dark_ink if chosen else None)
        if closer is not None:
            found, crop = closer
            if shown is not None:
                shown["closer"] = tuple(edge / scale for edge in crop)
            return found
    return _in_full(_read_kept(ink, keep, noise, single, score, sure), scale)


def _small_digit_candidate(full: np.ndarray, working: tuple[int, int], ink: np.ndarray, noise: float,
                           keep: np.ndarray, dark_ink: bool) -> tuple[tuple[int, int], np.ndarray]:
    """(shape, mask): where a digit written small on a large picture may lie, for a closer look,
    on the picture at the working size (`working`, its `ink` and `noise`) or finer. The digit
    found (`keep`); else ink covering CLOSER_SMALLEST of the least share a digit must cover; else
    the same looked for FINER_LOOK times finer, on a picture shrunk that much more; else the
    picture's strongest ink alone (see STRONGEST_INK)."""
    if keep.any():
        return working, keep
    # Smaller ink than a digit must cover at the working size may still be one, written small.
    candidate = find_digit(ink, noise, CLOSER_SMALLEST, shrunk=True)[0]
    if candidate.any():
        return working, candidate
    if full.shape[0] / working[0] >= FINER_LOOK * CLOSER_GAIN:
        finer, candidate = _finer_candidate(full, working, dark_ink)
        if candidate.any():
            return finer, candidate
    # A shadow cast across the page up to the digit carries it to the picture's edge, where it is
    # dropped with the shadow; ink far darker than the shadow stands apart from it.
    level = STRONGEST_INK * _percentile(ink, 99.9)
    if level <= STRICTER_NOISE * noise:
        return working, np.zeros(ink.shape, bool)
    return working, _find_digit(ink, level, CLOSER_SMALLEST, shrunk=True, score=None)[0]


def _finer_candidate(full: np.ndarray, working: tuple[int, int], dark_ink: bool) -> tuple[tuple[int, int], np.ndarray]:
    """(shape, mask): where a small digit may lie, looked for in the full picture shrunk to
    FINER_LOOK times the working size `working`. Shrunk to the working size from a large photo, a
    thin faint stroke is averaged with the paper around it until it no longer stands out."""
    size = (round(working[1] * FINER_LOOK), round(working[0] * FINER_LOOK))
    finer = _resize(full, size, Image.Resampling.BOX)
    ink, noise = _ink(finer, None, dark_ink)
    # A stroke a pixel or two wide is no wider in pixels there: the share of the picture it covers
    # shrinks by FINER_LOOK, not by its square.
    return finer.shape, find_digit(ink, noise, CLOSER_SMALLEST / FINER_LOOK, shrunk=True)[0]


def _closer_look(full: np.ndarray, working: tuple[int, int], candidate: np.ndarray, single: bool,
                 score: Callable[[np.ndarray], np.ndarray] | None, sure: float, dark_ink: bool | None = None
                 ) -> tuple[list[FoundDigit], list[int]] | None:
    """The digits read from a crop of the full picture around `candidate` (a mask at the working
    size `working`), with boxes in the full picture's pixels, and the crop (left, top, right,
    bottom); None where the candidate is no small digit or nothing is found up close."""
    rows, cols = np.nonzero(candidate)
    if not len(rows):
        return None
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    side = max(right - left, bottom - top)
    # Ink that reaches the picture's edge (a desk, a digit cropped tight) is no small digit on a page.
    if side >= CLOSER_BELOW * min(working) or min(left, top) == 0 or right == working[1] or bottom == working[0]:
        return None
    # The crop's margin keeps the paper around the digits, so that they do not touch its edges.
    scale, margin = full.shape[0] / working[0], CLOSER_MARGIN * side
    crop = [max(0, round((left - margin) * scale)), max(0, round((top - margin) * scale)),
            min(full.shape[1], round((right + margin) * scale)), min(full.shape[0], round((bottom + margin) * scale))]
    closer = working_size(full[crop[1]:crop[3], crop[0]:crop[2]])
    try:
        found = read_digits(closer, None, single, score, sure, dark_ink)
    except ImageError:
        return None
    return _in_full(found, (crop[3] - crop[1]) / closer.shape[0], crop[0], crop[1]), crop


def _in_full(found: list[FoundDigit], scale: float, left: int = 0, top: int = 0) -> list[FoundDigit]:
    """The digits with their boxes from a working picture's pixels into the full picture's: scaled
    by `scale`, the working picture's corner at (left, top)."""
    return [replace(d, box=tuple(round((left, top)[k % 2] + edge * scale) for k, edge in enumerate(d.box)))
            for d in found]


def _found(ink: np.ndarray, mask: np.ndarray, noise: float, touching: bool, image: np.ndarray | None = None
           ) -> FoundDigit:
    rows, cols = np.nonzero(mask)
    box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
    return FoundDigit(_centred(ink, mask, noise) if image is None else image, box, touching)


def _reads_likelier(score: Callable[[np.ndarray], np.ndarray], ink: np.ndarray, noise: float, mask: np.ndarray,
                    other: np.ndarray, by: float = 0.0) -> bool:
    """Whether the model (`score`) reads the ink under `mask` as a digit more surely than under
    `other`, by more than `by` in log-probability."""
    readings = score(np.stack([_centred(ink, mask, noise), _centred(ink, other, noise)]))
    return bool(readings[0] > readings[1] + by)


def _centred(ink: np.ndarray, mask: np.ndarray, noise: float) -> np.ndarray:
    """The ink under `mask`, normalised, scaled to fit 20x20 and centred by its mass in 28x28."""
    peak = _percentile(ink[mask], 95)
    ink = np.where(mask, np.clip((ink - 2.5 * noise) / max(peak - 2.5 * noise, 1e-6), 0, 1), 0)
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
            # Pillow's MaxFilter bit for bit, at log2(size) operations per pixel instead of size^2.
            digit = _square_filter(digit, size, np.maximum)
    return fit_in_28(digit)


def nonzero_box(image: np.ndarray) -> tuple[slice, slice] | None:
    """The rows and columns that hold any ink (nonzero values), as slices of the image; None where
    it holds none."""
    rows, columns = np.flatnonzero(image.any(1)), np.flatnonzero(image.any(0))
    if not len(rows):
        return None
    return slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1)


def cropped_to_ink(image: np.ndarray) -> np.ndarray:
    """The image cut to the rows and columns that hold any ink (nonzero values); it must hold some."""
    box = nonzero_box(image)
    if box is None:
        raise ValueError("no ink to crop the image to")
    return image[box]


def fit_in_28(digit: np.ndarray) -> np.ndarray:
    """MNIST's last step: a digit cropped to its ink (uint8, or floats in [0, 1]) scaled so that its
    longer side is 20 px, aspect kept, and placed so that its centre of mass falls on the centre of
    a 28x28 field; float32, in the input's range."""
    # LANCZOS averages over the source pixels it shrinks, which is the anti-aliasing MNIST had.
    scale = 20 / max(digit.shape)
    size = (max(1, round(digit.shape[1] * scale)), max(1, round(digit.shape[0] * scale)))
    small = np.asarray(Image.fromarray(digit).resize(size, Image.Resampling.LANCZOS), np.float32)
    if digit.dtype != np.uint8:  # float resampling overshoots at sharp edges; 8-bit saturates by itself
        small = np.clip(small, 0, 1)
    total = small.sum() or 1.0
    com_y = (small.sum(1) * np.arange(small.shape[0])).sum() / total
    com_x = (small.sum(0) * np.arange(small.shape[1])).sum() / total
    top, left = int(round(13.5 - com_y)), int(round(13.5 - com_x))
    canvas = np.zeros((28 + 2 * 28, 28 + 2 * 28), np.float32)  # margin: a lopsided digit may shift far
    canvas[28 + top:28 + top + small.shape[0], 28 + left:28 + left + small.shape[1]] = small
    return canvas[28:56, 28:56]


@dataclass(frozen=True)
class FoundDigit:
    """One digit of the picture: the 28x28 the model sees, and where it was (left, top, right,
    bottom, in the working picture's pixels; right and bottom exclusive)."""
    image: np.ndarray
    box: tuple[int, int, int, int]
    touching: bool = False  # cut out of touching digits


def split_digits(keep: np.ndarray, core: np.ndarray | None = None) -> list[np.ndarray]:
    """The kept ink split into groups, left to right, one mask each. Pieces of ink that share their
    columns are one digit (a 5's flag, a 4 or a 7 drawn in two strokes, a broken pencil line);
    pieces side by side are digits of a number. Touching digits stay one group here (see
    `_read_touching`). With `core` (the darkest part of the ink), pieces are the core's components,
    each with the fainter ink around it: two digits written close, whose blurred edges meet, stay
    apart."""
    labels, count = _join_stacked(*_pieces(keep, core))
    if count <= 1:
        return [keep] if keep.any() else []
    top, bottom, left, right = component_boxes(labels, count)
    area = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    present = area > 0
    height, width = bottom - top + 1, right - left + 1

    def overlap(a, b):  # shared columns; negative: the gap between them
        return min(right[a], right[b]) - max(left[a], left[b]) + 1

    # Tall, sizeable pieces make the digits; the others (a flag, a bar, a dash of a broken line)
    # join the digit whose columns they share most, or the nearest.
    tall = [i for i in range(count) if present[i] and height[i] >= DIGIT_HEIGHT_SHARE * height[present].max()
            and area[i] >= 0.15 * area.max()]
    group = {i: i for i in tall}

    def root(i):
        while group[i] != i:
            i = group[i]
        return i

    # Two tall pieces are one digit when one stands mostly within the other's columns (a broken
    # stroke, a 4's stem drawn apart); neighbours written slanted share a few columns only.
    centre = (left + right) / 2
    for a in tall:
        for b in tall:
            if (a < b and overlap(a, b) >= 0.5 * min(width[a], width[b])
                    and abs(centre[a] - centre[b]) <= 0.5 * max(width[a], width[b])):
                group[root(b)] = root(a)
    for piece in (i for i in range(count) if present[i] and i not in group):
        group[piece] = max(tall, key=lambda t: overlap(piece, t))
    members: dict[int, list[int]] = {}
    for piece in group:
        members.setdefault(root(piece), []).append(piece)
    return [_among(labels, np.array(pieces) + 1) for pieces in sorted(members.values(), key=lambda p: left[p].min())]


def _join_stacked(labels: np.ndarray, count: int) -> tuple[np.ndarray, int]:
    """Pieces one above the other whose columns meet take one label: a stroke broken along its
    length (a thin pen line shrunk, a pencil skipping) leaves pieces each shorter than a digit,
    while digits side by side share their rows."""
    top, bottom, left, right = component_boxes(labels, count)
    height = bottom - top + 1
    root = np.arange(count + 1)
    for a in range(count):
        for b in range(a + 1, count):
            shared_rows = min(bottom[a], bottom[b]) - max(top[a], top[b]) + 1
            column_gap = max(left[a], left[b]) - min(right[a], right[b]) - 1  # negative: shared columns
            if column_gap <= 1 and shared_rows <= 0.25 * min(height[a], height[b]):
                root[root == root[b + 1]] = root[a + 1]
    return root[labels], count


def _pieces(keep: np.ndarray, core: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Components of `keep` (not bridged over one-pixel gaps as in the search for the digit), or
    of its core, grown back over the rest of `keep` one pixel ring at a time."""
    if core is None or not (core & keep).any():
        return label_components(keep)
    labels, count = label_components(core & keep)
    for _ in range(max(keep.shape)):
        grown = np.where(keep & (labels == 0), _square_filter(labels, 3, np.maximum), labels)
        if np.array_equal(grown, labels):
            break
        labels = grown
    rest, extra = label_components(keep & (labels == 0))  # faint pieces with no core of their own
    return np.where(rest > 0, rest + count, labels), count + extra


def cut_columns(mask: np.ndarray, most: int = 12) -> list[int]:
    """Where a group of ink may be cut into touching digits: its two ends and up to `most` columns
    inside it where the ink is thinnest (local minima of the column sums), left to right."""
    cols = np.flatnonzero(mask.any(0))
    first, width = int(cols[0]), int(cols[-1] - cols[0] + 1)
    column_ink = np.convolve(mask.sum(0)[first:first + width], [0.25, 0.5, 0.25], mode="same")
    inside = np.arange(1, width - 1)
    minima = inside[(column_ink[inside] <= column_ink[inside - 1]) & (column_ink[inside] <= column_ink[inside + 1])]
    # A flat valley (an empty gap) is one cut, at its middle.
    runs = np.split(minima, np.flatnonzero(np.diff(minima) > 1) + 1) if len(minima) else []
    centres = np.array([run[len(run) // 2] for run in runs], int)
    chosen = np.sort(centres[np.argsort(column_ink[centres], kind="stable")[:most]])
    return [first] + [first + int(c) for c in chosen] + [first + width]


def _read_touching(ink: np.ndarray, mask: np.ndarray, noise: float,
                   score: Callable[[np.ndarray], np.ndarray], sure: float = 0.0) -> list[FoundDigit]:
    """One group of ink read as one digit or as touching digits, whichever the model finds more
    likely: every way of cutting it at `cut_columns` into plausibly shaped digits is scored by the
    sum of its digits' log-probabilities, less CUT_PENALTY per cut (dynamic programming over the
    cuts). A wide 2 or 5 stays one digit; a 35 written joined becomes two. A part cut off must be
    read with at least the probability `sure`."""
    rows = np.flatnonzero(mask.any(1))
    height = rows[-1] - rows[0] + 1
    columns = cut_columns(mask)
    if columns[-1] - columns[0] <= CUT_ASPECT * height:
        return [_found(ink, mask, noise, False)]
    parts, images = {}, []
    for i in range(len(columns)):
        for j in range(i + 1, len(columns)):
            part = np.zeros_like(mask)
            part[:, columns[i]:columns[j]] = mask[:, columns[i]:columns[j]]
            kept, inked_rows = np.flatnonzero(part.any(0)), np.flatnonzero(part.any(1))
            # A digit is as tall as its row, nearly: a stub of a ruled line beside one is not a digit.
            if (len(kept) and 0.08 * height <= kept[-1] - kept[0] + 1 <= 1.6 * height
                    and inked_rows[-1] - inked_rows[0] + 1 >= DIGIT_HEIGHT_SHARE * height):
                parts[i, j] = (part, len(images), (kept[-1] - kept[0] + 1) / height)
                images.append(_centred(ink, part, noise))
    if not images:  # a flat stroke: no part of it is shaped like a digit
        return [_found(ink, mask, noise, False)]
    # The model is sure of many a fragment, so each part's shape counts too: a digit wider than
    # tall is rare, and rarer the wider (MNIST: 9% over 1.0, 0.5% over 1.5, an exponential tail).
    aspect = np.array([shape for _, _, shape in parts.values()])
    read = score(np.stack(images))
    log_p = read + _wide_digit_prior(aspect)
    last = len(columns) - 1
    # A part cut off must read as a digit the model is sure of: a stub of a line or a smudge
    # touching a digit is not cut off as an unsure digit of its own.
    cut_off_ok = read >= np.log(max(sure, 1e-12))
    best = {0: (0.0, [])}  # cut index -> (score, segments up to it)
    for j in range(1, len(columns)):
        options = [(best[i][0] + log_p[parts[i, j][1]] - (CUT_PENALTY if i else 0), best[i][1] + [(i, j)])
                   for i in range(j) if i in best and (i, j) in parts
                   and ((i, j) == (0, last) or cut_off_ok[parts[i, j][1]])]
        if options:
            best[j] = max(options, key=lambda option: option[0])
    if last not in best:  # no way to cut it into digit-shaped parts: one digit, however wide
        return [_found(ink, mask, noise, False)]
    segments = best[last][1]
    touching = len(segments) > 1
    return [_found(ink, parts[seg][0], noise, touching, images[parts[seg][1]]) for seg in segments]


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
