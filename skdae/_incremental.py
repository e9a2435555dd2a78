"""Out-of-core training: ``partial_fit`` over row chunks of a large array."""

import mmap
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._param_validation import HasMethods, Interval, validate_params
from sklearn.utils.validation import _num_samples


def _memmap_region(X):
    """The ``mmap.mmap`` behind a row slice of a ``numpy.memmap``, with the byte
    range the slice covers; None when ``X`` is not a shared, C-contiguous view of
    a memory map (copy-on-write maps keep their private pages)."""
    if not isinstance(X, np.memmap) or getattr(X, "mode", None) == "c":
        return None
    region = getattr(X, "_mmap", None)
    if region is None or not X.flags.c_contiguous or X.nbytes == 0:
        return None
    start = X.__array_interface__["data"][0] - _mapping_address(region)
    if start < 0 or start + X.nbytes > len(region):
        return None
    return region, start, X.nbytes


def _mapping_address(region):
    """Start address of the pages of an ``mmap.mmap``."""
    return np.frombuffer(region, dtype=np.uint8, count=0).__array_interface__["data"][0]


def _release_pages(X):
    """Drop the pages of a memory-mapped chunk from this process's resident set.

    Reading a ``numpy.memmap`` maps its file pages into the process, and they
    count in its resident set size until unmapped. ``MADV_DONTNEED`` on a
    shared, file-backed mapping unmaps them (the data stays in the kernel's
    page cache and in the file; the next read maps it again), so the resident
    set stays at about one chunk. A no-op where ``madvise`` is unavailable.
    """
    advice = getattr(mmap, "MADV_DONTNEED", None)
    found = _memmap_region(X)
    if advice is None or found is None:
        return
    region, start, length = found
    page = mmap.PAGESIZE
    # Whole pages inside the chunk only: its edges may share a page with the
    # neighbouring chunks.
    first = -(-start // page) * page
    end = (start + length) // page * page
    if end > first:
        try:
            region.madvise(advice, first, end - first)
        except (OSError, ValueError):  # pragma: no cover - platform dependent
            pass


@validate_params(
    {
        "estimator": [HasMethods(["partial_fit"])],
        "X": ["array-like", "sparse matrix"],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
        "n_epochs": [Interval(Integral, 1, None, closed="left")],
        "shuffle_chunks": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=False,
)
def partial_fit_chunks(
    estimator, X, *, chunk_size=50_000, n_epochs=1, shuffle_chunks=True, random_state=None
):
    """Train an estimator on ``X`` one block of rows at a time.

    Calls ``estimator.partial_fit`` on consecutive blocks of ``chunk_size``
    rows, ``n_epochs`` times over ``X``, so that only one block needs to be in
    memory at a time. ``X`` may be anything that slices by rows into arrays:
    a ``numpy.memmap`` (e.g. ``np.load(path, mmap_mode="r")``), an HDF5 or
    Zarr dataset, a sparse CSR matrix, or an in-memory array.

    An epoch here is one in scikit-learn's sense: a full pass over ``X``, in
    which every row is seen once. The estimator counts its ``partial_fit``
    calls instead: a :class:`~skdae.DenoisingAutoencoder` makes one pass over
    the block it is given (shuffled, with fresh corruption noise) and counts
    it in ``n_iter_`` and ``loss_curve_``. With ``n_blocks =
    ceil(n_samples / chunk_size)``, ``n_epochs`` passes over ``X`` are
    therefore ``n_epochs * n_blocks`` calls: ``n_iter_`` grows by that much
    and ``t_`` by ``n_epochs * n_samples``.

    Parameters
    ----------
    estimator : estimator instance
        An estimator with ``partial_fit(X)``, fitted or not; it is updated in
        place.

    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data, sliced as ``X[start:stop]``.

    chunk_size : int, default=50_000
        Rows per block. Peak memory grows with ``chunk_size * n_features``.

    n_epochs : int, default=1
        Full passes over ``X`` (each one ``partial_fit`` call per block).

    shuffle_chunks : bool, default=True
        Whether to visit the blocks in a new random order in each pass. Rows
        are shuffled within each block by the estimator itself.

    random_state : int, RandomState instance or None, default=None
        Seeds the order of the blocks. The estimator's own ``random_state``
        seeds its initialisation and noise.

    Returns
    -------
    estimator : estimator instance
        The updated estimator.

    Notes
    -----
    For a ``numpy.memmap`` opened in mode ``"r"``, ``"r+"`` or ``"w+"``, the
    pages of each block are released from the process's resident set once the
    block is done (``madvise(MADV_DONTNEED)`` on Linux), so the resident set
    size stays near one block however large the file is; the file's data stays
    in the operating system's page cache. Copy-on-write maps (mode ``"c"``)
    keep their pages.

    For a dask array, use :class:`dask_ml.wrappers.Incremental`, which does
    the same block by block.

    Examples
    --------
    >>> import numpy as np
    >>> from skdae import DenoisingAutoencoder, partial_fit_chunks
    >>> X = np.random.RandomState(0).rand(1000, 8).astype(np.float32)
    >>> dae = DenoisingAutoencoder(n_components=4, random_state=0)
    >>> dae = partial_fit_chunks(dae, X, chunk_size=300, n_epochs=2, random_state=0)

    Two passes over four blocks (300, 300, 300 and 100 rows) are eight
    ``partial_fit`` calls, and every row was seen twice:

    >>> dae.n_iter_, len(dae.loss_curve_), dae.t_
    (8, 8, 2000)
    """
    n_samples = _num_samples(X)
    if n_samples == 0:
        raise ValueError("X has no rows to train on.")
    chunks = list(gen_batches(n_samples, chunk_size))
    rng = check_random_state(random_state)
    for _ in range(n_epochs):
        order = rng.permutation(len(chunks)) if shuffle_chunks else range(len(chunks))
        for i in order:
            block = X[chunks[i]]
            estimator.partial_fit(block)
            _release_pages(block)
    return estimator
