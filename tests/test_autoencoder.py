"""Tests of DenoisingAutoencoder: the math, the engine and the estimator API."""

import functools
import io
import pickle
import re
import warnings
from contextlib import redirect_stdout

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import ThreadpoolController, threadpool_limits

from skdae import DenoisingAutoencoder
from skdae._autoencoder_fast import _encode_dense

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda h: h * (1 - h)),
    "tanh": (np.tanh, lambda h: 1 - h**2),
    "relu": (lambda a: np.maximum(a, 0), lambda h: (h > 0).astype(h.dtype)),
}

# s''(A) through h = s(A), for the contractive penalty's gradient
SECOND_DERIVATIVES = {
    "sigmoid": lambda h: h * (1 - h) * (1 - 2 * h),
    "tanh": lambda h: -2 * h * (1 - h**2),
    "relu": lambda h: np.zeros_like(h),
}

# (loss, output activation): every supported combination.
LOSS_OUTPUTS = [
    ("squared_error", "identity"),
    ("squared_error", "sigmoid"),
    ("cross_entropy", "sigmoid"),
]


def _numpy_row_loss(X, Z, loss, output):
    if loss == "cross_entropy":
        P = _sigmoid(Z)
        return -(X * np.log(P) + (1 - X) * np.log(1 - P)).sum(axis=1)
    Xhat = _sigmoid(Z) if output == "sigmoid" else Z
    return 0.5 * ((Xhat - X) ** 2).sum(axis=1)


def _numpy_terms(X, Z, loss, output):
    """The loss of each value and its derivative with respect to ``Z``."""
    if loss == "cross_entropy":
        P = _sigmoid(Z)
        return -(X * np.log(P) + (1 - X) * np.log(1 - P)), P - X
    if output == "sigmoid":
        P = _sigmoid(Z)
        return 0.5 * (P - X) ** 2, (P - X) * P * (1 - P)
    return 0.5 * (Z - X) ** 2, Z - X


def _numpy_epoch(X, W, V, b, c, *, activation, loss, output, batch_size, lr,
                 alpha=0.0, contraction=0.0, solver="sgd", beta1=0.9, beta2=0.999,
                 eps=1e-8, Xt=None, weights=None):
    """Reference: one epoch of the engine's math, shuffle off.

    ``V`` is None when tied. ``Xt`` are the corrupted rows the encoder sees
    (default: ``X``, no corruption) and ``weights`` the emphasis weight of
    each value in the loss (default: 1). Returns the updated parameters and
    the summed loss.
    """
    Xt = X if Xt is None else Xt
    weights = np.ones_like(X) if weights is None else weights
    act, dact = ACTIVATIONS[activation]
    tied = V is None
    params = {"W": W.copy(), "b": b.copy(), "c": c.copy()}
    if not tied:
        params["V"] = V.copy()
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v2 = {k: np.zeros_like(v) for k, v in params.items()}
    t = 0
    total = 0.0
    for start in range(0, X.shape[0], batch_size):
        Xb = X[start:start + batch_size]
        Xi = Xt[start:start + batch_size]
        Wb = weights[start:start + batch_size]
        B = Xb.shape[0]
        Wc = params["W"]
        Vd = Wc if tied else params["V"]
        H = act(Xi @ Wc.T + params["b"])
        Z = H @ Vd + params["c"]
        terms, G = _numpy_terms(Xb, Z, loss, output)
        total += (Wb * terms).sum()
        a = dact(H)
        w2 = (Wc**2).sum(axis=1)
        total += contraction * ((a**2) @ w2).sum()
        G = Wb * G / B
        GA = (G @ Vd.T) * a
        # contractive penalty contraction/B * sum_r sum_j a_rj**2 w2_j
        GA += 2 * contraction / B * a * SECOND_DERIVATIVES[activation](H) * w2
        q = 2 * contraction / B * (a**2).sum(axis=0)
        grads = {"b": GA.sum(0), "c": G.sum(0)}
        if tied:
            grads["W"] = GA.T @ Xi + H.T @ G + alpha * Wc + q[:, None] * Wc
        else:
            grads["W"] = GA.T @ Xi + alpha * Wc + q[:, None] * Wc
            grads["V"] = H.T @ G + alpha * params["V"]
        t += 1
        for k, g in grads.items():
            if solver == "sgd":
                params[k] = params[k] - lr * g
            else:
                m[k] = beta1 * m[k] + (1 - beta1) * g
                v2[k] = beta2 * v2[k] + (1 - beta2) * g * g
                step = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
                params[k] = params[k] - step * m[k] / (np.sqrt(v2[k]) + eps)
    return params, total


def _set_params(dae, rng, scale=0.5):
    """Overwrite the fitted parameters in place with random values."""
    for name in ("components_", "decoder_components_", "intercept_hidden_",
                 "intercept_visible_"):
        if hasattr(dae, name):
            arr = getattr(dae, name)
            arr[...] = rng.uniform(-scale, scale, size=arr.shape)
    for buf in dae._state1 + dae._state2:
        buf[...] = 0
    dae._adam_t = 0


def _mean_loss(dae, X):
    jacobian = dae.contraction * dae.jacobian_squared_norm(X).mean() if dae.contraction else 0.0
    return -dae.score(X) + jacobian + dae._penalty()


# --------------------------------------------------------------------------- #
# The math
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("loss, output", LOSS_OUTPUTS)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.5], ids=["fused-sgd", "momentum"])
@pytest.mark.parametrize("contraction", [0.0, 0.3], ids=["dae", "contractive"])
def test_engine_gradient_matches_finite_differences(loss, output, activation, tied, momentum,
                                                    contraction):
    # One full-batch SGD step with learning_rate=1 from zero velocity moves the
    # parameters by exactly minus the gradient the engine computed (the fused
    # GEMM update for momentum=0, the separate gradient buffer otherwise).
    rng = np.random.RandomState(0)
    X = rng.uniform(0.05, 0.95, size=(7, 5))
    dae = DenoisingAutoencoder(
        n_components=4, activation=activation, loss=loss, output_activation=output,
        tied_weights=tied, corruption=None, solver="sgd", learning_rate=1.0,
        momentum=momentum, alpha=0.1, contraction=contraction, batch_size=7,
        shuffle=False, random_state=0,
    )
    dae.partial_fit(X)
    _set_params(dae, rng)
    names = ["components_", "intercept_hidden_", "intercept_visible_"]
    if not tied:
        names.append("decoder_components_")
    before = {k: getattr(dae, k).copy() for k in names}
    probe = clone(dae).partial_fit(X)  # same shapes, used for the loss
    for k in names:
        getattr(probe, k)[...] = before[k]
    dae.partial_fit(X)
    eps = 1e-6
    for k in names:
        analytic = before[k] - getattr(dae, k)
        numeric = np.empty_like(analytic)
        arr = getattr(probe, k)
        for idx in np.ndindex(arr.shape):
            orig = arr[idx]
            arr[idx] = orig + eps
            plus = _mean_loss(probe, X)
            arr[idx] = orig - eps
            minus = _mean_loss(probe, X)
            arr[idx] = orig
            numeric[idx] = (plus - minus) / (2 * eps)
        assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8, err_msg=k)


@pytest.mark.parametrize("loss, output", LOSS_OUTPUTS)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("contraction", [0.0, 0.2], ids=["dae", "contractive"])
@pytest.mark.parametrize("threads", ["one", "blocked"])
@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_one_epoch_equals_numpy_reference(loss, output, activation, tied, solver, contraction,
                                          threads, dtype, atol, monkeypatch):
    # "blocked": force the multi-threaded engine (hidden units split into
    # blocks of 16 and 24 between two threads), whatever the problem size.
    from skdae import _training
    from skdae._engine import openmp_max_threads as _openmp_max_threads

    n_components = 9
    if threads == "blocked":
        if _openmp_max_threads() < 2 or (__import__("os").cpu_count() or 1) < 2:
            pytest.skip("the blocked engine needs OpenMP and two cores")
        monkeypatch.setattr(_training, "_MIN_FLOPS_PER_THREADED_BATCH", 0.0)
        n_components = 40
        assert _training.engine_threads(10.0 * 7 * 19 * n_components, n_components)[0] == 2
    rng = np.random.RandomState(1)
    # 23 rows = 3 full batches of 7 + one of 2; 19 features: the float32 loss kernels
    # run their 8-wide loop and their tail, also on a two-thread column split
    X = rng.uniform(0, 1, size=(23, 19)).astype(dtype)
    lr = 0.05 if solver == "sgd" else 0.01
    dae = DenoisingAutoencoder(
        n_components=n_components, activation=activation, loss=loss,
        output_activation=output, tied_weights=tied, corruption=None, solver=solver,
        learning_rate=lr, alpha=0.01, contraction=contraction, batch_size=7,
        shuffle=False, random_state=0,
    )
    dae.partial_fit(X)
    _set_params(dae, rng)
    W, b, c = dae.components_.copy(), dae.intercept_hidden_.copy(), dae.intercept_visible_.copy()
    V = None if tied else dae.decoder_components_.copy()
    f64 = (lambda a: None if a is None else a.astype(np.float64))  # float64 reference
    expected, total = _numpy_epoch(
        f64(X), f64(W), f64(V), f64(b), f64(c), activation=activation, loss=loss,
        output=output, batch_size=7, lr=lr, alpha=0.01, contraction=contraction,
        solver=solver,
    )
    dae.partial_fit(X)
    assert dae.components_.dtype == dtype
    assert_allclose(dae.components_, expected["W"], rtol=0, atol=atol)
    assert_allclose(dae.intercept_hidden_, expected["b"], rtol=0, atol=atol)
    assert_allclose(dae.intercept_visible_, expected["c"], rtol=0, atol=atol)
    if not tied:
        assert_allclose(dae.decoder_components_, expected["V"], rtol=0, atol=atol)
    # loss_ is the mean of the per-batch losses (reconstruction and
    # contraction) plus the L2 term at epoch end
    assert dae.loss_ == pytest.approx(total / X.shape[0] + dae._penalty(), rel=atol)


@pytest.mark.parametrize("corruption", ["masking", "gaussian", "salt_and_pepper", "swap"])
@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_blocked_engine_corrupts_like_the_serial_one(corruption, dtype, atol, monkeypatch):
    # With noise, two engine threads corrupt the next minibatch while
    # finishing the current one; the noise (one key per row, drawn in order)
    # and hence the fit equal the one-thread engine's, across shuffled epochs
    # and a partial last batch, up to the order of floating-point sums.
    from skdae import _training
    from skdae._engine import openmp_max_threads as _openmp_max_threads

    if _openmp_max_threads() < 2 or (__import__("os").cpu_count() or 1) < 2:
        pytest.skip("the blocked engine needs OpenMP and two cores")
    X = np.random.RandomState(0).uniform(0, 1, size=(45, 30)).astype(dtype)
    kw = dict(n_components=40, corruption=corruption, corruption_level=0.4,
              solver="sgd", learning_rate=0.1, batch_size=7, max_iter=3,
              random_state=0)
    monkeypatch.setattr(_training, "_MIN_FLOPS_PER_THREADED_BATCH", np.inf)
    serial = DenoisingAutoencoder(**kw).fit(X)
    monkeypatch.setattr(_training, "_MIN_FLOPS_PER_THREADED_BATCH", 0.0)
    assert _training.engine_threads(10.0 * 7 * 30 * 40, 40)[0] == 2
    blocked = DenoisingAutoencoder(**kw).fit(X)
    assert_allclose(blocked.components_, serial.components_, rtol=0, atol=atol)
    assert_allclose(blocked.intercept_visible_, serial.intercept_visible_, rtol=0, atol=atol)
    assert_allclose(blocked.loss_curve_, serial.loss_curve_, rtol=10 * atol)
    assert_array_equal(blocked._rng_state, serial._rng_state)
    # and the noise matters: another seed gives another fit
    other = DenoisingAutoencoder(**{**kw, "random_state": 1}).fit(X)
    assert np.abs(other.components_ - blocked.components_).max() > 100 * atol


@pytest.mark.parametrize("loss, output", LOSS_OUTPUTS)
def test_float32_score_samples_match_float64_hand_computation(loss, output):
    # float32 scoring runs the training loop's vectorised row kernels (8-wide
    # loop and tail over 37 features), on several threads for 6 000 rows.
    X = np.random.RandomState(0).uniform(0, 1, size=(6000, 37)).astype(np.float32)
    dae = DenoisingAutoencoder(n_components=11, loss=loss, output_activation=output,
                               max_iter=2, random_state=0).fit(X)
    X64 = X.astype(np.float64)
    W = dae.components_.astype(np.float64)
    Z = _sigmoid(X64 @ W.T + dae.intercept_hidden_) @ W + dae.intercept_visible_
    expected = -_numpy_row_loss(X64, Z, loss, output)
    scores = dae.score_samples(X)
    assert scores.dtype == np.float64
    assert_allclose(scores, expected, rtol=2e-5)
    assert dae.score(X) == pytest.approx(expected.mean(), rel=2e-5)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("loss, output", LOSS_OUTPUTS)
@pytest.mark.parametrize("tied", [True, False])
def test_transform_and_inverse_transform_match_hand_computation(activation, loss, output, tied,
                                                                 digits):
    X = digits[0][:200]
    dae = DenoisingAutoencoder(
        n_components=20, activation=activation, loss=loss, output_activation=output,
        tied_weights=tied, max_iter=2, random_state=0,
    ).fit(X)
    act = ACTIVATIONS[activation][0]
    H = act(X @ dae.components_.T + dae.intercept_hidden_)
    assert_allclose(dae.transform(X), H, rtol=1e-12, atol=1e-12)
    Vd = dae.components_ if tied else dae.decoder_components_
    Z = H @ Vd + dae.intercept_visible_
    Xhat = _sigmoid(Z) if output == "sigmoid" else Z
    assert_allclose(dae.inverse_transform(H), Xhat, rtol=1e-12, atol=1e-12)
    assert_allclose(dae.score_samples(X), -_numpy_row_loss(X, Z, loss, output), rtol=1e-10)


def test_tied_weights_decoder_is_transpose_of_encoder(digits):
    # Tied: reconstruction uses components_ itself; an untied model whose
    # decoder is set to the same matrix gives identical outputs.
    X = digits[0][:100]
    tied = DenoisingAutoencoder(n_components=10, max_iter=2, random_state=0).fit(X)
    untied = DenoisingAutoencoder(n_components=10, max_iter=1, tied_weights=False,
                                  random_state=0).fit(X)
    untied.components_[...] = tied.components_
    untied.decoder_components_[...] = tied.components_
    untied.intercept_hidden_[...] = tied.intercept_hidden_
    untied.intercept_visible_[...] = tied.intercept_visible_
    H = tied.transform(X)
    assert_array_equal(untied.inverse_transform(H), tied.inverse_transform(H))
    assert not hasattr(tied, "decoder_components_")


def test_cross_entropy_is_finite_for_extreme_preactivations():
    X = np.array([[0.0, 1.0, 0.5]])
    dae = DenoisingAutoencoder(n_components=2, loss="cross_entropy", max_iter=1,
                               random_state=0).fit(X)
    dae.components_[...] = 1e4
    scores = dae.score_samples(X)
    assert np.isfinite(scores).all()


# --------------------------------------------------------------------------- #
# Corruption
# --------------------------------------------------------------------------- #
def _fitted(X, **params):
    return DenoisingAutoencoder(n_components=3, max_iter=1, random_state=0, **params).fit(X)


@pytest.mark.parametrize("level", [0.1, 0.25, 0.5])
def test_masking_noise_zeroes_expected_fraction(level):
    rng = np.random.RandomState(0)
    X = rng.uniform(0.5, 1.0, size=(500, 101))  # no zeros before corruption
    dae = _fitted(X, corruption="masking", corruption_level=level)
    Xt = dae._corrupt(X, random_state=0)
    n = X.size
    zeroed = np.count_nonzero(Xt == 0)
    # binomial(n, level): a 5-sigma band
    assert abs(zeroed - n * level) < 5 * np.sqrt(n * level * (1 - level))
    kept = Xt != 0
    assert_array_equal(Xt[kept], X[kept])


def _xoshiro256ss(state):
    """The engine's xoshiro256** on a list of four Python ints (advanced in place)."""
    mask = (1 << 64) - 1

    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & mask

    result = (rotl((state[1] * 5) & mask, 7) * 9) & mask
    t = (state[1] << 17) & mask
    state[2] ^= state[0]
    state[3] ^= state[1]
    state[1] ^= state[2]
    state[0] ^= state[3]
    state[2] ^= t
    state[3] = rotl(state[3], 45)
    return result


def _numpy_hash(key, counters):
    """splitmix64's finaliser of ``key + counter * golden``, as uint64."""
    with np.errstate(over="ignore"):
        z = np.uint64(key) + np.asarray(counters, dtype=np.uint64) * np.uint64(
            0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _numpy_mask(key, n_features, threshold):
    """Which features a row keyed by ``key`` drops: the 32-bit halves of the
    hash of ``k // 2``, low half for even k."""
    z = _numpy_hash(key, np.arange((n_features + 1) // 2))
    halves = np.stack([z & np.uint64(0xFFFFFFFF), z >> np.uint64(32)], axis=1).ravel()
    return halves[:n_features] < np.uint64(threshold)


def _numpy_normal(key, n_features):
    """The engine's standard normals for a row keyed by ``key``: Box-Muller on
    the hash of each feature index, u1 from 24 low bits, the angle as a
    quadrant (top 2 bits) plus an offset in [-pi/4, pi/4) (the next 30 bits)."""
    z = _numpy_hash(key, np.arange(n_features))
    u1 = ((z & np.uint64(0xFFFFFF)) + np.uint64(1)).astype(np.float64) * 2.0**-24
    hi = z >> np.uint64(32)
    quadrant = (hi >> np.uint64(30)).astype(np.float64)
    offset = ((hi & np.uint64(0x3FFFFFFF)).astype(np.float64) * 2.0**-30 - 0.5) * np.pi / 2
    return np.sqrt(-2 * np.log(u1)) * np.cos(quadrant * np.pi / 2 + offset)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("level", [0.0, 0.3, 1.0])
def test_masking_kernel_equals_numpy_reference_mask(dtype, level):
    # The vectorised C kernel (blocks of 512 features, 32-bit halves of one
    # hash per pair) drops exactly the features of the scalar definition, on
    # an odd width that spans three blocks; one key per row, drawn in order.
    from skdae._autoencoder_fast import _corrupt
    from skdae._engine import seed_rng as _seed_rng

    X = np.random.RandomState(0).uniform(0.5, 1.0, size=(4, 1031)).astype(dtype)
    state = np.empty(4, dtype=np.uint64)
    _seed_rng(state, 123)
    py_state = [int(v) for v in state]
    out = np.empty_like(X)
    ones = np.ones(X.shape[1], dtype=dtype)
    _corrupt(X, out, 1, level, ones * 0, ones, state)
    threshold = int(level * 4294967296.0)
    for i in range(X.shape[0]):
        dropped = _numpy_mask(_xoshiro256ss(py_state), X.shape[1], threshold)
        assert_array_equal(out[i], np.where(dropped, 0, X[i]))
    assert [int(v) for v in state] == py_state  # one draw per row, no more


def _keyed_rows(dtype, noise, level, low, high, X):
    """Corrupt ``X`` with the engine (returns the output and each row's key)."""
    from skdae._autoencoder_fast import _corrupt
    from skdae._engine import seed_rng as _seed_rng

    state = np.empty(4, dtype=np.uint64)
    _seed_rng(state, 7)
    py_state = [int(v) for v in state]
    out = np.empty_like(X)
    _corrupt(X, out, noise, level, low.astype(dtype), high.astype(dtype), state)
    keys = [_xoshiro256ss(py_state) for _ in range(X.shape[0])]
    assert [int(v) for v in state] == py_state  # one draw per row
    return out, keys


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_kernel_equals_numpy_box_muller(dtype):
    # The vectorised kernel's polynomial log/sin/cos and bit layout give the
    # reference Box-Muller normals to float32 accuracy, on 1 031 features.
    X = np.random.RandomState(0).uniform(-1, 1, size=(5, 1031)).astype(dtype)
    ones = np.ones(X.shape[1])
    out, keys = _keyed_rows(dtype, 2, 0.7, ones * 0, ones, X)
    for i, key in enumerate(keys):
        assert_allclose(out[i] - X[i], 0.7 * _numpy_normal(key, X.shape[1]),
                        rtol=0, atol=2e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_salt_and_pepper_kernel_equals_numpy_reference(dtype):
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(5, 1031)).astype(dtype)
    low, high = rng.uniform(-3, -2, size=1031), rng.uniform(2, 3, size=1031)
    out, keys = _keyed_rows(dtype, 3, 0.3, low, high, X)
    threshold = int(0.3 * 4294967296.0)
    for i, key in enumerate(keys):
        z = _numpy_hash(key, np.arange(X.shape[1]))
        hit = (z & np.uint64(0xFFFFFFFF)) < np.uint64(threshold)
        value = np.where((z >> np.uint64(32)) & np.uint64(1), high, low).astype(dtype)
        assert_array_equal(out[i], np.where(hit, value, X[i]))


def test_gaussian_noise_is_standard_normal_and_uncorrelated():
    # 400 000 draws: Kolmogorov-Smirnov against N(0, 0.3**2) and no
    # correlation between neighbouring features or rows.
    from scipy import stats

    X = np.zeros((800, 500))
    dae = _fitted(X, corruption="gaussian", corruption_level=0.3)
    noise = dae._corrupt(X, random_state=0)
    assert stats.kstest(noise.ravel() / 0.3, "norm").pvalue > 1e-3
    bound = 5 / np.sqrt(noise.size)
    assert abs(np.corrcoef(noise[:, :-1].ravel(), noise[:, 1:].ravel())[0, 1]) < bound
    assert abs(np.corrcoef(noise[:-1].ravel(), noise[1:].ravel())[0, 1]) < bound


def test_gaussian_noise_has_requested_standard_deviation():
    X = np.zeros((400, 250))
    dae = _fitted(X, corruption="gaussian", corruption_level=0.3)
    noise = dae._corrupt(X, random_state=0) - X
    assert abs(noise.mean()) < 5 * 0.3 / np.sqrt(noise.size)
    assert noise.std() == pytest.approx(0.3, rel=0.01)


def test_salt_and_pepper_sets_fraction_to_feature_extremes():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2.0, 3.0, size=(300, 40))
    dae = _fitted(X, corruption="salt_and_pepper", corruption_level=0.2)
    Xt = dae._corrupt(X, random_state=1)
    changed = Xt != X
    assert abs(changed.mean() - 0.2) < 0.02
    lo = np.broadcast_to(dae.data_min_, X.shape)[changed]
    hi = np.broadcast_to(dae.data_max_, X.shape)[changed]
    assert np.all((Xt[changed] == lo) | (Xt[changed] == hi))
    assert abs(np.mean(Xt[changed] == hi) - 0.5) < 0.05


def test_salt_and_pepper_uses_zero_and_one_with_cross_entropy():
    rng = np.random.RandomState(0)
    X = rng.uniform(0.2, 0.8, size=(200, 30))
    dae = _fitted(X, loss="cross_entropy", corruption="salt_and_pepper", corruption_level=0.3)
    Xt = dae._corrupt(X, random_state=0)
    changed = Xt != X
    assert set(np.unique(Xt[changed])) == {0.0, 1.0}


def test_corruption_never_touches_the_loss_target(digits):
    # With every input masked the encoder sees only zeros, so the best the
    # decoder can do is the mean of the *clean* targets. Were the targets
    # corrupted too, it would learn to output zeros.
    X = digits[0]
    dae = DenoisingAutoencoder(
        n_components=8, loss="cross_entropy", corruption="masking",
        corruption_level=1.0, solver="adam", learning_rate=0.05,
        batch_size=X.shape[0], max_iter=200, tol=0.0, random_state=0,
    ).fit(X)
    recon = dae.inverse_transform(dae.transform(np.zeros((1, X.shape[1]))))[0]
    assert_allclose(recon, X.mean(axis=0), atol=0.005)


def test_noise_is_fresh_every_minibatch_and_reproducible(digits):
    X = digits[0][:64]
    kw = dict(n_components=5, corruption="masking", corruption_level=0.5, max_iter=1)
    a = DenoisingAutoencoder(random_state=0, **kw).fit(X)
    b = DenoisingAutoencoder(random_state=0, **kw).fit(X)
    assert_array_equal(a.components_, b.components_)
    # Two corruptions drawn from one generator state differ.
    t1 = a._corrupt(X, random_state=0)
    t2 = a._corrupt(X, random_state=1)
    assert np.any(t1 != t2)


# --------------------------------------------------------------------------- #
# Training behaviour
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("solver, lr", [("adam", 1e-3), ("sgd", 0.1)])
@pytest.mark.parametrize("corruption", [None, "masking", "gaussian", "salt_and_pepper",
                                        "swap"])
def test_loss_falls_on_digits(digits, solver, lr, corruption):
    X = digits[0]
    dae = DenoisingAutoencoder(
        n_components=32, loss="cross_entropy", corruption=corruption,
        corruption_level=0.1 if corruption == "gaussian" else 0.25,
        solver=solver, learning_rate=lr, max_iter=10, random_state=0,
    ).fit(X)
    assert dae.loss_curve_[-1] < 0.8 * dae.loss_curve_[0]
    assert dae.n_iter_ == 10 and dae.t_ == 10 * X.shape[0]


def test_overcomplete_layer_trains(digits):
    X = digits[0]
    dae = DenoisingAutoencoder(n_components=200, loss="cross_entropy", max_iter=5,
                               random_state=0).fit(X)
    assert dae.components_.shape == (200, 64)
    assert dae.transform(X).shape == (X.shape[0], 200)
    assert dae.loss_curve_[-1] < dae.loss_curve_[0]


def test_float32_and_float64_fits_agree(digits):
    X = digits[0]
    kw = dict(n_components=16, loss="cross_entropy", max_iter=3, random_state=0)
    d64 = DenoisingAutoencoder(**kw).fit(X)
    d32 = DenoisingAutoencoder(**kw).fit(X.astype(np.float32))
    assert d32.components_.dtype == np.float32
    assert d32.transform(X.astype(np.float32)).dtype == np.float32
    assert d32.inverse_transform(d32.transform(X.astype(np.float32))).dtype == np.float32
    assert_allclose(d32.components_, d64.components_, atol=1e-3)
    assert_allclose(d32.loss_curve_, d64.loss_curve_, rtol=1e-4)


def test_same_random_state_gives_identical_weights(digits):
    X = digits[0]
    kw = dict(n_components=16, max_iter=3, corruption="masking")
    a = DenoisingAutoencoder(random_state=42, **kw).fit(X)
    b = DenoisingAutoencoder(random_state=42, **kw).fit(X)
    c = DenoisingAutoencoder(random_state=43, **kw).fit(X)
    assert_array_equal(a.components_, b.components_)
    assert_array_equal(a.loss_curve_, b.loss_curve_)
    assert not np.array_equal(a.components_, c.components_)


def test_pickle_round_trip_gives_identical_transform(digits):
    X = digits[0]
    dae = DenoisingAutoencoder(n_components=16, max_iter=2, random_state=0).fit(X)
    clone_ = pickle.loads(pickle.dumps(dae))
    assert_array_equal(clone_.transform(X), dae.transform(X))
    # and it keeps training from the same state
    assert_array_equal(clone_.partial_fit(X).components_, dae.partial_fit(X).components_)


def test_partial_fit_returns_self_and_runs_one_epoch(digits):
    X = digits[0]
    dae = DenoisingAutoencoder(n_components=8, random_state=0)
    assert dae.partial_fit(X[:500]) is dae
    assert dae.partial_fit(X[500:]) is dae
    assert dae.n_iter_ == 2 and dae.t_ == X.shape[0]
    assert len(dae.loss_curve_) == 2


def test_partial_fit_after_float32_fit_keeps_float32(digits):
    X = digits[0].astype(np.float32)
    dae = DenoisingAutoencoder(n_components=8, max_iter=1, random_state=0).fit(X)
    dae.partial_fit(X.astype(np.float64))
    assert dae.components_.dtype == np.float32


def test_warm_start_continues_from_previous_solution(digits):
    X = digits[0]
    kw = dict(n_components=8, max_iter=2, shuffle=False, corruption=None, random_state=0)
    warm = DenoisingAutoencoder(warm_start=True, **kw).fit(X)
    W = warm.components_.copy()
    warm.fit(X)
    assert warm.n_iter_ == 4
    assert not np.array_equal(W, warm.components_)
    cold = DenoisingAutoencoder(**kw).fit(X)
    cold.fit(X)
    assert cold.n_iter_ == 2


def test_early_stopping_restores_best_weights(digits):
    X = digits[0]
    dae = DenoisingAutoencoder(
        n_components=16, loss="cross_entropy", early_stopping=True,
        validation_fraction=0.2, n_iter_no_change=2, tol=0.0, max_iter=40,
        solver="sgd", learning_rate=2.0, random_state=0,
    ).fit(X)
    assert dae.best_loss_ is None
    assert len(dae.validation_scores_) == dae.n_iter_
    assert dae.best_validation_score_ == max(dae.validation_scores_)
    # The restored weights reproduce the best validation score on the same
    # split, which fit draws from the random stream after the initialisation.
    from sklearn.model_selection import train_test_split
    ref_rng = np.random.RandomState(0)
    DenoisingAutoencoder(n_components=16)._initialize(X.shape[1], X.dtype, ref_rng)
    _, X_val = train_test_split(X, test_size=0.2, random_state=ref_rng)
    assert dae.score(X_val) == pytest.approx(dae.best_validation_score_, rel=1e-12)
    assert dae.validation_scores_[-1] < dae.best_validation_score_


def test_early_stopping_rejected_in_partial_fit(digits):
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        DenoisingAutoencoder(early_stopping=True).partial_fit(digits[0])


def test_tol_stops_training_before_max_iter(digits):
    dae = DenoisingAutoencoder(n_components=8, tol=1e3, n_iter_no_change=2,
                               max_iter=50, random_state=0).fit(digits[0])
    # the first epoch improves on +inf; then 3 epochs (> n_iter_no_change)
    # without an improvement of tol
    assert dae.n_iter_ == 4


def test_convergence_warning_at_max_iter(digits):
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        DenoisingAutoencoder(n_components=8, max_iter=2, random_state=0).fit(digits[0])


def test_verbose_prints_one_line_per_epoch(digits):
    buf = io.StringIO()
    with redirect_stdout(buf):
        DenoisingAutoencoder(n_components=8, max_iter=3, verbose=1, random_state=0).fit(digits[0])
    lines = [l for l in buf.getvalue().splitlines() if l.startswith("Iteration")]
    assert len(lines) == 3
    assert re.fullmatch(r"Iteration 1, loss = [0-9.]+, time = [0-9.]+s", lines[0])


def test_feature_names_out(digits):
    dae = DenoisingAutoencoder(n_components=3, max_iter=1, random_state=0).fit(digits[0])
    assert list(dae.get_feature_names_out()) == [
        "denoisingautoencoder0", "denoisingautoencoder1", "denoisingautoencoder2"]


def test_pipeline_grid_search_on_digits_reaches_093_accuracy(digits):
    X, y = digits
    pipe = Pipeline([
        ("dae", DenoisingAutoencoder(loss="cross_entropy", max_iter=10, random_state=0)),
        ("clf", LogisticRegression(max_iter=1000)),
    ])
    grid = GridSearchCV(
        pipe, {"dae__corruption_level": [0.0, 0.25], "dae__n_components": [64, 128]},
        cv=3, n_jobs=1,
    ).fit(X, y)
    assert grid.best_score_ >= 0.93


def test_grid_search_on_reconstruction_score_alone(digits):
    X = digits[0]
    grid = GridSearchCV(
        DenoisingAutoencoder(loss="cross_entropy", max_iter=5, random_state=0),
        {"n_components": [4, 32]}, cv=2,
    ).fit(X)
    assert grid.best_params_ == {"n_components": 32}


# --------------------------------------------------------------------------- #
# Bad input gets a clear error
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_inf_in_fit_is_rejected(value, digits):
    X = digits[0].copy()
    X[3, 4] = value
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        DenoisingAutoencoder().fit(X)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("zero_weights", [False, True], ids=["weights", "zero-column"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_or_inf_in_transform_is_rejected(value, zero_weights, dtype, digits):
    # transform detects non-finite input in the product X @ W.T instead of a
    # separate pass over X; a feature whose weights are all zero still shows
    # (inf * 0 is NaN)
    X = digits[0][:1500].astype(dtype)
    dae = DenoisingAutoencoder(n_components=40, max_iter=1).fit(X)
    if zero_weights:
        dae.components_[:, 4] = 0
    for row in (0, 777, 1499):
        X_bad = X.copy()
        X_bad[row, 4] = value
        with pytest.raises(ValueError, match="Input X contains NaN or infinity"):
            dae.transform(X_bad)
    assert np.isfinite(dae.transform(X)).all()


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_encoder_matches_numpy_and_flags_any_block(n_threads, dtype):
    # the engine's transform kernel, with 7-row blocks over 50 rows (the last
    # block partial), against the NumPy formula; a NaN in any block is reported
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 9)).astype(dtype)
    W = rng.normal(size=(6, 9)).astype(dtype)
    b = rng.normal(size=6).astype(dtype)
    out = np.empty((50, 6), dtype=dtype)
    with threadpool_limits(limits=1, user_api="blas"):
        assert _encode_dense(X, W, b, 0, out, n_threads, 7) == 0
    assert_allclose(out, _sigmoid(X @ W.T + b), rtol=1e-5 if dtype == np.float32 else 1e-12)
    for row in (0, 20, 49):
        X_bad = X.copy()
        X_bad[row, 3] = np.nan
        with threadpool_limits(limits=1, user_api="blas"):
            assert _encode_dense(X_bad, W, b, 0, out, n_threads, 7) == 1


def test_engine_threads_follow_threadpoolctl_openmp_limit():
    # The engine's threads are OpenMP threads: threadpoolctl's limit (like
    # OMP_NUM_THREADS) caps them, and BLAS is held to one thread while they run.
    from skdae import _training
    from skdae._engine import openmp_max_threads as _openmp_max_threads

    if _openmp_max_threads() < 2 or (__import__("os").cpu_count() or 1) < 2:
        pytest.skip("needs OpenMP and two cores")
    big = 10.0 * 256 * 784 * 500
    n_threads, blas_limit = _training.engine_threads(big, 500)
    assert n_threads == 2
    with blas_limit:
        blas = ThreadpoolController().select(user_api="blas").info()
        assert blas and all(lib["num_threads"] == 1 for lib in blas)
    with threadpool_limits(limits=1, user_api="openmp"):
        assert _training.engine_threads(big, 500)[0] == 1
    assert _training.engine_threads(big, 500)[0] == 2


@pytest.mark.parametrize("method", ["transform", "score", "score_samples", "partial_fit"])
def test_wrong_number_of_features_is_rejected(method, digits):
    dae = DenoisingAutoencoder(n_components=4, max_iter=1, random_state=0).fit(digits[0])
    message = "X has 10 features, but DenoisingAutoencoder is expecting 64"
    with pytest.raises(ValueError, match=message):
        getattr(dae, method)(digits[0][:, :10])


def test_inverse_transform_rejects_wrong_code_width(digits):
    dae = DenoisingAutoencoder(n_components=4, max_iter=1, random_state=0).fit(digits[0])
    with pytest.raises(ValueError, match="n_components=4"):
        dae.inverse_transform(np.zeros((2, 5)))


def test_cross_entropy_fit_rejects_values_outside_unit_interval(digits):
    dae = DenoisingAutoencoder(loss="cross_entropy", n_components=4, max_iter=1, random_state=0)
    with pytest.raises(ValueError, match=r"\[0, 1\].*MinMaxScaler.*loss='squared_error'"):
        dae.fit(digits[0] * 16)


@pytest.mark.parametrize("dtype, excess, shown", [
    (np.float64, 1e-3, "1.001"),
    (np.float64, 1e-7, "1.0000001"),
    (np.float32, 1e-3, "1.001"),
])
def test_cross_entropy_error_shows_the_offending_value(dtype, excess, shown, digits):
    X = digits[0].astype(dtype)
    X[3, 5] = dtype(1 + excess)
    with pytest.raises(ValueError, match=rf"got values in \[0.0, {re.escape(shown)}\]"):
        DenoisingAutoencoder(loss="cross_entropy", max_iter=1).fit(X)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("X", [
    # MinMaxScaler().fit_transform of these gives 1.0000000000000002 and
    # 1.0000001 (float32): rounding errors of the rescaling
    np.array([[0.1, 0.0], [2.8142857142857145, 1.0]]),
    np.array([[0.1, 0.0], [0.1 + 1 / 7, 1.0]], dtype=np.float32),
], ids=["float64", "float32"])
def test_cross_entropy_fit_clips_rounding_errors_of_min_max_scaler(X, sparse):
    Xs = MinMaxScaler().fit_transform(X)
    assert Xs.max() > 1
    dae = DenoisingAutoencoder(loss="cross_entropy", n_components=3, max_iter=2,
                               random_state=0)
    dae.fit(sp.csr_matrix(Xs) if sparse else Xs)
    assert dae.data_max_.max() == 1 and dae.data_min_.min() == 0
    assert Xs.max() > 1  # the caller's array is left alone
    # the same fit as on the data clipped by hand
    ref = clone(dae).fit(np.clip(Xs, 0, 1))
    assert_array_equal(dae.components_, ref.components_)


def test_cross_entropy_score_clips_new_data_to_unit_interval(digits):
    X = digits[0]
    dae = DenoisingAutoencoder(loss="cross_entropy", n_components=4, max_iter=1,
                               random_state=0).fit(X)
    X_new = X[:50] * 1.5 - 0.25
    scores = dae.score_samples(X_new)
    assert np.isfinite(scores).all()
    assert_array_equal(scores, dae.score_samples(np.clip(X_new, 0, 1)))
    # transform is not a loss: it encodes the data as given
    assert not np.array_equal(dae.transform(X_new), dae.transform(np.clip(X_new, 0, 1)))


def test_grid_search_over_min_max_scaled_cross_entropy_scores_every_candidate():
    # the held-out folds stray outside the [0, 1] range of the training folds
    X = np.random.RandomState(0).normal(size=(150, 6))
    pipe = make_pipeline(MinMaxScaler(), DenoisingAutoencoder(
        loss="cross_entropy", max_iter=2, random_state=0))
    search = GridSearchCV(pipe, {"denoisingautoencoder__n_components": [2, 4]}, cv=3,
                          error_score="raise").fit(X)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("n_samples, fraction", [(1, 0.1), (5, 0.9)])
def test_early_stopping_split_that_leaves_no_sample_is_refused_before_fitting(
        n_samples, fraction):
    X = np.random.RandomState(0).uniform(size=(n_samples, 3))
    dae = DenoisingAutoencoder(n_components=2, early_stopping=True,
                               validation_fraction=fraction)
    with pytest.raises(ValueError, match=(
            f"validation_fraction={fraction} of {n_samples} samples leaves an empty "
            "training or validation set; use more samples or early_stopping=False")):
        dae.fit(X)
    assert not hasattr(dae, "components_")


@pytest.mark.parametrize("method", ["inverse_transform", "score_samples",
                                    "jacobian_squared_norm"])
def test_outputs_that_overflow_raise_instead_of_returning_inf(method, digits):
    # a fit that diverges without overflowing leaves weights like these
    X = digits[0][:50]
    dae = DenoisingAutoencoder(n_components=4, activation="relu", max_iter=1,
                               random_state=0).fit(X)
    dae.components_ *= 1e160
    arg = np.full((3, 4), 1e200) if method == "inverse_transform" else X
    with pytest.raises(ValueError, match=r"overflowed: .*largest \|components_\| = "
                                         r"\d\.\d+e\+159\).*lower learning_rate"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # and no RuntimeWarning on the way
            getattr(dae, method)(arg)


def test_empty_input_is_rejected():
    with pytest.raises(ValueError, match="0 sample"):
        DenoisingAutoencoder().fit(np.empty((0, 5)))


@pytest.mark.parametrize("params, match", [
    ({"n_components": 0}, "n_components"),
    ({"activation": "softmax"}, "activation"),
    ({"corruption": "dropout"}, "corruption"),
    ({"learning_rate": -1.0}, "learning_rate"),
    ({"momentum": 1.5}, "momentum"),
    ({"solver": "lbfgs"}, "solver"),
])
def test_invalid_parameters_raise_invalid_parameter_error(params, match, digits):
    with pytest.raises(InvalidParameterError, match=match):
        DenoisingAutoencoder(**params).fit(digits[0])


@pytest.mark.parametrize("params, match", [
    ({"corruption": "masking", "corruption_level": 1.5}, "must lie in \\[0, 1\\]"),
    ({"loss": "cross_entropy", "output_activation": "identity"}, "requires a sigmoid output"),
])
def test_inconsistent_parameters_are_explained(params, match, digits):
    with pytest.raises(ValueError, match=match):
        DenoisingAutoencoder(**params).fit(digits[0])


def test_divergence_raises_and_keeps_last_finite_weights():
    rng = np.random.RandomState(0)
    X = rng.normal(scale=50.0, size=(200, 20))
    dae = DenoisingAutoencoder(n_components=30, solver="sgd", learning_rate=1e-4,
                               activation="relu", max_iter=2, random_state=0).fit(X)
    dae.set_params(learning_rate=5.0, warm_start=True, max_iter=20)
    with pytest.raises(ValueError, match=r"diverged in epoch 3: .*learning_rate=5\.0.* "
                       r"The parameters of the last finite epoch \(2\) were kept"):
        dae.fit(X)
    assert dae.n_iter_ == 2
    for arr in (dae.components_, dae.intercept_hidden_, dae.intercept_visible_):
        assert np.isfinite(arr).all()
    assert np.isfinite(dae.transform(X)).all()


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_fresh_fit_that_diverges_in_its_first_epoch_leaves_it_unfitted(method, digits):
    # as Ctrl-C in the first epoch does: never "fitted" with the random initial
    # weights, which transform would accept
    dae = DenoisingAutoencoder(n_components=16, max_iter=3, random_state=0)
    with pytest.raises(ValueError, match="epoch 1: .*left unfitted"):
        getattr(dae, method)(digits[0] * 1e200)
    with pytest.raises(NotFittedError):
        dae.transform(digits[0])
    assert not any(name.endswith("_") for name in vars(dae))
    dae.fit(digits[0] / 16.0)  # and fits afresh
    assert dae.n_iter_ == 3


def test_divergence_advice_depends_on_the_solver(digits):
    # Adam's steps do not grow with the gradient: "use solver='adam'" is no
    # advice for an Adam fit; the size of the inputs is
    with pytest.raises(ValueError) as adam:
        DenoisingAutoencoder(n_components=16, max_iter=3, random_state=0).fit(
            digits[0] * 1e200)
    message = str(adam.value)
    assert "use solver='adam'" not in message
    assert "largest |x| = 1e+200" in message
    assert "StandardScaler" in message
    X = np.random.RandomState(0).normal(scale=1e3, size=(200, 20))
    with pytest.raises(ValueError, match="lower it .*or use solver='adam'"):
        DenoisingAutoencoder(n_components=30, solver="sgd", activation="relu",
                             max_iter=20, random_state=0).fit(X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("scale", [1e30, 255.0])
def test_fit_warns_when_inputs_too_large_saturate_the_code(scale, digits):
    # data scaled by 1e30 "fitted" with the loss stuck and every code constant
    X = digits[0]
    dae = DenoisingAutoencoder(n_components=32, max_iter=3, random_state=0)
    with pytest.warns(UserWarning, match=r"hidden units give the same code .*reach "
                      r"\|x\| = .* scale the data first \(sklearn.preprocessing."
                      r"StandardScaler, or MinMaxScaler"):
        dae.fit(X * scale)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "[0-9]+ of the [0-9]+ hidden units")
        dae.fit(X)  # the same data in [0, 1]: no warning


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_new_data_outside_the_unit_interval_warns_after_a_cross_entropy_fit(digits):
    X = digits[0]
    dae = DenoisingAutoencoder(n_components=16, loss="cross_entropy", max_iter=2,
                               random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "X holds values")
        dae.transform(X)
        dae.score(X)
    for method in ("transform", "score", "score_samples"):
        with pytest.warns(UserWarning, match=r"values in \[-0\.5, 1\.5\], outside "
                          r"\[0, 1\]: this model was fitted with loss='cross_entropy'"):
            getattr(dae, method)(X * 2 - 0.5)
    # transform encodes the values as given, score clips them
    outside, clipped = X * 2 - 0.5, np.clip(X * 2 - 0.5, 0, 1)
    with pytest.warns(UserWarning, match="encoded as given"):
        assert not np.allclose(dae.transform(outside), dae.transform(clipped))
    with pytest.warns(UserWarning, match=r"clipped to \[0, 1\] for scoring"):
        assert dae.score(outside) == dae.score(clipped)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver, loss, step", [
    ("adam", "cross_entropy", 0.01), ("adam", "squared_error", 0.01),
    ("sgd", "cross_entropy", 0.1), ("sgd", "squared_error", 0.01),
])
def test_auto_learning_rate_is_the_documented_step(solver, loss, step, digits):
    X = digits[0]
    params = dict(n_components=16, loss=loss, solver=solver, max_iter=3, random_state=0)
    auto = DenoisingAutoencoder(**params).fit(X)
    assert auto.learning_rate == "auto"  # stored as given, resolved in fit
    explicit = DenoisingAutoencoder(learning_rate=step, **params).fit(X)
    assert_array_equal(auto.components_, explicit.components_)
    other = DenoisingAutoencoder(learning_rate=step / 10, **params).fit(X)
    assert not np.array_equal(auto.components_, other.components_)


def test_divergence_message_names_the_step_auto_stands_for():
    X = np.random.RandomState(0).normal(scale=1e3, size=(200, 20))
    dae = DenoisingAutoencoder(n_components=30, solver="sgd", activation="relu",
                               max_iter=20, random_state=0)
    with pytest.raises(ValueError, match=r"diverged.*learning_rate=0\.01, solver='sgd'"):
        dae.fit(X)


@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("params, standardize", [
    ({"n_components": 128, "loss": "cross_entropy"}, False),
    ({"n_components": 256, "loss": "cross_entropy"}, False),
    ({"n_components": 128, "loss": "cross_entropy", "early_stopping": True}, False),
    ({"n_components": 128}, True),
])
def test_default_fits_on_digits_stop_before_max_iter(params, standardize, digits):
    # the fits a user runs first converge (or stop early) without a
    # ConvergenceWarning, and still learn: below the loss of the first epochs
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(digits[0]) if standardize else digits[0]
    dae = DenoisingAutoencoder(random_state=0, **params).fit(X)
    assert dae.n_iter_ < dae.max_iter
    assert dae.loss_curve_[-1] < 0.95 * dae.loss_curve_[0]


@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
def test_a_grid_search_with_the_defaults_fits_without_convergence_warnings(digits):
    X, y = digits
    pipe = make_pipeline(DenoisingAutoencoder(loss="cross_entropy", random_state=0),
                         LogisticRegression(max_iter=1000))
    search = GridSearchCV(pipe, {"denoisingautoencoder__n_components": [32, 64]}, cv=3,
                          error_score="raise")
    with threadpool_limits(1, user_api="blas"):  # (LogisticRegression on busy cores)
        search.fit(X, y)
    assert search.best_score_ > 0.9


@pytest.mark.parametrize("scaling", ["standardized", "unit_interval"])
def test_defaults_train_well_on_standardized_and_unit_interval_data(scaling, digits):
    # The default (Adam, squared error, masking 25 %) must learn on either
    # scale without tuning: reconstruction error well below that of the
    # mean predictor (which is what an untrained decoder approaches).
    from sklearn.preprocessing import StandardScaler

    X = digits[0]
    if scaling == "standardized":
        X = StandardScaler().fit_transform(X)
    dae = DenoisingAutoencoder(n_components=32, max_iter=30, random_state=0).fit(X)
    mean_error = 0.5 * ((X - X.mean(axis=0)) ** 2).sum(axis=1).mean()
    assert -dae.score(X) < 0.5 * mean_error


# --------------------------------------------------------------------------- #
# Contractive penalty
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_jacobian_squared_norm_matches_finite_differences(activation, digits):
    X = digits[0][:5]
    dae = DenoisingAutoencoder(n_components=6, activation=activation, max_iter=2,
                               random_state=0).fit(digits[0])
    eps = 1e-6
    for x, norm in zip(X, dae.jacobian_squared_norm(X)):
        J = np.empty((6, X.shape[1]))
        for i in range(X.shape[1]):
            e = np.zeros_like(x)
            e[i] = eps
            J[:, i] = (dae.transform([x + e])[0] - dae.transform([x - e])[0]) / (2 * eps)
        assert norm == pytest.approx((J**2).sum(), rel=1e-5)


def test_zero_contraction_reproduces_plain_dae_bit_for_bit(digits):
    X = digits[0]
    kw = dict(n_components=16, max_iter=3, random_state=0)
    plain = DenoisingAutoencoder(**kw).fit(X)
    zero = DenoisingAutoencoder(contraction=0.0, **kw).fit(X)
    assert_array_equal(plain.components_, zero.components_)
    assert_array_equal(plain.loss_curve_, zero.loss_curve_)


@pytest.mark.parametrize("corruption", [None, "masking"], ids=["cae", "dae+cae"])
def test_larger_contraction_lowers_jacobian_norm_on_held_out_data(corruption, digits):
    X = digits[0]
    X_train, X_test = X[:1200], X[1200:]
    norms = []
    for lam in [0.0, 0.1, 1.0]:
        dae = DenoisingAutoencoder(
            n_components=32, loss="cross_entropy", corruption=corruption,
            contraction=lam, max_iter=15, random_state=0,
        ).fit(X_train)
        norms.append(dae.jacobian_squared_norm(X_test).mean())
    assert norms[0] > norms[1] > norms[2]


# --------------------------------------------------------------------------- #
# Sparse input
# --------------------------------------------------------------------------- #
def _sparse_digits(digits):
    X = digits[0][:300].copy()
    return X, sp.csr_matrix(X)


@pytest.mark.parametrize("corruption", [None, "masking"])
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("solver, momentum", [("sgd", 0.0), ("sgd", 0.9), ("adam", 0.0)])
@pytest.mark.parametrize("contraction", [0.0, 0.1])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_and_csr_inputs_give_the_same_fit(corruption, tied, solver, momentum,
                                                contraction, dtype, digits):
    X, Xs = _sparse_digits(digits)
    kw = dict(n_components=24, loss="cross_entropy", corruption=corruption,
              tied_weights=tied, solver=solver, momentum=momentum,
              learning_rate=0.05 if solver == "sgd" else 0.01, alpha=1e-3,
              contraction=contraction, batch_size=16, max_iter=3, random_state=0)
    dense = DenoisingAutoencoder(**kw).fit(X.astype(dtype))
    sparse = DenoisingAutoencoder(**kw).fit(Xs.astype(dtype))
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    assert sparse.components_.dtype == dtype
    assert_allclose(sparse.components_, dense.components_, rtol=rtol, atol=rtol)
    assert_allclose(sparse.intercept_hidden_, dense.intercept_hidden_, rtol=rtol, atol=rtol)
    assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=rtol)
    if not tied:
        assert_allclose(sparse.decoder_components_, dense.decoder_components_,
                        rtol=rtol, atol=rtol)


def test_sparse_methods_match_dense(digits):
    X, Xs = _sparse_digits(digits)
    dae = DenoisingAutoencoder(n_components=16, max_iter=2, random_state=0).fit(X)
    assert_allclose(dae.transform(Xs), dae.transform(X), rtol=1e-12)
    assert_allclose(dae.score_samples(Xs), dae.score_samples(X), rtol=1e-12)
    assert dae.score(Xs) == pytest.approx(dae.score(X), rel=1e-12)
    assert_allclose(dae.jacobian_squared_norm(Xs), dae.jacobian_squared_norm(X), rtol=1e-12)
    assert isinstance(dae.inverse_transform(dae.transform(Xs)), np.ndarray)
    # partial_fit on CSR continues a dense fit
    dae.partial_fit(Xs)
    assert dae.n_iter_ == 3


@pytest.mark.parametrize("fmt", ["coo", "csc", "lil"])
def test_other_sparse_formats_are_converted_to_csr(fmt, digits):
    X, Xs = _sparse_digits(digits)
    kw = dict(n_components=8, max_iter=2, random_state=0)
    ref = DenoisingAutoencoder(**kw).fit(Xs)
    other = DenoisingAutoencoder(**kw).fit(Xs.asformat(fmt))
    assert_allclose(other.components_, ref.components_, rtol=1e-12)


def test_masking_on_sparse_input_drops_stored_entries(digits):
    # ν = 1 drops every stored entry: the encoder sees zeros and, as in the
    # dense case, the decoder learns the mean of the clean rows.
    X, Xs = _sparse_digits(digits)
    dae = DenoisingAutoencoder(
        n_components=8, loss="cross_entropy", corruption="masking", corruption_level=1.0,
        solver="adam", learning_rate=0.05, batch_size=X.shape[0], max_iter=200, tol=0.0,
        random_state=0,
    ).fit(Xs)
    recon = dae.inverse_transform(dae.transform(np.zeros((1, X.shape[1]))))[0]
    assert_allclose(recon, X.mean(axis=0), atol=0.005)


@pytest.mark.parametrize("corruption", ["gaussian", "salt_and_pepper"])
def test_densifying_noise_on_sparse_input_is_refused(corruption, digits):
    _, Xs = _sparse_digits(digits)
    with pytest.raises(ValueError, match="not supported on sparse input.*densify") as info:
        DenoisingAutoencoder(corruption=corruption).fit(Xs)
    # the fix for an array and the fix for a Pipeline whose encoder outputs CSR
    message = str(info.value)
    assert "X.toarray()" in message
    assert "OneHotEncoder(sparse_output=False)" in message
    assert "values to the implicit zeros" in message


def test_cross_entropy_range_check_on_sparse_input(digits):
    _, Xs = _sparse_digits(digits)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        DenoisingAutoencoder(loss="cross_entropy").fit(Xs * 16)


def test_vectorised_float64_exp_and_log1p_are_accurate():
    # The float64 kernels (Taylor exp after Cody-Waite reduction, fdlibm log
    # with Goldberg's log1p correction) are within two ulp of NumPy's, down
    # to the tiniest e the loss feeds them.
    from skdae._autoencoder_fast import _fast_exp_log1p

    eps = np.finfo(np.float64).eps
    x = np.linspace(-708.0, 709.0, 400_001)
    exp_out, dummy = np.empty_like(x), np.empty_like(x)
    _fast_exp_log1p(x, exp_out, dummy)
    ref = np.exp(x)
    assert np.max(np.abs(exp_out - ref) / ref) < 2 * eps
    e = np.concatenate([np.linspace(0.0, 1.0, 200_001), np.logspace(-300, 0, 20_001)])
    log_out, dummy = np.empty_like(e), np.empty_like(e)
    _fast_exp_log1p(e, dummy, log_out)
    ref = np.log1p(e)
    assert log_out[0] == 0.0
    assert np.max(np.abs(log_out[1:] - ref[1:]) / ref[1:]) < 2 * eps


def test_vectorised_float32_exp_and_log1p_are_accurate():
    # The float32 engine's branch-free exp and log(1 + x) (Cephes-style) are
    # within a few ulp of the float64 functions on the ranges it uses.
    from skdae._autoencoder_fast import _fast_exp_log1p

    x = np.linspace(-87.0, 0.0, 200_001, dtype=np.float32)
    e = np.linspace(0.0, 1.0, 200_001, dtype=np.float32)
    exp_out, dummy = np.empty_like(x), np.empty_like(x)
    _fast_exp_log1p(x, exp_out, dummy)
    ref = np.exp(x.astype(np.float64))
    assert np.max(np.abs(exp_out - ref) / ref) < 4 * np.finfo(np.float32).eps
    log_out = np.empty_like(e)
    _fast_exp_log1p(e, dummy, log_out)
    # absolute: log(1 + e) is formed from 1 + e rounded to float32
    assert np.max(np.abs(log_out - np.log1p(e.astype(np.float64)))) < 2e-7


# --------------------------------------------------------------------------- #
# Swap noise and emphasized denoising
# --------------------------------------------------------------------------- #
def _numpy_swap(X, i, key, threshold):
    """Row ``i`` of ``X`` with swap noise keyed by ``key``: feature k, when
    the low 32 bits of its hash are below ``threshold``, takes X[other, k],
    other uniform over the rows but ``i`` (Lemire's multiply-shift on the high
    32 bits). Returns the row and which features were swapped."""
    n, d = X.shape
    z = _numpy_hash(key, np.arange(d))
    hit = (z & np.uint64(0xFFFFFFFF)) < np.uint64(threshold)
    other = ((z >> np.uint64(32)) * np.uint64(n - 1)) >> np.uint64(32)
    other = other.astype(np.int64)
    other += other >= i
    return np.where(hit, X[other, np.arange(d)], X[i]), hit


def _reference_noise(X, corruption, level, seed_state, emphasis):
    """Every row's corruption and emphasis weights as the engine draws them
    with shuffle off (one key per row, in order), computed in NumPy."""
    py_state = [int(v) for v in seed_state]
    threshold = int(level * 4294967296.0)
    Xt, hits = np.empty_like(X), np.empty(X.shape, dtype=bool)
    for i in range(X.shape[0]):
        key = _xoshiro256ss(py_state)
        if corruption == "masking":
            hits[i] = _numpy_mask(key, X.shape[1], threshold)
            Xt[i] = np.where(hits[i], 0, X[i])
        else:
            Xt[i], hits[i] = _numpy_swap(X, i, key, threshold)
    alpha, beta = emphasis if emphasis is not None else (1.0, 1.0)
    return Xt, np.where(hits, alpha, beta).astype(X.dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_swap_kernel_equals_numpy_reference(dtype):
    # 1 031 features (vector loops and tails), one key per row drawn in order.
    X = np.random.RandomState(0).uniform(-1, 1, size=(9, 1031)).astype(dtype)
    ones = np.ones(X.shape[1])
    out, keys = _keyed_rows(dtype, 4, 0.3, ones * 0, ones, X)
    threshold = int(0.3 * 4294967296.0)
    for i, key in enumerate(keys):
        assert_array_equal(out[i], _numpy_swap(X, i, key, threshold)[0])


def test_swap_noise_draws_from_the_columns_own_values():
    # X[r, k] = 1000 k + r: a swapped value names the row it came from.
    n, d, level = 300, 400, 0.2
    X = (1000.0 * np.arange(d)[None, :] + np.arange(n)[:, None])
    dae = _fitted(X, corruption="swap", corruption_level=level)
    Xt = dae._corrupt(X, random_state=0)
    swapped = Xt != X
    # the fraction swapped: binomial(n d, level), a 5-sigma band
    assert abs(swapped.sum() - n * d * level) < 5 * np.sqrt(n * d * level * (1 - level))
    rows = (Xt - 1000.0 * np.arange(d)[None, :]).astype(int)
    cols = np.nonzero(swapped)[1]
    assert_array_equal(Xt[swapped] // 1000, cols)  # same column, another row
    source = rows[swapped]
    assert ((0 <= source) & (source < n)).all()
    assert not (source == np.nonzero(swapped)[0]).any()  # never the row itself
    # the source rows are uniform: chi-square over 10 bins of rows
    from scipy import stats

    counts = np.bincount(source * 10 // n, minlength=10)
    assert stats.chisquare(counts).pvalue > 1e-4


def test_swap_noise_is_refused_on_sparse_input(digits):
    with pytest.raises(ValueError, match="corruption='swap' is not supported on sparse"):
        DenoisingAutoencoder(corruption="swap").fit(sp.csr_matrix(digits[0]))


@pytest.mark.parametrize("corruption, emphasis", [
    ("masking", (1.0, 0.0)), ("masking", (1.0, 0.5)), ("swap", (0.7, 0.2)),
    ("swap", None)])
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("contraction", [0.0, 0.2], ids=["dae", "contractive"])
@pytest.mark.parametrize("threads", ["one", "blocked"])
@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_emphasis_and_swap_epoch_equals_numpy_reference(
        corruption, emphasis, tied, solver, contraction, threads, dtype, atol, monkeypatch):
    from skdae import _training
    from skdae._engine import openmp_max_threads

    n_components = 9
    if threads == "blocked":
        if openmp_max_threads() < 2 or (__import__("os").cpu_count() or 1) < 2:
            pytest.skip("the blocked engine needs OpenMP and two cores")
        monkeypatch.setattr(_training, "_MIN_FLOPS_PER_THREADED_BATCH", 0.0)
        n_components = 40
    rng = np.random.RandomState(1)
    X = rng.uniform(0, 1, size=(23, 19)).astype(dtype)
    lr = 0.05 if solver == "sgd" else 0.01
    dae = DenoisingAutoencoder(
        n_components=n_components, loss="cross_entropy", tied_weights=tied,
        corruption=corruption, corruption_level=0.4, emphasis=emphasis, solver=solver,
        learning_rate=lr, alpha=0.01, contraction=contraction, batch_size=7,
        shuffle=False, random_state=0,
    )
    dae.partial_fit(X)
    _set_params(dae, rng)
    W, b, c = dae.components_.copy(), dae.intercept_hidden_.copy(), dae.intercept_visible_.copy()
    V = None if tied else dae.decoder_components_.copy()
    f64 = (lambda a: None if a is None else a.astype(np.float64))
    Xt, weights = _reference_noise(f64(X), corruption, 0.4, dae._rng_state, emphasis)
    expected, total = _numpy_epoch(
        f64(X), f64(W), f64(V), f64(b), f64(c), activation="sigmoid",
        loss="cross_entropy", output="sigmoid", batch_size=7, lr=lr, alpha=0.01,
        contraction=contraction, solver=solver, Xt=Xt, weights=weights,
    )
    dae.partial_fit(X)
    if dtype == np.float32 and solver == "adam":
        # Adam's m / sqrt(v) magnifies float32 rounding where a gradient is near 0
        atol = 5e-5
    assert_allclose(dae.components_, expected["W"], rtol=0, atol=atol)
    assert_allclose(dae.intercept_hidden_, expected["b"], rtol=0, atol=atol)
    assert_allclose(dae.intercept_visible_, expected["c"], rtol=0, atol=atol)
    if not tied:
        assert_allclose(dae.decoder_components_, expected["V"], rtol=0, atol=atol)
    assert dae.loss_ == pytest.approx(total / X.shape[0] + dae._penalty(), rel=atol)


@pytest.mark.parametrize("corruption", ["masking", "salt_and_pepper", "swap"])
@pytest.mark.parametrize("loss, output", LOSS_OUTPUTS)
@pytest.mark.parametrize("tied", [True, False])
def test_emphasis_gradient_matches_finite_differences(corruption, loss, output, tied):
    # One full-batch SGD step with learning_rate=1 moves the parameters by
    # minus the gradient of the weighted loss at the step's own corruption,
    # which the NumPy reference reproduces; the gradient is checked against
    # central differences of that weighted loss.
    rng = np.random.RandomState(0)
    X = rng.uniform(0.05, 0.95, size=(7, 5))
    emphasis = (1.0, 0.3)
    dae = DenoisingAutoencoder(
        n_components=4, loss=loss, output_activation=output, tied_weights=tied,
        corruption=corruption, corruption_level=0.5, emphasis=emphasis, solver="sgd",
        learning_rate=1.0, batch_size=7, shuffle=False, random_state=0,
    ).partial_fit(X)
    _set_params(dae, rng)
    names = ["components_", "intercept_hidden_", "intercept_visible_"]
    if not tied:
        names.append("decoder_components_")
    before = {k: getattr(dae, k).copy() for k in names}
    noise_state = dae._rng_state.copy()
    dae.partial_fit(X)
    # the step's corruption and weights (salt-and-pepper from the engine's own
    # kernel: its decisions are checked against NumPy above)
    if corruption == "salt_and_pepper":
        from skdae._autoencoder_fast import _corrupt

        Xt = np.empty_like(X)
        weights = np.empty_like(X)
        low, high = dae._noise_extremes()
        _corrupt(X, Xt, 3, 0.5, low, high, noise_state.copy(), weights, emphasis)
    else:
        Xt, weights = _reference_noise(X, corruption, 0.5, noise_state, emphasis)
    assert not np.all(weights == weights.flat[0])  # both weights occur

    def weighted_loss(p):
        W = p["components_"]
        V = W if tied else p["decoder_components_"]
        H = _sigmoid(Xt @ W.T + p["intercept_hidden_"])
        Z = H @ V + p["intercept_visible_"]
        return (weights * _numpy_terms(X, Z, loss, output)[0]).sum() / X.shape[0]

    eps = 1e-6
    for k in names:
        analytic = before[k] - getattr(dae, k)
        numeric = np.empty_like(analytic)
        p = {name: v.copy() for name, v in before.items()}
        for idx in np.ndindex(analytic.shape):
            p[k][idx] = before[k][idx] + eps
            plus = weighted_loss(p)
            p[k][idx] = before[k][idx] - eps
            minus = weighted_loss(p)
            p[k][idx] = before[k][idx]
            numeric[idx] = (plus - minus) / (2 * eps)
        assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8, err_msg=k)


@pytest.mark.parametrize("corruption", ["masking", "salt_and_pepper", "swap"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equal_emphasis_weights_of_one_are_the_plain_loss_bit_for_bit(corruption, dtype,
                                                                      digits):
    # emphasis=(1, 1) runs the weighted kernels; multiplying by one is exact
    X = digits[0][:400].astype(dtype)
    kw = dict(n_components=16, corruption=corruption, loss="cross_entropy", max_iter=3,
              batch_size=16, random_state=0)
    plain = DenoisingAutoencoder(**kw).fit(X)
    weighted = DenoisingAutoencoder(emphasis=(1, 1), **kw).fit(X)
    assert_array_equal(weighted.components_, plain.components_)
    assert weighted.loss_curve_ == plain.loss_curve_
    half = DenoisingAutoencoder(emphasis=(1, 0.5), **kw).fit(X)
    assert np.abs(half.components_ - plain.components_).max() > 1e-3


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("solver, momentum", [("sgd", 0.0), ("sgd", 0.9), ("adam", 0.0)])
def test_emphasis_dense_and_csr_give_the_same_fit(tied, solver, momentum, digits):
    X, Xs = _sparse_digits(digits)
    kw = dict(n_components=24, loss="cross_entropy", corruption="masking",
              corruption_level=0.3, emphasis=(1.0, 0.25), tied_weights=tied,
              solver=solver, momentum=momentum,
              learning_rate=0.05 if solver == "sgd" else 0.01, alpha=1e-3,
              batch_size=16, max_iter=3, random_state=0)
    dense = DenoisingAutoencoder(**kw).fit(X)
    sparse = DenoisingAutoencoder(**kw).fit(Xs)
    assert_allclose(sparse.components_, dense.components_, rtol=1e-9, atol=1e-9)
    assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-9)


def test_score_with_emphasis_is_the_plain_reconstruction_loss(digits):
    X = digits[0]
    dae = DenoisingAutoencoder(n_components=16, loss="cross_entropy", emphasis=(1, 0),
                               max_iter=3, random_state=0).fit(X)
    Z = dae.transform(X) @ dae.components_ + dae.intercept_visible_
    assert dae.score(X) == pytest.approx(-_numpy_row_loss(X, Z, "cross_entropy",
                                                          "sigmoid").mean(), rel=1e-10)


@pytest.mark.parametrize("params, match", [
    (dict(corruption="gaussian", emphasis=(1, 0)), "corrupts every one"),
    (dict(corruption=None, emphasis=(1, 0)), "corrupts none"),
    (dict(emphasis=(1, -0.5)), "non-negative"),
    (dict(emphasis=(0, 0)), r"not both\s+zero"),
    (dict(emphasis=(1, 2, 3)), "pair"),
    (dict(emphasis=("a", 1)), "pair"),
])
def test_bad_emphasis_is_refused_with_the_fix(params, match, digits):
    with pytest.raises(ValueError, match=match):
        DenoisingAutoencoder(**params).fit(digits[0])


# set_params between calls (run in a child process: before these checks a
# changed parameter made the engine read outside its buffers or segfault)
# --------------------------------------------------------------------------- #
# (initial parameters, the structural change)
STRUCTURAL_CHANGES = {
    "n_components-up": ({"n_components": 8}, {"n_components": 12}),
    "n_components-down": ({"n_components": 12}, {"n_components": 8}),
    "activation": ({"activation": "sigmoid"}, {"activation": "tanh"}),
    "tied_weights-untie": ({"tied_weights": True}, {"tied_weights": False}),
    "tied_weights-tie": ({"tied_weights": False}, {"tied_weights": True}),
    "loss": ({"loss": "squared_error"}, {"loss": "cross_entropy"}),
    "output_activation": ({"output_activation": None}, {"output_activation": "sigmoid"}),
}

# (initial optimizer, changed optimizer, whether its state starts afresh)
OPTIMIZER_CHANGES = {
    "sgd-to-adam": ({"solver": "sgd"}, {"solver": "adam"}, True),
    "adam-to-sgd": ({"solver": "adam"}, {"solver": "sgd"}, True),
    "adam-to-sgd-momentum": ({"solver": "adam"}, {"solver": "sgd", "momentum": 0.9}, True),
    "momentum-on": ({"solver": "sgd"}, {"momentum": 0.9}, True),
    "momentum-off": ({"solver": "sgd", "momentum": 0.9}, {"momentum": 0.0}, True),
    "momentum-value": ({"solver": "sgd", "momentum": 0.9}, {"momentum": 0.5}, False),
    "adam-betas": ({"solver": "adam"}, {"beta_1": 0.5, "beta_2": 0.9}, False),
}

_SMALL = dict(max_iter=2, batch_size=50, corruption=None, shuffle=False, random_state=0)


@functools.cache
def _small_digits():
    X = load_digits().data[:300] / 16.0
    X.setflags(write=False)
    return X


def _fitted_small(how, **params):
    X = _small_digits()
    dae = DenoisingAutoencoder(**{**_SMALL, **params}, warm_start=how == "warm_start")
    return dae.partial_fit(X) if how == "partial_fit" else dae.fit(X)


def _train(dae, how):
    X = _small_digits()
    return dae.partial_fit(X) if how == "partial_fit" else dae.fit(X)


def _structural_change_refused_in_training(name, how):
    before, change = STRUCTURAL_CHANGES[name]
    dae = _fitted_small(how, **before)
    state = [a.copy() for a in dae._training_state()]
    n_iter = dae.n_iter_
    param, new = next(iter(change.items()))
    old = dae.get_params()[param]
    if param == "output_activation":
        old = "identity"  # None resolves to it with loss="squared_error"
    dae.set_params(**change)
    with pytest.raises(ValueError, match=(
        f"^{param} changed from {old!r} to {new!r} since the model was initialised"
        r".*fit with warm_start=False, or clone the estimator")):
        _train(dae, how)
    # nothing was touched, and the old setting continues
    dae.set_params(**{param: before.get(param, old)})
    assert dae.n_iter_ == n_iter
    for a, b in zip(dae._training_state(), state):
        assert_array_equal(a, b)
    assert _train(dae, how).n_iter_ > n_iter
    # starting over takes the new setting
    dae.set_params(**change)
    fresh = clone(dae).set_params(warm_start=False).fit(_small_digits())
    assert fresh.get_params()[param] == new


def _structural_change_refused_in_inference(name):
    before, change = STRUCTURAL_CHANGES[name]
    X = _small_digits()
    dae = _fitted_small("fit", **before)
    H = dae.transform(X)
    param = next(iter(change))
    dae.set_params(**change)
    calls = {
        "transform": lambda: dae.transform(X),
        "inverse_transform": lambda: dae.inverse_transform(H),
        "score": lambda: dae.score(X),
        "score_samples": lambda: dae.score_samples(X),
        "jacobian_squared_norm": lambda: dae.jacobian_squared_norm(X),
    }
    for call in calls.values():
        with pytest.raises(ValueError, match=(
                f"^{param} changed from .* since the model was fitted.*Call fit")):
            call()
    dae.set_params(**before)
    assert_array_equal(dae.transform(X), H)


def _optimizer_change_continues(name, how):
    before, change, fresh_state = OPTIMIZER_CHANGES[name]
    X = _small_digits()
    dae = _fitted_small(how, **before)
    # The reference: a model built with the new optimizer, whose fresh
    # optimizer state comes from _initialize, given the same weights and RNG.
    ref = DenoisingAutoencoder(**{**_SMALL, **before, **change}, warm_start=how == "warm_start")
    ref._initialize(X.shape[1], X.dtype, np.random.RandomState(1))
    for attr in ("components_", "intercept_hidden_", "intercept_visible_", "_rng_state",
                 "data_min_", "data_max_"):
        setattr(ref, attr, getattr(dae, attr).copy())
    ref.n_features_in_, ref.n_iter_, ref.t_ = dae.n_features_in_, dae.n_iter_, dae.t_
    ref.loss_curve_, ref.best_loss_ = list(dae.loss_curve_), dae.best_loss_
    adam_t = dae._adam_t
    dae.set_params(**change)
    _train(dae, how)
    _train(ref, how)
    assert all(np.isfinite(a).all() for a in dae._training_state()[:3])
    if fresh_state:
        assert_array_equal(dae.components_, ref.components_)
        assert_array_equal(dae.intercept_visible_, ref.intercept_visible_)
        assert dae._adam_t == ref._adam_t
        for a, b in zip(dae._state1 + dae._state2, ref._state1 + ref._state2):
            assert_array_equal(a, b)
    else:  # the same optimizer keeps its state: velocity, moments, step count
        assert not np.allclose(dae.components_, ref.components_)
        if dae.solver == "adam":
            assert dae._adam_t == 2 * adam_t


def _early_stopping_switch_in_warm_start(on):
    X = _small_digits()
    dae = DenoisingAutoencoder(**_SMALL, warm_start=True, early_stopping=not on).fit(X)
    dae.set_params(early_stopping=on).fit(X)
    assert dae.n_iter_ == 4
    if on:
        assert len(dae.validation_scores_) == 2 and dae.best_loss_ is None
    else:
        assert dae.validation_scores_ is None
        assert dae.best_loss_ == min(dae.loss_curve_[2:])


SET_PARAMS_CASES = (
    [("_structural_change_refused_in_training", {"name": name, "how": how})
     for name in STRUCTURAL_CHANGES for how in ("partial_fit", "warm_start")]
    + [("_structural_change_refused_in_inference", {"name": name})
       for name in STRUCTURAL_CHANGES]
    + [("_optimizer_change_continues", {"name": name, "how": how})
       for name in OPTIMIZER_CHANGES for how in ("partial_fit", "warm_start")]
    + [("_early_stopping_switch_in_warm_start", {"on": on}) for on in (True, False)]
)


@pytest.fixture(scope="module")
def set_params_outcomes(run_in_child):
    return dict(zip(map(repr, SET_PARAMS_CASES),
                    run_in_child(__file__, SET_PARAMS_CASES)))


def _check_outcome(outcomes, function, **kwargs):
    outcome = outcomes[repr((function, kwargs))]
    if outcome is not None:
        pytest.fail(outcome, pytrace=False)


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
@pytest.mark.parametrize("name", STRUCTURAL_CHANGES)
def test_changed_structural_parameter_is_refused_by_further_training(
        name, how, set_params_outcomes):
    _check_outcome(set_params_outcomes, "_structural_change_refused_in_training",
                   name=name, how=how)


@pytest.mark.parametrize("name", STRUCTURAL_CHANGES)
def test_changed_structural_parameter_is_refused_by_inference(name, set_params_outcomes):
    _check_outcome(set_params_outcomes, "_structural_change_refused_in_inference", name=name)


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
@pytest.mark.parametrize("name", OPTIMIZER_CHANGES)
def test_changed_optimizer_continues_with_fresh_or_kept_state(name, how, set_params_outcomes):
    _check_outcome(set_params_outcomes, "_optimizer_change_continues", name=name, how=how)


@pytest.mark.parametrize("on", [True, False])
def test_switching_early_stopping_in_warm_start_restarts_the_stopping_rule(
        on, set_params_outcomes):
    _check_outcome(set_params_outcomes, "_early_stopping_switch_in_warm_start", on=on)


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_model_loaded_read_only_trains_on_a_copy(how, tmp_path, digits):
    X = digits[0][:300]
    dae = DenoisingAutoencoder(n_components=8, max_iter=2, solver="sgd", momentum=0.9,
                               random_state=0, warm_start=how == "warm_start").fit(X)
    path = tmp_path / "dae.joblib"
    joblib.dump(dae, path)
    loaded = joblib.load(path, mmap_mode="r")
    assert isinstance(loaded.components_, np.memmap)
    assert not loaded.components_.flags.writeable
    assert_array_equal(loaded.transform(X), dae.transform(X))
    train = (lambda m: m.partial_fit(X)) if how == "partial_fit" else (lambda m: m.fit(X))
    train(loaded)
    train(dae)
    assert_array_equal(loaded.components_, dae.components_)
    assert_array_equal(loaded._state1[0], dae._state1[0])
    assert loaded.n_iter_ == dae.n_iter_
    # the file was not written to
    assert_array_equal(joblib.load(path).components_, joblib.load(path, mmap_mode="r").components_)
    assert not np.array_equal(joblib.load(path).components_, dae.components_)


def test_sparse_transform_refuses_a_product_that_overflows(digits):
    X = digits[0][:50].astype(np.float32)
    dae = DenoisingAutoencoder(n_components=4, max_iter=1, random_state=0).fit(X)
    X_huge = sp.csr_matrix(np.full((3, X.shape[1]), 3e38, dtype=np.float32))
    with pytest.raises(ValueError, match="values so large that X @ components_.T overflows"):
        dae.transform(X_huge)
