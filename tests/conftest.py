import sys
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from mnist_cnn import data as mnist_data  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
    """The real data set, from ../shared/mnist (or ./data/mnist where it was downloaded)."""
    data_dir = mnist_data.default_data_dir()
    if not mnist_data.has_mnist(data_dir):
        pytest.skip(f"MNIST is not in {data_dir}; run `make run` once to download it")
    return mnist_data.load_mnist(data_dir)
