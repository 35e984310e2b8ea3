import numpy as np
import onnx
import pytest
import torch

from conftest import REPO_DIR
from mnist_cnn.data import to_float
from mnist_cnn.export import export_onnx
from mnist_cnn.inference import load_model
from mnist_cnn.models import BasicCNN, ImprovedCNN, load_trained_model
from mnist_cnn.storage import CheckpointError
from mnist_cnn.training import predict_logits


@pytest.mark.parametrize("model_dir", ["output_basic", "output_improved"])
def test_onnxruntime_gives_torch_predictions_on_the_whole_test_set(model_dir, mnist):
    torch_model, _ = load_trained_model(REPO_DIR / model_dir / "model.safetensors")
    images = to_float(mnist.test_images)
    expected = predict_logits(torch_model, images, 1000).numpy()
    actual = load_model(REPO_DIR / model_dir / "model.onnx").logits(images[:, 0].numpy())
    print(f"{model_dir}: max |logit difference| onnxruntime vs torch over 10,000 images: "
          f"{np.abs(actual - expected).max():.2e}")
    assert (actual.argmax(1) == expected.argmax(1)).all()
    np.testing.assert_allclose(actual, expected, atol=1e-3)


@pytest.mark.parametrize("build", [BasicCNN, ImprovedCNN])
def test_export_round_trips_an_untrained_model(build, tmp_path):
    torch.manual_seed(0)
    model = build().eval()
    for module in model.modules():  # non-trivial BN statistics
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2)
    export_onnx(model, tmp_path / "m.onnx", "test")
    images = torch.rand(5, 1, 28, 28)  # also a batch size other than the one exported with
    expected = predict_logits(model, images, 5).numpy()  # normalises as the exported graph does
    exported = load_model(tmp_path / "m.onnx")
    assert exported.architecture == "test"
    np.testing.assert_allclose(exported.logits(images[:, 0].numpy()), expected, atol=1e-4, rtol=1e-4)


def test_an_onnx_model_not_made_here_is_refused(tmp_path):
    graph = onnx.load(REPO_DIR / "output_basic" / "model.onnx")
    del graph.metadata_props[:]
    onnx.save(graph, tmp_path / "foreign.onnx")
    with pytest.raises(CheckpointError, match="foreign.onnx: an ONNX model, but not one exported by this project"):
        load_model(tmp_path / "foreign.onnx")


def test_a_model_that_is_not_a_digit_classifier_is_refused(tmp_path):
    export_onnx(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 5)), tmp_path / "five.onnx", "x")
    with pytest.raises(CheckpointError, match="five.onnx: takes .* not 28x28 images to 10 digit scores"):
        load_model(tmp_path / "five.onnx")


def test_weights_of_another_architecture_are_refused(tmp_path):
    from mnist_cnn.weights import save_weights
    save_weights(tmp_path / "mixed.safetensors", {k: v.numpy() for k, v in BasicCNN().state_dict().items()},
                 {"architecture": "improved_cnn", "mean": 0.1, "std": 0.3})
    with pytest.raises(CheckpointError, match="mixed.safetensors: its tensors do not fit the improved_cnn"):
        load_trained_model(tmp_path / "mixed.safetensors")


def test_a_calibration_that_is_not_a_number_is_refused(tmp_path):
    graph = onnx.load(REPO_DIR / "output_basic" / "model.onnx")
    for entry in graph.metadata_props:
        if entry.key == "temperature":
            entry.value = "-3"
    onnx.save(graph, tmp_path / "cold.onnx")
    with pytest.raises(CheckpointError, match="cold.onnx: its temperature '-3' is not a number"):
        load_model(tmp_path / "cold.onnx")
