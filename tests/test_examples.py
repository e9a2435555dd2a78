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
