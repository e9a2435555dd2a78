"""Tests for skdae.datasets (MNIST loader).

Most tests write small IDX files in a temporary folder and never touch the
network. The tests on the real MNIST look for it in ``SKDAE_DATA`` or in
``../shared/data/mnist`` next to the repository, and are skipped otherwise.
"""

import functools
import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from skdae.datasets import _mnist, fetch_mnist, get_data_home, load_mnist_paper_split
from skdae.datasets._mnist import _read_idx

NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
ALL_NAMES = sorted(NAMES.values())


# ---------------------------------------------------------------------------
# Helpers: an IDX writer independent of the module's own
# ---------------------------------------------------------------------------


def idx_bytes(arr, dtype_code=0x08):
    arr = np.asarray(arr)
    header = bytes([0, 0, dtype_code, arr.ndim]) + struct.pack(
        f">{arr.ndim}I", *arr.shape
    )
    return header + arr.tobytes()


def write_file(path, buf, compress):
    path = Path(str(path) + ".gz") if compress else Path(path)
    path.write_bytes(gzip.compress(buf) if compress else buf)
    return path


def fake_mnist(n_train=12, n_test=5, seed=0):
    rng = np.random.RandomState(seed)
    return {
        ("train", "images"): rng.randint(0, 256, (n_train, 28, 28)).astype(np.uint8),
        ("train", "labels"): rng.randint(0, 10, n_train).astype(np.uint8),
        ("test", "images"): rng.randint(0, 256, (n_test, 28, 28)).astype(np.uint8),
        ("test", "labels"): rng.randint(0, 10, n_test).astype(np.uint8),
    }


def md5_of(arrays):
    return {
        NAMES[key]: hashlib.md5(idx_bytes(arr)).hexdigest()
        for key, arr in arrays.items()
    }


def install_fake(folder, arrays, monkeypatch, compress=True, patch_md5=True):
    """Write ``arrays`` as the four MNIST files and accept their checksums."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for key, arr in arrays.items():
        write_file(folder / NAMES[key], idx_bytes(arr), compress)
    if patch_md5:
        for name, digest in md5_of(arrays).items():
            monkeypatch.setitem(_mnist._MD5, name, digest)
    return folder


def listing(folder):
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in Path(folder).rglob("*")
    )


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """Neutralise the environment: no SKDAE_DATA, sklearn's home in tmp."""
    monkeypatch.delenv("SKDAE_DATA", raising=False)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn_home"))


@pytest.fixture
def no_download(monkeypatch):
    """Fail the test if anything tries to reach the network."""

    def fetcher():
        raise AssertionError("the network fetcher must not be called")

    monkeypatch.setattr(_mnist, "_fetch_from_openml", fetcher)


# ---------------------------------------------------------------------------
# _read_idx
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_read_idx_round_trips_images_and_labels(tmp_path, compress):
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (3, 28, 28)).astype(np.uint8)
    labels = np.array([3, 0, 9], dtype=np.uint8)
    p_img = write_file(tmp_path / "img", idx_bytes(images), compress)
    p_lab = write_file(tmp_path / "lab", idx_bytes(labels), compress)

    got_images = _read_idx(p_img)
    got_labels = _read_idx(str(p_lab))

    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_images.dtype == np.uint8 and got_images.shape == (3, 28, 28)
    assert got_labels.shape == (3,)
    assert got_images.flags.writeable


def test_read_idx_handles_big_endian_multibyte_types(tmp_path):
    arr = np.arange(-3, 3, dtype=">i4").reshape(2, 3)
    path = write_file(tmp_path / "ints", idx_bytes(arr, dtype_code=0x0C), False)
    got = _read_idx(path)
    np.testing.assert_array_equal(got, arr)
    assert got.dtype == np.int32 and got.dtype.isnative


def test_read_idx_rejects_bad_magic(tmp_path):
    buf = bytearray(idx_bytes(np.zeros((2, 28, 28), np.uint8)))
    buf[0] = 0x12
    path = write_file(tmp_path / "badmagic", bytes(buf), False)
    with pytest.raises(ValueError, match="badmagic.*magic number 0x12000803"):
        _read_idx(path)


def test_read_idx_rejects_unknown_dtype_code(tmp_path):
    path = write_file(
        tmp_path / "badcode", idx_bytes(np.zeros(4, np.uint8), dtype_code=0x07), False
    )
    with pytest.raises(ValueError, match="badcode.*data type code 0x07"):
        _read_idx(path)


def test_read_idx_rejects_wrong_dtype_code_when_expected(tmp_path):
    arr = np.zeros(4, dtype=">i2")
    path = write_file(tmp_path / "shorts", idx_bytes(arr, dtype_code=0x0B), False)
    with pytest.raises(ValueError, match="shorts.*0x0b, expected 0x08"):
        _read_idx(path, dtype_code=0x08)


def test_read_idx_rejects_wrong_ndim(tmp_path):
    path = write_file(tmp_path / "flat", idx_bytes(np.zeros((2, 784), np.uint8)), True)
    with pytest.raises(ValueError, match=r"flat\.gz.*2 dimensions, expected 3"):
        _read_idx(path, ndim=3)


def test_read_idx_rejects_truncated_file(tmp_path):
    buf = idx_bytes(np.zeros((2, 28, 28), np.uint8))[:-1]
    path = write_file(tmp_path / "short", buf, True)
    with pytest.raises(ValueError, match=r"short\.gz.*truncated"):
        _read_idx(path)


def test_read_idx_rejects_truncated_header(tmp_path):
    buf = idx_bytes(np.zeros((2, 28, 28), np.uint8))[:10]
    path = write_file(tmp_path / "hdr", buf, False)
    with pytest.raises(ValueError, match="hdr.*truncated IDX header"):
        _read_idx(path)


@pytest.mark.parametrize("content", [b"", b"\x00\x00"], ids=["empty", "2bytes"])
def test_read_idx_rejects_too_short_file(tmp_path, content):
    path = write_file(tmp_path / "tiny", content, False)
    with pytest.raises(ValueError, match="tiny.*too short"):
        _read_idx(path)


def test_read_idx_rejects_trailing_bytes(tmp_path):
    buf = idx_bytes(np.zeros(5, np.uint8)) + b"\x00"
    path = write_file(tmp_path / "long", buf, False)
    with pytest.raises(ValueError, match="long.*1 unexpected trailing bytes"):
        _read_idx(path)


def test_read_idx_rejects_corrupt_gzip(tmp_path):
    good = gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8)))
    path = tmp_path / "broken.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"broken\.gz.*corrupt gzip"):
        _read_idx(path)


def test_read_idx_rejects_gzip_with_bad_crc(tmp_path):
    good = bytearray(gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8))))
    good[-8] ^= 0xFF  # CRC32 of the trailer
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(good))
    with pytest.raises(ValueError, match=r"crc\.gz.*corrupt gzip"):
        _read_idx(path)


def test_read_idx_rejects_gz_name_without_gzip_content(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(ValueError, match=r"plain\.gz.*not a gzip file"):
        _read_idx(path)


def test_read_idx_hints_at_gzip_content_without_gz_suffix(tmp_path):
    path = tmp_path / "packed"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(3, np.uint8))))
    with pytest.raises(ValueError, match="packed.*gzip-compressed"):
        _read_idx(path)


# ---------------------------------------------------------------------------
# Data home resolution
# ---------------------------------------------------------------------------


def test_get_data_home_explicit_argument_wins_over_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SKDAE_DATA", str(tmp_path / "env"))
    assert get_data_home(tmp_path / "arg") == str(tmp_path / "arg")


def test_get_data_home_uses_skdae_data_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SKDAE_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sk"))
    assert get_data_home() == str(tmp_path / "env")


def test_get_data_home_falls_back_to_scikit_learn_data(monkeypatch, tmp_path):
    monkeypatch.setenv("SKDAE_DATA", "")  # empty means unset
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sk"))
    assert get_data_home() == str(tmp_path / "sk")


def test_get_data_home_default_is_scikit_learn_data_in_home(monkeypatch):
    monkeypatch.delenv("SKDAE_DATA", raising=False)
    monkeypatch.delenv("SCIKIT_LEARN_DATA", raising=False)
    expected = os.path.join(os.path.expanduser("~"), "scikit_learn_data")
    assert get_data_home() == expected


def test_get_data_home_expands_user_and_does_not_create(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    home = get_data_home("~/not_created")
    assert home == str(tmp_path / "not_created")
    assert not os.path.exists(home)


def test_fetch_mnist_honours_skdae_data_env(monkeypatch, tmp_path, no_env, no_download):
    arrays = fake_mnist()
    install_fake(tmp_path / "shared", arrays, monkeypatch)
    monkeypatch.setenv("SKDAE_DATA", str(tmp_path / "shared"))
    X, y = fetch_mnist(subset="test", return_X_y=True)
    np.testing.assert_array_equal(y, arrays["test", "labels"])


def test_fetch_mnist_explicit_data_home_wins_over_env(
    monkeypatch, tmp_path, no_env, no_download
):
    env_arrays = fake_mnist(seed=1)
    arg_arrays = fake_mnist(seed=2)
    install_fake(tmp_path / "env", env_arrays, monkeypatch, patch_md5=False)
    install_fake(tmp_path / "arg", arg_arrays, monkeypatch)
    monkeypatch.setenv("SKDAE_DATA", str(tmp_path / "env"))
    _, y = fetch_mnist(data_home=tmp_path / "arg", return_X_y=True)
    np.testing.assert_array_equal(y, arg_arrays["train", "labels"])


def test_fetch_mnist_finds_files_in_mnist_subfolder(
    monkeypatch, tmp_path, no_env, no_download
):
    arrays = fake_mnist()
    install_fake(tmp_path / "data" / "mnist", arrays, monkeypatch)
    monkeypatch.setenv("SKDAE_DATA", str(tmp_path / "data"))
    _, y = fetch_mnist(return_X_y=True)
    np.testing.assert_array_equal(y, arrays["train", "labels"])


def test_fetch_mnist_falls_back_to_scikit_learn_data(
    monkeypatch, tmp_path, no_env, no_download
):
    arrays = fake_mnist()
    install_fake(tmp_path / "sklearn_home" / "mnist", arrays, monkeypatch)
    _, y = fetch_mnist(subset="test", return_X_y=True)
    np.testing.assert_array_equal(y, arrays["test", "labels"])


def test_fetch_mnist_prefers_folder_itself_over_mnist_subfolder(
    monkeypatch, tmp_path, no_env, no_download
):
    top = fake_mnist(seed=3)
    sub = fake_mnist(seed=4)
    install_fake(tmp_path / "d" / "mnist", sub, monkeypatch, patch_md5=False)
    install_fake(tmp_path / "d", top, monkeypatch)
    _, y = fetch_mnist(data_home=tmp_path / "d", return_X_y=True)
    np.testing.assert_array_equal(y, top["train", "labels"])


def test_fetch_mnist_reads_uncompressed_files(
    monkeypatch, tmp_path, no_env, no_download
):
    arrays = fake_mnist()
    install_fake(tmp_path, arrays, monkeypatch, compress=False)
    bunch = fetch_mnist(data_home=tmp_path)
    expected = arrays["train", "images"].reshape(-1, 784) / 255.0
    np.testing.assert_allclose(bunch.data, expected, rtol=1e-6)


def test_fetch_mnist_does_not_write_into_data_home(
    monkeypatch, tmp_path, no_env, no_download
):
    install_fake(tmp_path / "ro", fake_mnist(), monkeypatch)
    before = listing(tmp_path / "ro")
    fetch_mnist(data_home=tmp_path / "ro", subset="all")
    with pytest.raises(ValueError):  # fails after reading: tiny fake set
        load_mnist_paper_split(data_home=tmp_path / "ro")
    assert listing(tmp_path / "ro") == before


# ---------------------------------------------------------------------------
# Validation of the MNIST files
# ---------------------------------------------------------------------------


def test_fetch_mnist_rejects_checksum_mismatch(tmp_path, no_env, no_download):
    # Well-formed files with the right names but not the real content.
    for key, arr in fake_mnist().items():
        write_file(tmp_path / NAMES[key], idx_bytes(arr), True)
    with pytest.raises(ValueError) as excinfo:
        fetch_mnist(data_home=tmp_path)
    msg = str(excinfo.value)
    assert "train-images-idx3-ubyte.gz" in msg
    assert "MD5 checksum mismatch" in msg
    assert "delete" in msg and "replace" in msg


def test_fetch_mnist_rejects_label_image_count_mismatch(
    monkeypatch, tmp_path, no_env, no_download
):
    arrays = fake_mnist(n_train=12)
    arrays["train", "labels"] = arrays["train", "labels"][:11]
    install_fake(tmp_path, arrays, monkeypatch)
    with pytest.raises(ValueError, match="12 images.*11 labels"):
        fetch_mnist(data_home=tmp_path)


def test_fetch_mnist_rejects_labels_out_of_range(
    monkeypatch, tmp_path, no_env, no_download
):
    arrays = fake_mnist()
    arrays["test", "labels"][2] = 10
    install_fake(tmp_path, arrays, monkeypatch)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz.*label 10"):
        fetch_mnist(data_home=tmp_path, subset="test")


def test_fetch_mnist_rejects_images_that_are_not_28x28(
    monkeypatch, tmp_path, no_env, no_download
):
    arrays = fake_mnist()
    arrays["train", "images"] = np.zeros((12, 27, 29), np.uint8)
    install_fake(tmp_path, arrays, monkeypatch)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz.*\(27, 29\)"):
        fetch_mnist(data_home=tmp_path)


def test_fetch_mnist_rejects_images_file_with_wrong_ndim(
    monkeypatch, tmp_path, no_env, no_download
):
    arrays = fake_mnist()
    arrays["train", "images"] = arrays["train", "images"].reshape(12, 784)
    install_fake(tmp_path, arrays, monkeypatch)
    with pytest.raises(
        ValueError, match=r"train-images-idx3-ubyte\.gz.*0x00000802.*expected 3"
    ):
        fetch_mnist(data_home=tmp_path)


def test_fetch_mnist_rejects_truncated_mnist_file(
    monkeypatch, tmp_path, no_env, no_download
):
    install_fake(tmp_path, fake_mnist(), monkeypatch, compress=False)
    path = tmp_path / NAMES["test", "images"]
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.*truncated"):
        fetch_mnist(data_home=tmp_path, subset="test")


# ---------------------------------------------------------------------------
# Missing files and download
# ---------------------------------------------------------------------------


def test_fetch_mnist_missing_files_offline_lists_file_names(
    tmp_path, no_env, no_download
):
    with pytest.raises(OSError) as excinfo:
        fetch_mnist(data_home=tmp_path / "empty", download_if_missing=False)
    msg = str(excinfo.value)
    for name in ALL_NAMES:
        assert name in msg
    assert "SKDAE_DATA" in msg and "data_home" in msg
    assert str(tmp_path / "empty") in msg
    assert "download_if_missing=False" in msg
    assert not (tmp_path / "empty").exists()


def test_missing_files_error_reports_partial_sets(
    monkeypatch, tmp_path, no_env, no_download
):
    arrays = fake_mnist()
    del arrays["test", "labels"]
    install_fake(tmp_path, arrays, monkeypatch)
    with pytest.raises(OSError, match="Only some of them are in"):
        load_mnist_paper_split(data_home=tmp_path, download_if_missing=False)


def test_fetch_mnist_download_failure_raises_clear_oserror(
    monkeypatch, tmp_path, no_env
):
    def offline():
        raise OSError("network is unreachable")

    monkeypatch.setattr(_mnist, "_fetch_from_openml", offline)
    with pytest.raises(OSError) as excinfo:
        fetch_mnist(data_home=tmp_path)
    msg = str(excinfo.value)
    assert "network is unreachable" in msg
    for name in ALL_NAMES:
        assert name in msg
    assert not (tmp_path / "mnist").exists()


def test_fetch_mnist_downloads_once_then_reads_cache(monkeypatch, tmp_path, no_env):
    arrays = fake_mnist()
    for name, digest in md5_of(arrays).items():
        monkeypatch.setitem(_mnist._MD5, name, digest)
    calls = []

    def fake_fetcher():
        calls.append("fetch")
        return (
            arrays["train", "images"],
            arrays["train", "labels"],
            arrays["test", "images"],
            arrays["test", "labels"],
        )

    monkeypatch.setattr(_mnist, "_fetch_from_openml", fake_fetcher)

    first = fetch_mnist(data_home=tmp_path, subset="all")
    assert calls == ["fetch"]
    cached = sorted(p.name for p in (tmp_path / "mnist").iterdir())
    assert cached == sorted(name + ".gz" for name in ALL_NAMES)
    # The cache is in the standard IDX format, readable on its own.
    for key, arr in arrays.items():
        path = tmp_path / "mnist" / (NAMES[key] + ".gz")
        assert gzip.decompress(path.read_bytes()) == idx_bytes(arr)

    second = fetch_mnist(data_home=tmp_path, subset="all", download_if_missing=False)
    assert len(calls) == 1
    np.testing.assert_array_equal(first.data, second.data)
    np.testing.assert_array_equal(
        second.target,
        np.concatenate([arrays["train", "labels"], arrays["test", "labels"]]),
    )


def test_download_with_wrong_content_writes_nothing(monkeypatch, tmp_path, no_env):
    arrays = fake_mnist()  # checksums NOT patched: they cannot match

    def fake_fetcher():
        return tuple(arrays[k] for k in NAMES)

    monkeypatch.setattr(_mnist, "_fetch_from_openml", fake_fetcher)
    with pytest.raises(ValueError, match="does not match the canonical"):
        fetch_mnist(data_home=tmp_path)
    assert not (tmp_path / "mnist").exists()


def test_download_leaves_only_the_four_idx_files_in_data_home(monkeypatch, tmp_path, no_env):
    """scikit-learn's OpenML cache goes to a temporary folder that is removed."""
    import sklearn.datasets

    arrays = fake_mnist()
    for name, digest in md5_of(arrays).items():
        monkeypatch.setitem(_mnist._MD5, name, digest)
    X = np.concatenate([arrays["train", "images"], arrays["test", "images"]]).reshape(-1, 784)
    y = np.concatenate([arrays["train", "labels"], arrays["test", "labels"]]).astype(str)
    caches = []

    def fake_fetch_openml(name, *, data_home, **kwargs):
        # What the real one leaves behind: its cache of the download.
        cache = Path(data_home) / "openml" / "openml.org" / "data" / "v1" / "download"
        cache.mkdir(parents=True)
        (cache / "52667.gz").write_bytes(b"arff")
        caches.append(Path(data_home))
        return X.astype(np.float64), y

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", fake_fetch_openml)
    monkeypatch.setattr(_mnist, "_openml_to_mnist", functools.partial(
        _mnist._openml_to_mnist, n_train=12, n_test=5))
    data = fetch_mnist(data_home=tmp_path, subset="all")
    np.testing.assert_array_equal(data.data, X / np.float32(255))
    assert [str(p.relative_to(tmp_path)) for p in sorted(tmp_path.rglob("*"))] == [
        "mnist"] + [f"mnist/{name}.gz" for name in sorted(NAMES.values())]
    (cache,) = caches
    assert not cache.exists()


def test_openml_to_mnist_converts_and_splits_in_order():
    rng = np.random.RandomState(0)
    n_train, n_test = 4, 2
    X = rng.randint(0, 256, (n_train + n_test, 784)).astype(np.float64)
    y = np.array(["5", "0", "4", "1", "9", "2"], dtype=object)
    tr_x, tr_y, te_x, te_y = _mnist._openml_to_mnist(
        X, y, n_train=n_train, n_test=n_test
    )
    assert tr_x.dtype == np.uint8 and tr_x.shape == (4, 28, 28)
    np.testing.assert_array_equal(tr_x.reshape(4, 784), X[:4])
    np.testing.assert_array_equal(te_x.reshape(2, 784), X[4:])
    np.testing.assert_array_equal(tr_y, [5, 0, 4, 1])
    np.testing.assert_array_equal(te_y, [9, 2])


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.zeros((5, 784)), np.zeros(5), "shape"),
        (np.full((6, 784), 0.5), np.zeros(6), "integers"),
        (np.full((6, 784), 256.0), np.zeros(6), "integers"),
        (np.zeros((6, 784)), np.full(6, 10), "labels"),
    ],
    ids=["wrong-count", "fractional", "too-large", "bad-label"],
)
def test_openml_to_mnist_rejects_unexpected_data(X, y, match):
    with pytest.raises(ValueError, match=match):
        _mnist._openml_to_mnist(X, y, n_train=4, n_test=2)


# ---------------------------------------------------------------------------
# Parameters and return types
# ---------------------------------------------------------------------------


@pytest.fixture
def fake_home(monkeypatch, tmp_path, no_env, no_download):
    arrays = fake_mnist(n_train=12, n_test=5)
    install_fake(tmp_path, arrays, monkeypatch)
    return tmp_path, arrays


@pytest.mark.parametrize("subset, n", [("train", 12), ("test", 5), ("all", 17)])
def test_fetch_mnist_subset_shapes_and_dtypes(fake_home, subset, n):
    home, arrays = fake_home
    bunch = fetch_mnist(data_home=home, subset=subset)
    assert bunch.data.shape == (n, 784) and bunch.data.dtype == np.float32
    assert bunch.images.shape == (n, 28, 28) and bunch.images.dtype == np.float32
    assert bunch.target.shape == (n,) and bunch.target.dtype == np.int64
    assert bunch.data.min() >= 0.0 and bunch.data.max() <= 1.0
    assert len(bunch.feature_names) == 784
    assert bunch.feature_names[0] == "pixel_0"
    assert bunch.feature_names[-1] == "pixel_783"
    np.testing.assert_array_equal(bunch.target_names, np.arange(10))
    assert "MNIST" in bunch.DESCR
    assert bunch.frame is None
    np.testing.assert_array_equal(bunch.images.reshape(n, 784), bunch.data)


def test_fetch_mnist_pixels_are_bytes_divided_by_255(fake_home):
    home, arrays = fake_home
    bunch = fetch_mnist(data_home=home, subset="all")
    raw = np.concatenate([arrays["train", "images"], arrays["test", "images"]])
    np.testing.assert_array_equal(
        bunch.images, raw.astype(np.float32) / np.float32(255)
    )
    np.testing.assert_array_equal(
        bunch.target,
        np.concatenate([arrays["train", "labels"], arrays["test", "labels"]]),
    )


def test_fetch_mnist_return_X_y_returns_data_and_target(fake_home):
    home, arrays = fake_home
    X, y = fetch_mnist(data_home=home, subset="test", return_X_y=True)
    bunch = fetch_mnist(data_home=home, subset="test")
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)


def test_fetch_mnist_as_frame_returns_pandas_objects(fake_home):
    pd = pytest.importorskip("pandas")
    home, arrays = fake_home
    bunch = fetch_mnist(data_home=home, subset="test", as_frame=True)
    assert isinstance(bunch.data, pd.DataFrame) and bunch.data.shape == (5, 784)
    assert isinstance(bunch.target, pd.Series) and bunch.target.name == "target"
    assert isinstance(bunch.frame, pd.DataFrame) and bunch.frame.shape == (5, 785)
    assert list(bunch.frame.columns[:2]) == ["pixel_0", "pixel_1"]
    np.testing.assert_array_equal(bunch.target.to_numpy(), arrays["test", "labels"])
    X, y = fetch_mnist(data_home=home, subset="test", as_frame=True, return_X_y=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)


def test_fetch_mnist_as_frame_without_pandas_raises_clear_error(fake_home, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    home, _ = fake_home
    with pytest.raises(ImportError, match="as_frame=True requires pandas"):
        fetch_mnist(data_home=home, as_frame=True)


@pytest.mark.parametrize("subset", ["valid", "TRAIN", "", None, ["train"]])
def test_fetch_mnist_rejects_invalid_subset(subset, tmp_path, no_env, no_download):
    with pytest.raises(ValueError, match="subset must be one of"):
        fetch_mnist(data_home=tmp_path, subset=subset)


def test_fetch_mnist_rejects_non_bool_flags(tmp_path, no_env, no_download):
    with pytest.raises(TypeError, match="return_X_y"):
        fetch_mnist(data_home=tmp_path, return_X_y="yes")


def test_fetch_mnist_parameters_are_keyword_only(tmp_path):
    with pytest.raises(TypeError):
        fetch_mnist(tmp_path)
    with pytest.raises(TypeError):
        load_mnist_paper_split(tmp_path)


def test_load_mnist_paper_split_slices_train_into_train_and_valid(
    fake_home, monkeypatch
):
    home, arrays = fake_home
    monkeypatch.setattr(_mnist, "_N_TRAIN", 12)
    monkeypatch.setattr(_mnist, "_N_PAPER_TRAIN", 10)
    X_tr, y_tr, X_va, y_va, X_te, y_te = load_mnist_paper_split(data_home=home)
    assert X_tr.shape == (10, 784) and X_va.shape == (2, 784) and X_te.shape == (5, 784)
    assert X_tr.dtype == X_va.dtype == X_te.dtype == np.float32
    assert y_tr.dtype == y_va.dtype == y_te.dtype == np.int64
    np.testing.assert_array_equal(y_tr, arrays["train", "labels"][:10])
    np.testing.assert_array_equal(y_va, arrays["train", "labels"][10:])
    np.testing.assert_array_equal(y_te, arrays["test", "labels"])
    np.testing.assert_array_equal(
        X_va, arrays["train", "images"][10:].reshape(2, 784) / np.float32(255)
    )


def test_load_mnist_paper_split_requires_full_training_file(fake_home):
    home, _ = fake_home
    with pytest.raises(ValueError, match="expected 60000"):
        load_mnist_paper_split(data_home=home)


# ---------------------------------------------------------------------------
# The real MNIST (skipped when not available)
# ---------------------------------------------------------------------------


def _real_mnist_home():
    env = os.environ.get("SKDAE_DATA")
    if env:
        candidates = [env]
    else:
        repo_root = Path(__file__).resolve().parents[1]
        candidates = [str(repo_root.parent / "shared" / "data" / "mnist")]
    for home in candidates:
        paths, _ = _mnist._find_mnist_folder(get_data_home(home))
        if paths is not None:
            return home
    return None


@pytest.fixture(scope="module")
def real_home():
    home = _real_mnist_home()
    if home is None:
        pytest.skip(
            "real MNIST not found (set SKDAE_DATA or put the IDX files in "
            "../shared/data/mnist next to the repository)"
        )
    return home


@pytest.fixture(scope="module")
def real_all(real_home):
    return fetch_mnist(data_home=real_home, subset="all", download_if_missing=False)


def test_real_mnist_shapes_dtypes_and_range(real_all):
    assert real_all.data.shape == (70000, 784)
    assert real_all.images.shape == (70000, 28, 28)
    assert real_all.data.dtype == np.float32
    assert real_all.target.dtype == np.int64
    assert real_all.data.min() == 0.0 and real_all.data.max() == 1.0


def test_real_mnist_first_train_labels_and_class_counts(real_all):
    np.testing.assert_array_equal(real_all.target[:5], [5, 0, 4, 1, 9])
    train_counts = np.bincount(real_all.target[:60000], minlength=10)
    test_counts = np.bincount(real_all.target[60000:], minlength=10)
    assert train_counts.sum() == 60000 and test_counts.sum() == 10000
    assert train_counts[1] == 6742  # the most frequent training digit
    assert test_counts[0] == 980


def test_real_mnist_test_subset_matches_tail_of_all(real_home, real_all):
    X, y = fetch_mnist(
        data_home=real_home, subset="test", return_X_y=True, download_if_missing=False
    )
    assert X.shape == (10000, 784)
    np.testing.assert_array_equal(y, real_all.target[60000:])
    np.testing.assert_array_equal(X[:3], real_all.data[60000:60003])


def test_real_mnist_paper_split_sizes(real_home, real_all):
    X_tr, y_tr, X_va, y_va, X_te, y_te = load_mnist_paper_split(
        data_home=real_home, download_if_missing=False
    )
    assert X_tr.shape == (50000, 784) and y_tr.shape == (50000,)
    assert X_va.shape == (10000, 784) and y_va.shape == (10000,)
    assert X_te.shape == (10000, 784) and y_te.shape == (10000,)
    np.testing.assert_array_equal(y_va, real_all.target[50000:60000])
    np.testing.assert_array_equal(y_te, real_all.target[60000:])
