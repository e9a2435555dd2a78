"""Tests of the stacked autoencoder and of the fine-tuned SdA classifier."""

import pickle
import re
import warnings
from contextlib import nullcontext

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

from skdae import (
    DenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)
from skdae._engine import openmp_max_threads as _openmp_max_threads
from skdae._engine import seed_rng as _seed_rng
from skdae._engine import train_stack_epoch
from skdae._options import ACTIVATIONS, SOLVERS

# The engine's blocked path splits every layer between threads; the layers of
# these tests are wide enough (>= 32 units) for two blocks of 16.
THREADS = [1, 2] if _openmp_max_threads() > 1 else [1]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def digits_split(digits):
    X, y = digits
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


# ---------------------------------------------------------------------- #
# NumPy reference of the fine-tuning network
# ---------------------------------------------------------------------- #
def _act(A, activation):
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-A))
    if activation == "tanh":
        return np.tanh(A)
    return np.maximum(A, 0.0)


def _numpy_loss(X, y, coefs, intercepts, activation, alpha=0.0):
    """Mean loss of the network plus 0.5 alpha sum ||W||**2: the cross-entropy
    of its softmax outputs for class labels ``y`` (1-D), half the squared
    error of its identity outputs, summed over the outputs, for targets ``y``
    (2-D)."""
    H = X
    for W, b in zip(coefs[:-1], intercepts[:-1]):
        H = _act(H @ W + b, activation)
    Z = H @ coefs[-1] + intercepts[-1]
    penalty = 0.5 * alpha * sum((W**2).sum() for W in coefs)
    if y.ndim == 2:
        return 0.5 * ((Z - y) ** 2).sum(axis=1).mean() + penalty
    Z = Z - Z.max(axis=1, keepdims=True)
    log_p = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean() + penalty


def _random_network(rng, sizes, dtype=np.float64, scale=0.7):
    coefs = [rng.normal(scale=scale, size=(a, b)).astype(dtype)
             for a, b in zip(sizes[:-1], sizes[1:])]
    intercepts = [rng.normal(scale=0.3, size=b).astype(dtype) for b in sizes[1:]]
    return coefs, intercepts


def _empty_state(arrays):
    return [np.empty((0,) * a.ndim, dtype=a.dtype) for a in arrays]


def _run_epoch(X, y, coefs, intercepts, *, batch_size, lr, solver="sgd",
               momentum=0.0, alpha=0.0, activation="sigmoid", state1=None,
               state2=None, adam_t=0, n_threads=1):
    arrays = coefs + intercepts
    state1 = _empty_state(arrays) if state1 is None else state1
    state2 = _empty_state(arrays) if state2 is None else state2
    rng_state = np.empty(4, dtype=np.uint64)
    _seed_rng(rng_state, 0)
    with threadpool_limits(limits=1, user_api="blas"):
        loss_sum, adam_t, n_seen, _ = train_stack_epoch(
            X, y.astype(X.dtype if y.ndim == 2 else np.intp),
            np.arange(len(X), dtype=np.intp), rng_state, coefs,
            intercepts, [list(pair) for pair in zip(state1, state2)],
            dict(solver=SOLVERS[solver], learning_rate=lr, momentum=momentum,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, alpha=alpha, t=adam_t),
            activation=ACTIVATIONS[activation].code, batch_size=batch_size,
            shuffle=False, n_threads=n_threads,
        )
    return loss_sum, adam_t, n_seen


def _targets(head, rng, n, k):
    """Class labels in [0, k) for the softmax head, real targets (n, k) for
    the identity head."""
    if head == "softmax":
        return rng.randint(k, size=n)
    return rng.normal(scale=2.0, size=(n, k))


@pytest.mark.parametrize("head", ["softmax", "identity"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("momentum", [0.0, 0.5], ids=["fused-sgd", "velocity"])
@pytest.mark.parametrize("alpha", [0.0, 0.1])
@pytest.mark.parametrize("n_threads", THREADS)
def test_finetune_gradient_matches_finite_differences(head, activation, momentum, alpha,
                                                      n_threads):
    # One full-batch step from zero velocity moves every parameter by
    # -lr * gradient, on the fused and on the velocity path alike, for the
    # classifier's softmax head and the regressor's identity head.
    rng = np.random.RandomState(0)
    sizes = [5, 20, 18, 3]  # two hidden layers and 3 classes or outputs
    X = rng.normal(size=(7, sizes[0]))
    y = _targets(head, rng, 7, 3)
    coefs, intercepts = _random_network(rng, sizes)
    before = [a.copy() for a in coefs + intercepts]
    lr = 1e-3
    state1 = [np.zeros_like(a) for a in coefs + intercepts] if momentum else None
    loss_sum, _, n_seen = _run_epoch(X, y, coefs, intercepts, batch_size=7, lr=lr,
                                     momentum=momentum, alpha=alpha,
                                     activation=activation, state1=state1,
                                     n_threads=n_threads)
    assert n_seen == 7
    assert_allclose(loss_sum / 7, _numpy_loss(X, y, *(_split(before)), activation),
                    rtol=1e-12)
    engine_grad = [(b - a) / lr for a, b in zip(coefs + intercepts, before)]
    n_coefs = len(coefs)
    eps = 1e-6
    for k, param in enumerate(before):
        numeric = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            plus = [a.copy() for a in before]
            minus = [a.copy() for a in before]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            numeric[idx] = (
                _numpy_loss(X, y, plus[:n_coefs], plus[n_coefs:], activation, alpha)
                - _numpy_loss(X, y, minus[:n_coefs], minus[n_coefs:], activation, alpha)
            ) / (2 * eps)
        assert_allclose(engine_grad[k], numeric, rtol=1e-5, atol=1e-7)


def _split(arrays):
    half = len(arrays) // 2
    return arrays[:half], arrays[half:]


def _numpy_finetune_epoch(X, y, coefs, intercepts, batch_size, lr, activation):
    """Plain minibatch SGD, written the slow obvious way (softmax outputs for
    class labels ``y``, identity outputs for targets ``y``)."""
    coefs = [W.copy() for W in coefs]
    intercepts = [b.copy() for b in intercepts]
    for start in range(0, len(X), batch_size):
        Xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        Hs = [Xb]
        for W, b in zip(coefs[:-1], intercepts[:-1]):
            Hs.append(_act(Hs[-1] @ W + b, activation))
        Z = Hs[-1] @ coefs[-1] + intercepts[-1]
        if y.ndim == 2:
            G = Z - yb
        else:
            G = np.exp(Z - Z.max(axis=1, keepdims=True))
            G /= G.sum(axis=1, keepdims=True)
            G[np.arange(len(yb)), yb] -= 1
        G /= len(yb)
        for layer in range(len(coefs) - 1, -1, -1):
            H = Hs[layer]
            G_below = G @ coefs[layer].T
            coefs[layer] -= lr * H.T @ G
            intercepts[layer] -= lr * G.sum(axis=0)
            if layer:
                if activation == "sigmoid":
                    G = G_below * H * (1 - H)
                elif activation == "tanh":
                    G = G_below * (1 - H * H)
                else:
                    G = G_below * (H > 0)
    return coefs, intercepts


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 2e-4)])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("head", ["softmax", "identity"])
def test_finetune_epoch_equals_numpy_reference(head, dtype, rtol, activation, n_threads):
    # 40 input and hidden units: with two threads every layer has two blocks
    # of 16+ units (the output layer's 3 units stay on one block)
    rng = np.random.RandomState(1)
    sizes = [40, 37, 33, 3]
    X = rng.normal(size=(23, sizes[0])).astype(dtype)  # last batch is partial
    y = _targets(head, rng, 23, 3)
    lr = 0.2  # (the identity head's larger gradients diverge at 0.02 with relu)
    if head == "identity":
        y, lr = y.astype(dtype), 0.001
    coefs, intercepts = _random_network(rng, sizes, dtype)
    expected = _numpy_finetune_epoch(X.astype(np.float64), y,
                                     [W.astype(np.float64) for W in coefs],
                                     [b.astype(np.float64) for b in intercepts],
                                     batch_size=5, lr=lr, activation=activation)
    _run_epoch(X, y, coefs, intercepts, batch_size=5, lr=lr, activation=activation,
               n_threads=n_threads)
    for got, want in zip(coefs + intercepts, expected[0] + expected[1]):
        assert got.dtype == dtype
        assert_allclose(got, want, rtol=rtol, atol=rtol)


def test_adam_first_step_moves_every_weight_by_the_learning_rate():
    # Adam's bias-corrected first step is lr * g / (|g| + eps) = lr * sign(g).
    rng = np.random.RandomState(2)
    sizes = [4, 3, 2]
    X = rng.normal(size=(6, 4))
    y = np.array([0, 1, 0, 1, 1, 0])
    coefs, intercepts = _random_network(rng, sizes)
    before = [a.copy() for a in coefs + intercepts]
    arrays = coefs + intercepts
    state1 = [np.zeros_like(a) for a in arrays]
    state2 = [np.zeros_like(a) for a in arrays]
    _, adam_t, _ = _run_epoch(X, y, coefs, intercepts, batch_size=6, lr=0.01,
                              solver="adam", state1=state1, state2=state2)
    assert adam_t == 1
    for a, b in zip(coefs + intercepts, before):
        assert_allclose(np.abs(a - b), 0.01, rtol=1e-3)  # eps=1e-8 vs small |g|


# ---------------------------------------------------------------------- #
# StackedDenoisingAutoencoder
# ---------------------------------------------------------------------- #
_LAYER_PARAMS = dict(loss="cross_entropy", max_iter=3, batch_size=20)


def _by_hand(X, sizes, levels, seed):
    """Fit the layers one by one with the seeds the stack draws."""
    rng = np.random.RandomState(seed)
    layers = []
    for size, level in zip(sizes, levels):
        layer = DenoisingAutoencoder(
            n_components=size, corruption_level=level,
            random_state=int(rng.randint(np.iinfo(np.int32).max)), **_LAYER_PARAMS,
        )
        with pytest.warns(ConvergenceWarning):
            X = layer.fit_transform(X)
        layers.append(layer)
    return layers, X


def test_pretraining_equals_fitting_layers_one_by_one(digits):
    X, _ = digits
    sda = StackedDenoisingAutoencoder(
        hidden_layer_sizes=(20, 10), corruption_levels=(0.1, 0.3), random_state=3,
        **_LAYER_PARAMS,
    )
    H = sda.fit_transform(X)
    layers, H_hand = _by_hand(X, (20, 10), (0.1, 0.3), seed=3)
    assert sda.n_layers_ == 2 and sda.n_iter_ == 6
    for fitted, hand in zip(sda.autoencoders_, layers):
        assert isinstance(fitted, DenoisingAutoencoder)
        assert_array_equal(fitted.components_, hand.components_)
        assert_array_equal(fitted.intercept_hidden_, hand.intercept_hidden_)
        assert_array_equal(fitted.intercept_visible_, hand.intercept_visible_)
    assert_array_equal(H, H_hand)
    assert_array_equal(sda.transform(X), H_hand)


def test_classifier_pretraining_equals_fitting_layers_one_by_one(digits):
    X, y = digits
    clf = SdAClassifier(
        hidden_layer_sizes=(20, 10), corruption_levels=(0.1, 0.3),
        pretrain_loss="cross_entropy", pretrain_max_iter=3, pretrain_batch_size=20,
        early_stopping=False, max_iter=1, random_state=3,
    )
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    layers, _ = _by_hand(X, (20, 10), (0.1, 0.3), seed=3)
    for fitted, hand in zip(clf.autoencoders_, layers):
        assert_array_equal(fitted.components_, hand.components_)
    # fine-tuning starts from the pretrained weights and moves them
    assert clf.coefs_[0].shape == (64, 20)
    assert not np.array_equal(clf.coefs_[0], layers[0].components_.T)
    assert np.abs(clf.coefs_[0] - layers[0].components_.T).max() < 0.5


def test_stack_decodes_down_and_scores_the_whole_reconstruction(digits):
    X, _ = digits
    sda = StackedDenoisingAutoencoder(
        hidden_layer_sizes=(24, 12), corruption_levels=0.2, random_state=0,
        **_LAYER_PARAMS,
    ).fit(X)
    low, high = sda.autoencoders_
    H = sda.transform(X)
    assert_allclose(H, high.transform(low.transform(X)))
    X_hat = sda.inverse_transform(H)
    assert_allclose(X_hat, low.inverse_transform(high.inverse_transform(H)))
    eps = 1e-12
    expected = -(X * np.log(X_hat + eps) + (1 - X) * np.log(1 - X_hat + eps)).sum(axis=1)
    assert_allclose(sda.score_samples(X), -expected, rtol=1e-6, atol=1e-6)
    assert sda.score(X) == pytest.approx(-expected.mean(), rel=1e-6)


def test_stack_preserves_float32(digits):
    X, _ = digits
    sda = StackedDenoisingAutoencoder(
        hidden_layer_sizes=(16, 8), corruption_levels=(0.1, 0.2), random_state=0,
        **_LAYER_PARAMS,
    ).fit(X.astype(np.float32))
    assert all(a.components_.dtype == np.float32 for a in sda.autoencoders_)
    assert sda.transform(X.astype(np.float32)).dtype == np.float32
    assert sda.inverse_transform(sda.transform(X)).dtype == np.float32


def test_stack_passes_contraction_to_every_layer(digits):
    X, _ = digits
    sda = StackedDenoisingAutoencoder(
        hidden_layer_sizes=(16, 8), corruption_levels=0.0, contraction=0.3,
        random_state=0, **_LAYER_PARAMS,
    ).fit(X)
    assert [a.contraction for a in sda.autoencoders_] == [0.3, 0.3]


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(hidden_layer_sizes=(8, 4), corruption_levels=(0.1, 0.2, 0.3)),
         "corruption_levels has 3 values but hidden_layer_sizes has 2 layers"),
        (dict(hidden_layer_sizes=(8, 0)), "hidden_layer_sizes must be a positive int"),
        (dict(hidden_layer_sizes=(8,), corruption_levels=1.5),
         "must lie in \\[0, 1\\]"),
        (dict(hidden_layer_sizes=(8, 4), loss=("cross_entropy", "hinge")),
         "loss must be 'auto', 'squared_error' or 'cross_entropy'"),
    ],
)
def test_stack_explains_inconsistent_parameters(params, match, digits):
    X, _ = digits
    with pytest.raises(ValueError, match=match):
        StackedDenoisingAutoencoder(max_iter=1, **params).fit(X)


def test_stack_rejects_wrong_code_width(digits):
    X, _ = digits
    sda = StackedDenoisingAutoencoder(hidden_layer_sizes=(8, 4), max_iter=1,
                                      corruption_levels=0.1).fit(X)
    with pytest.raises(ValueError, match="expects codes of the top layer \\(4"):
        sda.inverse_transform(np.zeros((2, 8)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("Estimator", [StackedDenoisingAutoencoder, SdAClassifier])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize(
    "sizes, levels",
    [((8,), [0.1]), ((8, 4), [0.1, 0.2]), ((8, 8, 4, 4), [0.1, 0.2, 0.3, 0.3])],
)
@pytest.mark.parametrize("scale, bottom", [(1.0, "cross_entropy"), (16.0, "squared_error")])
def test_per_layer_defaults_fit_any_number_of_layers(Estimator, activation, sizes,
                                                     levels, scale, bottom, digits):
    X, y = digits
    est = Estimator(hidden_layer_sizes=sizes, activation=activation, max_iter=1,
                    random_state=0)
    if Estimator is SdAClassifier:
        est.set_params(pretrain_max_iter=1, early_stopping=False)
    est.fit(X * scale, y)  # digits / 16 lie in [0, 1], the raw digits do not
    layers = est.autoencoders_
    assert [layer.corruption_level for layer in layers] == levels
    # cross-entropy only where the input is known to be in [0, 1]: the data
    # when all of it is, and the codes of sigmoid units
    above = "cross_entropy" if activation == "sigmoid" else "squared_error"
    assert [layer.loss for layer in layers] == [bottom] + [above] * (len(sizes) - 1)
    loss = "pretrain_loss" if Estimator is SdAClassifier else "loss"
    assert est.get_params()[loss] == "auto" and est.corruption_levels == "auto"


def test_auto_loss_keeps_the_codes_above_a_sigmoid_layer_informative(digits):
    # The squared error on the first layer's sigmoid codes (values in [0, 1]
    # that vary little between samples) lets the second layer collapse to
    # codes that hardly depend on the input; the cross-entropy does not.
    X, _ = digits

    def spread_of_top_code(loss):
        sda = StackedDenoisingAutoencoder((128, 64), loss=loss, random_state=0).fit(X)
        return np.median(sda.transform(X).std(axis=0))

    assert spread_of_top_code("auto") > 10 * spread_of_top_code("squared_error")


@pytest.mark.parametrize("activation, values", [("tanh", "[-1, 1]"), ("relu", "[0, inf)")])
@pytest.mark.parametrize("Estimator", [StackedDenoisingAutoencoder, SdAClassifier])
def test_cross_entropy_above_tanh_or_relu_names_the_layer_and_the_fix(
        Estimator, activation, values, digits, capsys):
    X, y = digits
    loss = "pretrain_loss" if Estimator is SdAClassifier else "loss"
    est = Estimator(hidden_layer_sizes=(8, 4, 4), activation=activation, verbose=1,
                    **{loss: "cross_entropy"})
    match = (
        f"{loss}='cross_entropy' gives layer 2 the cross-entropy, which needs inputs "
        f"in [0, 1], but the input of layer 2 is the code of layer 1, whose "
        f"{activation} units take values in {values}. Pass one loss per layer, e.g. "
        f"{loss}=('cross_entropy', 'squared_error', 'squared_error'), or {loss}='auto'"
    )
    with pytest.raises(ValueError, match=re.escape(match)):
        est.fit(X, y)
    assert "Pretraining" not in capsys.readouterr().out  # refused before any training
    # the suggested fix fits
    est.set_params(**{loss: ("cross_entropy", "squared_error", "squared_error"),
                      "verbose": 0, "max_iter": 1})
    with pytest.warns(ConvergenceWarning) if Estimator is SdAClassifier else nullcontext():
        est.fit(X, y)


# ---------------------------------------------------------------------- #
# SdAClassifier
# ---------------------------------------------------------------------- #
_CLF_PARAMS = dict(
    hidden_layer_sizes=(64, 64), corruption_levels=(0.1, 0.2),
    pretrain_loss="cross_entropy", pretrain_max_iter=3, batch_size=20, random_state=0,
)


def test_finetuning_lowers_validation_loss_on_digits(digits_split):
    X_train, X_val, y_train, y_val = digits_split
    clf = SdAClassifier(max_iter=1, early_stopping=False, **_CLF_PARAMS)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X_train, y_train)
    one_epoch = log_loss(y_val, clf.predict_proba(X_val))
    clf.set_params(max_iter=30, early_stopping=True).fit(
        X_train, y_train, X_val=X_val, y_val=y_val)
    tuned = log_loss(y_val, clf.predict_proba(X_val))
    # the untrained softmax layer starts at zero: uniform probabilities
    assert one_epoch < np.log(10)
    assert tuned < 0.5 * one_epoch
    assert clf.score(X_val, y_val) > 0.95
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_pretrain_false_trains_the_same_network_from_random_init(digits_split):
    X_train, X_val, y_train, y_val = digits_split
    # plain SGD: with momentum both are near their best after one epoch
    params = dict(_CLF_PARAMS, max_iter=30, momentum=0.0)
    pre = SdAClassifier(**params).fit(X_train, y_train, X_val=X_val, y_val=y_val)
    raw = SdAClassifier(pretrain=False, **params).fit(
        X_train, y_train, X_val=X_val, y_val=y_val)
    assert raw.autoencoders_ == [] and len(pre.autoencoders_) == 2
    assert [W.shape for W in raw.coefs_] == [W.shape for W in pre.coefs_]
    assert raw.score(X_val, y_val) > 0.9
    # after the same first epoch the pretrained network is far ahead
    assert pre.validation_scores_[0] > raw.validation_scores_[0] + 0.1


def test_early_stopping_restores_the_best_weights(digits_split):
    X_train, X_val, y_train, y_val = digits_split
    clf = SdAClassifier(
        hidden_layer_sizes=(32,), corruption_levels=0.1, pretrain_max_iter=1,
        learning_rate=2.0, batch_size=10, max_iter=40, n_iter_no_change=3,
        random_state=0,
    ).fit(X_train, y_train, X_val=X_val, y_val=y_val)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_ < 40
    assert int(np.argmax(scores)) < len(scores) - 1  # the last epoch was not the best
    assert clf.best_validation_score_ == max(scores)
    assert clf.score(X_val, y_val) == pytest.approx(max(scores))


def test_validation_fraction_split_is_used_without_x_val(digits):
    X, y = digits
    clf = SdAClassifier(max_iter=3, validation_fraction=0.2, **_CLF_PARAMS)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert len(clf.validation_scores_) == 3
    assert clf.t_ == 3 * (len(X) - int(np.ceil(0.2 * len(X))))


def test_classifier_pickle_round_trip(digits_split):
    X_train, X_val, y_train, _ = digits_split
    clf = SdAClassifier(max_iter=3, early_stopping=False, **_CLF_PARAMS)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X_train, y_train)
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict_proba(X_val), clf.predict_proba(X_val))
    assert_array_equal(restored.predict(X_val), clf.predict(X_val))


def test_classifier_keeps_float32_and_string_labels(digits_split):
    X_train, X_val, y_train, _ = digits_split
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                       "eight", "nine"])
    clf = SdAClassifier(max_iter=5, **_CLF_PARAMS).fit(
        X_train.astype(np.float32), labels[y_train])
    assert all(W.dtype == np.float32 for W in clf.coefs_)
    assert set(clf.predict(X_val)) <= set(labels)
    proba = clf.predict_proba(X_val)
    assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert_allclose(np.exp(clf.predict_log_proba(X_val)), proba, rtol=1e-4, atol=1e-6)


def test_classifier_is_reproducible(digits_split):
    X_train, X_val, y_train, _ = digits_split
    a = SdAClassifier(max_iter=3, **_CLF_PARAMS).fit(X_train, y_train)
    b = SdAClassifier(max_iter=3, **_CLF_PARAMS).fit(X_train, y_train)
    for Wa, Wb in zip(a.coefs_, b.coefs_):
        assert_array_equal(Wa, Wb)


@pytest.mark.parametrize(
    "y_kind, match",
    [
        ("one_class", "at least 2 classes"),
        ("nan", "Input y contains NaN"),
        ("short", "inconsistent numbers of samples"),
        ("continuous", "Unknown label type"),
    ],
)
def test_bad_labels_are_rejected_clearly(y_kind, match, digits):
    X, y = digits
    X, y = X[:50], y[:50].astype(float)
    if y_kind == "one_class":
        y = np.zeros(50)
    elif y_kind == "nan":
        y[3] = np.nan
    elif y_kind == "short":
        y = y[:40]
    else:
        y = y + 0.5
    with pytest.raises(ValueError, match=match):
        SdAClassifier(hidden_layer_sizes=(4,), corruption_levels=0.1,
                      max_iter=1).fit(X, y)


@pytest.mark.parametrize(
    "fit_params, init_params, match",
    [
        (dict(X_val=np.zeros((3, 64))), {}, "Pass both X_val and y_val"),
        (dict(X_val=np.zeros((3, 64)), y_val=[0, 1, 2]), dict(early_stopping=False),
         "only used for early stopping"),
        (dict(X_val=np.zeros((3, 64)), y_val=[0, 1, 42]), {},
         "y_val contains labels the classifier was not fitted with: \\[42\\]"),
        (dict(X_val=np.zeros((3, 5)), y_val=[0, 1, 2]), {}, "X has 5 features"),
    ],
)
def test_bad_validation_data_is_rejected_clearly(fit_params, init_params, match, digits):
    X, y = digits
    clf = SdAClassifier(hidden_layer_sizes=(4,), corruption_levels=0.1, max_iter=1,
                        **init_params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y, **fit_params)


def test_classifier_rejects_invalid_parameters(digits):
    X, y = digits
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        SdAClassifier(learning_rate=0).fit(X, y)


def test_finetuning_divergence_in_the_first_epoch_leaves_the_classifier_unfitted(digits):
    # as an interrupt there does: not "fitted" with its initial weights; the
    # advice fits the solver (SGD here: try Adam)
    X, y = digits
    clf = SdAClassifier(hidden_layer_sizes=(16,), pretrain=False, activation="relu",
                        learning_rate=1e150, early_stopping=False, max_iter=5,
                        random_state=0)
    with pytest.raises(ValueError, match="Fine-tuning diverged in epoch 1: .*use "
                       "solver='adam'. No epoch completed, so the estimator is left "
                       "unfitted"):
        clf.fit(X * 1e3, y)
    assert not hasattr(clf, "coefs_")
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_finetuning_divergence_after_pretraining_keeps_the_pretrained_layers(digits):
    # the same rule as Ctrl-C at that point: the completed pretraining is kept,
    # and interrupted_ says what the estimator holds
    X, y = digits
    clf = SdAClassifier(hidden_layer_sizes=(16,), activation="relu", pretrain_max_iter=2,
                        learning_rate=1e150, early_stopping=False, max_iter=5,
                        random_state=0)
    with pytest.raises(ValueError, match="Fine-tuning diverged in epoch 1"):
        clf.fit(X, y)
    assert len(clf.autoencoders_) == 1
    assert clf.n_iter_ == 0
    assert clf.interrupted_.startswith("SdAClassifier was stopped by an error: ")
    assert np.all(np.isfinite(clf.coefs_[0]))
    np.testing.assert_array_equal(clf.coefs_[0], clf.autoencoders_[0].components_.T)


def test_verbose_reports_pretraining_and_finetuning(digits_split, capsys):
    X_train, X_val, y_train, y_val = digits_split
    SdAClassifier(
        hidden_layer_sizes=(8, 4), corruption_levels=0.1, pretrain_max_iter=2,
        max_iter=2, verbose=1, random_state=0,
    ).fit(X_train, y_train, X_val=X_val, y_val=y_val)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Pretraining layer 1/2 (64 -> 8 units)"
    assert "Pretraining layer 2/2 (8 -> 4 units)" in out
    start = out.index("Fine-tuning 2 hidden layers and the softmax output layer")
    tail = out[start + 1:]
    assert [line.split(",")[0] for line in tail[::2]] == ["Iteration 1", "Iteration 2"]
    assert all(line.startswith("Validation score: ") for line in tail[1::2])


def test_verbose_names_a_single_hidden_layer_in_the_singular(digits, capsys):
    X, y = digits
    SdAClassifier(hidden_layer_sizes=(8,), pretrain_max_iter=1, max_iter=1,
                  verbose=1, random_state=0).fit(X, y)
    assert "Fine-tuning 1 hidden layer and the softmax output layer" in capsys.readouterr().out


@pytest.mark.parametrize("pretrain", [True, False])
@pytest.mark.parametrize("solver, momentum", [("sgd", 0.0), ("sgd", 0.9), ("adam", 0.0)])
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("Estimator", [SdAClassifier, SdARegressor])
def test_fine_tuned_stack_dense_and_csr_inputs_give_the_same_fit(
        Estimator, pretrain, solver, momentum, n_threads, digits, monkeypatch):
    # Fine-tuning's first layer reads CSR input over its stored entries (the
    # pretraining's CSR engine too): TfidfVectorizer -> SdAClassifier works,
    # and the same for the regressor (here on two targets made of the labels).
    import scipy.sparse as sp

    from skdae import _training

    if n_threads == 2:
        monkeypatch.setattr(_training, "_MIN_FLOPS_PER_THREADED_BATCH", 0.0)
    X, y = digits[0][:400], digits[1][:400]
    if Estimator is SdARegressor:
        y = np.c_[y / 9.0, (y % 2) - 0.5]
    kw = dict(hidden_layer_sizes=(40, 33), corruption_levels=0.2, pretrain=pretrain,
              pretrain_max_iter=2, solver=solver, momentum=momentum, alpha=1e-3,
              learning_rate=0.05 if solver == "sgd" else 0.01, max_iter=3,
              early_stopping=False, batch_size=16, random_state=0)
    dense = Estimator(**kw).fit(X, y)
    sparse = Estimator(**kw).fit(sp.csr_matrix(X), y)
    for a, b in zip(sparse.coefs_ + sparse.intercepts_, dense.coefs_ + dense.intercepts_):
        assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-9)
    predict = "predict_proba" if Estimator is SdAClassifier else "predict"
    assert_allclose(getattr(sparse, predict)(sp.csr_matrix(X)), getattr(dense, predict)(X),
                    rtol=1e-9, atol=1e-12)


def test_classifier_refuses_densifying_noise_on_sparse_input(digits):
    import scipy.sparse as sp

    with pytest.raises(ValueError, match="not supported on sparse input"):
        SdAClassifier((8,), corruption="gaussian", corruption_levels=0.1).fit(
            sp.csr_matrix(digits[0]), digits[1])


# ---------------------------------------------------------------------- #
# set_params between fit and inference
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize("change", [
    {"hidden_layer_sizes": (8, 6)},
    {"hidden_layer_sizes": 8},
    {"activation": "tanh"},
    {"tied_weights": False},
    {"loss": "cross_entropy"},
])
def test_stack_refuses_inference_after_a_structural_change(change, digits):
    X = digits[0][:300]
    sda = StackedDenoisingAutoencoder(hidden_layer_sizes=(8, 4), corruption_levels=0.1,
                                      max_iter=1, random_state=0).fit(X)
    H = sda.transform(X)
    before = sda.get_params()
    param = next(iter(change))
    sda.set_params(**change)
    for call in (lambda: sda.transform(X), lambda: sda.inverse_transform(H),
                 lambda: sda.score(X), lambda: sda.score_samples(X)):
        with pytest.raises(ValueError, match=f"^{param} changed from .* since the model "
                                             "was fitted.*Call fit"):
            call()
    sda.set_params(**{param: before[param]})
    assert_array_equal(sda.transform(X), H)


def test_stack_accepts_equivalent_spellings_and_other_parameter_changes(digits):
    X = digits[0][:300]
    sda = StackedDenoisingAutoencoder(hidden_layer_sizes=(8, 4), corruption_levels=0.1,
                                      loss="squared_error", max_iter=1,
                                      random_state=0).fit(X)
    H = sda.transform(X)
    sda.set_params(hidden_layer_sizes=[8, 4], loss=("squared_error",) * 2,
                   corruption_levels=0.3, learning_rate=0.5, max_iter=7)
    assert_array_equal(sda.transform(X), H)


def test_stack_refuses_inference_after_a_layer_changed(digits):
    X = digits[0][:300]
    sda = StackedDenoisingAutoencoder(hidden_layer_sizes=(8, 4), corruption_levels=0.1,
                                      max_iter=1, random_state=0).fit(X)
    sda.autoencoders_[1].set_params(n_components=5)
    with pytest.raises(ValueError, match="^n_components changed from 4 to 5"):
        sda.transform(X)


@pytest.mark.parametrize("change", [{"hidden_layer_sizes": (8,)}, {"activation": "relu"}])
def test_classifier_refuses_prediction_after_a_structural_change(change, digits_split):
    X_train, X_val, y_train, y_val = digits_split
    clf = SdAClassifier(hidden_layer_sizes=(8, 4), corruption_levels=0.1,
                        pretrain_max_iter=1, max_iter=2, early_stopping=False,
                        random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X_train, y_train)
    proba = clf.predict_proba(X_val)
    before = clf.get_params()
    param = next(iter(change))
    clf.set_params(**change)
    for method in ("predict", "predict_proba", "predict_log_proba"):
        with pytest.raises(ValueError, match=f"^{param} changed from .* since the model "
                                             "was fitted"):
            getattr(clf, method)(X_val)
    with pytest.raises(ValueError, match=f"^{param} changed"):
        clf.score(X_val, y_val)
    # other parameters only matter to the next fit
    clf.set_params(**{param: before[param]}, learning_rate=1.0, pretrain=False)
    assert_array_equal(clf.predict_proba(X_val), proba)


def test_stack_score_clips_new_data_for_a_cross_entropy_bottom_layer(digits):
    X = digits[0][:300]
    sda = StackedDenoisingAutoencoder(hidden_layer_sizes=(8, 4), corruption_levels=0.1,
                                      loss="cross_entropy", max_iter=1,
                                      random_state=0).fit(X)
    X_new = X[:50] * 1.5 - 0.25
    assert_array_equal(sda.score_samples(X_new), sda.score_samples(np.clip(X_new, 0, 1)))


def test_classifier_split_that_leaves_no_sample_is_refused_before_fitting():
    X = np.random.RandomState(0).uniform(size=(2, 3))
    clf = SdAClassifier(hidden_layer_sizes=(2,), corruption_levels=0.1,
                        validation_fraction=0.9)
    with pytest.raises(ValueError, match=(
            "validation_fraction=0.9 of 2 samples leaves an empty training or validation "
            "set; use more samples, pass X_val and y_val, or set early_stopping=False")):
        clf.fit(X, [0, 1])
    assert not hasattr(clf, "coefs_")


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba"])
def test_classifier_outputs_that_overflow_raise_instead_of_returning_nan(method, digits):
    X, y = digits
    clf = SdAClassifier(hidden_layer_sizes=(4,), activation="relu", pretrain=False,
                        max_iter=1, early_stopping=False, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X[:100].astype(np.float32), y[:100])
    X_huge = np.full((3, X.shape[1]), 3e38, dtype=np.float32)  # float32 max: 3.4e38
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no RuntimeWarning on the way
        with pytest.raises(ValueError, match=r"The network's output overflowed: .*largest "
                                             r"\|coefs_\| = .*lower learning_rate"):
            getattr(clf, method)(X_huge)


def test_l2_penalty_of_huge_float32_weights_does_not_overflow():
    clf = SdAClassifier(alpha=1.0)
    clf.coefs_ = [np.full((2, 2), 1e20, dtype=np.float32)]
    dae = DenoisingAutoencoder(alpha=1.0, tied_weights=False)
    dae.components_ = dae.decoder_components_ = np.full((2, 2), 1e20, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clf._penalty() == pytest.approx(0.5 * 4e40)
        assert dae._penalty() == pytest.approx(0.5 * 8e40)


def test_defaults_fine_tune_from_informative_codes_to_096_on_digits(digits):
    # With its previous defaults (squared-error pretraining, SGD without
    # momentum) the classifier sat at chance for tens of epochs on digits and
    # early stopping ended it there (0.19 test accuracy): the pretrained codes
    # had collapsed. With the MNIST-sized network that was the default after
    # that (3 x 1000 units) it reached 0.952 on these two splits, the least of
    # the sizes measured (benchmarks/bench_sda_sizes.py). The defaults --
    # every one, the network's size included -- start far above chance and
    # reach 0.96. (One thread: the quality does not depend on it, and the
    # test stays fast on a busy machine.)
    X, y = digits
    scores = []
    for seed in range(2):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=seed, stratify=y)
        clf = SdAClassifier(random_state=seed)
        with threadpool_limits(limits=1):
            clf.fit(X_train, y_train)
        assert clf.validation_scores_[0] > 0.5
        assert clf.n_iter_ < clf.max_iter  # early stopping ended it
        scores.append(clf.score(X_test, y_test))
    assert np.mean(scores) >= 0.96


# ---------------------------------------------------------------------- #
# Ctrl-C: what an interrupted fit keeps
# ---------------------------------------------------------------------- #
def _interrupt_epochs(monkeypatch, cls, when):
    """Make ``cls``'s engine epochs raise KeyboardInterrupt (as the engine
    re-raises a Ctrl-C) whenever ``when(estimator)`` holds."""
    original = cls._epoch_runner

    def runner(self, *args, **kwargs):
        epoch = original(self, *args, **kwargs)

        def interruptible_epoch():
            if when(self):
                raise KeyboardInterrupt
            return epoch()

        return interruptible_epoch

    monkeypatch.setattr(cls, "_epoch_runner", runner)


def test_interrupted_stack_keeps_its_completed_layers(monkeypatch, digits):
    X, _ = digits
    params = dict(corruption_levels=0.2, max_iter=3, random_state=0)
    # Ctrl-C in the second epoch of layer 2, after layer 1 completed
    _interrupt_epochs(monkeypatch, DenoisingAutoencoder,
                      lambda dae: dae.n_components == 16 and dae.n_iter_ == 1)
    sda = StackedDenoisingAutoencoder((32, 16), **params)
    with pytest.raises(KeyboardInterrupt, match=r"keeps the 1 of 2 layers") as info:
        sda.fit(X)
    monkeypatch.undo()
    assert "autoencoders_" in str(info.value)
    assert sda.interrupted_ == str(info.value)
    assert sda.n_layers_ == len(sda.autoencoders_) == 1
    # the kept layer is the first layer of the stack, usable as a stack of one
    one = StackedDenoisingAutoencoder((32,), **params).fit(X)
    assert one.interrupted_ is None
    assert_array_equal(sda.transform(X), one.transform(X))
    assert sda.get_feature_names_out().shape == (32,)
    assert sda.n_iter_ == one.n_iter_ == 3


def test_stack_interrupted_in_its_first_layer_is_unfitted(monkeypatch, digits):
    X, _ = digits
    _interrupt_epochs(monkeypatch, DenoisingAutoencoder, lambda dae: dae.n_iter_ == 1)
    sda = StackedDenoisingAutoencoder((32, 16), max_iter=3, random_state=0)
    with pytest.raises(KeyboardInterrupt, match="nothing was kept"):
        sda.fit(X)
    assert not hasattr(sda, "autoencoders_") and not hasattr(sda, "interrupted_")


def test_classifier_interrupted_in_its_first_finetuning_epoch_keeps_the_pretraining(
        monkeypatch, digits_split):
    X, _, y, _ = digits_split
    params = dict(pretrain_max_iter=2, corruption_levels=0.2, random_state=0)
    _interrupt_epochs(monkeypatch, SdAClassifier, lambda clf: True)
    clf = SdAClassifier((32, 16), **params)
    with pytest.raises(KeyboardInterrupt, match=r"no fine-tuning epoch completed"
                       r" \(n_iter_=0\)\. It keeps the pretrained network") as info:
        clf.fit(X, y)
    monkeypatch.undo()
    assert clf.interrupted_ == str(info.value)
    assert clf.n_iter_ == 0 and clf.loss_curve_ == []
    # the same pretraining as a fit that runs to its end
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = SdAClassifier((32, 16), max_iter=1, **params).fit(X, y)
    assert whole.interrupted_ is None
    for kept, layer in zip(clf.autoencoders_, whole.autoencoders_, strict=True):
        assert_array_equal(kept.components_, layer.components_)
    for W, layer in zip(clf.coefs_, clf.autoencoders_):
        assert_array_equal(W, layer.components_.T)
    assert not clf.coefs_[-1].any()
    assert_allclose(clf.predict_proba(X[:3]), 0.1)


def test_classifier_interrupted_later_keeps_its_last_completed_epoch(
        monkeypatch, digits_split):
    X, _, y, _ = digits_split
    params = dict(pretrain=False, early_stopping=False, max_iter=2, random_state=0)
    _interrupt_epochs(monkeypatch, SdAClassifier, lambda clf: clf.n_iter_ == 2)
    clf = SdAClassifier((32,), **{**params, "max_iter": 5})
    with pytest.raises(KeyboardInterrupt, match=r"last completed fine-tuning epoch "
                       r"\(n_iter_=2\)"):
        clf.fit(X, y)
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        two = SdAClassifier((32,), **params).fit(X, y)
    for a, b in zip(clf.coefs_ + clf.intercepts_, two.coefs_ + two.intercepts_):
        assert_array_equal(a, b)
    assert clf.loss_curve_ == two.loss_curve_


def test_a_users_keyboard_interrupt_message_is_kept(monkeypatch, digits):
    X, _ = digits

    def epoch_runner(self, *args, **kwargs):
        def epoch():
            raise KeyboardInterrupt("the user's own words")
        return epoch

    monkeypatch.setattr(DenoisingAutoencoder, "_epoch_runner", epoch_runner)
    with pytest.raises(KeyboardInterrupt, match="the user's own words"):
        StackedDenoisingAutoencoder((8,), max_iter=2).fit(X)


# ---------------------------------------------------------------------- #
# partial_fit, and the regressor
# ---------------------------------------------------------------------- #
def test_classifier_partial_fit_needs_classes_first_and_keeps_them(digits):
    X, y = digits
    clf = SdAClassifier((16,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))
    assert_array_equal(clf.classes_, np.arange(10))
    clf.partial_fit(X[y >= 5], y[y >= 5])  # classes seen only now were declared
    with pytest.raises(ValueError, match=r"is not classes_"):
        clf.partial_fit(X, y, classes=np.arange(3))
    with pytest.raises(ValueError, match=r"labels the classifier was not fitted with: "
                       r"\[10\]"):
        clf.partial_fit(X[:3], np.array([1, 2, 10]))


@pytest.mark.parametrize("Estimator", [SdAClassifier, SdARegressor])
def test_partial_fit_passes_are_fit_epochs_without_pretraining(Estimator, digits):
    # partial_fit never pretrains: its first call draws the network as
    # pretrain=False does and runs one epoch of fit; later calls go on
    X, y = digits
    if Estimator is SdARegressor:
        y, extra = y / 9.0, {}
    else:
        extra = {"classes": np.arange(10)}
    params = dict(hidden_layer_sizes=(24, 16), solver="adam", random_state=0)
    inc = Estimator(**params).partial_fit(X, y, **extra)
    with pytest.warns(ConvergenceWarning):
        whole = Estimator(pretrain=False, early_stopping=False, max_iter=1, **params).fit(
            X, y)
    assert inc.autoencoders_ == [] and inc.n_iter_ == 1 and inc.interrupted_ is None
    for a, b in zip(inc.coefs_ + inc.intercepts_, whole.coefs_ + whole.intercepts_):
        assert_array_equal(a, b)
    assert inc.loss_curve_ == whole.loss_curve_
    inc.partial_fit(X, y)
    assert inc.n_iter_ == 2 and inc.t_ == 2 * len(X) and inc._adam_t > whole._adam_t
    assert inc.loss_curve_[1] < inc.loss_curve_[0]


def test_partial_fit_continues_a_pretrained_fit_and_an_interrupted_one(
        monkeypatch, digits_split):
    X, X_test, y, y_test = digits_split
    params = dict(hidden_layer_sizes=(32,), corruption_levels=0.2, pretrain_max_iter=2,
                  random_state=0)
    _interrupt_epochs(monkeypatch, SdAClassifier, lambda clf: clf.n_iter_ == 0)
    clf = SdAClassifier(**params)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    monkeypatch.undo()
    pretrained = [W.copy() for W in clf.coefs_]
    clf.set_params(solver="adam", learning_rate=0.01)  # fresh optimizer state
    for _ in range(3):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 3 and clf.interrupted_ is None
    assert len(clf.autoencoders_) == 1
    assert not np.array_equal(clf.coefs_[0], pretrained[0])
    assert clf.score(X_test, y_test) > 0.9
    # after an early-stopping fit, partial_fit goes on by the training loss
    fitted = SdAClassifier(max_iter=3, **params)
    with pytest.warns(ConvergenceWarning):
        fitted.fit(X, y)
    fitted.partial_fit(X, y)
    assert fitted.n_iter_ == 4 and len(fitted.loss_curve_) == 4
    clf.set_params(hidden_layer_sizes=(16,))
    with pytest.raises(ValueError, match="hidden_layer_sizes changed"):
        clf.partial_fit(X, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regressor_fits_a_smooth_function_of_several_outputs(dtype):
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(600, 5)).astype(dtype)
    Y = np.c_[np.sin(3 * X[:, 0]) + X[:, 1], X[:, 2] * X[:, 3] - X[:, 4]]
    reg = SdARegressor((32, 32), solver="adam", learning_rate=0.003, max_iter=300,
                       random_state=0).fit(X[:500], Y[:500])
    assert reg.out_activation_ == "identity" and reg.n_outputs_ == 2
    assert all(W.dtype == dtype for W in reg.coefs_)
    pred = reg.predict(X[500:])
    assert pred.shape == (100, 2) and pred.dtype == dtype
    assert reg.score(X[500:], Y[500:]) > 0.9
    # one output, as a vector or a column: predictions are a vector, as MLPRegressor's
    one = SdARegressor((8,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert one.fit(X, Y[:, :1]).predict(X).shape == (600,)
        assert one.fit(X, Y[:, 0]).predict(X).shape == (600,)


def test_regressor_refuses_validation_targets_of_another_width(digits):
    X, y = digits
    with pytest.raises(ValueError, match="y_val has 2 outputs, but y has 1"):
        SdARegressor((8,)).fit(X[:100], y[:100], X_val=X[100:150],
                               y_val=np.c_[y[100:150], y[100:150]])
