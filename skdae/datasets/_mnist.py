"""Loader for the MNIST handwritten digits stored as the four standard IDX files.

The files are read from a local folder (see :func:`get_data_home`), parsed
strictly and checked against the MD5 digests of the canonical release. When
they are absent, they can be downloaded once from OpenML (``mnist_784``) and
cached in the data home in the standard IDX format.
"""

import gzip
import hashlib
import os
import struct
import tempfile
import zlib

import numpy as np
from sklearn.utils import Bunch

__all__ = ["fetch_mnist", "get_data_home", "load_mnist_paper_split"]

# Name of the environment variable that points at the folder holding MNIST.
_ENV_VAR = "SKDAE_DATA"

# Name of the sub-folder of a data home that may hold the files.
_SUBFOLDER = "mnist"

# Base names of the four IDX files, keyed by (subset, kind).
_FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}

# MD5 digests of the *uncompressed* bytes of the canonical files. This is a
# module-level dict on purpose: tests replace its entries to feed tiny fakes
# through the same verification path.
_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

_N_TRAIN = 60_000
_N_TEST = 10_000
_N_PAPER_TRAIN = 50_000
_IMAGE_SHAPE = (28, 28)
_N_FEATURES = _IMAGE_SHAPE[0] * _IMAGE_SHAPE[1]
_N_CLASSES = 10
_SUBSETS = ("train", "test", "all")

# IDX data type codes (third byte of the magic number) -> big-endian dtype.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"

_MNIST_DESCR = """\
.. _mnist_dataset:

MNIST handwritten digits dataset
--------------------------------

**Data Set Characteristics:**

:Number of Instances: 70 000 (60 000 training + 10 000 test)
:Number of Attributes: 784 (28 x 28 grey-level pixels)
:Attribute Information: pixel intensities, stored as unsigned bytes 0..255
    and returned as float32 in [0, 1] (value / 255)
:Classes: 10 (the digits 0 to 9)
:Creators: Yann LeCun, Corinna Cortes and Christopher J. C. Burges
:Date: 1998

The MNIST database is a subset of the NIST Special Databases 1 and 3. The
digits were size-normalized to fit a 20 x 20 box, preserving their aspect
ratio, and centred by centre of mass in a 28 x 28 image.

The standard split is the 60 000 images of ``train-images-idx3-ubyte``
(written by about 250 writers) and the 10 000 images of
``t10k-images-idx3-ubyte`` (written by different writers), in the order of
the original files.

The denoising autoencoder literature (e.g. Vincent et al., 2008 and 2010,
following the Theano DeepLearningTutorials' ``mnist.pkl.gz``) further splits
the training file into its first 50 000 images for training and its last
10 000 images for validation, keeping the 10 000 test images for testing:
see ``skdae.datasets.load_mnist_paper_split``.

.. dropdown:: References

  - Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning
    applied to document recognition", Proceedings of the IEEE, 86(11),
    2278-2324, 1998.
  - P. Vincent, H. Larochelle, Y. Bengio and P.-A. Manzagol, "Extracting and
    composing robust features with denoising autoencoders", ICML 2008.
"""


# ---------------------------------------------------------------------------
# Data home resolution
# ---------------------------------------------------------------------------


def get_data_home(data_home=None):
    """Return the folder in which the MNIST files are looked for.

    The folder is resolved in this order, the first one given wins:

    1. the ``data_home`` argument, when it is not None;
    2. the ``SKDAE_DATA`` environment variable, when it is set and not empty;
    3. scikit-learn's data home, as :func:`sklearn.datasets.get_data_home`
       resolves it: the ``SCIKIT_LEARN_DATA`` environment variable, else
       ``~/scikit_learn_data``.

    A leading ``~`` is expanded to the user's home folder. Unlike
    :func:`sklearn.datasets.get_data_home`, this function never creates the
    folder: reading MNIST must work from a read-only shared folder.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Explicit data folder. If None, use ``SKDAE_DATA`` or scikit-learn's
        data home as described above.

    Returns
    -------
    data_home : str
        The resolved data folder. It may not exist.

    See Also
    --------
    fetch_mnist : Load MNIST from this folder.
    sklearn.datasets.get_data_home : The data folder of scikit-learn.

    Notes
    -----
    The MNIST files are then looked for directly in the returned folder and,
    failing that, in its ``mnist/`` sub-folder, so both
    ``SKDAE_DATA=/path/to/data/mnist`` and ``SKDAE_DATA=/path/to/data`` work.

    Examples
    --------
    >>> from skdae.datasets import get_data_home
    >>> get_data_home("/srv/data")
    '/srv/data'
    """
    if data_home is None:
        data_home = os.environ.get(_ENV_VAR) or None
    if data_home is None:
        data_home = os.environ.get(
            "SCIKIT_LEARN_DATA", os.path.join("~", "scikit_learn_data")
        )
    return os.path.expanduser(os.fspath(data_home))


def _candidate_folders(home):
    """Folders searched for the files, in order of preference."""
    return [home, os.path.join(home, _SUBFOLDER)]


def _locate_file(folder, base):
    """Path of ``base`` (uncompressed preferred) or ``base.gz`` in ``folder``."""
    for name in (base, base + ".gz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def _find_mnist_folder(home):
    """Return ``{base_name: path}`` for the first folder holding all 4 files.

    Returns ``(paths, partial)`` where ``paths`` is None when no candidate
    folder holds the complete set, and ``partial`` lists
    ``(folder, [found base names])`` for folders holding only some of them.
    """
    partial = []
    for folder in _candidate_folders(home):
        found = {}
        for base in _FILES.values():
            path = _locate_file(folder, base)
            if path is not None:
                found[base] = path
        if len(found) == len(_FILES):
            return found, partial
        if found:
            partial.append((folder, sorted(found)))
    return None, partial


def _not_found_message(home, partial, reason):
    lines = ["MNIST data files not found. Looked in:"]
    lines += [f"    {folder}" for folder in _candidate_folders(home)]
    lines.append(
        "for the four standard IDX files (each either uncompressed or "
        "gzip-compressed with a '.gz' suffix):"
    )
    lines += [f"    {base}" for base in _FILES.values()]
    for folder, names in partial:
        lines.append(f"Only some of them are in {folder}: {', '.join(names)}.")
    lines.append(
        "Put the four files in one of these folders, or point the "
        f"{_ENV_VAR} environment variable or the `data_home` argument at "
        f"the folder holding them (or at its parent, if they are in a "
        f"'{_SUBFOLDER}/' sub-folder)."
    )
    lines.append(reason)
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# IDX reading and writing
# ---------------------------------------------------------------------------


def _read_bytes(path):
    """Return the uncompressed content of ``path`` (gunzipped if ``.gz``)."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    if not path.endswith(".gz"):
        return raw
    if raw[:2] != _GZIP_MAGIC:
        raise ValueError(
            f"{path}: not a gzip file (it does not start with the gzip magic "
            "bytes 1f 8b) although its name ends with '.gz'. If it is an "
            "uncompressed IDX file, remove the '.gz' suffix; otherwise delete "
            "or replace it."
        )
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(
            f"{path}: corrupt gzip file ({exc}). Delete it and download or "
            "copy it again."
        ) from exc


def _parse_idx(buf, name, *, dtype_code=None, ndim=None):
    """Parse the bytes of an IDX file strictly; ``name`` is used in errors.

    Returns a read-only array with the dtype and shape of the header (in the
    dtype's big-endian byte order for multi-byte types).
    """
    size = len(buf)
    if size < 4:
        raise ValueError(
            f"{name}: too short to be an IDX file ({size} bytes, the header "
            "alone takes at least 4)."
        )
    magic = struct.unpack(">I", buf[:4])[0]
    code, nd = buf[2], buf[3]
    if buf[0] != 0 or buf[1] != 0:
        hint = ""
        if buf[:2] == _GZIP_MAGIC:
            hint = " It looks gzip-compressed: give it a '.gz' suffix or decompress it."
        raise ValueError(
            f"{name}: bad IDX magic number 0x{magic:08x}: its first two "
            f"bytes must be zero.{hint}"
        )
    if code not in _IDX_DTYPES:
        raise ValueError(
            f"{name}: bad IDX magic number 0x{magic:08x}: unknown data type "
            f"code 0x{code:02x}."
        )
    if dtype_code is not None and code != dtype_code:
        raise ValueError(
            f"{name}: bad IDX magic number 0x{magic:08x}: data type code "
            f"0x{code:02x}, expected 0x{dtype_code:02x}."
        )
    if nd == 0:
        raise ValueError(
            f"{name}: bad IDX magic number 0x{magic:08x}: zero dimensions."
        )
    if ndim is not None and nd != ndim:
        raise ValueError(
            f"{name}: bad IDX magic number 0x{magic:08x}: {nd} dimensions, "
            f"expected {ndim}."
        )
    header_size = 4 + 4 * nd
    if size < header_size:
        raise ValueError(
            f"{name}: truncated IDX header ({size} bytes, expected "
            f"{header_size} for {nd} dimensions)."
        )
    shape = struct.unpack(f">{nd}I", buf[4:header_size])
    dtype = _IDX_DTYPES[code]
    count = 1
    for dim in shape:
        count *= dim
    expected = count * dtype.itemsize
    payload = size - header_size
    if payload < expected:
        raise ValueError(
            f"{name}: truncated IDX file: the header announces shape "
            f"{shape}, i.e. {expected} bytes of data, but only {payload} "
            "follow it."
        )
    if payload > expected:
        raise ValueError(
            f"{name}: {payload - expected} unexpected trailing bytes after "
            f"the {expected} bytes of data announced by the header (shape "
            f"{shape})."
        )
    return np.frombuffer(buf, dtype=dtype, count=count, offset=header_size).reshape(
        shape
    )


def _read_idx(path, *, dtype_code=None, ndim=None):
    """Read an IDX file (``.gz`` or uncompressed) without checksum.

    Parameters
    ----------
    path : str or path-like
        File to read; gunzipped when its name ends with ``.gz``.
    dtype_code : int, default=None
        If given, the data type code the header must have (0x08 for
        unsigned bytes).
    ndim : int, default=None
        If given, the number of dimensions the header must have.

    Returns
    -------
    array : ndarray
        Writable array in native byte order with the header's shape.

    Raises
    ------
    ValueError
        If the file is not a well-formed IDX file; the message names it.
    """
    path = os.fspath(path)
    arr = _parse_idx(_read_bytes(path), path, dtype_code=dtype_code, ndim=ndim)
    return arr.astype(arr.dtype.newbyteorder("="), copy=True)


def _encode_idx(arr):
    """Uncompressed IDX bytes of an unsigned byte array."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = struct.pack(">4B", 0, 0, _UBYTE, arr.ndim)
    header += struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.tobytes()


def _md5(buf):
    return hashlib.md5(buf, usedforsecurity=False).hexdigest()


# ---------------------------------------------------------------------------
# MNIST files
# ---------------------------------------------------------------------------


def _load_part(paths, part):
    """Read and verify the images and labels of ``part`` ('train' or 'test').

    Returns ``(images, labels)`` as read-only uint8 arrays of shapes
    ``(n, 28, 28)`` and ``(n,)``.
    """
    arrays = {}
    for kind, dtype_code, ndim in (("images", _UBYTE, 3), ("labels", _UBYTE, 1)):
        base = _FILES[part, kind]
        path = paths[base]
        buf = _read_bytes(path)
        arr = _parse_idx(buf, path, dtype_code=dtype_code, ndim=ndim)
        if kind == "images" and arr.shape[1:] != _IMAGE_SHAPE:
            raise ValueError(
                f"{path}: images of shape {arr.shape[1:]}, expected {_IMAGE_SHAPE}."
            )
        if kind == "labels" and arr.size and arr.max() >= _N_CLASSES:
            raise ValueError(f"{path}: label {int(arr.max())} out of the range 0..9.")
        digest = _md5(buf)
        if digest != _MD5[base]:
            raise ValueError(
                f"{path}: MD5 checksum mismatch: the uncompressed content "
                f"hashes to {digest}, the canonical {base} to {_MD5[base]}. "
                "The file is corrupt or not the original MNIST file: delete "
                "it and download it again (fetch_mnist downloads the missing "
                "files when download_if_missing=True), or replace it with the "
                "original."
            )
        arrays[kind] = arr
    images, labels = arrays["images"], arrays["labels"]
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{paths[_FILES[part, 'images']]} holds {images.shape[0]} images "
            f"but {paths[_FILES[part, 'labels']]} holds {labels.shape[0]} "
            "labels; they must hold as many."
        )
    return images, labels


def _openml_to_mnist(X, y, *, n_train=_N_TRAIN, n_test=_N_TEST):
    """Convert OpenML ``mnist_784`` arrays to the canonical train/test split.

    Returns ``(train_images, train_labels, test_images, test_labels)`` as
    uint8 arrays of shapes ``(n, 28, 28)`` and ``(n,)``.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    n = n_train + n_test
    if X.shape != (n, _N_FEATURES) or y.shape != (n,):
        raise ValueError(
            f"OpenML mnist_784 returned data of shape {X.shape} and target "
            f"of shape {y.shape}, expected ({n}, {_N_FEATURES}) and ({n},)."
        )
    Xf = X.astype(np.float64, copy=False)
    if not (np.all(Xf >= 0) and np.all(Xf <= 255) and np.all(Xf == np.round(Xf))):
        raise ValueError(
            "OpenML mnist_784 returned pixel values that are not integers in 0..255."
        )
    labels = y.astype(np.int64)
    if labels.min() < 0 or labels.max() >= _N_CLASSES:
        raise ValueError("OpenML mnist_784 returned labels outside 0..9.")
    images = Xf.astype(np.uint8).reshape((n,) + _IMAGE_SHAPE)
    labels = labels.astype(np.uint8)
    return images[:n_train], labels[:n_train], images[n_train:], labels[n_train:]


def _fetch_from_openml():
    """Download MNIST from OpenML (``mnist_784``, version 1); needs network.

    OpenML lists the 60 000 training images, then the 10 000 test images, in
    the order of the original files. Returns what :func:`_openml_to_mnist`
    returns. This is the only function of the module that uses the network.
    scikit-learn's OpenML cache of the download is written in a temporary
    folder, removed on return, so that the data home only ever receives the
    four IDX files.
    """
    from sklearn.datasets import fetch_openml

    try:
        import pandas  # noqa: F401

        parser = "pandas"
    except ImportError:
        parser = "liac-arff"
    with tempfile.TemporaryDirectory(prefix="skdae-openml-") as cache:
        X, y = fetch_openml(
            "mnist_784",
            version=1,
            as_frame=False,
            return_X_y=True,
            parser=parser,
            data_home=cache,
        )
    return _openml_to_mnist(X, y)


def _atomic_write(path, data):
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _download(home):
    """Fetch MNIST and write the four IDX ``.gz`` files in ``home/mnist``."""
    try:
        train_x, train_y, test_x, test_y = _fetch_from_openml()
    except Exception as exc:
        raise FileNotFoundError(
            _not_found_message(
                home,
                [],
                f"Downloading them from OpenML (mnist_784) failed: {exc!r}",
            )
        ) from exc
    arrays = {
        _FILES["train", "images"]: train_x,
        _FILES["train", "labels"]: train_y,
        _FILES["test", "images"]: test_x,
        _FILES["test", "labels"]: test_y,
    }
    # Check everything before writing anything, so that a bad download never
    # leaves a cache that later calls would trust.
    encoded = {}
    for base, arr in arrays.items():
        buf = _encode_idx(arr)
        digest = _md5(buf)
        if digest != _MD5[base]:
            raise ValueError(
                f"The MNIST data downloaded from OpenML does not match the "
                f"canonical {base} (MD5 {digest}, expected {_MD5[base]}); "
                "nothing was written. Put the original files in the data "
                "folder instead."
            )
        encoded[base] = buf
    folder = os.path.join(home, _SUBFOLDER)
    os.makedirs(folder, exist_ok=True)
    for base, buf in encoded.items():
        _atomic_write(os.path.join(folder, base + ".gz"), gzip.compress(buf, mtime=0))


def _load_parts(parts, *, data_home, download_if_missing):
    """``{part: (images, labels)}`` for each requested part, uint8 arrays."""
    home = get_data_home(data_home)
    paths, partial = _find_mnist_folder(home)
    if paths is None:
        if not download_if_missing:
            raise FileNotFoundError(
                _not_found_message(
                    home,
                    partial,
                    "Downloading is disabled (download_if_missing=False).",
                )
            )
        _download(home)
        paths, partial = _find_mnist_folder(home)
        if paths is None:  # pragma: no cover - the download wrote them
            raise FileNotFoundError(
                _not_found_message(home, partial, "The download did not help.")
            )
    return {part: _load_part(paths, part) for part in parts}


def _to_float(images):
    """uint8 images (n, 28, 28) -> float32 (n, 784) in [0, 1]."""
    data = images.reshape(images.shape[0], _N_FEATURES).astype(np.float32)
    data /= np.float32(255)
    return data


def _validate_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}.")


def _import_pandas():
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(
            "fetch_mnist with as_frame=True requires pandas. You can install "
            "it with `pip install pandas`, or use as_frame=False."
        ) from exc
    return pandas


# ---------------------------------------------------------------------------
# Public loaders
# ---------------------------------------------------------------------------


def fetch_mnist(
    *,
    data_home=None,
    subset="train",
    return_X_y=False,
    as_frame=False,
    download_if_missing=True,
):
    """Load the MNIST handwritten digits dataset (classification).

    =================   ==================================
    Classes                                             10
    Samples total           70 000 (60 000 train + 10 000 test)
    Dimensionality                                     784
    Features            float32 in [0, 1] (28 x 28 pixels)
    =================   ==================================

    The four standard IDX files (``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte``, each either uncompressed or gzip-compressed
    with a ``.gz`` suffix) are read from the data folder, parsed strictly and
    checked against the MD5 digests of the original release.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding the MNIST files, directly or in a ``mnist/``
        sub-folder. The explicit argument wins; if None, the ``SKDAE_DATA``
        environment variable is used, else scikit-learn's data home
        (``SCIKIT_LEARN_DATA``, else ``~/scikit_learn_data``). See
        :func:`get_data_home`.

    subset : {"train", "test", "all"}, default="train"
        Which images to load: the 60 000 training images, the 10 000 test
        images, or all 70 000 (training then test), each in the order of the
        original files.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch object.

    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame, ``target`` a pandas Series
        and ``frame`` a DataFrame holding both. Requires pandas.

    download_if_missing : bool, default=True
        If the files are not in the data folder, download them from OpenML
        (``mnist_784``) and cache them in ``<data_home>/mnist/`` as the four
        IDX ``.gz`` files, the only files written (scikit-learn's own OpenML
        cache of the download goes to a temporary folder that is removed).
        If False, raise an error instead.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : {ndarray, DataFrame} of shape (n_samples, 784)
            The flattened images, float32 pixel values in [0, 1] (the
            original unsigned bytes divided by 255), row-major.
        target : {ndarray, Series} of shape (n_samples,)
            The digit of each image, int64 in 0..9.
        images : ndarray of shape (n_samples, 28, 28)
            The same pixels as ``data`` (float32), as images.
        feature_names : list of str
            ``"pixel_0"`` to ``"pixel_783"``, in row-major order.
        target_names : ndarray of shape (10,)
            The class labels, 0 to 9.
        frame : DataFrame of shape (n_samples, 785) or None
            When ``as_frame=True``, the data and a ``"target"`` column;
            None otherwise.
        DESCR : str
            The full description of the dataset.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` described above.

    Raises
    ------
    ValueError
        If ``subset`` is not one of the accepted values, or a file is
        malformed, corrupt or fails its MD5 check (the message names it).
    FileNotFoundError
        If the files are missing and cannot be downloaded (or
        ``download_if_missing=False``); the message lists the expected file
        names and the folders that were searched.
    ImportError
        If ``as_frame=True`` and pandas is not installed.

    See Also
    --------
    load_mnist_paper_split : The 50 000 / 10 000 / 10 000 split of the
        denoising autoencoder papers.
    get_data_home : How the data folder is resolved.
    sklearn.datasets.fetch_openml : Generic OpenML loader.

    Notes
    -----
    The files are only read: nothing is written into the data folder unless
    files are downloaded, and a download writes the four ``.gz`` files in
    ``<data_home>/mnist/`` and nothing else (the OpenML download itself is
    cached in a temporary folder of :func:`tempfile.gettempdir`, removed
    once converted). A file found uncompressed is preferred to its
    ``.gz`` twin; the data folder itself is preferred to its ``mnist/``
    sub-folder, and the first of them holding all four files is used.

    ``images`` is a view of ``data`` (when ``as_frame=False``), so modifying
    one modifies the other.

    Examples
    --------
    >>> from skdae.datasets import fetch_mnist
    >>> mnist = fetch_mnist(subset="train")  # doctest: +SKIP
    >>> mnist.data.shape, mnist.data.dtype  # doctest: +SKIP
    ((60000, 784), dtype('float32'))
    >>> mnist.target[:5]  # doctest: +SKIP
    array([5, 0, 4, 1, 9])
    >>> X_test, y_test = fetch_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X_test.shape  # doctest: +SKIP
    (10000, 784)
    """
    if not isinstance(subset, str) or subset not in _SUBSETS:
        raise ValueError(
            f"subset must be one of {', '.join(map(repr, _SUBSETS))}; got {subset!r}."
        )
    _validate_bool(return_X_y, "return_X_y")
    _validate_bool(as_frame, "as_frame")
    _validate_bool(download_if_missing, "download_if_missing")
    pd = _import_pandas() if as_frame else None

    parts = ("train", "test") if subset == "all" else (subset,)
    loaded = _load_parts(
        parts, data_home=data_home, download_if_missing=download_if_missing
    )
    if len(parts) == 1:
        raw_images, raw_labels = loaded[parts[0]]
    else:
        raw_images = np.concatenate([loaded[p][0] for p in parts])
        raw_labels = np.concatenate([loaded[p][1] for p in parts])

    data = _to_float(raw_images)
    target = raw_labels.astype(np.int64)
    images = data.reshape((-1,) + _IMAGE_SHAPE)
    feature_names = [f"pixel_{i}" for i in range(_N_FEATURES)]

    frame = None
    if as_frame:
        data_df = pd.DataFrame(data, columns=feature_names, copy=False)
        target_s = pd.Series(target, name="target")
        frame = pd.concat([data_df, target_s], axis=1)
        data, target = data_df, target_s

    if return_X_y:
        return data, target

    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=feature_names,
        target_names=np.arange(_N_CLASSES),
        images=images,
        DESCR=_MNIST_DESCR,
    )


def load_mnist_paper_split(*, data_home=None, download_if_missing=True):
    """Load MNIST with the 50 000 / 10 000 / 10 000 split of the DAE papers.

    The split is the one of the Theano DeepLearningTutorials'
    ``mnist.pkl.gz``, used by the denoising autoencoder papers (Vincent et
    al., 2008 and 2010): the first 50 000 images of the training file are the
    training set, its last 10 000 images the validation set, and the 10 000
    images of the ``t10k`` file the test set. Order is that of the files.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding the MNIST files, directly or in a ``mnist/``
        sub-folder; if None, ``SKDAE_DATA``, else scikit-learn's data home.
        See :func:`get_data_home`.

    download_if_missing : bool, default=True
        If the files are not in the data folder, download them from OpenML
        and cache them in its ``mnist/`` sub-folder as the four IDX ``.gz``
        files, as :func:`fetch_mnist` does. If False, raise an error instead.

    Returns
    -------
    X_train : ndarray of shape (50000, 784)
        Training images, float32 in [0, 1].
    y_train : ndarray of shape (50000,)
        Training labels, int64 in 0..9.
    X_valid : ndarray of shape (10000, 784)
        Validation images (the last 10 000 of the training file).
    y_valid : ndarray of shape (10000,)
        Validation labels.
    X_test : ndarray of shape (10000, 784)
        Test images (the ``t10k`` file).
    y_test : ndarray of shape (10000,)
        Test labels.

    Raises
    ------
    ValueError
        If a file is malformed, corrupt or fails its MD5 check.
    FileNotFoundError
        If the files are missing and cannot be downloaded.

    See Also
    --------
    fetch_mnist : The standard 60 000 / 10 000 split, as a Bunch.

    Notes
    -----
    ``X_train`` and ``X_valid`` are views of one array holding the 60 000
    training images.

    Examples
    --------
    >>> from skdae.datasets import load_mnist_paper_split
    >>> X_train, y_train, X_valid, y_valid, X_test, y_test = (
    ...     load_mnist_paper_split())  # doctest: +SKIP
    >>> X_train.shape, X_valid.shape, X_test.shape  # doctest: +SKIP
    ((50000, 784), (10000, 784), (10000, 784))
    """
    _validate_bool(download_if_missing, "download_if_missing")
    loaded = _load_parts(
        ("train", "test"), data_home=data_home, download_if_missing=download_if_missing
    )
    train_x, train_y = loaded["train"]
    test_x, test_y = loaded["test"]
    if train_x.shape[0] != _N_TRAIN:
        raise ValueError(
            f"The MNIST training file holds {train_x.shape[0]} images, "
            f"expected {_N_TRAIN} for the paper split."
        )
    X = _to_float(train_x)
    y = train_y.astype(np.int64)
    n = _N_PAPER_TRAIN
    return X[:n], y[:n], X[n:], y[n:], _to_float(test_x), test_y.astype(np.int64)
