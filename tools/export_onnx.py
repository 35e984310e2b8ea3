"""Write `model.onnx` for trained runs from their `model.safetensors` (training writes both; this is
for weights trained before ONNX export existed, such as the committed ones).

    python tools/export_onnx.py output_basic output_improved
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, when run as tools/export_onnx.py

from mnist_cnn.export import export_onnx  # noqa: E402
from mnist_cnn.models import load_trained_model  # noqa: E402
from mnist_cnn.paths import ONNX_FILE, WEIGHTS_FILE  # noqa: E402
from mnist_cnn.storage import CheckpointError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", type=Path, help="output folders holding a model.safetensors")
    args = parser.parse_args(argv)
    for run_dir in args.run_dirs:
        try:
            model, metadata = load_trained_model(run_dir / WEIGHTS_FILE)
        except CheckpointError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        export_onnx(model, run_dir / ONNX_FILE, metadata["architecture"])
        print(f"wrote {run_dir / ONNX_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
