"""The CUDA path. Skipped on machines without a GPU (CI's); run on one with
`pytest tests/test_cuda.py` (the README's "On a GPU" says what was measured there)."""

import dataclasses
import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import REPO_DIR
from mnist_cnn.augment import augment_batch
from mnist_cnn.data import to_float
from mnist_cnn.inference import load_model
from mnist_cnn.models import MODELS, load_trained_model
from mnist_cnn.training import predict_logits

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

CUDA = torch.device("cuda")
FLAGS = ["--limit", "4000", "--epochs", "3", "--val-size", "1000", "--batch-size", "128"]


def run_script(script, output_dir, *extra):
    return subprocess.run([sys.executable, script, *FLAGS, "--output-dir", str(output_dir), *extra],
                          cwd=REPO_DIR, capture_output=True, text=True, timeout=600)


def test_a_cuda_run_writes_weights_and_onnx_that_read_the_same_on_the_cpu(mnist, tmp_path):
    finished = run_script("improved_cnn.py", tmp_path, "--device", "cuda")
    assert finished.returncode == 0, finished.stderr
    assert "device cuda:0" in finished.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["device"].startswith("cuda:0") and metrics["machine"]["gpu"]
    assert metrics["test"]["accuracy"] > 0.9

    # The GPU scored the test set under bf16 autocast; the same weights on the CPU in fp32 agree.
    model, _ = load_trained_model(tmp_path / "model.safetensors")
    images = to_float(mnist.test_images)
    cpu_logits = predict_logits(model, images, 1000)
    cpu_accuracy = (cpu_logits.argmax(1) == mnist.test_labels).float().mean().item()
    assert abs(cpu_accuracy - metrics["test"]["accuracy"]) <= 0.002
    onnx = load_model(tmp_path / "model.onnx")
    onnx_logits = torch.from_numpy(onnx.logits(images[:, 0].numpy()))
    assert torch.equal(onnx_logits.argmax(1), cpu_logits.argmax(1))


def test_a_checkpoint_written_on_cuda_resumes_on_the_cpu(mnist, tmp_path):
    # All 55,000 images, so that the GPU is still in its second epoch when the signal comes.
    flags = ["--epochs", "3", "--val-size", "1000", "--output-dir", str(tmp_path)]
    process = subprocess.Popen([sys.executable, "basic_cnn.py", *flags, "--device", "cuda"], cwd=REPO_DIR,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoint = tmp_path / "checkpoint.pt"
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGINT, stderr

    resumed = subprocess.run([sys.executable, "basic_cnn.py", *flags, "--device", "cpu", "--resume"],
                             cwd=REPO_DIR, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["epochs_run"] == 3 and metrics["device"].startswith("cpu")
    assert metrics["test"]["accuracy"] > 0.97


def test_the_committed_model_under_cuda_autocast_agrees_with_the_cpu(mnist):
    model, _ = load_trained_model(REPO_DIR / "output_improved" / "model.safetensors")
    images = to_float(mnist.test_images)
    cpu = predict_logits(model, images, 1000).argmax(1)
    gpu = predict_logits(model.to(CUDA), images.to(CUDA), 1000).argmax(1).cpu()
    assert (gpu == cpu).float().mean() >= 0.999
    cpu_accuracy = (cpu == mnist.test_labels).float().mean()
    gpu_accuracy = (gpu == mnist.test_labels).float().mean()
    assert abs(gpu_accuracy - cpu_accuracy) <= 0.0005


def test_augmentation_on_cuda_is_per_image_and_fixed_by_the_seed(mnist):
    # The improved model's recipe with every augmentation on, so that each draws on the GPU.
    config = dataclasses.replace(MODELS["improved_cnn"].defaults, erase=0.5, thickness=0.5, one_flags=0.5,
                                 elastic=1.0, aspect=0.1, fill=0.5)
    images = to_float(mnist.train_images[:256]).to(CUDA)
    labels = mnist.train_labels[:256].to(CUDA)
    torch.manual_seed(3)
    first = augment_batch(images, labels, config)
    torch.manual_seed(3)
    second = augment_batch(images, labels, config)
    assert torch.equal(first, second)
    shifts = (first - images).abs().flatten(1).sum(1)
    assert shifts.unique().numel() > 200, "one transform drawn for the whole batch"
