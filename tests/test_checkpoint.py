import os

import pytest
import torch

from mnist_cnn import checkpoint
from mnist_cnn.storage import CheckpointError


def test_training_state_round_trip(tmp_path):
    state = {"epoch": 3, "model": {"w": torch.ones(2)}, "history": [{"loss": 0.5}], "best": None}
    checkpoint.save_training_state(tmp_path / "checkpoint.pt", state)
    loaded = checkpoint.load_training_state(tmp_path / "checkpoint.pt")
    assert loaded["epoch"] == 3 and torch.equal(loaded["model"]["w"], torch.ones(2))


class RunsCode:
    """A pickle payload that would run a shell command when unpickled."""

    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "checkpoint.pt"
    torch.save({"format": checkpoint.CHECKPOINT_FORMAT, "model": RunsCode()}, path)
    with pytest.raises(CheckpointError, match="refused to load.*could run code"):
        checkpoint.load_training_state(path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("content", [os.urandom(2048), b""], ids=["random bytes", "empty"])
def test_damaged_checkpoint_is_refused(tmp_path, content):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="checkpoint.pt: not a readable checkpoint"):
        checkpoint.load_training_state(path)


def test_a_torch_file_from_elsewhere_is_refused(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"state_dict": {"w": torch.ones(1)}}, path)
    with pytest.raises(CheckpointError, match="not a training checkpoint of this project"):
        checkpoint.load_training_state(path)
