"""Read your own handwritten digits and numbers: photos, scans or drawings.

    python predict_custom.py my_digit.jpg photos/ [--model PATH] [--top-k 3] [--json] [--save-plot out.png]
    python predict_custom.py --serve              # a page to draw on, and a JSON API: http://127.0.0.1:8000/

Each image's ink is found and split into digits, left to right (a number such as 2025; `--single`
takes all of it as one digit), and each digit is turned into what MNIST would have made of it
(mnist_cnn/preprocess.py): white ink on black, scaled to fit a 20x20 box and centred by its centre
of mass in 28x28. The trained model runs in onnxruntime from its `model.onnx`
(mnist_cnn/inference.py), so no torch import is needed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from mnist_cnn.inference import DigitAnswer, Prediction, classify, default_model_path, load_model
from mnist_cnn.preprocess import collect_images
from mnist_cnn.storage import CheckpointError


def format_line(result: Prediction, top_k: int) -> str:
    if result.error:
        return f"{result.file}: error: {result.error}"

    def top(digit: DigitAnswer) -> str:  # the likeliest answers, "no digit" among them
        answers = [(p, str(d)) for d, p in enumerate(digit.probabilities)] + [(digit.no_digit, "no digit")]
        return ", ".join(f"{name}: {p:.1%}" for p, name in sorted(answers, reverse=True)[:top_k])

    if len(result.digits) == 1:
        digit = result.digits[0]
        answer = f"unsure ({digit.confidence:.1%} at most)" if digit.unsure else \
            f"{digit.prediction} ({digit.confidence:.1%})"
        return f"{result.file}: {answer}  top-{top_k}: {top(digit)}"
    parts = [f"{d.prediction} ({d.confidence:.1%}{', cut from touching digits' if d.touching else ''})"
             if not d.unsure else f"? (unsure, {d.confidence:.1%} at most; top-{top_k}: {top(d)})"
             for d in result.digits]
    return f"{result.file}: {'unsure: ' if result.unsure else ''}{result.reading}  digits: " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="*", help="image files or directories of images")
    parser.add_argument("--model", type=Path, default=None,
                        help="model file (default: output_improved/model.onnx if present, "
                             "else output_basic/model.onnx)")
    parser.add_argument("--top-k", type=int, default=3, choices=range(1, 11), metavar="K",
                        help="how many most likely digits to list (1-10)")
    parser.add_argument("--min-confidence", type=float, default=None, metavar="P",
                        help="answer 'unsure' (with the top guesses) below this calibrated probability "
                             "(default: the model's own, which withholds 1%% of its validation digits; "
                             "0 always answers a digit)")
    parser.add_argument("--single", action="store_true",
                        help="one digit per image: take all the ink found as one digit, never a number")
    parser.add_argument("--tta", action="store_true",
                        help="test-time augmentation: average the model's answers over the digit shifted by a "
                             "pixel four ways and turned 8 degrees both ways (7 times the work)")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON list instead of lines: per image the digits read, and per digit "
                             "its box in the image (left, top, right, bottom), probabilities and confidence")
    parser.add_argument("--save-plot", type=Path, help="write a PNG showing each image as the model saw it")
    parser.add_argument("--serve", action="store_true",
                        help="instead of reading files, serve a page to draw digits on and a JSON API "
                             "(POST /predict, GET /health, docs at /docs)")
    parser.add_argument("--host", default="127.0.0.1", help="--serve: the address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="--serve: the port to listen on")
    args = parser.parse_args(argv)
    if not args.images and not args.serve:
        parser.error("give image files or directories, or --serve")

    model_path = args.model or default_model_path()
    try:
        model = dataclasses.replace(load_model(model_path), tta=args.tta)
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.serve:
        from mnist_cnn.server import serve  # FastAPI and uvicorn: imported only to serve

        serve(model, args.host, args.port)
        return 0
    paths = collect_images(args.images)
    if not paths:
        print("error: no image files found in " + ", ".join(args.images), file=sys.stderr)
        return 2
    results, seen = classify(model, paths, args.min_confidence, args.single)
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in results], indent=2))
    else:
        for result in results:
            print(format_line(result, args.top_k), file=sys.stderr if result.error else sys.stdout)
    if args.save_plot:
        import visualize  # matplotlib: imported only when a plot is asked for

        visualize.plot_user_images(results, seen, args.save_plot)
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
