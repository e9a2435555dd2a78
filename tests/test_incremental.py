"""Out-of-core training with partial_fit_chunks (in-memory arrays and memmaps)."""

import mmap
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from skdae import DenoisingAutoencoder
from skdae._incremental import _release_pages, partial_fit_chunks


def _data(n_samples=1000, n_features=12, dtype=np.float32, seed=0):
    return np.random.RandomState(seed).rand(n_samples, n_features).astype(dtype)


def _dae(**params):
    return DenoisingAutoencoder(n_components=5, batch_size=32, random_state=0, **params)


def _params(est):
    return [est.components_, est.intercept_hidden_, est.intercept_visible_]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_as_a_loop_of_partial_fit(dtype):
    X = _data(dtype=dtype)
    est = partial_fit_chunks(_dae(), X, chunk_size=300, n_epochs=2, shuffle_chunks=False)
    ref = _dae()
    for _ in range(2):
        for start in range(0, 1000, 300):
            ref.partial_fit(X[start:start + 300])
    for a, b in zip(_params(est), _params(ref)):
        assert a.dtype == dtype
        assert_array_equal(a, b)
    # 4 blocks (300, 300, 300, 100) per pass, one partial_fit each.
    assert est.n_iter_ == 8
    assert est.t_ == 2000


class _RowRecorder:
    """An estimator whose partial_fit records the row ids (column 0) it is given."""

    def __init__(self):
        self.blocks = []

    def partial_fit(self, X, y=None):
        self.blocks.append(np.asarray(X[:, 0]).astype(int))
        return self


@pytest.mark.parametrize("n_samples, chunk_size, n_epochs", [(1000, 300, 2), (10, 10, 3),
                                                             (7, 2, 1)])
def test_n_epochs_counts_full_passes_and_the_estimator_counts_calls(
    n_samples, chunk_size, n_epochs
):
    # An epoch is a pass over all of X (the glossary's meaning): every row once.
    X = np.arange(n_samples, dtype=np.float64).reshape(-1, 1).repeat(3, axis=1)
    recorder = partial_fit_chunks(_RowRecorder(), X, chunk_size=chunk_size,
                                  n_epochs=n_epochs, random_state=0)
    n_blocks = -(-n_samples // chunk_size)
    assert len(recorder.blocks) == n_epochs * n_blocks
    for epoch in range(n_epochs):
        seen = np.concatenate(recorder.blocks[epoch * n_blocks:(epoch + 1) * n_blocks])
        assert_array_equal(np.sort(seen), np.arange(n_samples))
    # The autoencoder counts its partial_fit calls, one per block per pass.
    dae = partial_fit_chunks(_dae(), X.astype(np.float32) / n_samples, chunk_size=chunk_size,
                             n_epochs=n_epochs, random_state=0)
    assert dae.n_iter_ == len(dae.loss_curve_) == n_epochs * n_blocks
    assert dae.t_ == n_epochs * n_samples


def test_sparse_csr_chunks():
    X = _data()
    X[X < 0.7] = 0.0
    X_csr = sp.csr_matrix(X)
    est = partial_fit_chunks(_dae(), X_csr, chunk_size=300, shuffle_chunks=False)
    ref = _dae()
    for start in range(0, 1000, 300):
        ref.partial_fit(X_csr[start:start + 300])
    assert_array_equal(est.components_, ref.components_)
    assert est.t_ == 1000


def test_shuffled_chunk_order_is_seeded():
    X = _data()
    a = partial_fit_chunks(_dae(), X, chunk_size=200, random_state=1)
    b = partial_fit_chunks(_dae(), X, chunk_size=200, random_state=1)
    c = partial_fit_chunks(_dae(), X, chunk_size=200, shuffle_chunks=False)
    assert_array_equal(a.components_, b.components_)
    assert not np.array_equal(a.components_, c.components_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_continues_a_fitted_estimator():
    X = _data()
    est = _dae(max_iter=3).fit(X)
    n_iter, t = est.n_iter_, est.t_
    assert partial_fit_chunks(est, X, chunk_size=500) is est
    assert (est.n_iter_, est.t_) == (n_iter + 2, t + 1000)


@pytest.mark.parametrize("mode", ["r", "r+", "c"])
def test_memmap_matches_in_memory(tmp_path, mode):
    X = _data(n_samples=700)
    path = tmp_path / "X.f32"
    X.tofile(path)
    X_map = np.memmap(path, dtype=np.float32, mode=mode, shape=X.shape)
    est = partial_fit_chunks(_dae(), X_map, chunk_size=256, random_state=0)
    ref = partial_fit_chunks(_dae(), X, chunk_size=256, random_state=0)
    for a, b in zip(_params(est), _params(ref)):
        assert_array_equal(a, b)
    # The data are intact after their pages were released.
    assert_array_equal(np.asarray(X_map), X)
    del X_map


def _rss_file_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssFile:"):
                return int(line.split()[1])
    raise RuntimeError("no RssFile line")  # pragma: no cover


@pytest.mark.skipif(
    not (sys.platform.startswith("linux") and hasattr(mmap, "MADV_DONTNEED")),
    reason="needs Linux's /proc/self/status and madvise(MADV_DONTNEED)",
)
def test_release_pages_drops_the_chunk_from_the_resident_set(tmp_path):
    n_rows, n_features = 8192, 1024  # 32 MiB
    path = tmp_path / "X.f32"
    with open(path, "wb") as f:
        f.truncate(n_rows * n_features * 4)
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(n_rows, n_features))
    block = X[1000:7000]
    before = _rss_file_kib()
    float(block.sum())  # maps the block's pages: ~23 MiB
    touched = _rss_file_kib()
    _release_pages(block)
    released = _rss_file_kib()
    assert touched - before > 16 * 1024
    assert touched - released > 16 * 1024
    # Pages outside the block's whole pages are left alone, and the data can
    # still be read.
    assert float(X[6999:7001].sum()) == 0.0
    del block, X


def test_copy_on_write_memmap_keeps_its_private_pages(tmp_path):
    path = tmp_path / "X.f32"
    np.zeros((4096, 256), dtype=np.float32).tofile(path)
    X = np.memmap(path, dtype=np.float32, mode="c", shape=(4096, 256))
    X[:] = 1.0  # private, never written to the file
    _release_pages(X)
    assert float(X.min()) == 1.0
    del X


def test_parameter_validation():
    X = _data(n_samples=10)
    with pytest.raises(InvalidParameterError, match="chunk_size"):
        partial_fit_chunks(_dae(), X, chunk_size=0)
    with pytest.raises(InvalidParameterError, match="n_epochs"):
        partial_fit_chunks(_dae(), X, n_epochs=0)
    with pytest.raises(InvalidParameterError, match="estimator"):
        partial_fit_chunks(object(), X)
    with pytest.raises(ValueError, match="no rows"):
        partial_fit_chunks(_dae(), X[:0])

