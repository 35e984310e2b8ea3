import gzip
import hashlib
import shutil
import struct

import numpy as np
import pytest
import torch

from mnist_cnn import data as mnist_data
from mnist_cnn.data import DataError, load_mnist, parse_idx, split_train_val
from mnist_cnn.paths import SHARED_MNIST_DIR


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_parse_idx_reads_shape_and_bytes():
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx_bytes(array)), array)


@pytest.mark.parametrize("raw, message", [
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "bad magic"),
    (b"\x00\x00\x0d\x01\x00\x00\x00\x01\x05", "not unsigned bytes"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "truncated or damaged"),
])
def test_parse_idx_rejects_damaged_files(raw, message):
    with pytest.raises(DataError, match=message):
        parse_idx(raw, "some.idx")


def test_real_data_shapes_types_and_normalisation(mnist):
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == torch.uint8
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.train_labels.shape == (60000,) and mnist.train_labels.dtype == torch.int64
    assert set(mnist.test_labels.tolist()) == set(range(10))
    pixels = mnist.train_images.double() / 255
    # The constants used everywhere are the training set's own statistics.
    assert pixels.mean().item() == pytest.approx(mnist_data.MEAN, abs=1e-4)
    assert pixels.std().item() == pytest.approx(mnist_data.STD, abs=1e-4)


def copy_data(folder, gzipped=True):
    """A copy of the four real files in `folder`."""
    folder.mkdir(exist_ok=True)
    source = mnist_data.default_data_dir()
    for stem, _, _ in mnist_data.FILES.values():
        path = mnist_data._find_file(source, stem)
        if gzipped:
            shutil.copy(path, folder / path.name)
        else:
            (folder / stem).write_bytes(mnist_data._read_bytes(path))
    return folder


def test_reads_uncompressed_files_too(mnist, tmp_path):
    data = load_mnist(copy_data(tmp_path, gzipped=False), download=False)
    assert torch.equal(data.test_labels, mnist.test_labels)


def test_checksum_mismatch_names_the_file(mnist, tmp_path):
    copy_data(tmp_path)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one label changed: still valid IDX, wrong content
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: MD5 .* expected 27ae3e4e"):
        load_mnist(tmp_path, download=False)


def test_truncated_gzip_is_a_clear_error(mnist, tmp_path):
    copy_data(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz: cannot be read"):
        load_mnist(tmp_path, download=False)


def test_missing_file_without_download(tmp_path):
    with pytest.raises(DataError, match="train-images-idx3-ubyte.*missing"):
        load_mnist(tmp_path, download=False)


def test_download_from_a_mirror_verifies_and_renames(mnist, tmp_path, monkeypatch):
    mirror = copy_data(tmp_path / "mirror")
    target = tmp_path / "downloaded"
    monkeypatch.setattr(mnist_data, "MIRRORS", ("file:///nonexistent/mirror/", mirror.as_uri() + "/"))
    data = load_mnist(target)
    assert torch.equal(data.test_labels, mnist.test_labels)
    assert sorted(p.name for p in target.iterdir()) == sorted(s + ".gz" for s, _, _ in mnist_data.FILES.values())


def test_failed_or_corrupt_download_leaves_nothing_behind(mnist, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for stem, _, _ in mnist_data.FILES.values():  # right names, wrong content
        (mirror / (stem + ".gz")).write_bytes(gzip.compress(idx_bytes(np.zeros(5))))
    target = tmp_path / "downloaded"
    monkeypatch.setattr(mnist_data, "MIRRORS", ("file:///nonexistent/mirror/", mirror.as_uri() + "/"))
    with pytest.raises(DataError, match="(?s)could not download train-images-idx3-ubyte.gz.*MD5"):
        load_mnist(target)
    assert list(target.iterdir()) == []


def test_split_is_deterministic_disjoint_and_seeded():
    train, val = split_train_val(60000, 5000, seed=1)
    again_train, again_val = split_train_val(60000, 5000, seed=1)
    other_train, _ = split_train_val(60000, 5000, seed=2)
    assert torch.equal(train, again_train) and torch.equal(val, again_val)
    assert len(train) == 55000 and len(val) == 5000
    assert len(set(train.tolist()) | set(val.tolist())) == 60000
    assert not torch.equal(train, other_train)
    with pytest.raises(ValueError):
        split_train_val(100, 100, seed=0)


def test_md5_constants_match_the_shared_readme():
    readme = SHARED_MNIST_DIR / "README.md"
    if not readme.is_file():
        pytest.skip("no shared copy of MNIST here")
    text = readme.read_text()
    for stem, md5, _ in mnist_data.FILES.values():
        assert md5 in text, stem
    assert hashlib.md5(b"").hexdigest() not in text
