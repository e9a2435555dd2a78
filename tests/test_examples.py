"""Run the gallery examples (``examples/*.py``) and check what they compute.

Every example runs once (``runpy.run_path``) with ``SKDAE_EXAMPLES_QUICK=1``
in the environment; the grid-search examples read it and shrink their grids
and epochs so that the whole module runs in well under 30 s (CPU). Examples
that plot need matplotlib (skipped without it) and run with the
non-interactive Agg backend. The BLAS/OpenMP pools are limited to one thread:
the fits are tiny, and on a busy machine multi-threaded BLAS on such small
products is many times slower than a single thread.
"""

import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py")) if EXAMPLES_DIR.is_dir() else []

pytestmark = pytest.mark.skipif(not EXAMPLES, reason="examples/ folder not found")


_RUNS = {}


def run_example(name, monkeypatch, capsys):
    """Run ``examples/<name>`` once per session; return (namespace, stdout)."""
    if name not in _RUNS:
        monkeypatch.setenv("SKDAE_EXAMPLES_QUICK", "1")
        path = str(EXAMPLES_DIR / name)
        uses_matplotlib = "matplotlib" in Path(path).read_text()
        if uses_matplotlib:
            matplotlib = pytest.importorskip("matplotlib")
            matplotlib.use("Agg", force=True)
            import matplotlib.pyplot as plt

            monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
        capsys.readouterr()
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - threadpoolctl ships with sklearn
            namespace = runpy.run_path(path, run_name="__main__")
        else:
            with threadpool_limits(1):
                namespace = runpy.run_path(path, run_name="__main__")
        if uses_matplotlib:
            plt.close("all")
        _RUNS[name] = namespace, capsys.readouterr().out
    return _RUNS[name]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_and_is_a_gallery_script(path, monkeypatch, capsys):
    """Every example runs and is a sphinx-gallery script (reST title, cells)."""
    source = path.read_text()
    doc = source.split('"""')[1].strip().splitlines()
    assert len(doc) >= 2 and set(doc[1]) == {"="} and len(doc[1]) >= len(doc[0])
    assert "# %%" in source
    run_example(path.name, monkeypatch, capsys)


@pytest.mark.parametrize(
    "name", ["plot_grid_search_pipeline.py", "plot_grid_search_unsupervised.py"]
)
def test_grid_search_examples_honour_quick(name, monkeypatch, capsys):
    ns, out = run_example(name, monkeypatch, capsys)
    assert ns["QUICK"] is True and ns["max_iter"] == 10
    assert out.strip()


def test_grid_search_pipeline(monkeypatch, capsys):
    ns, out = run_example("plot_grid_search_pipeline.py", monkeypatch, capsys)
    search = ns["search"]
    grid = ns["param_grid"]
    n_candidates = np.prod([len(v) for v in grid.values()])
    assert len(search.cv_results_["params"]) == n_candidates
    # the search picked one of the candidates, and the pipeline classifies
    # the digits well from the autoencoder's codes alone
    assert ns["best_params"] in search.cv_results_["params"]
    assert ns["best_score"] == pytest.approx(search.cv_results_["mean_test_score"].max())
    assert ns["best_score"] >= 0.9
    assert ns["test_accuracy"] >= 0.9
    dae = search.best_estimator_.named_steps["dae"]
    assert dae.n_components == ns["best_params"]["dae__n_components"]
    assert dae.n_iter_ == ns["max_iter"]
    assert "best parameters" in out and "best cross-validated accuracy" in out


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_grid_search_unsupervised(monkeypatch, capsys):
    ns, out = run_example("plot_grid_search_unsupervised.py", monkeypatch, capsys)
    search, scores = ns["search"], ns["scores"]
    grid = ns["param_grid"]
    assert scores.shape == (len(grid["n_components"]), len(grid["corruption_level"]))
    # the score is a negative mean cross-entropy: finite and below zero
    assert np.isfinite(scores).all() and (scores < 0).all()
    assert ns["best_score"] == pytest.approx(scores.max())
    # with no corruption, more hidden units reconstruct held-out digits better
    assert scores[-1, 0] > scores[0, 0]

    # the score GridSearchCV used is minus the clean reconstruction
    # cross-entropy, recomputed here from the fitted parameters
    X = ns["X"]
    best = search.best_estimator_
    W = best.components_.astype(np.float64)
    H = _sigmoid(X @ W.T + best.intercept_hidden_)
    X_hat = np.clip(_sigmoid(H @ W + best.intercept_visible_), 1e-12, 1 - 1e-12)
    ce = -(X * np.log(X_hat) + (1 - X) * np.log(1 - X_hat)).sum(axis=1)
    assert best.score(X) == pytest.approx(-ce.mean(), rel=1e-4)
    assert "mean_test_score" in out and "best parameters" in out


def _gabor(shape, width, period, angle, centre):
    """A Gabor function: a cosine grating under a Gaussian envelope."""
    y, x = np.indices(shape, dtype=float)
    dy, dx = y - centre[0], x - centre[1]
    grating = np.cos(2 * np.pi * (dx * np.cos(angle) + dy * np.sin(angle)) / period)
    return np.exp(-(dx**2 + dy**2) / (2 * width**2)) * grating


def test_natural_image_filters_locality_score(monkeypatch, capsys):
    ns, _ = run_example("plot_natural_image_filters.py", monkeypatch, capsys)
    locality, shape = ns["locality"], ns["patch_size"]
    n_pixels = shape[0] * shape[1]
    # one non-zero pixel: all of the weight is in the window, even at a corner
    corner = np.zeros((49, n_pixels))
    corner[:, 0] = 1.0
    assert locality(corner) == 1.0
    # the same weight everywhere: the window holds 36 of the 144 pixels
    assert locality(np.ones((49, n_pixels))) == pytest.approx(0.25)
    # Gabor functions of width 2 pixels, anywhere in the patch, score about 0.8
    rng = np.random.RandomState(0)
    angles, centres = rng.uniform(0, np.pi, 49), rng.uniform(3, 9, size=(49, 2))
    gabors = [_gabor(shape, 2.0, 5.0, a, c).ravel() for a, c in zip(angles, centres)]
    assert 0.75 < locality(np.array(gabors)) < 0.95
    # the score is the median over the 49 strongest filters: weak filters do
    # not count, however spread out they are
    spread = 1e-3 * rng.uniform(-1, 1, size=(100, n_pixels))
    assert locality(np.vstack([corner, spread])) == 1.0


def test_natural_image_filters_denoising_is_more_local(monkeypatch, capsys):
    ns, out = run_example("plot_natural_image_filters.py", monkeypatch, capsys)
    X, models, scores = ns["X"], ns["models"], ns["scores"]
    assert X.dtype == np.float32 and X.shape[1] == 144
    assert np.allclose(X.mean(axis=1), 0, atol=1e-5)
    regular, denoising = models.values()
    # the two autoencoders differ in the noise only
    params = regular.get_params()
    assert params["corruption"] is None
    noise = {"corruption": "gaussian", "corruption_level": 0.5}
    assert denoising.get_params() == {**params, **noise}
    for model in models.values():
        assert model.components_.dtype == np.float32
        assert model.n_iter_ == model.max_iter
    # even the quick run (a tenth of the patches) shows the contrast
    assert scores["denoising autoencoder"] > scores["regular autoencoder"] + 0.05
    assert scores["regular autoencoder"] < 0.35
    # the figure's titles carry the printed scores
    titles = [ax.get_title() for ax in ns["axes"]]
    for title, name in zip(titles, ["regular autoencoder", "denoising autoencoder"]):
        assert title.startswith(name) and f"{scores[name]:.2f}" in title
        assert f"{name:24s} median locality {scores[name]:.2f}" in out
