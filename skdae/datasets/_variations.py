"""The image problems of Larochelle et al. (2007), regenerated.

The denoising autoencoder papers (Vincent et al., 2008 and 2010) judge the
model on eight problems "with many factors of variation" (Larochelle,
Erhan, Courville, Bergstra and Bengio, ICML 2007). Their archives are not
shipped by any package, so these generators rebuild them from the published
descriptions. Every choice the papers leave open is stated in the docstring
of the generator that makes it.
"""

import os
from numbers import Integral

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

_SIDE = 28
_N_PIXELS = _SIDE * _SIDE

# Pixel centres of the 28 x 28 grid, as (row, column) pairs, row-major.
_ROWS, _COLS = np.divmod(np.arange(_N_PIXELS), _SIDE)
_CENTRES = np.column_stack([_ROWS, _COLS]).astype(np.float64)

# A background patch whose pixel standard deviation is below this (in [0, 1]
# grey levels) holds too little texture to be a background and is drawn again.
_MIN_PATCH_STD = 0.02

_VARIANTS = ("basic", "rot", "back-rand", "back-image", "rot-back-image")

_SPLIT_SIZES = {
    "mnist": (10_000, 2_000, 50_000),
    "rectangles": (1_000, 200, 50_000),
    "rectangles-image": (10_000, 2_000, 50_000),
    "convex": (6_000, 2_000, 50_000),
}

_COUNT = [Interval(Integral, 1, None, closed="left"), None]


def _split_sizes(problem, n_train, n_valid, n_test):
    defaults = _SPLIT_SIZES[problem]
    return tuple(d if n is None else int(n) for n, d in zip((n_train, n_valid, n_test), defaults))


def _bunch(X, y, sizes, descr):
    """Cut ``X, y`` into train, validation and test parts of ``sizes``."""
    a, b = sizes[0], sizes[0] + sizes[1]
    return Bunch(
        X_train=X[:a], y_train=y[:a],
        X_valid=X[a:b], y_valid=y[a:b],
        X_test=X[b:], y_test=y[b:],
        DESCR=descr,
    )


# ---------------------------------------------------------------------------
# Natural grey images (the backgrounds of back-image and rectangles-image)
# ---------------------------------------------------------------------------


def _natural_images():
    """The grey images that background patches are cut from.

    scikit-learn's two sample photographs (``china.jpg`` and ``flower.jpg``,
    427 x 640 each), converted to grey with the ITU-R 601 luma weights and
    scaled to [0, 1]. The original problems used 20 images downloaded from
    the internet; two large photographs give about half a million distinct
    28 x 28 patches each.
    """
    try:
        from sklearn.datasets import load_sample_images

        images = load_sample_images().images
    except ImportError as exc:  # scikit-learn decodes the JPEGs with Pillow
        raise ImportError(
            "The natural-image problems cut their backgrounds from scikit-learn's sample "
            "images, which need Pillow to decode: pip install pillow"
        ) from exc
    luma = np.array([0.299, 0.587, 0.114])
    return [(img.astype(np.float64) @ luma / 255.0).astype(np.float32) for img in images]


def _patches(images, n, rng):
    """``n`` random 28 x 28 patches with enough texture, shape (n, 28, 28)."""
    out = np.empty((n, _SIDE, _SIDE), dtype=np.float32)
    filled = 0
    while filled < n:
        m = 2 * (n - filled) + 16
        which = rng.integers(len(images), size=m)
        for k in range(m):
            img = images[which[k]]
            r = rng.integers(img.shape[0] - _SIDE + 1)
            c = rng.integers(img.shape[1] - _SIDE + 1)
            patch = img[r:r + _SIDE, c:c + _SIDE]
            if patch.std() >= _MIN_PATCH_STD:
                out[filled] = patch
                filled += 1
                if filled == n:
                    break
    return out


def _over(foreground, background):
    """Composite a digit over a background, its intensity as opacity."""
    return foreground + (1.0 - foreground) * background


# ---------------------------------------------------------------------------
# MNIST variations
# ---------------------------------------------------------------------------


@validate_params(
    {
        "variant": [StrOptions(set(_VARIANTS))],
        "n_train": _COUNT,
        "n_valid": _COUNT,
        "n_test": _COUNT,
        "data_home": [str, os.PathLike, None],
        "download_if_missing": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_mnist_variations(
    variant="basic", *, n_train=None, n_valid=None, n_test=None, data_home=None,
    download_if_missing=True, random_state=None,
):
    """Make one of the MNIST variations of Larochelle et al. (2007).

    ==================   ===========================================
    Classes                                                       10
    Samples (default)    10 000 train, 2 000 valid, 50 000 test
    Dimensionality                                784 (28 x 28 pixels)
    Features                                      float32 in [0, 1]
    ==================   ===========================================

    The images are drawn without replacement from MNIST's 70 000 (training
    and test files together, read by :func:`fetch_mnist`), then transformed:

    - ``"basic"``: unchanged (the papers' mnist-basic is a resampling of
      MNIST into smaller training and larger test sets);
    - ``"rot"``: rotated by an angle uniform in [0, 2π) about the image
      centre (bilinear interpolation, zero outside, clipped to [0, 1]);
    - ``"back-rand"``: each background pixel uniform in [0, 1];
    - ``"back-image"``: a random 28 x 28 patch of a natural grey image as
      background; patches with a pixel standard deviation below 0.02 (too
      little texture) are drawn again;
    - ``"rot-back-image"``: rotated, then a natural-image background.

    A digit is laid over its background with its own intensity as opacity:
    ``x = d + (1 - d) b`` for digit pixel ``d`` and background pixel ``b``,
    so the stroke stays white and its anti-aliased edge blends in (the
    papers do not say how the two were combined).

    Parameters
    ----------
    variant : {"basic", "rot", "back-rand", "back-image", "rot-back-image"}, \
            default="basic"
        Which problem to make.

    n_train, n_valid, n_test : int, default=None
        Sizes of the three parts; None gives the papers' 10 000, 2 000 and
        50 000. Together they may not exceed 70 000.

    data_home : str or path-like, default=None
        Where :func:`fetch_mnist` looks for (and, if missing, caches) MNIST.

    download_if_missing : bool, default=True
        If MNIST is not in the data folder, let :func:`fetch_mnist` download
        it; if False, raise :class:`FileNotFoundError` instead.

    random_state : int, RandomState instance or None, default=None
        Seeds the choice of images, their order, angles and backgrounds.
        The same seed gives the same arrays.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_train``, ``X_valid``, ``X_test`` (float32 arrays of shape
        ``(n, 784)``, row-major 28 x 28 images in [0, 1]), ``y_train``,
        ``y_valid``, ``y_test`` (int64 digits 0..9) and ``DESCR``.

    Raises
    ------
    ValueError
        If the three sizes add up to more than 70 000 images.
    FileNotFoundError
        If MNIST is not found and cannot (or may not) be downloaded.
    ImportError
        For the natural-image variants, if Pillow (which decodes
        scikit-learn's sample images) is not installed.

    See Also
    --------
    make_rectangles : Tall versus wide rectangles.
    make_convex : Convex versus non-convex shapes.
    fetch_mnist : The digits these are made from.

    References
    ----------
    .. [1] H. Larochelle, D. Erhan, A. Courville, J. Bergstra and Y. Bengio,
       "An empirical evaluation of deep architectures on problems with many
       factors of variation", ICML 2007.
    .. [2] P. Vincent, H. Larochelle, Y. Bengio and P.-A. Manzagol,
       "Extracting and composing robust features with denoising
       autoencoders", ICML 2008.

    Examples
    --------
    >>> from skdae.datasets import make_mnist_variations
    >>> data = make_mnist_variations("rot", n_train=100, n_valid=20,
    ...                              n_test=50, random_state=0)  # doctest: +SKIP
    >>> data.X_train.shape, data.X_test.shape  # doctest: +SKIP
    ((100, 784), (50, 784))
    """
    from ._mnist import fetch_mnist

    sizes = _split_sizes("mnist", n_train, n_valid, n_test)
    total = sum(sizes)
    if total > 70_000:
        raise ValueError(
            f"n_train + n_valid + n_test = {total} images, but MNIST has 70 000; "
            "ask for fewer."
        )
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    mnist = fetch_mnist(subset="all", data_home=data_home,
                        download_if_missing=download_if_missing)
    order = rng.permutation(len(mnist.target))[:total]
    digits = mnist.images[order].astype(np.float32)
    y = mnist.target[order].copy()

    if variant in ("rot", "rot-back-image"):
        angles = rng.uniform(0.0, 360.0, size=total)
        for i in range(total):
            digits[i] = ndimage.rotate(digits[i], angles[i], reshape=False, order=1,
                                       mode="constant", cval=0.0)
        np.clip(digits, 0.0, 1.0, out=digits)
    if variant == "back-rand":
        digits = _over(digits, rng.random(digits.shape, dtype=np.float32))
    elif variant in ("back-image", "rot-back-image"):
        digits = _over(digits, _patches(_natural_images(), total, rng))
    X = np.ascontiguousarray(digits.reshape(total, _N_PIXELS), dtype=np.float32)
    return _bunch(X, y, sizes, f"MNIST variation '{variant}' (Larochelle et al. 2007), "
                  "regenerated by skdae.datasets.make_mnist_variations.")


# ---------------------------------------------------------------------------
# Rectangles
# ---------------------------------------------------------------------------


def _rectangle_geometry(n, rng, min_side):
    """Heights, widths, top rows and left columns of ``n`` rectangles.

    Height and width uniform in [min_side, 28]; a pair whose sides differ by
    less than 3 pixels is drawn again (so tall and wide can be told apart);
    the top-left corner is uniform over the positions where it fits.
    """
    h = np.empty(n, dtype=np.int64)
    w = np.empty(n, dtype=np.int64)
    filled = 0
    while filled < n:
        m = 2 * (n - filled) + 16
        hh = rng.integers(min_side, _SIDE + 1, size=m)
        ww = rng.integers(min_side, _SIDE + 1, size=m)
        keep = np.abs(hh - ww) >= 3
        k = min(int(keep.sum()), n - filled)
        h[filled:filled + k] = hh[keep][:k]
        w[filled:filled + k] = ww[keep][:k]
        filled += k
    top = (rng.random(n) * (_SIDE - h + 1)).astype(np.int64)
    left = (rng.random(n) * (_SIDE - w + 1)).astype(np.int64)
    return h, w, top, left


@validate_params(
    {
        "image": ["boolean"],
        "n_train": _COUNT,
        "n_valid": _COUNT,
        "n_test": _COUNT,
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_rectangles(*, image=False, n_train=None, n_valid=None, n_test=None, random_state=None):
    """Make the rectangles problems of Larochelle et al. (2007): tall or wide.

    ==================   ===============================================
    Classes                                    2 (1 = tall, 0 = wide)
    Samples (default)    1 000 / 200 / 50 000 (rectangles);
                         10 000 / 2 000 / 50 000 (rectangles-image)
    Dimensionality                                784 (28 x 28 pixels)
    Features                                      float32 in [0, 1]
    ==================   ===============================================

    ``image=False`` (rectangles): the one-pixel white outline of a rectangle
    on black. ``image=True`` (rectangles-image): the rectangle (outline and
    inside) filled with a patch of one natural grey image, over a background
    patch of another (both drawn as in :func:`make_mnist_variations`, low
    texture patches skipped); no outline is drawn, the rectangle shows only
    through the change of texture.

    Height and width are integers uniform in [3, 28] (outline) or [5, 28]
    (image; a smaller patch is hard to see), a pair whose sides differ by
    less than 3 pixels being drawn again; the label is 1 when the rectangle
    is taller than wide. The top-left corner is uniform over the positions
    where the rectangle fits. The classes are balanced in expectation.

    Parameters
    ----------
    image : bool, default=False
        Make rectangles-image instead of rectangles.

    n_train, n_valid, n_test : int, default=None
        Sizes of the three parts; None gives the papers' sizes above.

    random_state : int, RandomState instance or None, default=None
        Seeds every random choice; the same seed gives the same arrays.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_train``, ``X_valid``, ``X_test`` (float32, shape ``(n, 784)``,
        in [0, 1]), ``y_train``, ``y_valid``, ``y_test`` (int64, 0 or 1) and
        ``DESCR``.

    See Also
    --------
    make_mnist_variations : The MNIST variations of the same paper.
    make_convex : Convex versus non-convex shapes.

    References
    ----------
    .. [1] H. Larochelle, D. Erhan, A. Courville, J. Bergstra and Y. Bengio,
       "An empirical evaluation of deep architectures on problems with many
       factors of variation", ICML 2007.

    Examples
    --------
    >>> from skdae.datasets import make_rectangles
    >>> data = make_rectangles(n_train=10, n_valid=5, n_test=5, random_state=0)
    >>> data.X_train.shape, data.y_train.dtype
    ((10, 784), dtype('int64'))
    >>> sorted(set(data.y_train.tolist()) | set(data.y_test.tolist()))
    [0, 1]
    """
    problem = "rectangles-image" if image else "rectangles"
    sizes = _split_sizes(problem, n_train, n_valid, n_test)
    n = sum(sizes)
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    h, w, top, left = _rectangle_geometry(n, rng, 5 if image else 3)
    rows = np.arange(_SIDE)
    inside_r = (rows[None, :] >= top[:, None]) & (rows[None, :] < (top + h)[:, None])
    inside_c = (rows[None, :] >= left[:, None]) & (rows[None, :] < (left + w)[:, None])
    inside = inside_r[:, :, None] & inside_c[:, None, :]
    if image:
        images = _natural_images()
        fill = _patches(images, n, rng)
        back = _patches(images, n, rng)
        X = np.where(inside, fill, back)
    else:
        edge_r = (rows[None, :] == top[:, None]) | (rows[None, :] == (top + h - 1)[:, None])
        edge_c = (rows[None, :] == left[:, None]) | (rows[None, :] == (left + w - 1)[:, None])
        outline = inside & (edge_r[:, :, None] | edge_c[:, None, :])
        X = outline.astype(np.float32)
    X = np.ascontiguousarray(X.reshape(n, _N_PIXELS), dtype=np.float32)
    y = (h > w).astype(np.int64)
    return _bunch(X, y, sizes, f"{problem} (Larochelle et al. 2007), regenerated by "
                  "skdae.datasets.make_rectangles.")


# ---------------------------------------------------------------------------
# Convex sets
# ---------------------------------------------------------------------------


def _half_plane_intersection(rng, p):
    """Pixel mask of an intersection of random half-planes.

    Their number is geometric with parameter ``p`` (at least one). Each
    half-plane is bounded by a line through a point uniform in the image
    square with a normal of uniform direction, and is the side of that line
    holding one anchor point, uniform in the image and shared by all of
    them (so the intersection is never empty: a random convex polygon
    around the anchor, clipped by the image).
    """
    k = rng.geometric(p)
    anchor = rng.uniform(-0.5, _SIDE - 0.5, size=2)
    points = rng.uniform(-0.5, _SIDE - 0.5, size=(k, 2))
    theta = rng.uniform(0.0, 2.0 * np.pi, size=k)
    normals = np.column_stack([np.cos(theta), np.sin(theta)])
    normals *= np.where(((anchor - points) * normals).sum(axis=1) >= 0.0, 1.0, -1.0)[:, None]
    side = (_CENTRES[:, None, :] - points[None, :, :]) * normals[None, :, :]
    return (side.sum(axis=2) >= 0.0).all(axis=1)


def _is_digitally_convex(mask):
    """Whether a pixel set equals the pixels of its own convex hull.

    A set of pixel centres is digitally convex when every pixel centre inside
    (or on) the convex hull of its lit centres is lit. The pixels of any
    convex region pass; a set with a dent or two separated parts fails.
    """
    points = _CENTRES[mask]
    if len(points) < 3:
        return True
    try:
        hull = ConvexHull(points)
    except QhullError:  # all lit pixels on one line: a digital segment
        d = points - points[0]
        direction = d[np.argmax(np.abs(d).sum(axis=1))]
        t = (_CENTRES - points[0]) @ direction / (direction @ direction)
        on_line = np.abs((_CENTRES - points[0]) - t[:, None] * direction).max(axis=1) < 1e-9
        ts = (points - points[0]) @ direction / (direction @ direction)
        lo, hi = ts.min(), ts.max()
        between = on_line & (t >= lo - 1e-9) & (t <= hi + 1e-9)
        return bool(np.all(mask[between]))
    # A centre is in the hull when it is on the inner side of every facet.
    inside = (_CENTRES @ hull.equations[:, :2].T + hull.equations[:, 2] <= 1e-9).all(axis=1)
    return bool(np.all(mask[inside]))


def _convex_candidate(rng):
    """A convex shape: one half-plane intersection of at least 19 pixels."""
    while True:
        mask = _half_plane_intersection(rng, 0.195)
        if mask.sum() >= 19:
            return mask


def _non_convex_candidate(rng):
    """A non-convex shape: a union of 2 to 4 intersections (p = 0.07).

    Each part has at least 10 pixels; a union that is digitally convex is
    drawn again.
    """
    while True:
        n_parts = rng.integers(2, 5)
        mask = np.zeros(_N_PIXELS, dtype=bool)
        for _ in range(n_parts):
            part = _half_plane_intersection(rng, 0.07)
            while part.sum() < 10:
                part = _half_plane_intersection(rng, 0.07)
            mask |= part
        if not _is_digitally_convex(mask):
            return mask


# Lit-pixel counts are binned this finely when the classes are balanced.
_BALANCE_BIN = 8


@validate_params(
    {
        "n_train": _COUNT,
        "n_valid": _COUNT,
        "n_test": _COUNT,
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_convex(*, n_train=None, n_valid=None, n_test=None, random_state=None):
    """Make the convex problem of Larochelle et al. (2007): convex or not.

    ==================   ===========================================
    Classes                               2 (1 = convex, 0 = not)
    Samples (default)    6 000 train, 2 000 valid, 50 000 test
    Dimensionality                                784 (28 x 28 pixels)
    Features                         float32, 0 or 1 (white shape)
    ==================   ===========================================

    A convex shape is the set of pixels whose centres lie in an
    intersection of random half-planes: their number is geometric with
    parameter 0.195 (at least one), each bounded by a line through a point
    uniform in the image with a normal of uniform direction; a shape of
    fewer than 19 pixels is drawn again. A non-convex shape is the union of
    2 to 4 intersections made the same way with parameter 0.07, each of at
    least 10 pixels, drawn again when the union is digitally convex (every
    pixel centre inside the convex hull of its lit centres is lit).

    The classes are balanced on the number of lit pixels, as in the paper:
    shapes are drawn for both classes and kept in equal numbers within each
    bin of 8 lit pixels, so that the pixel count says nothing about the
    class. Each part of the split then holds (up to one) as many convex as
    non-convex shapes, in random order.

    Parameters
    ----------
    n_train, n_valid, n_test : int, default=None
        Sizes of the three parts; None gives the papers' 6 000, 2 000 and
        50 000 (the original convex training file had 8 000 images, the last
        2 000 serving as validation set).

    random_state : int, RandomState instance or None, default=None
        Seeds every random choice; the same seed gives the same arrays.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_train``, ``X_valid``, ``X_test`` (float32, shape ``(n, 784)``,
        values 0 or 1), ``y_train``, ``y_valid``, ``y_test`` (int64, 1 for
        convex) and ``DESCR``.

    See Also
    --------
    make_rectangles : Tall versus wide rectangles.
    make_mnist_variations : The MNIST variations of the same paper.

    References
    ----------
    .. [1] H. Larochelle, D. Erhan, A. Courville, J. Bergstra and Y. Bengio,
       "An empirical evaluation of deep architectures on problems with many
       factors of variation", ICML 2007.

    Examples
    --------
    >>> from skdae.datasets import make_convex
    >>> data = make_convex(n_train=20, n_valid=10, n_test=10, random_state=0)
    >>> data.X_train.shape, int(data.y_train.sum())
    ((20, 784), 10)
    """
    sizes = _split_sizes("convex", n_train, n_valid, n_test)
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    parts = []
    for size in sizes:
        n_pos = size - size // 2
        n_neg = size // 2
        pools = {1: {}, 0: {}}
        kept = {1: [], 0: []}
        # Draw both classes until each bin holds as many of one as of the
        # other and both classes reach their counts.
        while len(kept[1]) < n_pos or len(kept[0]) < n_neg:
            for label, make in ((1, _convex_candidate), (0, _non_convex_candidate)):
                mask = make(rng)
                pools[label].setdefault(int(mask.sum()) // _BALANCE_BIN, []).append(mask)
            for b in set(pools[1]) & set(pools[0]):
                while pools[1][b] and pools[0][b]:
                    kept[1].append(pools[1][b].pop())
                    kept[0].append(pools[0][b].pop())
        masks = kept[1][:n_pos] + kept[0][:n_neg]
        labels = np.array([1] * n_pos + [0] * n_neg, dtype=np.int64)
        order = rng.permutation(size)
        parts.append((np.array(masks, dtype=np.float32)[order], labels[order]))
    X = np.ascontiguousarray(np.concatenate([p[0] for p in parts]), dtype=np.float32)
    y = np.concatenate([p[1] for p in parts])
    return _bunch(X, y, sizes, "convex (Larochelle et al. 2007), regenerated by "
                  "skdae.datasets.make_convex.")
