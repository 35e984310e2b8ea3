"""Write `model.onnx` for trained runs from their `model.safetensors` (training writes both; this is
for weights trained before ONNX export existed, such as the committed ones). The temperature that
calibrates the model's confidence, and the "unsure" threshold, are fitted on the run's own
validation split, rebuilt from the seed and size its metrics.json records (the test set is not used).

    python tools/export_onnx.py output_basic output_improved
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, when run as tools/export_onnx.py

from mnist_cnn.calibration import calibrate  # noqa: E402
from mnist_cnn.data import load_mnist, split_train_val, to_float  # noqa: E402
from mnist_cnn.export import export_onnx  # noqa: E402
from mnist_cnn.models import load_trained_model  # noqa: E402
from mnist_cnn.paths import METRICS_FILE, ONNX_FILE, WEIGHTS_FILE  # noqa: E402
from mnist_cnn.storage import CheckpointError  # noqa: E402
from mnist_cnn.training import predict_logits  # noqa: E402


def validation_calibration(model, run_dir: Path) -> dict[str, float]:
    config = json.loads((run_dir / METRICS_FILE).read_text())["config"]
    if not config["val_size"]:
        return {}
    data = load_mnist()
    _, val_index = split_train_val(len(data.train_labels), config["val_size"], config["seed"])
    logits = predict_logits(model, to_float(data.train_images[val_index]), 1000).numpy()
    return calibrate(logits, data.train_labels[val_index].numpy())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", type=Path, help="output folders holding model.safetensors and metrics.json")
    args = parser.parse_args(argv)
    for run_dir in args.run_dirs:
        try:
            model, metadata = load_trained_model(run_dir / WEIGHTS_FILE)
        except CheckpointError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        calibration = metadata.get("calibration") or validation_calibration(model, run_dir)
        export_onnx(model, run_dir / ONNX_FILE, metadata["architecture"], calibration)
        print(f"wrote {run_dir / ONNX_FILE} ({', '.join(f'{k} {v:.4f}' for k, v in calibration.items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
