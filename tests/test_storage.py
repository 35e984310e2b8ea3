import os

import numpy as np
import pytest
from safetensors.numpy import save_file

from mnist_cnn import storage, weights
from mnist_cnn.storage import CheckpointError


def test_atomic_path_leaves_nothing_when_the_write_fails(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with storage.atomic_path(target) as tmp:
            tmp.write_text("half writ")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_atomic_path_replaces_on_success(tmp_path):
    storage.write_json(tmp_path / "m.json", {"a": 1})
    storage.write_json(tmp_path / "m.json", {"a": 2})
    assert (tmp_path / "m.json").read_text().strip().endswith("}")
    assert os.listdir(tmp_path) == ["m.json"]


def test_weights_round_trip_with_metadata(tmp_path):
    state = {"w": np.random.randn(3, 4).astype(np.float32), "b": np.arange(5)}
    weights.save_weights(tmp_path / "w.safetensors", state, {"architecture": "basic_cnn", "mean": 0.1307})
    loaded, metadata = weights.load_weights(tmp_path / "w.safetensors")
    assert metadata == {"architecture": "basic_cnn", "mean": 0.1307}
    assert all(np.array_equal(state[k], loaded[k]) for k in state)


def test_missing_weights_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such model file"):
        weights.load_weights(tmp_path / "nope.safetensors")


def test_random_bytes_are_not_weights(tmp_path):
    path = tmp_path / "random.safetensors"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(CheckpointError, match=r"random\.safetensors: not a readable safetensors"):
        weights.load_weights(path)


def test_truncated_weights_are_refused(tmp_path):
    path = tmp_path / "w.safetensors"
    weights.save_weights(path, {"w": np.zeros((100, 100), np.float32)}, {"architecture": "basic_cnn"})
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        weights.load_weights(path)


def test_foreign_safetensors_file_is_refused(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(2)}, str(path), metadata={"producer": "another project"})
    with pytest.raises(CheckpointError, match="not a model saved by this project"):
        weights.load_weights(path)
