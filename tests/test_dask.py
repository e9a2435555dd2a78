"""Out-of-core and distributed use through dask, dask-ml and distributed."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
wrappers = pytest.importorskip("dask_ml.wrappers")
joblib = pytest.importorskip("joblib")

from skdae import DenoisingAutoencoder  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N_COMPONENTS = 6


@pytest.fixture(scope="module")
def client():
    """One in-process cluster for the module: threads, no worker processes."""
    with distributed.LocalCluster(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def data():
    X = np.random.RandomState(0).rand(1200, 20).astype(np.float32)
    return X, da.from_array(X, chunks=(300, 20))


def _dae(**params):
    return DenoisingAutoencoder(
        n_components=N_COMPONENTS, batch_size=50, random_state=0, **params
    )


def test_incremental_trains_block_by_block(client, data):
    X, dX = data
    inc = wrappers.Incremental(_dae(), shuffle_blocks=False).fit(dX)
    ref = _dae()
    for start in range(0, X.shape[0], 300):
        ref.partial_fit(X[start:start + 300])
    est = inc.estimator_
    assert (est.n_iter_, est.t_) == (4, X.shape[0])
    assert_array_equal(est.components_, ref.components_)
    assert_array_equal(est.intercept_hidden_, ref.intercept_hidden_)
    # The estimator's own score (mean negative reconstruction loss) serves as
    # Incremental's scoring.
    assert inc.score(dX, None) == pytest.approx(ref.score(X), rel=1e-12)


def test_incremental_partial_fit_continues(client, data):
    _, dX = data
    inc = wrappers.Incremental(_dae(), random_state=0)
    inc.partial_fit(dX)
    inc.partial_fit(dX)
    assert inc.estimator_.n_iter_ == 8
    assert inc.estimator_.t_ == 2 * dX.shape[0]


def test_parallel_post_fit_transform_values(client, data):
    X, dX = data
    pp = wrappers.ParallelPostFit(_dae(max_iter=2)).fit(X)
    H = pp.transform(dX)
    assert isinstance(H, da.Array)
    assert_array_equal(H.compute(), pp.estimator.transform(X))


@pytest.mark.xfail(
    strict=True,
    reason="dask-ml's ParallelPostFit.transform maps blocks without output "
    "chunks, so a lazy result claims the input's width (n_features, not "
    "n_components); docs/scaling.rst gives the map_blocks recipe. When this "
    "starts passing, dask-ml has fixed it: drop the recipe's caveat.",
)
def test_parallel_post_fit_lazy_shape(client, data):
    X, dX = data
    pp = wrappers.ParallelPostFit(_dae(max_iter=2)).fit(X)
    assert pp.transform(dX).shape == (X.shape[0], N_COMPONENTS)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_map_blocks_recipe_gives_correct_chunks(client, dtype):
    """The recipe of docs/scaling.rst: explicit output chunks and dtype."""
    X = np.random.RandomState(1).rand(1000, 20).astype(dtype)
    dX = da.from_array(X, chunks=(250, 20))
    dae = _dae(max_iter=2).fit(X)
    out_dtype = dae.components_.dtype
    H = dX.map_blocks(
        dae.transform,
        chunks=(dX.chunks[0], (dae.n_components,)),
        dtype=out_dtype,
        meta=np.empty((0, dae.n_components), dtype=out_dtype),
    )
    assert H.shape == (1000, N_COMPONENTS)
    assert H.chunks == ((250, 250, 250, 250), (N_COMPONENTS,))
    assert H.dtype == dtype
    result = H.compute()
    assert result.dtype == dtype
    assert_array_equal(result, dae.transform(X))
    # Also from the estimator inside a fitted ParallelPostFit / Incremental.
    pp = wrappers.ParallelPostFit(_dae(max_iter=2)).fit(X)
    H2 = dX.map_blocks(pp.estimator.transform, chunks=(dX.chunks[0], (N_COMPONENTS,)),
                       dtype=out_dtype)
    assert H2.compute().shape == (1000, N_COMPONENTS)


def test_grid_search_on_dask_backend_matches_local(client):
    X, y = load_digits(return_X_y=True)
    X, y = (X / 16.0).astype(np.float32)[:450], y[:450]
    pipe = make_pipeline(
        DenoisingAutoencoder(n_components=8, loss="cross_entropy", max_iter=3,
                             random_state=0),
        LogisticRegression(max_iter=200),
    )
    grid = {
        "denoisingautoencoder__n_components": [8, 12],
        "denoisingautoencoder__corruption_level": [0.1, 0.3],
    }
    local = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X, y)
    with joblib.parallel_backend("dask"):
        remote = GridSearchCV(pipe, grid, cv=3, n_jobs=-1).fit(X, y)
    assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"],
        rtol=0, atol=1e-12,
    )
    assert remote.best_params_ == local.best_params_
    # The refitted pipeline survives a pickle round trip unchanged.
    best = pickle.loads(pickle.dumps(remote.best_estimator_))
    assert_array_equal(best.predict_proba(X), remote.best_estimator_.predict_proba(X))
    assert_array_equal(best[0].transform(X), local.best_estimator_[0].transform(X))
