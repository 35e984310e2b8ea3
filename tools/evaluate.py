"""How well the committed models read digits that are not MNIST's own test images, through the
same preprocessing and inference as `predict_custom.py`, next to a naive baseline.

    python tools/evaluate.py                      # both models, every set -> results/evaluation.md
    python tools/evaluate.py --models improved --count 500

Sets: the MNIST test set drawn as dark ink on white paper, and cut at its ink (plain, and
photographed); renderings of MNIST test digits (tools/photo_like.py) as photos, as harder photos
(desk and sheet edges, rotation, ruled and squared paper, shadows, faint pencil, thin pen and thick
marker, 16-bit scans) and as canvas drawings (thin, one-pixel and thick strokes, digits far smaller
or larger than the canvas), and the hard photos' troubles on a whole page photographed, the digit
small on it; digits underlined by hand, and digits on a note lying on a desk; the test set's 1s
and 7s photographed with a flag or a bar across as much of Europe writes them; USPS and Semeion
from ../shared/digits (other writers, other scanners), each drawn as a picture with a paper margin
around the digit; sheets and pages with nothing written on them, and non-digits, where only a
refusal is right. The naive baseline resizes the whole picture to 28x28 and inverts it (white ink
on black, as MNIST): what a script without preprocessing does, given the polarity for free.
"""

from __future__ import annotations

import argparse
from functools import partial
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, when run as tools/evaluate.py

from mnist_cnn.data import load_mnist  # noqa: E402
from mnist_cnn.inference import DEFAULT_MODELS, OnnxModel, top_log_probability, load_model  # noqa: E402
from mnist_cnn.paths import RESULTS_DIR, SHARED_DIGITS_DIR  # noqa: E402
from mnist_cnn.preprocess import ImageError, read_picture_digits, to_gray  # noqa: E402
from mnist_cnn.storage import atomic_path  # noqa: E402
from tools.photo_like import (NON_DIGIT_KINDS, PAGE_SPREAD, SHEET_SPREAD, SPACINGS, compose_number,  # noqa: E402
                              continental_strokes, on_a_line, render_canvas, render_hard_photo, render_non_digit,
                              render_note, render_photo, render_tight_photo, render_underlined, tight_crop)

# The hard photos and pages: load_set's own branch.
RENDERERS = {"photo": render_photo, "canvas": render_canvas, "underlined": render_underlined, "note": render_note,
             "tight_photo": render_tight_photo}
SETS = ("mnist", "mnist28", "tight", "tight_photo", "photo", "hard", "page", "lines", "underlined", "note", "canvas",
        "styles", "usps", "semeion", "blank", "blank_page", "nondigit", "numbers")
SET_NAMES = {"mnist": "MNIST test, drawn on paper", "mnist28": "MNIST test as 28x28 files (white on black)",
             "tight": "MNIST test cropped to its ink, no margin (x8)",
             "tight_photo": "MNIST test cropped to its ink in a photo (grey paper, uneven light, blur, JPEG)",
             "photo": "photo-like MNIST digits",
             "hard": "hard photos (desk, ruling, shadow, pencil, pens, 16-bit)",
             "page": "hard photos of a whole page, the digit small on it",
             "lines": "photo-like digits touching one line (a form's, an underline, the line above)",
             "underlined": "photo-like digits underlined by hand (touching or apart)",
             "note": "a note on a desk, all of it in the frame",
             "canvas": "canvas drawings (thin, one-pixel, thick, tiny, huge)",
             "styles": "1s with a flag, crossed 7s (photo-like)",
             "usps": "USPS test set", "semeion": "Semeion",
             "blank": "hard photos of a blank sheet (right = refused)",
             "blank_page": "hard photos of a whole blank page (right = refused)",
             "nondigit": "letters, shapes, scribbles, blotches (right = refused or unsure)",
             "numbers": "numbers of 2 to 5 digits"}
NO_DIGIT = -1  # the label of a picture without a digit: the right answer is a refusal
NO_DIGIT_SETS = ("blank", "blank_page", "nondigit")


def digit_on_paper(digit: np.ndarray, scale: int = 4, margin: float = 0.4) -> Image.Image:
    """A white-on-black uint8 digit drawn as dark ink on white paper, `scale` times larger, with a
    paper margin of `margin` times its size on every side."""
    size = digit.shape[0] * scale
    ink = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), np.float32)
    pad = round(size * margin)
    page = np.pad(np.clip(ink, 0, 255), pad)
    return Image.fromarray((255 - page).astype(np.uint8))


def load_set(name: str, count: int | None, seed: int = 0,
             troubles: list[dict] | None = None) -> tuple[Iterator[Image.Image], np.ndarray]:
    """(pictures, labels) of one set, the first `count` of them (all when None). For the hard
    photos, `troubles` (when given) receives each picture's troubles as it is drawn."""
    if name == "nondigit":  # held out: no such picture is used in training or for any choice
        rng = np.random.default_rng(seed + 2)

        def drawn():  # the kind drawn here as render_non_digit would draw it, and recorded
            for _ in range(count or 500):
                kind = str(rng.choice(NON_DIGIT_KINDS))
                if troubles is not None:
                    troubles.append({"kind": kind})
                yield render_non_digit(rng, kind)
        return drawn(), np.full(count or 500, NO_DIGIT)
    if name in ("blank", "blank_page"):  # the hard photos' sheets, desks, rulings and shadows, nothing written
        rng = np.random.default_rng(seed + (1 if name == "blank" else 4))
        blank = np.zeros((28, 28), np.uint8)
        spread = PAGE_SPREAD if name == "blank_page" else SHEET_SPREAD
        return ((render_hard_photo(blank, rng, spread=spread) for _ in range(count or 500)),
                np.full(count or 500, NO_DIGIT))
    if name == "styles":  # the test set's 1s and 7s, in order, written with a flag or a bar
        data = load_mnist()
        chosen = np.flatnonzero(np.isin(data.test_labels.numpy(), (1, 7)))[:count]
        digits, labels = data.test_images.numpy()[chosen], data.test_labels.numpy()[chosen]
        rng = np.random.default_rng(seed)
        if troubles is not None:
            troubles += [{"kind": "1 with a flag" if label == 1 else "crossed 7"} for label in labels]
        written = (continental_strokes(digit, label, rng) for digit, label in zip(digits, labels))
        return (render_photo(digit, rng) for digit in written), labels
    if name == "lines":  # the test set's digits, each touching one line, photographed
        data = load_mnist()
        digits, labels = data.test_images[:count].numpy(), data.test_labels[:count].numpy()
        rng = np.random.default_rng(seed + 4)
        record = (lambda: troubles.append({}) or troubles[-1]) if troubles is not None else dict
        return (render_photo(on_a_line(digit, rng, record()), rng) for digit in digits), labels
    if name in ("mnist", "mnist28", "tight", "hard", "page") or name in RENDERERS:
        data = load_mnist()
        digits, labels = data.test_images[:count].numpy(), data.test_labels[:count].numpy()
        if name == "mnist28":  # what a user saves from the dataset itself, pixel for pixel
            return (Image.fromarray(digit) for digit in digits), labels
        if name == "tight":  # dark ink on white, the picture cut at the ink's edges
            return (tight_crop(digit) for digit in digits), labels
        if name in ("hard", "page"):  # the hard photos' troubles on a sheet, or on a page photographed whole
            rng = np.random.default_rng(seed + (3 if name == "page" else 0))
            spread = PAGE_SPREAD if name == "page" else SHEET_SPREAD
            record = (lambda: troubles.append({}) or troubles[-1]) if troubles is not None else dict
            return (render_hard_photo(digit, rng, record(), spread=spread) for digit in digits), labels
        if name in RENDERERS:
            rng = np.random.default_rng(seed)
            return (RENDERERS[name](digit, rng) for digit in digits), labels
        # MNIST digits already sit in a 4-pixel margin of their 28x28.
        return (digit_on_paper(digit, margin=0.15) for digit in digits), labels
    path = SHARED_DIGITS_DIR / f"{name}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (the USPS and Semeion files live in ../shared/digits)")
    with np.load(path) as archive:
        digits, labels = archive["images"][:count], archive["labels"][:count]
    return (digit_on_paper(digit) for digit in digits), labels


def naive_28x28(picture: Image.Image, light_ink: bool = False) -> np.ndarray:
    """The picture resized to 28x28 and, unless its ink is light already, inverted (the polarity
    given for free)."""
    gray = np.asarray(Image.fromarray(to_gray(picture), "F").resize((28, 28), Image.Resampling.BILINEAR))
    return gray if light_ink else 1 - gray


def score(model: OnnxModel, name: str, count: int | None) -> dict:
    """Accuracy of the pipeline and of the naive baseline on one set; refusals count as errors,
    except on pictures without a digit, where only a refusal is right. For the hard photos, also
    the accuracy per trouble ("by_trouble")."""
    troubles = []
    pictures, labels = load_set(name, count, troubles=troubles)
    prepared, naive, refused, several = [], [], [], []
    for picture in pictures:
        naive.append(naive_28x28(picture, light_ink=name == "mnist28"))
        gray = to_gray(picture)
        try:
            # As predict_custom.py reads it (digits of a number found); when it finds one digit,
            # that is exactly what --single would have read.
            found = read_picture_digits(gray, score=partial(top_log_probability, model), sure=model.min_confidence)
            several.append(len(found) > 1)
            prepared.append(found[0].image if len(found) == 1 else read_picture_digits(gray, single=True)[0].image)
            refused.append(False)
        except ImageError:
            prepared.append(np.zeros((28, 28), np.float32))
            refused.append(True)
            several.append(False)
    probabilities = model.probabilities(np.stack(prepared))
    predictions = probabilities.argmax(1)
    naive_predictions = model.probabilities(np.stack(naive)).argmax(1)
    refused = np.array(refused)
    unsure = ~refused & (probabilities.max(1) < model.min_confidence)
    correct = np.where(labels == NO_DIGIT, refused, (predictions == labels) & ~refused)
    answered = ~refused & ~unsure
    several = np.array(several)
    return {"count": len(labels), "pipeline": correct.mean(), "naive": (naive_predictions == labels).mean(),
            "several": int(np.sum(several)), "pipeline_numbers": float(np.mean(correct & ~several)),
            "refused": int(np.sum(refused)), "unsure": int(np.sum(unsure)),
            # With "unsure" answers: of the digits, the share answered and right among them; of the
            # pictures without a digit, the share refused or unsure (right).
            "answered_right": float(np.mean(predictions[answered] == labels[answered])) if answered.any() else 0.0,
            "rejected": float(np.mean(~answered)),
            "by_trouble": by_trouble(troubles, ~answered if name == "nondigit" else correct) if troubles else {}}


def score_numbers(model: OnnxModel, count: int | None, seed: int = 0) -> dict:
    """Numbers of 2 to 5 MNIST test digits (each digit used once, in order) written side by side
    with gaps from SPACINGS in turn and photographed like the photo-like digits, read as
    predict_custom.py reads them. Per spacing: the numbers read exactly, those read with the right
    count of digits, and the digits right among those."""
    data = load_mnist()
    digits, labels = data.test_images.numpy(), data.test_labels.numpy()
    rng = np.random.default_rng(seed)
    results: dict[str, list[tuple[bool, bool, int, int]]] = {name: [] for name in SPACINGS}
    start = 0
    for index in range(count or 600):
        length, spacing = int(rng.integers(2, 6)), list(SPACINGS)[index % len(SPACINGS)]
        if start + length > len(labels):
            break
        truth = "".join(str(d) for d in labels[start:start + length])
        picture = render_photo(compose_number(list(digits[start:start + length]), rng, spacing), rng)
        start += length
        try:
            found = read_picture_digits(to_gray(picture), score=partial(top_log_probability, model),
                                        sure=model.min_confidence)
            read = "".join(str(d) for d in model.probabilities(np.stack([f.image for f in found])).argmax(1))
        except ImageError:
            read = ""
        same_count = len(read) == len(truth)
        results[spacing].append((read == truth, same_count, sum(a == b for a, b in zip(read, truth)) if same_count
                                 else 0, len(truth) if same_count else 0))
    summary = {}
    for name, rows in list(results.items()) + [("all", [r for rows in results.values() for r in rows])]:
        exact, same, right, digits_counted = (np.array([r[k] for r in rows]) for k in range(4))
        summary[name] = {"numbers": len(rows), "exact": float(exact.mean()), "count_right": float(same.mean()),
                         "digits_right": float(right.sum() / max(1, digits_counted.sum()))}
    return summary


def numbers_table(model_name: str, summary: dict) -> str:
    lines = [f"Numbers ({model_name}): 2 to 5 MNIST test digits side by side, photographed like the photo-like "
             "set, read as `predict_custom.py` reads them:", "",
             "| digits written | numbers | read exactly | right count of digits | digits right (when the count is) |",
             "|---|---|---|---|---|"]
    gaps = {name: f"{name} ({low} to {high} px apart at MNIST's scale)" for name, (low, high) in SPACINGS.items()}
    lines += [f"| {gaps.get(name, 'all')} | {s['numbers']} | {100 * s['exact']:.1f}% | {100 * s['count_right']:.1f}% "
              f"| {100 * s['digits_right']:.1f}% |" for name, s in summary.items()]
    return "\n".join(lines) + "\n"


def by_trouble(troubles: list[dict], correct: np.ndarray) -> dict[str, tuple[int, float]]:
    """(images, accuracy) of the hard photos having each trouble, or of the non-digits, styles or
    lines of each kind."""
    def names(drawn: dict) -> list[str]:
        if "kind" in drawn:  # a non-digit, a 1 or a 7, a line
            return [drawn["kind"]]
        found = [f"{drawn['pen']} pen", f"{drawn['ruling']} paper", "faint pencil" if drawn["faint"] else "dark ink"]
        found += [name for name in ("desk", "shadow", "scan") if drawn[name]]
        return found + (["rotated over 2 degrees"] if abs(drawn["angle"]) > 2 else [])
    groups: dict[str, list[bool]] = {}
    for drawn, right in zip(troubles, correct):
        for name in names(drawn):
            groups.setdefault(name, []).append(bool(right))
    return {name: (len(group), float(np.mean(group))) for name, group in sorted(groups.items())}


def table(model_name: str, scores: dict[str, dict]) -> str:
    lines = [f"### {model_name}", "", "| set | images | MNIST-style pipeline (predict_custom.py --single) | refused as blank "
             "| naive: resize to 28x28 and invert | answered unsure | right among the answered "
             "| read as several digits (without --single) | right without --single |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {SET_NAMES[name]} | {s['count']:,} | {100 * s['pipeline']:.2f}% | {s['refused']} | "
              f"{100 * s['naive']:.2f}% | {s['unsure']} | "
              + ("-" if name in NO_DIGIT_SETS else f"{100 * s['answered_right']:.2f}%")
              + f" | {s['several']} | " + ("-" if name in NO_DIGIT_SETS else f"{100 * s['pipeline_numbers']:.2f}%")
              + " |" for name, s in scores.items()]
    lines += ["", "The pipeline column takes the top guess whatever its confidence, all the ink as one digit; the",
              "two after the naive baseline use the model's default `--min-confidence`; the last two read the",
              "picture as the CLI does by default, where ink side by side is a number (several digits is then",
              "wrong)."]
    if any(name in scores for name in NO_DIGIT_SETS):
        lines[-1] += " Sets without a digit: the share refused or answered unsure is"
        lines.append(", ".join(f"{100 * s['rejected']:.1f}% ({SET_NAMES[name].split(' (')[0]})"
                               for name, s in scores.items() if name in NO_DIGIT_SETS) + ".")
    kinds = scores.get("nondigit", {}).get("by_trouble")
    if kinds:
        lines += ["", f"Non-digits by kind ({model_name}; right = refused, or unsure at the default threshold):", "",
                  "| kind | images | refused or unsure |", "|---|---|---|"]
        lines += [f"| {name} | {images} | {100 * share:.1f}% |" for name, (images, share) in kinds.items()]
    for name, title in (("styles", "1s and 7s by how they are written"), ("lines", "Digits on a line by the line")):
        kinds = scores.get(name, {}).get("by_trouble")
        if kinds:
            lines += ["", f"{title} ({model_name}):", "", "| written | images | pipeline |", "|---|---|---|"]
            lines += [f"| {kind} | {images} | {100 * accuracy:.1f}% |" for kind, (images, accuracy) in kinds.items()]
    for name, title in (("hard", "Hard photos"), ("page", "Photos of a whole page")):
        troubles = scores.get(name, {}).get("by_trouble")
        if troubles:
            lines += ["", f"{title} by trouble ({model_name}; each photo has several):", "",
                      "| trouble | images | pipeline |", "|---|---|---|"]
            lines += [f"| {trouble} | {images} | {100 * accuracy:.1f}% |"
                      for trouble, (images, accuracy) in troubles.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=("basic", "improved"), default=["basic", "improved"])
    parser.add_argument("--weights", nargs="+", type=Path, help="weights files to evaluate instead of --models")
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--count", type=int, default=None, help="only the first N images of each set")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "evaluation.md")
    args = parser.parse_args(argv)
    committed = {"improved": DEFAULT_MODELS[0], "basic": DEFAULT_MODELS[1]}
    weights = {str(path): path for path in args.weights} if args.weights else \
        {name: committed[name] for name in args.models}
    sections = []
    for model_name, path in weights.items():
        model = load_model(path)
        scores = {}
        label = model_name if args.weights else f"{model_name}_cnn"
        numbers = None
        for name in args.sets:
            started = time.perf_counter()
            if name == "numbers":
                numbers = score_numbers(model, args.count)
                print(f"{model_name} / numbers: {100 * numbers['all']['exact']:.1f}% read exactly "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
                continue
            scores[name] = score(model, name, args.count)
            print(f"{model_name} / {name}: {100 * scores[name]['pipeline']:.2f}% "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        sections.append((table(label, scores) if scores else f"### {label}\n")
                        + ("\n" + numbers_table(label, numbers) if numbers else ""))
    text = "\n".join(sections)
    print(text)
    with atomic_path(args.out) as tmp:
        tmp.write_text("# Reading digits that are not MNIST's test images\n\nGenerated by `python tools/evaluate.py"
                       + (f" --count {args.count}" if args.count else "") + "` with the committed weights.\n\n"
                       + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
