"""Property-based fuzzing of every estimator, and of set_params between calls.

This file is not one module's tests: it drives DenoisingAutoencoder,
StackedDenoisingAutoencoder and SdAClassifier through one generator of inputs
(random shapes down to one row and one feature, more components than rows,
float32/float64/int, C and F order, read-only, memory-mapped and CSR arrays,
NaN, inf, 1e+-30, constant columns, string and single-class labels) and of
parameters (any combination validation accepts), under one rule: every call
either returns finite output of the right shape and dtype, or raises a
ValueError/TypeError whose message is one of ``EXPECTED_ERRORS`` (each says
what to change). A second part applies random ``set_params`` sequences between
fit / partial_fit / transform / score / predict calls against an oracle of
what must be refused.

Each test runs its cases in a child process (``run_in_child`` of
conftest.py), so a crash of the compiled engine fails the test instead of
ending the test run. The child prints each case to its stderr before running
it: after a crash, the failure message shows the last cases run (memory
corrupted by one may crash a later one, e.g. in the garbage collector).

The cases are drawn from a fixed seed (reproducible in CI). For a longer run::

    SKDAE_FUZZ_EXAMPLES=10000 pytest tests/test_fuzz.py

draws that many input cases in all (half for DenoisingAutoencoder, a quarter
for each stacked estimator; default 300) and scales the set_params runs
alike; ``SKDAE_FUZZ_SEED=<int>`` draws another sequence.
"""

import os
import pickle
import re
import sys
import tempfile
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skdae import DenoisingAutoencoder, SdAClassifier, StackedDenoisingAutoencoder

N_EXAMPLES = int(os.environ.get("SKDAE_FUZZ_EXAMPLES", "300"))
SEED = os.environ.get("SKDAE_FUZZ_SEED")

# Every error a case may end with; each names what to change. A message not
# matched here fails the case (and is a finding: fix it or add it, reviewed).
EXPECTED_ERRORS = [
    # scikit-learn's validation
    r"Input (X )?contains (NaN|infinity)",
    r"Input X contains infinity or a value too large",
    r"Found array with \d+ sample\(s\) .* while a minimum of \d+ is required",
    r"Unknown label type: .*Maybe you are trying to fit a classifier",
    r"This \w+ instance is not fitted yet\. Call 'fit'",
    r"X has \d+ features, but \w+ is expecting \d+ features as input",
    # skdae
    r"loss='cross_entropy' requires every input value to lie in \[0, 1\].*Rescale the data",
    r"loss='cross_entropy' requires a sigmoid output; .* Use output_activation=None",
    (r"(pretrain_)?loss=.* gives layer \d+ the cross-entropy, which needs inputs in "
     r"\[0, 1\].* Pass one loss per layer"),
    r"corruption=.* is not supported on sparse input: .* Use corruption='masking'",
    (r"corruption_levels?( \(layer \d+\))? (is|are) the fractions? of inputs corrupted by "
     r".* must lie in \[0, 1\]"),
    r"emphasis( \(layer \d+\))? must be None or a pair \(alpha, beta\)",
    r"emphasis( \(layer \d+\))? weights must be finite, non-negative and not both zero",
    (r"emphasis( \(layer \d+\))? weights the corrupted components .* Use "
     r"corruption='masking'"),
    r"\w+ has \d+ values but hidden_layer_sizes has \d+ layers; pass one value per layer",
    r"validation_fraction=.* leaves an empty training or validation set; use more samples",
    r"partial_fit does not support early_stopping=True; call fit, or set early_stopping=False",
    r"Training diverged in epoch \d+: .*lower it",
    r"Fine-tuning diverged in epoch \d+: .*lower it",
    r"Input X contains NaN or infinity \(or values so large that .*overflows\)\. Remove",
    r"The [\w' ]+ overflowed: .*Scale the data as for fit",
    (r"SdAClassifier needs samples of at least 2 classes in the data, but the data "
     r"contain only one class"),
    r"\w+ changed from .* since the model was (initialised|fitted)",
]
_EXPECTED = re.compile("|".join(f"(?:{e})" for e in EXPECTED_ERRORS), re.DOTALL)


def _check_error(exc):
    """An error a case may end with: an expected ValueError or TypeError."""
    if not isinstance(exc, (ValueError, TypeError)) or not _EXPECTED.search(str(exc)):
        raise AssertionError(f"unexpected {type(exc).__name__}: {exc}") from exc


def _attempt(call):
    """``call()``, or None when it raised an expected error."""
    try:
        return call()
    except (ValueError, TypeError) as exc:
        _check_error(exc)
        return None


def _settings(n_examples, **kwargs):
    return settings(
        max_examples=max(1, n_examples), deadline=None, database=None,
        derandomize=SEED is None, print_blob=False,
        suppress_health_check=list(HealthCheck), **kwargs,
    )


def _seeded(test):
    return test if SEED is None else seed(int(SEED))(test)


def _log(*parts):
    """The case about to run, for the report of a crash."""
    print(*parts, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- #
# Inputs
# --------------------------------------------------------------------------- #
_TMP = None


def _memmap(X):
    """A read-only memory map holding ``X``."""
    global _TMP
    if _TMP is None:
        _TMP = tempfile.TemporaryDirectory()
    path = os.path.join(_TMP.name, f"X{np.random.randint(2**31)}.npy")
    np.save(path, X)
    return np.load(path, mmap_mode="r")


HOSTILE = [np.nan, np.inf, -np.inf, 1e30, -1e30, 1e-30, -1e-30, 0.0, 1.0 + 2**-52]


FORMS = ["C", "C", "F", "read-only", "memmap", "csr", "csc", "list"]


@st.composite
def matrices(draw, max_rows=8, max_cols=5):
    """``(X, description)``: a small matrix in one of the ``FORMS``."""
    n = draw(st.integers(1, max_rows))
    d = draw(st.integers(1, max_cols))
    rng = np.random.RandomState(draw(st.integers(0, 2**32 - 1)))
    base = draw(st.sampled_from(["unit", "binary", "normal", "wide", "sparse"]))
    if base == "unit":
        X = rng.uniform(size=(n, d))
    elif base == "binary":
        X = rng.randint(0, 2, size=(n, d)).astype(float)
    elif base == "normal":
        X = rng.normal(size=(n, d))
    elif base == "wide":
        X = rng.normal(size=(n, d)) * 10.0 ** rng.uniform(-30, 30, size=(n, d))
    else:
        X = rng.uniform(size=(n, d)) * (rng.uniform(size=(n, d)) < 0.3)
    for value in draw(st.lists(st.sampled_from(HOSTILE), max_size=3)):
        X[rng.randint(n), rng.randint(d)] = value
    if draw(st.booleans()):
        X[:, rng.randint(d)] = X[0, 0]  # a constant column
    integral = np.isfinite(X).all() and np.abs(X).max() < 2**62
    dtype = draw(st.sampled_from(["float64", "float32", "int64"] if integral else
                                 ["float64", "float32"]))
    with np.errstate(over="ignore"):
        X = np.round(X) if dtype == "int64" else X
        X = X.astype(dtype)
    form = draw(st.sampled_from(FORMS))
    if form == "F":
        X = np.asfortranarray(X)
    elif form == "read-only":
        X.setflags(write=False)
    elif form == "memmap":
        X = _memmap(X)
    elif form in ("csr", "csc"):
        X = sp.csr_matrix(X) if form == "csr" else sp.csc_matrix(X)
    elif form == "list":
        X = X.tolist()
    return X, f"{n}x{d} {base} {dtype} {form}"


def _as_array(X):
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    return X


def _expected_dtype(X):
    return np.float32 if _as_array(X).dtype == np.float32 else np.float64


def _finite(A, shape, dtype=None):
    A = np.asarray(A)
    assert A.shape == shape, (A.shape, shape)
    if dtype is not None:
        assert A.dtype == dtype, (A.dtype, dtype)
    assert np.isfinite(A).all(), A


# --------------------------------------------------------------------------- #
# Parameters: each drawn from what validation accepts, or left at its default
# --------------------------------------------------------------------------- #
def _maybe(strategy):
    return st.one_of(st.just(None), strategy)


LEARNING_RATES = st.sampled_from([1e-6, 1e-3, 0.01, 0.1, 1.0, 100.0])
SHARED = {
    "activation": st.sampled_from(["sigmoid", "tanh", "relu"]),
    "corruption": st.sampled_from(["masking", "gaussian", "salt_and_pepper", "swap", None]),
    "tied_weights": st.booleans(),
    "solver": st.sampled_from(["sgd", "adam"]),
    "learning_rate": LEARNING_RATES,
    "batch_size": st.integers(1, 12),
    "shuffle": st.booleans(),
    "contraction": st.sampled_from([0.0, 1e-3, 1.0]),
    "alpha": st.sampled_from([0.0, 1e-4, 1.0]),
    "momentum": st.sampled_from([0.0, 0.5, 0.99]),
    "beta_1": st.sampled_from([0.0, 0.9, 0.999]),
    "beta_2": st.sampled_from([0.0, 0.999]),
    "epsilon": st.sampled_from([1e-8, 1.0]),
    "tol": st.sampled_from([0.0, 1e-4, 10.0]),
    "n_iter_no_change": st.integers(1, 3),
    "random_state": st.integers(0, 3),
}
LEVELS = st.sampled_from([0.0, 0.3, 1.0, 2.5])
# (the paper's full emphasis, a mixed one, an invalid pair, a malformed one)
EMPHASES = st.sampled_from([None, (1.0, 0.0), (0.7, 0.3), (0.0, 0.0), (1.0,)])


@st.composite
def parameters(draw, space):
    """Some of ``space``'s parameters; the others keep their defaults."""
    params = {}
    for name, strategy in space.items():
        if draw(st.booleans()):
            params[name] = draw(strategy)
    return params


@st.composite
def per_layer(draw, values, n_layers):
    """One value, or one per layer (sometimes a wrong count)."""
    if draw(st.booleans()):
        return draw(values)
    n = draw(st.sampled_from([n_layers, n_layers, n_layers + 1]))
    return tuple(draw(values) for _ in range(n))


DAE_SPACE = {
    **SHARED,
    "loss": st.sampled_from(["squared_error", "cross_entropy"]),
    "output_activation": st.sampled_from([None, "identity", "sigmoid"]),
    "corruption_level": LEVELS,
    "emphasis": EMPHASES,
    "early_stopping": st.booleans(),
    "validation_fraction": st.sampled_from([0.1, 0.5, 0.9]),
    "warm_start": st.booleans(),
}
STACK_SPACE = {**SHARED, "emphasis": EMPHASES}
CLASSIFIER_SPACE = {
    "activation": SHARED["activation"],
    "pretrain": st.booleans(),
    "corruption": SHARED["corruption"],
    "emphasis": EMPHASES,
    "pretrain_solver": SHARED["solver"],
    "pretrain_learning_rate": LEARNING_RATES,
    "pretrain_batch_size": SHARED["batch_size"],
    "contraction": SHARED["contraction"],
    "solver": SHARED["solver"],
    "learning_rate": LEARNING_RATES,
    "momentum": SHARED["momentum"],
    "batch_size": SHARED["batch_size"],
    "alpha": SHARED["alpha"],
    "beta_1": SHARED["beta_1"],
    "beta_2": SHARED["beta_2"],
    "epsilon": SHARED["epsilon"],
    "tol": SHARED["tol"],
    "n_iter_no_change": SHARED["n_iter_no_change"],
    "early_stopping": st.booleans(),
    "validation_fraction": st.sampled_from([0.1, 0.5, 0.9]),
    "shuffle": SHARED["shuffle"],
    "random_state": SHARED["random_state"],
}
SIZES = st.one_of(st.integers(1, 5), st.lists(st.integers(1, 5), min_size=1, max_size=3)
                  .map(tuple))
LOSSES = st.sampled_from(["squared_error", "cross_entropy"])


def _n_layers(sizes):
    return 1 if isinstance(sizes, int) else len(sizes)


# --------------------------------------------------------------------------- #
# The cases
# --------------------------------------------------------------------------- #
def _quietly(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning but these is a finding:
        warnings.simplefilter("ignore", ConvergenceWarning)
        # scikit-learn's finiteness check sums X (inf - inf warns) before it raises
        warnings.filterwarnings("ignore", "invalid value encountered in reduce",
                                RuntimeWarning)
        # skdae's warnings about what a fit or new data did: findings the
        # cases may legitimately produce (a huge learning rate saturates)
        warnings.filterwarnings("ignore", "[0-9]+ of the [0-9]+ hidden units give the "
                                "same code", UserWarning)
        warnings.filterwarnings("ignore", "X holds values in .* outside \\[0, 1\\]",
                                UserWarning)
        return call()


def _check_dae(X, params):
    dae = DenoisingAutoencoder(**params)
    if _quietly(lambda: _attempt(lambda: dae.fit(X))) is None:
        return
    n = len(X) if isinstance(X, list) else X.shape[0]
    d = dae.n_features_in_
    dtype = _expected_dtype(X)
    assert dae.components_.dtype == dtype
    assert all(np.isfinite(a).all() for a in dae._training_state()[:dae._n_parameters])
    H = _quietly(lambda: _attempt(lambda: dae.transform(X)))
    if H is not None:
        _finite(H, (n, dae.n_components), dtype)
        _finite(_quietly(lambda: dae.inverse_transform(H)), (n, d), dtype)
    scores = _quietly(lambda: _attempt(lambda: dae.score_samples(X)))
    if scores is not None:
        _finite(scores, (n,), np.float64)
    norms = _quietly(lambda: _attempt(lambda: dae.jacobian_squared_norm(X)))
    if norms is not None:
        _finite(norms, (n,), np.float64)
    if not dae.early_stopping:
        _quietly(lambda: _attempt(lambda: dae.partial_fit(X)))
    assert len(dae.get_feature_names_out()) == dae.n_components


def _check_stack(X, params):
    sda = StackedDenoisingAutoencoder(**params)
    if _quietly(lambda: _attempt(lambda: sda.fit(X))) is None:
        return
    n = len(X) if isinstance(X, list) else X.shape[0]
    dtype = _expected_dtype(X)
    top = sda.autoencoders_[-1].n_components
    H = _quietly(lambda: _attempt(lambda: sda.transform(X)))
    if H is not None:
        _finite(H, (n, top), dtype)
        _finite(_quietly(lambda: sda.inverse_transform(H)), (n, sda.n_features_in_), dtype)
    scores = _quietly(lambda: _attempt(lambda: sda.score_samples(X)))
    if scores is not None:
        _finite(scores, (n,), np.float64)
    assert len(sda.get_feature_names_out()) == top


@st.composite
def labels(draw, n):
    """Labels for ``n`` rows: ints, strings, bools, floats, a single class or
    continuous values."""
    rng = np.random.RandomState(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["int", "str", "bool", "float", "single", "continuous"]))
    k = draw(st.integers(2, 3))
    y = rng.randint(k, size=n)
    if kind == "str":
        return np.array(["cat", "dog", "emu"])[y], kind
    if kind == "bool":
        return y.astype(bool), kind
    if kind == "float":
        return y.astype(float) * 0.5, kind
    if kind == "single":
        return np.full(n, "only"), kind
    if kind == "continuous":
        return rng.normal(size=n), kind
    return y, kind


def _check_classifier(X, y, params):
    clf = SdAClassifier(**params)
    if _quietly(lambda: _attempt(lambda: clf.fit(X, y))) is None:
        return
    n = len(X) if isinstance(X, list) else X.shape[0]
    dtype = _expected_dtype(X)
    assert all(W.dtype == dtype for W in clf.coefs_)
    k = len(clf.classes_)
    proba = _quietly(lambda: _attempt(lambda: clf.predict_proba(X)))
    if proba is not None:
        _finite(proba, (n, k), dtype)
        np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-4)
        _finite(_quietly(lambda: clf.predict_log_proba(X)), (n, k), dtype)
        predicted = _quietly(lambda: clf.predict(X))
        assert predicted.shape == (n,) and set(predicted) <= set(clf.classes_)
        assert 0 <= _quietly(lambda: clf.score(X, y)) <= 1


def _fuzz_denoising_autoencoder():
    @_seeded
    @_settings(N_EXAMPLES // 2)
    @given(data=st.data())
    def run(data):
        X, what = data.draw(matrices(), label="X")
        n = len(X) if isinstance(X, list) else X.shape[0]
        params = data.draw(parameters(DAE_SPACE), label="params")
        params["n_components"] = data.draw(st.integers(1, n + 4), label="n_components")
        params["max_iter"] = data.draw(st.integers(1, 3), label="max_iter")
        _log("DenoisingAutoencoder", what, params)
        _check_dae(X, params)

    run()


def _fuzz_stacked_denoising_autoencoder():
    @_seeded
    @_settings(N_EXAMPLES // 4)
    @given(data=st.data())
    def run(data):
        X, what = data.draw(matrices(), label="X")
        params = data.draw(parameters(STACK_SPACE), label="params")
        sizes = data.draw(SIZES, label="hidden_layer_sizes")
        n_layers = _n_layers(sizes)
        params.update(hidden_layer_sizes=sizes, max_iter=data.draw(st.integers(1, 2)))
        if data.draw(st.booleans()):
            params["loss"] = data.draw(per_layer(LOSSES, n_layers))
        if data.draw(st.integers(0, 4), label="corruption_levels given") > 0:
            params["corruption_levels"] = data.draw(per_layer(LEVELS, n_layers))
        _log("StackedDenoisingAutoencoder", what, params)
        _check_stack(X, params)

    run()


def _fuzz_sda_classifier():
    @_seeded
    @_settings(N_EXAMPLES // 4)
    @given(data=st.data())
    def run(data):
        X, what = data.draw(matrices(), label="X")
        n = len(X) if isinstance(X, list) else X.shape[0]
        y, y_kind = data.draw(labels(n), label="y")
        params = data.draw(parameters(CLASSIFIER_SPACE), label="params")
        sizes = data.draw(SIZES, label="hidden_layer_sizes")
        n_layers = _n_layers(sizes)
        params.update(hidden_layer_sizes=sizes, max_iter=data.draw(st.integers(1, 3)),
                      pretrain_max_iter=data.draw(st.integers(1, 2)))
        if data.draw(st.booleans()):
            params["pretrain_loss"] = data.draw(per_layer(LOSSES, n_layers))
        if data.draw(st.integers(0, 4), label="corruption_levels given") > 0:
            params["corruption_levels"] = data.draw(per_layer(LEVELS, n_layers))
        _log("SdAClassifier", what, f"y={y_kind}", params)
        _check_classifier(X, y, params)

    run()


# --------------------------------------------------------------------------- #
# set_params between calls, against an oracle
# --------------------------------------------------------------------------- #
_DIGITS = load_digits().data[:90] / 16.0
_LABELS = load_digits().target[:90]


def _data(dtype):
    return _DIGITS.astype(dtype)


class _SetParamsMachine(RuleBasedStateMachine):
    """set_params, fit and the inference methods in any order.

    The oracle: ``structure()`` (the structural parameters, as the
    estimator's documentation lists them) at the last fresh fit. Inference on
    a changed structure and continued training of one must raise; otherwise
    they must succeed, unless the parameters are inconsistent (``_fit``'s
    ``why``).
    """

    changes = None  # strategy of set_params arguments

    def __init__(self):
        super().__init__()
        self.est = self.make()
        self.fitted = None  # structure at the last fresh fit

    @rule(data=st.data())
    def set_params(self, data):
        change = data.draw(self.changes)
        _log(type(self.est).__name__, "set_params", change)
        self.est.set_params(**change)

    def _expect_refusal(self, call, refused, why):
        """Run ``call``: it must raise (matching ``why``) iff ``refused``."""
        try:
            out = _quietly(call)
        except (ValueError, TypeError) as exc:
            _check_error(exc)
            assert refused, f"refused without reason: {exc}"
            if why is not None:
                assert re.search(why, str(exc)), (why, str(exc))
            return None
        assert not refused, f"{why} was not refused"
        return out

    def _fit(self, call, continuing, why=None):
        """Run a fit: refused when ``why`` (the message of inconsistent
        parameters) is given, or when it continues a changed structure."""
        if continuing and why is None and self.structure() != self.fitted:
            why = "changed from .* since the model was initialised"
        refused = why is not None
        n_iter = getattr(self.est, "n_iter_", None)
        if self._expect_refusal(call, refused, why) is None:
            assert getattr(self.est, "n_iter_", None) == n_iter  # untouched
        elif not continuing:
            self.fitted = self.structure()

    def _infer(self, call, shape):
        if self.fitted is None:
            with pytest.raises(NotFittedError):
                call()
            return
        changed = self.structure() != self.fitted
        out = self._expect_refusal(
            call, changed, "changed from .* since the model was fitted" if changed else None)
        if out is not None:
            _finite(out, shape)


_DAE_CHANGES = st.fixed_dictionaries({}, optional={
    "n_components": st.integers(1, 4),
    "activation": SHARED["activation"],
    "tied_weights": st.booleans(),
    "loss": LOSSES,
    "output_activation": st.sampled_from([None, "identity", "sigmoid"]),
    "solver": SHARED["solver"],
    "momentum": SHARED["momentum"],
    "beta_1": SHARED["beta_1"],
    "beta_2": SHARED["beta_2"],
    "learning_rate": st.sampled_from([1e-3, 0.01]),
    "corruption": SHARED["corruption"],
    "corruption_level": st.sampled_from([0.0, 0.3]),
    "contraction": SHARED["contraction"],
    "alpha": SHARED["alpha"],
    "batch_size": st.integers(1, 40),
    "early_stopping": st.booleans(),
    "warm_start": st.booleans(),
    "max_iter": st.integers(1, 2),
})


class DenoisingAutoencoderSetParams(_SetParamsMachine):
    changes = _DAE_CHANGES

    def make(self):
        return DenoisingAutoencoder(n_components=3, max_iter=1, batch_size=16, random_state=0)

    def structure(self):
        p = self.est.get_params()
        output = p["output_activation"] or (
            "sigmoid" if p["loss"] == "cross_entropy" else "identity")
        return (p["n_components"], p["activation"], bool(p["tied_weights"]), p["loss"],
                output)

    def inconsistent(self, incremental):
        """Why a fit must fail whatever the fitted state (None if it need not)."""
        p = self.est.get_params()
        if p["loss"] == "cross_entropy" and p["output_activation"] == "identity":
            return "requires a sigmoid output"
        if incremental and p["early_stopping"]:
            return "partial_fit does not support early_stopping"
        return None

    @rule(dtype=st.sampled_from([np.float64, np.float32]))
    def fit(self, dtype):
        _log("fit", dtype.__name__)
        continuing = self.fitted is not None and self.est.warm_start
        self._fit(lambda: self.est.fit(_data(dtype)), continuing, self.inconsistent(False))

    @rule(dtype=st.sampled_from([np.float64, np.float32]))
    def partial_fit(self, dtype):
        _log("partial_fit", dtype.__name__)
        # the first call initialises the model, the next ones continue it
        self._fit(lambda: self.est.partial_fit(_data(dtype)), self.fitted is not None,
                  self.inconsistent(True))

    @rule()
    def transform(self):
        _log("transform")
        self._infer(lambda: self.est.transform(_DIGITS),
                    (len(_DIGITS), self.fitted[0] if self.fitted else None))

    @rule()
    def inverse_transform(self):
        _log("inverse_transform")
        H = np.full((5, self.fitted[0] if self.fitted else 3), 0.5)
        self._infer(lambda: self.est.inverse_transform(H), (5, _DIGITS.shape[1]))

    @rule()
    def score(self):
        _log("score")
        self._infer(lambda: self.est.score(_DIGITS), ())

    @precondition(lambda self: self.fitted is not None)
    @rule()
    def reload_read_only(self):
        """A joblib round trip with mmap_mode="r": the model keeps working."""
        _log("reload_read_only")
        path = _memmap_path()
        joblib.dump(self.est, path)
        self.est = joblib.load(path, mmap_mode="r")


def _memmap_path():
    global _TMP
    if _TMP is None:
        _TMP = tempfile.TemporaryDirectory()
    # a new file each time: rewriting the file a model is mapped from is SIGBUS
    return os.path.join(_TMP.name, f"model{np.random.randint(2**31)}.joblib")


class StackedDenoisingAutoencoderSetParams(_SetParamsMachine):
    changes = st.fixed_dictionaries({}, optional={
        "hidden_layer_sizes": st.sampled_from([(3, 2), (3,), 2, (2, 3), [3, 2]]),
        "activation": SHARED["activation"],
        "tied_weights": st.booleans(),
        "loss": st.sampled_from(["squared_error", "cross_entropy"]),
        "solver": SHARED["solver"],
        "corruption_levels": st.sampled_from([0.0, 0.2]),
        "learning_rate": st.sampled_from([1e-3, 0.01]),
        "max_iter": st.integers(1, 2),
    })

    def make(self):
        return StackedDenoisingAutoencoder(hidden_layer_sizes=(3, 2), corruption_levels=0.1,
                                           max_iter=1, batch_size=16, random_state=0)

    def structure(self):
        p = self.est.get_params()
        sizes = p["hidden_layer_sizes"]
        sizes = (sizes,) if isinstance(sizes, int) else tuple(sizes)
        return sizes, p["activation"], bool(p["tied_weights"]), p["loss"]

    def inconsistent(self):
        """Why fit must fail (None if it need not): the codes of tanh or relu
        units are no cross-entropy targets (issue 17.5)."""
        p = self.est.get_params()
        if (p["loss"] == "cross_entropy" and p["activation"] != "sigmoid"
                and len(self.structure()[0]) > 1):
            return r"gives layer \d+ the cross-entropy, which needs inputs in \[0, 1\]"
        return None

    @initialize()
    def start_fitted(self):
        self.fit()

    @rule()
    def fit(self):
        _log("fit")
        self._fit(lambda: self.est.fit(_DIGITS), continuing=False, why=self.inconsistent())

    @rule()
    def transform(self):
        _log("transform")
        self._infer(lambda: self.est.transform(_DIGITS),
                    (len(_DIGITS), self.fitted[0][-1] if self.fitted else None))

    @rule()
    def score(self):
        _log("score")
        self._infer(lambda: self.est.score(_DIGITS), ())

    @rule()
    def pickle_round_trip(self):
        _log("pickle_round_trip")
        self.est = pickle.loads(pickle.dumps(self.est))


class SdAClassifierSetParams(_SetParamsMachine):
    changes = st.fixed_dictionaries({}, optional={
        "hidden_layer_sizes": st.sampled_from([(3,), (3, 2), 4]),
        "activation": SHARED["activation"],
        "pretrain": st.booleans(),
        "solver": SHARED["solver"],
        "momentum": SHARED["momentum"],
        "learning_rate": st.sampled_from([1e-3, 0.01]),
        "early_stopping": st.booleans(),
        "max_iter": st.integers(1, 3),
    })

    def make(self):
        return SdAClassifier(hidden_layer_sizes=(3,), corruption_levels=0.1,
                             pretrain_max_iter=1, max_iter=2, batch_size=16, random_state=0)

    def structure(self):
        p = self.est.get_params()
        sizes = p["hidden_layer_sizes"]
        return (sizes,) if isinstance(sizes, int) else tuple(sizes), p["activation"]

    @initialize()
    def start_fitted(self):
        self.fit()

    @rule()
    def fit(self):
        _log("fit")
        self._fit(lambda: self.est.fit(_DIGITS, _LABELS), continuing=False)

    @rule()
    def predict_proba(self):
        _log("predict_proba")
        self._infer(lambda: self.est.predict_proba(_DIGITS), (len(_DIGITS), 10))

    @rule()
    def score(self):
        _log("score")
        self._infer(lambda: self.est.score(_DIGITS, _LABELS), ())


def _fuzz_set_params(machine):
    runs = max(10, N_EXAMPLES // 10)
    run_state_machine_as_test(_seeded(globals()[machine]),
                              settings=_settings(runs, stateful_step_count=12))


# --------------------------------------------------------------------------- #
# The tests: every case in a child process
# --------------------------------------------------------------------------- #
CASES = [
    ("_fuzz_denoising_autoencoder", {}),
    ("_fuzz_stacked_denoising_autoencoder", {}),
    ("_fuzz_sda_classifier", {}),
    ("_fuzz_set_params", {"machine": "DenoisingAutoencoderSetParams"}),
    ("_fuzz_set_params", {"machine": "StackedDenoisingAutoencoderSetParams"}),
    ("_fuzz_set_params", {"machine": "SdAClassifierSetParams"}),
]


@pytest.fixture(scope="module")
def fuzz_outcomes(run_in_child):
    timeout = max(300, N_EXAMPLES)  # seconds: about 0.1 s per case
    return dict(zip(map(repr, CASES), run_in_child(__file__, CASES, timeout=timeout)))


def _check(outcomes, case):
    outcome = outcomes[repr(case)]
    if outcome is not None:
        pytest.fail(outcome, pytrace=False)


@pytest.mark.parametrize("case", CASES[:3], ids=lambda c: c[0].removeprefix("_fuzz_"))
def test_every_input_and_parameter_combination_fits_or_explains(case, fuzz_outcomes):
    _check(fuzz_outcomes, case)


@pytest.mark.parametrize("case", CASES[3:], ids=lambda c: c[1]["machine"])
def test_set_params_between_calls_never_crashes_or_corrupts(case, fuzz_outcomes):
    _check(fuzz_outcomes, case)
