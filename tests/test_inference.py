import numpy as np
import pytest
import torch

from conftest import REPO_DIR
from mnist_cnn.data import to_float
from mnist_cnn.inference import layer_spec, load_numpy_model
from mnist_cnn.models import BasicCNN, ImprovedCNN, load_trained_model
from mnist_cnn.storage import CheckpointError
from mnist_cnn.training import predict_logits
from mnist_cnn.weights import save_weights


@pytest.mark.parametrize("model_dir", ["output_basic", "output_improved"])
def test_numpy_forward_matches_torch(model_dir, mnist):
    path = REPO_DIR / model_dir / "model.safetensors"
    torch_model, _ = load_trained_model(path)
    images = to_float(mnist.test_images[:300])
    expected = predict_logits(torch_model, images, 300).numpy()
    actual = load_numpy_model(path).logits(images[:, 0].numpy())
    np.testing.assert_allclose(actual, expected, atol=2e-4, rtol=1e-4)


@pytest.mark.parametrize("build", [BasicCNN, ImprovedCNN])
def test_layer_spec_round_trips_an_untrained_model(build, tmp_path):
    torch.manual_seed(0)
    model = build().eval()
    for module in model.modules():  # non-trivial BN statistics
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2)
    save_weights(tmp_path / "m.safetensors", {k: v.numpy() for k, v in model.state_dict().items()},
                 {"architecture": "x", "layers": layer_spec(model), "mean": 0.1307, "std": 0.3081})
    images = torch.rand(4, 1, 28, 28)
    expected = predict_logits(model, images, 4).numpy()
    np.testing.assert_allclose(load_numpy_model(tmp_path / "m.safetensors").logits(images[:, 0].numpy()),
                               expected, atol=1e-4, rtol=1e-4)


def test_unsupported_layers_are_refused_when_saving():
    with pytest.raises(ValueError, match="no NumPy implementation"):
        layer_spec(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.GELU()))
    with pytest.raises(ValueError, match="stride-1"):
        layer_spec(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, stride=2)))


def test_weights_of_another_architecture_are_refused(tmp_path):
    basic = BasicCNN()
    improved = ImprovedCNN()
    save_weights(tmp_path / "mixed.safetensors", {k: v.numpy() for k, v in basic.state_dict().items()},
                 {"architecture": "improved_cnn", "layers": layer_spec(improved), "mean": 0.1, "std": 0.3})
    with pytest.raises(CheckpointError, match="mixed.safetensors: its tensors do not fit its layer list"):
        load_numpy_model(tmp_path / "mixed.safetensors")


def test_weights_without_a_layer_list_are_refused(tmp_path):
    save_weights(tmp_path / "old.safetensors", {"w": np.zeros(2, np.float32)}, {"architecture": "basic_cnn"})
    with pytest.raises(CheckpointError, match="the header lacks layers, mean, std"):
        load_numpy_model(tmp_path / "old.safetensors")
