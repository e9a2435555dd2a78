"""Filter, reconstruction and loss-curve displays: what they draw."""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sparse
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError

from skdae import DenoisingAutoencoder
from skdae.plotting import FilterDisplay, LossCurveDisplay, ReconstructionDisplay

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def pyplot():
    """matplotlib.pyplot on the Agg backend; closes the figures afterwards."""
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    return load_digits().data / 16.0


@pytest.fixture(scope="module")
def dae(digits):
    return DenoisingAutoencoder(
        n_components=20, loss="cross_entropy", corruption_level=0.5, max_iter=3,
        random_state=0,
    ).fit(digits)


def tiles(image, n_images, n_cols, shape, padding=1):
    """Cut the tiled image array back into its images (the inverse of the tiling)."""
    height, width = shape
    out = []
    for i in range(n_images):
        r, c = divmod(i, n_cols)
        y, x = r * (height + padding), c * (width + padding)
        out.append(np.ma.getdata(image[y : y + height, x : x + width]))
    return np.array(out)


def test_filter_display_tiles_the_components_on_a_symmetric_scale(pyplot, dae):
    display = FilterDisplay.from_estimator(dae, n_filters=14, n_cols=5)
    image = display.im_.get_array()
    assert image.shape == (3 * 9 - 1, 5 * 9 - 1)
    assert_allclose(tiles(image, 14, 5, (8, 8)), dae.components_[:14].reshape(14, 8, 8))
    # The padding between tiles and the unused last cell are masked.
    mask = np.ma.getmaskarray(image)
    assert mask[8, :].all() and mask[:, 8].all()
    assert mask[18:, 4 * 9 :].all()
    assert mask.sum() == image.size - 14 * 64
    m = np.abs(dae.components_[:14]).max()
    assert display.im_.get_clim() == pytest.approx((-m, m))
    assert display.ax_.figure is display.figure_
    assert display.colorbar_ is None


def test_filter_display_per_filter_scale(pyplot, dae):
    display = FilterDisplay.from_estimator(dae, n_filters=4, scale="per_filter")
    images = tiles(display.im_.get_array(), 4, 2, (8, 8))
    W = dae.components_[:4]
    assert_allclose(images, (W / np.abs(W).max(axis=1, keepdims=True)).reshape(4, 8, 8))
    assert display.im_.get_clim() == pytest.approx((-1.0, 1.0))
    with pytest.raises(ValueError, match="scale"):
        FilterDisplay(W).plot(scale="max")


def test_filter_display_defaults_to_a_square_grid_of_the_first_100(pyplot, digits):
    dae = DenoisingAutoencoder(n_components=120, max_iter=1, random_state=0).fit(digits)
    display = FilterDisplay.from_estimator(dae, colorbar=True)
    assert display.im_.get_array().shape == (10 * 9 - 1, 10 * 9 - 1)
    assert display.colorbar_ is not None
    display = FilterDisplay.from_estimator(dae, n_filters=None)
    assert display.im_.get_array().shape == (11 * 9 - 1, 11 * 9 - 1)


def test_filter_display_image_shape(pyplot):
    W = np.arange(3 * 12, dtype=float).reshape(3, 12) - 18
    with pytest.raises(ValueError, match="square"):
        FilterDisplay(W).plot()
    with pytest.raises(ValueError, match="does not match"):
        FilterDisplay(W, image_shape=(5, 3)).plot()
    display = FilterDisplay(W, image_shape=(3, 4)).plot(n_cols=1, padding=2)
    image = display.im_.get_array()
    assert image.shape == (3 * 5 - 2, 4)
    assert_allclose(tiles(image, 3, 1, (3, 4), padding=2), W.reshape(3, 3, 4))


def test_filter_display_takes_any_object_with_components(pyplot, digits):
    pca = PCA(n_components=9).fit(digits)
    display = FilterDisplay.from_estimator(pca)
    assert_allclose(tiles(display.im_.get_array(), 9, 3, (8, 8)),
                    pca.components_.reshape(9, 8, 8))
    layer = SimpleNamespace(components_=np.eye(4))
    assert FilterDisplay.from_estimator(layer).im_.get_array().shape == (5, 5)
    with pytest.raises(TypeError, match="components_"):
        FilterDisplay.from_estimator(SimpleNamespace(coef_=np.eye(4)))
    with pytest.raises(NotFittedError):
        FilterDisplay.from_estimator(DenoisingAutoencoder())


def test_displays_draw_on_the_given_axes(pyplot, dae, digits):
    fig, axes = pyplot.subplots(1, 3)
    displays = [
        FilterDisplay.from_estimator(dae, ax=axes[0]),
        ReconstructionDisplay.from_estimator(dae, digits, ax=axes[1]),
        LossCurveDisplay.from_estimator(dae, ax=axes[2]),
    ]
    for display, ax in zip(displays, axes):
        assert display.ax_ is ax
        assert display.figure_ is fig
    assert len(fig.axes) == 3
    fig.canvas.draw()  # renders with Agg


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_reconstruction_display_rows(pyplot, digits, dtype):
    X = digits.astype(dtype)
    dae = DenoisingAutoencoder(
        n_components=16, loss="cross_entropy", corruption_level=0.5, max_iter=2,
        random_state=0,
    ).fit(X)
    display = ReconstructionDisplay.from_estimator(dae, X, n_examples=6, random_state=3)
    clean = np.ascontiguousarray(X[:6])
    corrupted = dae._corrupt(clean, random_state=3)
    reconstructed = dae.inverse_transform(dae.transform(corrupted))
    assert (corrupted == 0).sum() > (clean == 0).sum()  # the noise did something

    image = display.im_.get_array()
    assert image.shape == (3 * 9 - 1, 6 * 9 - 1)
    rows = tiles(image, 18, 6, (8, 8))
    assert_allclose(rows[:6], clean.reshape(6, 8, 8))
    assert_array_equal(rows[6:12], corrupted.reshape(6, 8, 8))
    assert_allclose(rows[12:], reconstructed.reshape(6, 8, 8), rtol=1e-6)
    assert display.corrupted.dtype == dtype
    assert display.im_.get_clim() == pytest.approx((clean.min(), clean.max()))
    labels = [t.get_text() for t in display.ax_.get_yticklabels()]
    assert labels == ["clean", "corrupted", "reconstructed"]


def test_reconstruction_display_seed(pyplot, dae, digits):
    def corrupted(seed):
        return ReconstructionDisplay.from_estimator(dae, digits, random_state=seed).corrupted

    assert_array_equal(corrupted(0), corrupted(0))
    assert not np.array_equal(corrupted(0), corrupted(1))


def test_reconstruction_display_without_corruption(pyplot, digits):
    pca = PCA(n_components=10).fit(digits)
    display = ReconstructionDisplay.from_estimator(pca, digits, n_examples=4, corrupt=False)
    assert display.corrupted is None
    rows = tiles(display.im_.get_array(), 8, 4, (8, 8))
    assert_allclose(rows[4:], pca.inverse_transform(pca.transform(digits[:4])).reshape(4, 8, 8))
    assert [t.get_text() for t in display.ax_.get_yticklabels()] == ["clean", "reconstructed"]
    with pytest.raises(TypeError, match="corrupt=False"):
        ReconstructionDisplay.from_estimator(pca, digits)


def test_reconstruction_display_accepts_sparse_X(pyplot, dae, digits):
    dense = ReconstructionDisplay.from_estimator(dae, digits, random_state=0)
    from_csr = ReconstructionDisplay.from_estimator(
        dae, sparse.csr_matrix(digits), random_state=0
    )
    assert_array_equal(from_csr.corrupted, dense.corrupted)
    assert_allclose(from_csr.reconstructed, dense.reconstructed)


def test_reconstruction_display_validates_X(pyplot, dae, digits):
    with pytest.raises(ValueError, match="features"):
        ReconstructionDisplay.from_estimator(dae, digits[:, :10])
    with pytest.raises(ValueError, match="shape"):
        ReconstructionDisplay(digits[:3], digits[:2], digits[:3]).plot()


@pytest.mark.parametrize("early_stopping", [False, True])
def test_loss_curve_display(pyplot, digits, early_stopping):
    dae = DenoisingAutoencoder(
        n_components=16, max_iter=4, early_stopping=early_stopping, random_state=0
    ).fit(digits)
    display = LossCurveDisplay.from_estimator(dae)
    assert_array_equal(display.line_.get_xdata(), np.arange(1, dae.n_iter_ + 1))
    assert_allclose(display.line_.get_ydata(), dae.loss_curve_)
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    if early_stopping:
        # Validation scores are negative losses: drawn negated, as a loss.
        assert_allclose(display.validation_line_.get_ydata(), -np.array(dae.validation_scores_))
        assert legend == ["training loss", "validation loss"]
    else:
        assert display.validation_line_ is None
        assert legend == ["training loss"]
    assert display.ax_.get_xlabel() == "epoch"
    assert display.ax_.get_ylabel() == "loss (squared_error)"
    assert LossCurveDisplay.from_estimator(dae, log_scale=True).ax_.get_yscale() == "log"
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(DenoisingAutoencoder())


def test_missing_matplotlib_names_the_plot_extra(monkeypatch, dae, digits):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    calls = [
        lambda: FilterDisplay.from_estimator(dae),
        lambda: FilterDisplay(dae.components_).plot(),
        lambda: ReconstructionDisplay.from_estimator(dae, digits),
        lambda: ReconstructionDisplay(digits[:2], None, digits[:2]).plot(),
        lambda: LossCurveDisplay.from_estimator(dae),
        lambda: LossCurveDisplay([1.0]).plot(),
    ]
    for call in calls:
        with pytest.raises(ImportError, match=r"requires matplotlib.*pip install skdae\[plot\]"):
            call()


def test_plotting_module_imports_without_matplotlib(tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None; "
        "import skdae.plotting; print(sorted(skdae.plotting.__all__))"
    )
    # run outside the source tree: `python -c` puts the working directory first
    # on sys.path, and a checkout that is not built in place has no engine
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout
    assert out.strip() == "['FilterDisplay', 'LossCurveDisplay', 'ReconstructionDisplay']"
