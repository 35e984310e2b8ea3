"""Write `model.onnx` for trained runs from their `model.safetensors` (training writes both; this is
for weights trained before ONNX export existed, or calibrated before the "no digit" option). The
calibration (temperature, "no digit" logit, "unsure" threshold: mnist_cnn/calibration.py) is the
one the weights carry; where they carry none, or with --recalibrate, it is fitted again on the run's
own validation split, rebuilt from the seed and size its metrics.json records (the test set is not
used), and written into the weights' header and metrics.json as well.

    python tools/export_onnx.py output_basic output_improved
    python tools/export_onnx.py --recalibrate output_improved
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, when run as tools/export_onnx.py

from mnist_cnn.data import load_mnist, to_float  # noqa: E402
from mnist_cnn.experiment import calibrate_model, recorded_split  # noqa: E402
from mnist_cnn.export import export_onnx  # noqa: E402
from mnist_cnn.models import load_trained_model  # noqa: E402
from mnist_cnn.paths import METRICS_FILE, ONNX_FILE, WEIGHTS_FILE  # noqa: E402
from mnist_cnn.storage import CheckpointError, write_json  # noqa: E402
from mnist_cnn.training import Split  # noqa: E402
from mnist_cnn.weights import load_weights, save_weights  # noqa: E402


def validation_calibration(model, run_dir: Path) -> dict[str, float]:
    data = load_mnist()
    config, val_index = recorded_split(run_dir, len(data.train_labels))
    val = Split(to_float(data.train_images[val_index]), data.train_labels[val_index])
    return calibrate_model(model, val, config["seed"], 1000)


def store_calibration(run_dir: Path, calibration: dict[str, float]) -> None:
    """The calibration written into the run's weights header and metrics.json (the fields they share)."""
    arrays, metadata = load_weights(run_dir / WEIGHTS_FILE)
    save_weights(run_dir / WEIGHTS_FILE, arrays, metadata | {"calibration": calibration})
    metrics = json.loads((run_dir / METRICS_FILE).read_text())
    kept = {key: value for key, value in metrics.get("calibration", {}).items() if key.startswith("test_")}
    write_json(run_dir / METRICS_FILE, metrics | {"calibration": calibration | kept})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", type=Path, help="output folders holding model.safetensors and metrics.json")
    parser.add_argument("--recalibrate", action="store_true",
                        help="fit the calibration again even where the weights carry one")
    args = parser.parse_args(argv)
    for run_dir in args.run_dirs:
        try:
            model, metadata = load_trained_model(run_dir / WEIGHTS_FILE)
        except CheckpointError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        calibration = None if args.recalibrate else metadata.get("calibration")
        if not calibration:
            calibration = validation_calibration(model, run_dir)
            store_calibration(run_dir, calibration)
        export_onnx(model, run_dir / ONNX_FILE, metadata["architecture"], calibration)
        print(f"wrote {run_dir / ONNX_FILE} ({', '.join(f'{k} {v:.4f}' for k, v in calibration.items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
