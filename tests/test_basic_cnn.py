import json
import shutil

import pytest
import torch

import basic_cnn
import visualize
from conftest import REPO_DIR
from mnist_cnn.data import to_float
from mnist_cnn.inference import load_model
from mnist_cnn.models import BasicCNN, count_parameters, load_trained_model
from mnist_cnn.training import predict_logits
from mnist_cnn.weights import load_weights, save_weights
from tools import export_onnx as export_onnx_tool

EXPECTED_FILES = ["metrics.json", "model.safetensors", "model.onnx", "checkpoint.pt", "training_curves.png",
                  "test_results/confusion_matrix.png", "test_results/predictions.png",
                  "test_results/misclassified_examples.png"]


def test_output_shape_and_parameter_count():
    model = BasicCNN()
    assert model(torch.zeros(7, 1, 28, 28)).shape == (7, 10)
    assert 100_000 <= count_parameters(model) <= 130_000


@pytest.fixture(scope="module")
def tiny_run(mnist, tmp_path_factory):
    """One epoch on 1,000 images through the real command line."""
    output_dir = tmp_path_factory.mktemp("basic")
    status = basic_cnn.main(["--limit", "1000", "--epochs", "1", "--output-dir", str(output_dir)])
    assert status == 0
    return output_dir


def test_tiny_run_writes_every_output(tiny_run):
    for name in EXPECTED_FILES:
        path = tiny_run / name
        assert path.is_file() and path.stat().st_size > 0, name
    assert not [p for p in tiny_run.rglob("*") if ".tmp" in p.name], "temporary files left behind"
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert metrics["epochs_run"] == 1 and len(metrics["history"]) == 1
    assert metrics["test"]["count"] == 10000 and metrics["test"]["accuracy"] > 0.5
    assert set(metrics["per_class"]) == {str(d) for d in range(10)}
    assert {"precision", "recall", "f1-score"} <= set(metrics["per_class"]["3"])
    assert metrics["parameters"] == count_parameters(BasicCNN())
    assert metrics["timing"]["training_s"] > 0 and metrics["timing"]["train_images_per_s"] > 0
    assert metrics["images"] == {"train": 1000, "validation": 5000, "test": 10000}
    assert metrics["device"].split()[0] in ("cpu", "cuda:0", "mps") and metrics["world_size"] == 1
    machine = metrics["machine"]  # figures from different machines must be told apart
    assert machine["cpu"] and machine["physical_cores"] >= 1 and machine["torch_threads"] >= 1
    assert machine["cpu_capability"] == torch.backends.cpu.get_cpu_capability()  # AVX2 and AVX-512 runs differ
    # Fitted on the validation split and synthetic non-digits; the ONNX file carries the same.
    calibration = metrics["calibration"]
    assert {"temperature", "no_digit_logit", "min_confidence"} <= set(calibration)
    model = load_model(tiny_run / "model.onnx")
    assert (model.temperature, model.no_digit_logit, model.min_confidence) == pytest.approx(
        (calibration["temperature"], calibration["no_digit_logit"], calibration["min_confidence"]))


def test_weights_without_a_calibration_get_one_fitted_and_stored(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    arrays, metadata = load_weights(run / "model.safetensors")
    save_weights(run / "model.safetensors", arrays, {k: v for k, v in metadata.items() if k != "calibration"})
    (run / "model.onnx").unlink()
    assert export_onnx_tool.main([str(run)]) == 0
    fitted = load_weights(run / "model.safetensors")[1]["calibration"]
    # The training run's own fit, found again: exactly from the same CPU scores; a CUDA run fitted on
    # its bf16-autocast scores, which the tool's float32 CPU scores match to about a thousandth.
    on_cuda = json.loads((tiny_run / "metrics.json").read_text())["device"].startswith("cuda")
    assert fitted == pytest.approx(metadata["calibration"], rel=1e-2 if on_cuda else 1e-6)
    assert json.loads((run / "metrics.json").read_text())["calibration"]["no_digit_logit"] == fitted["no_digit_logit"]
    assert load_model(run / "model.onnx").no_digit_logit == pytest.approx(fitted["no_digit_logit"])


def test_visualize_redraws_a_runs_plots_from_its_folder(tiny_run):
    plots = ["training_curves.png", "test_results/confusion_matrix.png", "test_results/predictions.png",
             "test_results/misclassified_examples.png"]
    for name in plots:
        (tiny_run / name).unlink()
    assert visualize.main([str(tiny_run)]) == 0
    assert all((tiny_run / name).stat().st_size > 10_000 for name in plots)


def test_visualize_reports_a_folder_without_a_run(tmp_path, capsys):
    assert visualize.main([str(tmp_path)]) == 2
    assert f"{tmp_path}: cannot redraw its plots" in capsys.readouterr().err


def test_saved_weights_reload_to_identical_predictions(tiny_run, mnist):
    model, metadata = load_trained_model(tiny_run / "model.safetensors")
    assert metadata["architecture"] == "basic_cnn" and metadata["mean"] == pytest.approx(0.1307)
    images = to_float(mnist.test_images[:500])
    reloaded = predict_logits(model, images, 250)
    state = torch.load(tiny_run / "checkpoint.pt", weights_only=True)["model"]
    original = BasicCNN()
    original.load_state_dict(state)
    assert torch.equal(predict_logits(original, images, 250), reloaded)
    exported = load_model(tiny_run / "model.onnx")  # what predict_custom.py runs
    assert exported.architecture == "basic_cnn"
    assert (exported.logits(images[:, 0].numpy()).argmax(1) == reloaded.argmax(1).numpy()).all()


@pytest.mark.parametrize("model_dir", ["output_basic", "output_improved"])
def test_committed_weights_reach_the_committed_accuracy(model_dir, mnist):
    """The shipped weights, re-evaluated on the full test set, score what metrics.json says."""
    metrics = json.loads((REPO_DIR / model_dir / "metrics.json").read_text())
    model, _ = load_trained_model(REPO_DIR / model_dir / "model.safetensors")
    logits = predict_logits(model, to_float(mnist.test_images), 1000)
    correct = int((logits.argmax(1) == mnist.test_labels).sum())
    # Float summation order may differ across CPUs; allow a single borderline image to flip.
    assert abs(correct - metrics["test"]["correct"]) <= 1
    # A floor that catches broken weights, not the targets: the committed improved model (seed 0 of
    # the recipe chosen on validation) scores 99.59%, one image under #11's 99.6% (README, Results).
    assert correct / 10000 >= {"output_basic": 0.99, "output_improved": 0.995}[model_dir]
