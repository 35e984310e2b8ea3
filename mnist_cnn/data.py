"""MNIST as in-memory tensors: IDX parsing, checksums, download, train/validation split.

The whole data set is 55 MB of uint8, so it lives in memory (and on the GPU when there is one);
batches are slices of it, never per-sample Python.
"""

from __future__ import annotations

import gzip
import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .paths import LOCAL_MNIST_DIR, SHARED_MNIST_DIR
from .storage import atomic_path

# The mirrors torchvision uses, in its order.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# MD5 of the decompressed bytes, as published with the original files.
FILES = {
    "train_images": ("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb", (60000, 28, 28)),
    "train_labels": ("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624", (60000,)),
    "test_images": ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea", (10000, 28, 28)),
    "test_labels": ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637", (10000,)),
}

# Mean and std of the 60,000 training images' pixels in [0, 1].
MEAN, STD = 0.1307, 0.3081

_IDX_UBYTE = 0x08


class DataError(RuntimeError):
    """A data file that is missing, damaged or cannot be fetched; the message says which and what to do."""


@dataclass(frozen=True)
class MNIST:
    """uint8 images (N, 28, 28) and int64 labels (N,) for the official train and test sets."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode an IDX file of unsigned bytes: magic (0, 0, type, ndim), ndim big-endian sizes, data."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{name}: not an IDX file (bad magic number)")
    if raw[2] != _IDX_UBYTE:
        raise DataError(f"{name}: IDX element type 0x{raw[2]:02x} is not unsigned bytes (0x08)")
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{name}: truncated IDX header")
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape))
    actual = len(raw) - header_size
    if actual != expected:
        raise DataError(f"{name}: holds {actual} data bytes but its header {shape} needs {expected} "
                        "(truncated or damaged file)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def default_data_dir() -> Path:
    """The shared copy next to the repo when it is complete, else ./data/mnist (downloaded on demand)."""
    if has_mnist(SHARED_MNIST_DIR):
        return SHARED_MNIST_DIR
    return LOCAL_MNIST_DIR


def has_mnist(data_dir: Path) -> bool:
    """True when `data_dir` holds all four files (gzip'd or not)."""
    return all(_find_file(data_dir, stem) for stem, _, _ in FILES.values())


def load_mnist(data_dir: str | Path | None = None, download: bool = True) -> MNIST:
    """Read, verify and return the four MNIST files from `data_dir`, downloading missing ones."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    arrays = {}
    for key, (stem, md5, shape) in FILES.items():
        path = _find_file(data_dir, stem)
        if path is None:
            if not download:
                raise DataError(f"{data_dir}: {stem}[.gz] is missing; pass --data-dir with the four MNIST "
                                "files, or allow the download")
            path = _download(stem, md5, data_dir)
        raw = _read_bytes(path)
        _check_md5(raw, md5, path)
        array = parse_idx(raw, str(path))
        if array.shape != shape:
            raise DataError(f"{path}: shape {array.shape}, expected {shape}")
        arrays[key] = torch.from_numpy(array.copy())
    for key in ("train_labels", "test_labels"):
        arrays[key] = arrays[key].long()
    return MNIST(**arrays)


def split_train_val(num_images: int, val_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic (train_indices, val_indices) drawn from `seed` alone."""
    if not 0 <= val_size < num_images:
        raise ValueError(f"validation size {val_size} must be in [0, {num_images})")
    permutation = torch.randperm(num_images, generator=torch.Generator().manual_seed(seed))
    return permutation[val_size:].sort().values, permutation[:val_size].sort().values


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) in [0, 1]; normalisation is a separate step
    so that augmentation pads with true black."""
    return images.unsqueeze(1).float().div_(255)


def normalize(images: torch.Tensor, mean: float = MEAN, std: float = STD) -> torch.Tensor:
    return (images - mean) / std


def _find_file(data_dir: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (data_dir / name).is_file():
            return data_dir / name
    return None


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot be read ({error}); delete it to download a fresh copy, "
                        "or point --data-dir at a good one") from None


def _check_md5(raw: bytes, expected: str, path: Path) -> None:
    actual = hashlib.md5(raw).hexdigest()
    if actual != expected:
        raise DataError(f"{path}: MD5 of the decompressed bytes is {actual}, expected {expected}; "
                        "the file is damaged or not MNIST: delete it to download a fresh copy")


def _download(stem: str, md5: str, data_dir: Path) -> Path:
    """Fetch `stem`.gz from the first mirror that answers; only a verified file gets the real name."""
    target = data_dir / (stem + ".gz")
    failures = []
    for mirror in MIRRORS:
        url = mirror + stem + ".gz"
        try:
            with atomic_path(target) as tmp:
                _fetch(url, tmp)
                _check_md5(_read_bytes(tmp), md5, target)
            return target
        except (urllib.error.URLError, OSError, DataError) as error:
            failures.append(f"{url}: {error}")
    raise DataError(f"could not download {stem}.gz into {data_dir}:\n  " + "\n  ".join(failures)
                    + "\nCheck the network, or copy the four MNIST files there and pass --data-dir.")


def _fetch(url: str, destination: Path) -> None:
    with urllib.request.urlopen(url, timeout=30) as response, open(destination, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {url.rsplit('/', 1)[-1]}") as bar:
            while chunk := response.read(1 << 16):
                out.write(chunk)
                bar.update(len(chunk))
