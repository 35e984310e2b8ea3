import os
import sys
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

# Under pytest-xdist (`pytest -n N`) each worker, and each script a test starts, would run a torch
# thread per core: N times more threads than cores, which slowed the tests that train on the CPU past
# their timeouts (16 cores, -n 15). Each worker gets its share, set before torch is imported.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _workers)))

from mnist_cnn import data as mnist_data  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
    """The real data set, from ../shared/mnist (or ./data/mnist where it was downloaded)."""
    data_dir = mnist_data.default_data_dir()
    if not mnist_data.has_mnist(data_dir):
        pytest.skip(f"MNIST is not in {data_dir}; run `make run` once to download it")
    return mnist_data.load_mnist(data_dir)
