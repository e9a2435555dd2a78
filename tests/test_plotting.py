"""Filter, reconstruction and loss-curve displays: what they draw."""

import io
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdae import DenoisingAutoencoder, SdAClassifier, StackedDenoisingAutoencoder
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


@pytest.fixture(scope="module")
def sda(digits):
    return StackedDenoisingAutoencoder(
        hidden_layer_sizes=(16, 9), loss="cross_entropy", corruption_levels=(0.4, 0.2),
        max_iter=3, random_state=0,
    ).fit(digits)


@pytest.fixture(scope="module")
def clf(digits):
    y = load_digits().target
    return SdAClassifier(
        hidden_layer_sizes=(16, 9), corruption_levels=0.2, pretrain_max_iter=2,
        early_stopping=True, max_iter=6, random_state=0,
    ).fit(digits, y)


@pytest.fixture(scope="module")
def fitted(digits, dae, sda, clf):
    """The fitted estimators by name, and each at the end of a fitted Pipeline."""
    y = load_digits().target
    out = {"dae": dae, "sda": sda, "clf": clf}
    for name, est in list(out.items()):
        out[f"pipeline->{name}"] = make_pipeline(MinMaxScaler(), est).fit(digits, y)
    return out


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
    # (run outside the source tree, so that the installed package is imported)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout
    assert out.strip() == "['FilterDisplay', 'LossCurveDisplay', 'ReconstructionDisplay']"


# ---------------------------------------------------------------------------
# Every display on every estimator: autoencoder, stack, classifier, pipelines
# ---------------------------------------------------------------------------

KINDS = ["dae", "sda", "clf"]
WHERE = ["alone", "in_pipeline"]


def _pick(fitted, kind, where):
    """(what to pass to the display, the estimator it should read, the steps before it)."""
    if where == "alone":
        return fitted[kind], fitted[kind], None
    pipe = fitted[f"pipeline->{kind}"]
    return pipe, pipe[-1], pipe[0]


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("kind", KINDS)
def test_filter_display_reads_the_first_layer_of_every_estimator(pyplot, fitted, kind, where):
    passed, est, _ = _pick(fitted, kind, where)
    expected = {
        "dae": lambda: est.components_,
        "sda": lambda: est.autoencoders_[0].components_,
        "clf": lambda: est.coefs_[0].T,  # the fine-tuned first layer
    }[kind]()
    display = FilterDisplay.from_estimator(passed, n_filters=9)
    assert_allclose(tiles(display.im_.get_array(), 9, 3, (8, 8)), expected[:9].reshape(9, 8, 8))


@pytest.mark.parametrize("where", WHERE)
def test_filter_display_layer_picks_a_layer_of_a_stack_or_network(pyplot, fitted, where):
    sda, clf = (fitted["sda"], fitted["clf"]) if where == "alone" else (
        fitted["pipeline->sda"], fitted["pipeline->clf"])
    display = FilterDisplay.from_estimator(sda, layer=1)  # 9 filters over 16 codes
    assert_allclose(tiles(display.im_.get_array(), 9, 3, (4, 4)),
                    fitted["sda"].autoencoders_[1].components_.reshape(9, 4, 4))
    display = FilterDisplay.from_estimator(clf, layer=-1, image_shape=(3, 3))
    assert_allclose(tiles(display.im_.get_array(), 10, 4, (3, 3)),
                    fitted["clf"].coefs_[-1].T.reshape(10, 3, 3))
    with pytest.raises(ValueError, match=r"layer=2 is out of range: Stacked\w+\.autoencoders_ "
                       r"holds 2 layers, so layer takes an index from -2 to 1"):
        FilterDisplay.from_estimator(sda, layer=2)
    with pytest.raises(ValueError, match=r"SdAClassifier\.coefs_ holds 3 layers"):
        FilterDisplay.from_estimator(clf, layer=3)


def test_filter_display_layer_of_a_single_autoencoder_is_0(pyplot, dae):
    assert_array_equal(FilterDisplay.from_estimator(dae, layer=-1).im_.get_array(),
                       FilterDisplay.from_estimator(dae).im_.get_array())
    with pytest.raises(ValueError, match="DenoisingAutoencoder holds 1 layer, so layer takes"):
        FilterDisplay.from_estimator(dae, layer=1)


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("kind", ["dae", "sda"])
def test_reconstruction_display_reads_autoencoders_and_stacks(
    pyplot, fitted, digits, kind, where
):
    passed, est, scaler = _pick(fitted, kind, where)
    display = ReconstructionDisplay.from_estimator(passed, digits, n_examples=5, random_state=0)
    # The images are what the autoencoder (the pipeline's last step) reads.
    clean = digits[:5] if scaler is None else scaler.transform(digits[:5])
    noisy = est.autoencoders_[0] if kind == "sda" else est  # a stack's data meets layer 0
    corrupted = noisy._corrupt(np.ascontiguousarray(clean), random_state=0)
    rows = tiles(display.im_.get_array(), 15, 5, (8, 8))
    assert_allclose(rows[:5], clean.reshape(5, 8, 8))
    assert_array_equal(rows[5:10], corrupted.reshape(5, 8, 8))
    assert_allclose(rows[10:], est.inverse_transform(est.transform(corrupted)).reshape(5, 8, 8),
                    rtol=1e-6)


@pytest.mark.parametrize("where", WHERE)
def test_reconstruction_display_sends_a_classifier_to_its_pretrained_layers(
    pyplot, fitted, digits, where
):
    passed, clf, _ = _pick(fitted, "clf", where)
    with pytest.raises(TypeError, match=r"SdAClassifier has no inverse_transform.*"
                       r"pass SdAClassifier\.autoencoders_\[0\]"):
        ReconstructionDisplay.from_estimator(passed, digits)
    display = ReconstructionDisplay.from_estimator(clf.autoencoders_[0], digits)
    assert display.reconstructed.shape == (8, 64)


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("kind, layer, curve", [
    ("dae", None, lambda est: est),
    ("dae", 0, lambda est: est),
    ("sda", None, lambda est: est.autoencoders_[0]),  # a stack has no curve of its own
    ("sda", 1, lambda est: est.autoencoders_[1]),
    ("clf", None, lambda est: est),  # the fine-tuning
    ("clf", -1, lambda est: est.autoencoders_[-1]),  # a pretraining layer
])
def test_loss_curve_display_reads_every_estimator(pyplot, fitted, kind, layer, curve, where):
    passed, est, _ = _pick(fitted, kind, where)
    display = LossCurveDisplay.from_estimator(passed, layer=layer)
    assert_allclose(display.line_.get_ydata(), curve(est).loss_curve_)
    with pytest.raises(ValueError, match="layer=5 is out of range"):
        LossCurveDisplay.from_estimator(passed, layer=5)


def test_displays_on_an_unfitted_pipeline_say_it_is_not_fitted(pyplot, digits):
    pipe = make_pipeline(MinMaxScaler(), DenoisingAutoencoder())
    for call in [lambda: FilterDisplay.from_estimator(pipe),
                 lambda: ReconstructionDisplay.from_estimator(pipe, digits),
                 lambda: LossCurveDisplay.from_estimator(pipe)]:
        with pytest.raises(NotFittedError, match="Pipeline"):
            call()


# ---------------------------------------------------------------------------
# A classifier's validation score is an accuracy, not a loss
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("log_scale", [False, True])
def test_classifier_validation_accuracy_is_drawn_as_accuracy_on_its_own_axis(
    pyplot, clf, log_scale
):
    display = LossCurveDisplay.from_estimator(clf, log_scale=log_scale)
    assert_allclose(display.line_.get_ydata(), clf.loss_curve_)
    # Drawn as it is (not negated), on a second y axis labelled as accuracy.
    assert display.validation_line_.axes is display.validation_ax_
    assert_allclose(display.validation_line_.get_ydata(), clf.validation_scores_)
    assert display.validation_ax_.get_ylabel() == "validation accuracy"
    assert display.validation_ax_.get_yscale() == "linear"
    assert display.ax_.get_ylabel() == "loss (log_loss)"
    assert display.ax_.get_yscale() == ("log" if log_scale else "linear")
    assert display.validation_line_.get_color() != display.line_.get_color()
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["training loss", "validation accuracy"]


def test_regressor_validation_score_is_drawn_as_r2(pyplot, digits):
    mlp = MLPRegressor(hidden_layer_sizes=(8,), early_stopping=True, max_iter=5, random_state=0)
    mlp.fit(digits, load_digits().target)
    display = LossCurveDisplay.from_estimator(mlp)
    assert_allclose(display.validation_line_.get_ydata(), mlp.validation_scores_)
    assert display.validation_ax_.get_ylabel() == "validation R2"
    assert display.ax_.get_ylabel() == "loss (squared_error)"


def test_loss_curve_display_score_name(pyplot):
    plain = LossCurveDisplay([2.0, 1.0], validation_scores=[-1.5, -1.2]).plot()
    assert plain.validation_ax_ is None
    assert plain.validation_line_.axes is plain.ax_
    named = LossCurveDisplay([2.0, 1.0], validation_scores=[0.5, 0.7], score_name="F1").plot()
    assert_allclose(named.validation_line_.get_ydata(), [0.5, 0.7])
    assert named.validation_ax_.get_ylabel() == "validation F1"


# ---------------------------------------------------------------------------
# A plain savefig keeps every label
# ---------------------------------------------------------------------------


def _drawn_tick_labels(axis):
    """The tick labels an axis draws: those of its ticks inside the view limits."""
    lo, hi = sorted(axis.get_view_interval())
    slack = 1e-9 * (hi - lo)
    out = []
    for locs, labels in [(axis.get_majorticklocs(), axis.get_majorticklabels()),
                         (axis.get_minorticklocs(), axis.get_minorticklabels())]:
        out += [label for loc, label in zip(locs, labels) if lo - slack <= loc <= hi + slack]
    return out


def _inside(bbox, figure_bbox):
    return (bbox.x0 >= figure_bbox.x0 and bbox.y0 >= figure_bbox.y0
            and bbox.x1 <= figure_bbox.x1 and bbox.y1 <= figure_bbox.y1)


@pytest.mark.parametrize("make", [
    lambda est, X: ReconstructionDisplay.from_estimator(est["dae"], X, random_state=0),
    lambda est, X: ReconstructionDisplay.from_estimator(est["dae"], X, n_examples=2),
    lambda est, X: LossCurveDisplay.from_estimator(est["dae"], log_scale=True),
    lambda est, X: LossCurveDisplay.from_estimator(est["clf"], log_scale=True),
    lambda est, X: FilterDisplay.from_estimator(est["dae"], colorbar=True),
], ids=["reconstruction", "reconstruction-2", "loss-log", "classifier-loss-log", "filters"])
def test_plain_savefig_keeps_every_label_inside_the_figure(pyplot, fitted, digits, make):
    fig = make(fitted, digits).figure_
    fig.savefig(io.BytesIO(), format="png")  # a plain savefig: no bbox_inches="tight"
    renderer = fig.canvas.get_renderer()
    texts = []
    for ax in fig.axes:
        texts += [ax.xaxis.label, ax.yaxis.label]
        texts += _drawn_tick_labels(ax.xaxis) + _drawn_tick_labels(ax.yaxis)
        legend = ax.get_legend()
        texts += legend.get_texts() if legend is not None else []
    texts = [t for t in texts if t.get_visible() and t.get_text()]
    assert texts
    for text in texts:
        assert _inside(text.get_window_extent(renderer), fig.bbox), (
            f"{text.get_text()!r} is cut off")
    for ax in fig.axes:
        assert _inside(ax.get_tightbbox(renderer), fig.bbox)
