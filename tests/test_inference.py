import dataclasses
import json

import numpy as np
import onnx
import pytest
import torch

import predict_custom
from conftest import REPO_DIR
from mnist_cnn.data import to_float
from mnist_cnn.export import export_onnx
from mnist_cnn.inference import TTA_ROTATIONS, TTA_SHIFTS, load_model, tta_views
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


def test_tta_views_are_the_image_then_shifted_and_turned_copies():
    images = np.zeros((2, 28, 28), np.float32)
    images[:, 10:18, 13:15] = 1.0  # an upright bar
    views = tta_views(images)
    assert views.shape == (1 + len(TTA_SHIFTS) + len(TTA_ROTATIONS), 2, 28, 28)
    np.testing.assert_array_equal(views[0], images)
    right, down = TTA_SHIFTS[0]
    np.testing.assert_array_equal(views[1][:, down:, right:], images[:, :28 - down, :28 - right])
    turned = views[1 + len(TTA_SHIFTS)]
    assert abs(turned.sum() - images.sum()) < 0.05 * images.sum()  # the ink is moved, not lost
    assert not np.array_equal(turned, images)


def test_tta_averages_the_views_and_still_reads_the_test_digits(mnist):
    model = load_model(REPO_DIR / "output_improved" / "model.onnx")
    images = mnist.test_images[:200].numpy().astype(np.float32) / 255
    plain = model.probabilities(images)
    averaged = dataclasses.replace(model, tta=True).probabilities(images)
    views = tta_views(images)
    expected = np.mean([model.probabilities(view) for view in views], axis=0)
    np.testing.assert_allclose(averaged, expected, atol=1e-5)
    # The ten digits and "no digit" share 1 in every view, so in their mean too.
    no_digit = np.mean([1 - model.probabilities(view).sum(1) for view in views], axis=0)
    np.testing.assert_allclose(averaged.sum(1) + no_digit, 1, atol=1e-5)
    assert (averaged.sum(1) <= 1 + 1e-6).all() and model.no_digit_logit > 0
    labels = mnist.test_labels[:200].numpy()
    assert (averaged.argmax(1) == labels).mean() >= 0.99 and not np.allclose(averaged, plain)


def test_predict_custom_tta_flag(tmp_path, capsys):
    from PIL import Image

    canvas = np.zeros((56, 56), np.uint8)
    canvas[12:44, 26:31] = 255  # a thick upright stroke: a 1
    Image.fromarray(255 - canvas).save(tmp_path / "one.png")
    assert predict_custom.main([str(tmp_path / "one.png"), "--tta", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)[0]
    assert answer["prediction"] == "1" and len(answer["digits"][0]["probabilities"]) == 10
