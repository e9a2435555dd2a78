"""Tests for the regenerated problems of Larochelle et al. (2007).

The MNIST variations are tested on a stand-in MNIST of synthetic shapes (the
transforms are what is under test), and once on the real MNIST when it is
there.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import Delaunay
from sklearn.utils import Bunch

from skdae.datasets import _mnist, _variations, make_convex, make_mnist_variations, make_rectangles

SIDE = 28


def _bar(n=40):
    """A vertical white bar through the centre, as a stand-in digit."""
    img = np.zeros((SIDE, SIDE), dtype=np.float32)
    img[6:22, 13:15] = 1.0
    return np.repeat(img[None], n, axis=0)


@pytest.fixture
def stand_in_mnist(monkeypatch):
    """Replace MNIST by 300 labelled copies of one vertical bar."""
    n = 300
    images = _bar(n)
    target = np.arange(n, dtype=np.int64) % 10

    def fetch(*, subset, data_home=None, **kwargs):
        assert subset == "all"
        return Bunch(images=images, data=images.reshape(n, -1), target=target)

    monkeypatch.setattr(_mnist, "fetch_mnist", fetch)
    return images, target


def _split(data):
    return [data[k] for k in ("X_train", "y_train", "X_valid", "y_valid", "X_test", "y_test")]


def _assert_images(data, sizes):
    for X, y, n in zip(_split(data)[::2], _split(data)[1::2], sizes):
        assert X.shape == (n, SIDE * SIDE) and X.dtype == np.float32
        assert X.flags.c_contiguous
        assert y.shape == (n,) and y.dtype == np.int64
        assert X.min() >= 0.0 and X.max() <= 1.0


# ---------------------------------------------------------------------------
# MNIST variations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("variant", _variations._VARIANTS)
def test_mnist_variation_shapes_range_and_determinism(stand_in_mnist, variant):
    kwargs = dict(n_train=50, n_valid=20, n_test=30)
    data = make_mnist_variations(variant, random_state=0, **kwargs)
    _assert_images(data, (50, 20, 30))
    again = make_mnist_variations(variant, random_state=0, **kwargs)
    other = make_mnist_variations(variant, random_state=1, **kwargs)
    for a, b in zip(_split(data), _split(again)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(data.y_train, other.y_train)


def test_mnist_basic_draws_distinct_images_without_change(stand_in_mnist):
    images, target = stand_in_mnist
    data = make_mnist_variations("basic", n_train=100, n_valid=50, n_test=150, random_state=0)
    X = np.concatenate([data.X_train, data.X_valid, data.X_test])
    y = np.concatenate([data.y_train, data.y_valid, data.y_test])
    np.testing.assert_array_equal(X, images[:300].reshape(300, -1))  # all 300, each once
    assert sorted(np.bincount(y)) == [30] * 10


def _orientation(img):
    """Angle (mod pi) of the principal axis of an image's intensity."""
    r, c = np.nonzero(img > 0.5)
    r, c = r - r.mean(), c - c.mean()
    return 0.5 * np.arctan2(2 * (r * c).mean(), (c * c).mean() - (r * r).mean()) % np.pi


def test_mnist_rot_turns_about_the_centre_by_uniform_angles(stand_in_mnist):
    data = make_mnist_variations("rot", n_train=200, n_valid=50, n_test=50, random_state=0)
    X = np.concatenate([data.X_train, data.X_valid, data.X_test]).reshape(-1, SIDE, SIDE)
    # about the centre: the bar's centre of mass stays at the image centre
    rows, cols = np.mgrid[:SIDE, :SIDE]
    mass = X.sum(axis=(1, 2))
    assert np.allclose((X * rows).sum(axis=(1, 2)) / mass, 13.5, atol=0.6)
    assert np.allclose((X * cols).sum(axis=(1, 2)) / mass, 13.5, atol=0.6)
    # mass kept (the bar stays inside the image at every angle)
    assert np.allclose(mass, _bar(1).sum(), rtol=0.1)
    # the orientations mod pi are uniform: each quarter of [0, pi) holds ~25 %
    angles = np.array([_orientation(x) for x in X])
    counts = np.histogram(angles, bins=4, range=(0, np.pi))[0]
    assert counts.min() > 0.15 * len(X), counts


def test_mnist_back_rand_fills_the_background_uniformly(stand_in_mnist):
    data = make_mnist_variations("back-rand", n_train=200, n_valid=50, n_test=50, random_state=0)
    X = data.X_train.reshape(-1, SIDE, SIDE)
    stroke = _bar(1)[0] == 1.0
    assert np.all(X[:, stroke] == 1.0)  # the white stroke stays white
    back = X[:, ~stroke].ravel()
    assert abs(back.mean() - 0.5) < 0.01 and abs(back.var() - 1 / 12) < 0.005
    assert np.histogram(back, bins=10, range=(0, 1))[0].min() > 0.08 * back.size


def test_mnist_back_image_uses_textured_natural_patches(stand_in_mnist):
    data = make_mnist_variations("back-image", n_train=100, n_valid=20, n_test=20,
                                 random_state=0)
    X = data.X_train.reshape(-1, SIDE, SIDE)
    stroke = _bar(1)[0] == 1.0
    assert np.all(X[:, stroke] == 1.0)
    back = X[:, ~stroke]
    assert np.all(back.std(axis=1) > 0.005)  # no flat background
    # backgrounds differ from image to image
    assert len({b.tobytes() for b in back}) == len(back)


def test_natural_patches_skip_low_texture():
    rng = np.random.default_rng(0)
    patches = _variations._patches(_variations._natural_images(), 500, rng)
    assert patches.shape == (500, SIDE, SIDE)
    assert patches.std(axis=(1, 2)).min() >= _variations._MIN_PATCH_STD


def test_mnist_variations_refuse_more_images_than_mnist_has(stand_in_mnist):
    with pytest.raises(ValueError, match="70 000"):
        make_mnist_variations("basic", n_train=60_000, n_valid=10_000, n_test=1)


def test_mnist_variations_refuse_unknown_variant():
    with pytest.raises(ValueError, match="variant"):
        make_mnist_variations("rotated")


def _real_home():
    env = os.environ.get("SKDAE_DATA") or str(
        Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist")
    paths, _ = _mnist._find_mnist_folder(_mnist.get_data_home(env))
    return env if paths is not None else None


def test_real_mnist_rot_back_image_default_split():
    home = _real_home()
    if home is None:
        pytest.skip("real MNIST not found (SKDAE_DATA or ../shared/data/mnist)")
    data = make_mnist_variations("rot-back-image", n_test=5_000, data_home=home,
                                 random_state=0)
    _assert_images(data, (10_000, 2_000, 5_000))
    assert sorted(np.unique(data.y_train)) == list(range(10))


# ---------------------------------------------------------------------------
# Rectangles
# ---------------------------------------------------------------------------


def _box(mask):
    r, c = np.nonzero(mask)
    return r.min(), r.max(), c.min(), c.max()


def test_rectangles_are_outlines_and_labels_say_tall():
    data = make_rectangles(n_train=300, n_valid=50, n_test=150, random_state=0)
    _assert_images(data, (300, 50, 150))
    X = np.concatenate([data.X_train, data.X_valid, data.X_test]).reshape(-1, SIDE, SIDE)
    y = np.concatenate([data.y_train, data.y_valid, data.y_test])
    assert set(np.unique(X)) == {0.0, 1.0}
    for img, label in zip(X, y):
        r0, r1, c0, c1 = _box(img == 1.0)
        h, w = r1 - r0 + 1, c1 - c0 + 1
        assert abs(h - w) >= 3
        assert label == (h > w)
        outline = np.zeros_like(img, dtype=bool)
        outline[r0:r1 + 1, [c0, c1]] = True
        outline[[r0, r1], c0:c1 + 1] = True
        np.testing.assert_array_equal(img == 1.0, outline)
    assert 0.4 < y.mean() < 0.6


def test_rectangles_image_shows_the_rectangle_by_texture():
    data = make_rectangles(image=True, n_train=200, n_valid=20, n_test=30, random_state=0)
    _assert_images(data, (200, 20, 30))
    assert 0.35 < data.y_train.mean() < 0.65
    assert np.all(data.X_train.reshape(-1, SIDE, SIDE).std(axis=(1, 2)) > 0.0)


def test_rectangles_default_sizes_and_determinism():
    a = make_rectangles(random_state=3, n_test=100)
    b = make_rectangles(random_state=3, n_test=100)
    _assert_images(a, (1_000, 200, 100))
    for u, v in zip(_split(a), _split(b)):
        np.testing.assert_array_equal(u, v)


# ---------------------------------------------------------------------------
# Convex sets
# ---------------------------------------------------------------------------


def _passes_pixel_pair_check(img, rng, n_pairs=2000):
    """Every pixel centre on a segment between two lit pixels is lit.

    For ``n_pairs`` random pairs of lit pixels p, q the lattice points of the
    segment are p + k (q - p) / g for k = 0..g, g = gcd of the coordinate
    differences (exact integer arithmetic).
    """
    lit = np.argwhere(img > 0)
    p, q = lit[rng.integers(len(lit), size=n_pairs)], lit[rng.integers(len(lit), size=n_pairs)]
    d = q - p
    g = np.maximum(np.gcd(np.abs(d[:, 0]), np.abs(d[:, 1])), 1)
    for k in range(SIDE):
        on = k <= g
        r, c = (p + d * k // g[:, None])[on].T
        if np.any(img[r, c] == 0):
            return False
    return True


def _hull_holds_an_unlit_pixel(img):
    """Independent of the generator's check: Delaunay of the lit centres."""
    lit = np.argwhere(img > 0).astype(float)
    grid = np.argwhere(np.ones_like(img, dtype=bool)).astype(float)
    inside = Delaunay(lit).find_simplex(grid, tol=1e-9) >= 0
    return bool(np.any(img.ravel()[inside] == 0))


def test_convex_shapes_are_convex_and_the_others_are_not():
    data = make_convex(n_train=40, n_valid=2, n_test=2, random_state=0)
    _assert_images(data, (40, 2, 2))
    rng = np.random.default_rng(0)
    X = data.X_train.reshape(-1, SIDE, SIDE)
    assert set(np.unique(X)) == {0.0, 1.0}
    for img, label in zip(X, data.y_train):
        if label == 1:
            assert img.sum() >= 19
            assert _passes_pixel_pair_check(img, rng)
            assert not _hull_holds_an_unlit_pixel(img)
        else:
            assert img.sum() >= 10
            assert _hull_holds_an_unlit_pixel(img)
    # the pair check can tell: it finds a dent in a shape with one
    dented = np.zeros((SIDE, SIDE))
    dented[5:15, 5:15] = 1.0
    dented[9, 5:12] = 0.0
    assert not _passes_pixel_pair_check(dented, rng)


def test_convex_classes_are_balanced_in_count_and_in_lit_pixels():
    data = make_convex(n_train=600, n_valid=50, n_test=51, random_state=1)
    for y, n in ((data.y_train, 600), (data.y_valid, 50), (data.y_test, 51)):
        assert y.sum() == n - n // 2
    lit = data.X_train.sum(axis=1)
    pos, neg = lit[data.y_train == 1], lit[data.y_train == 0]
    # same distribution of lit pixels: quantiles within two bins of each other
    q = [10, 25, 50, 75, 90]
    assert np.all(np.abs(np.percentile(pos, q) - np.percentile(neg, q)) <= 16)


def test_digital_convexity_check_on_known_shapes():
    square = np.zeros(SIDE * SIDE, dtype=bool).reshape(SIDE, SIDE)
    square[5:10, 5:10] = True
    assert _variations._is_digitally_convex(square.ravel())
    two = square.copy()
    two[20:22, 20:22] = True
    assert not _variations._is_digitally_convex(two.ravel())
    ell = square.copy()
    ell[5:7, 5:20] = True
    assert not _variations._is_digitally_convex(ell.ravel())
    line = np.zeros((SIDE, SIDE), dtype=bool)
    line[3, 2:9] = True
    assert _variations._is_digitally_convex(line.ravel())
    line[3, 5] = False
    assert not _variations._is_digitally_convex(line.ravel())


@settings(max_examples=15, deadline=None)
@given(
    n_train=st.integers(1, 12), n_valid=st.integers(1, 5), n_test=st.integers(1, 5),
    seed=st.integers(0, 2**31 - 1),
    problem=st.sampled_from(["rectangles", "rectangles-image", "convex"]),
)
def test_generators_honour_any_sizes_and_seed(n_train, n_valid, n_test, seed, problem):
    make = {
        "rectangles": make_rectangles,
        "rectangles-image": lambda **kw: make_rectangles(image=True, **kw),
        "convex": make_convex,
    }[problem]
    kwargs = dict(n_train=n_train, n_valid=n_valid, n_test=n_test, random_state=seed)
    data = make(**kwargs)
    _assert_images(data, (n_train, n_valid, n_test))
    assert set(np.unique(np.concatenate([data.y_train, data.y_valid, data.y_test]))) <= {0, 1}
    again = make(**kwargs)
    for a, b in zip(_split(data), _split(again)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [make_rectangles, make_convex])
def test_generators_refuse_bad_sizes(make):
    with pytest.raises(ValueError, match="n_train"):
        make(n_train=0)
