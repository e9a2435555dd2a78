"""The training engine (skdae/_engine.pyx): its entry points' checks and its threads.

The engine's arithmetic is tested through the estimators against NumPy
reference epochs and finite differences (test_autoencoder.py,
test_stacked.py); here: that every entry point refuses buffers that do not
match instead of reading or writing out of bounds, and that a fit is the same
bit for bit for a given thread count, equal across thread counts to
rounding, whatever the threads' scheduling.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from threadpoolctl import threadpool_limits

from skdae._engine import (
    Activation,
    Loss,
    Noise,
    Solver,
    Status,
    openmp_max_threads,
    seed_rng,
    train_autoencoder_epoch,
    train_stack_epoch,
)

H, D, N = 40, 30, 57


def _problem(dtype=np.float64, solver=Solver.SOLVER_ADAM, tied=True, sparse=False,
             seed=0, N=N, H=H):
    """Arguments of one autoencoder epoch, as the estimator builds them."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(0, 1, size=(N, D)).astype(dtype)
    X[X < 0.3] = 0
    W = rng.uniform(-0.3, 0.3, size=(H, D)).astype(dtype)
    V = None if tied else rng.uniform(-0.3, 0.3, size=(H, D)).astype(dtype)
    b, c = np.zeros(H, dtype), np.zeros(D, dtype)
    params = [W.T.copy() if sparse else W, V, b, c]
    adam = solver == Solver.SOLVER_ADAM
    state = [[np.zeros_like(p), np.zeros_like(p)] if p is not None and adam else
             [None, None] for p in params]
    rng_state = np.empty(4, dtype=np.uint64)
    seed_rng(rng_state, 5)
    kw = dict(
        X=sp.csr_matrix(X) if sparse else X, order=np.arange(N, dtype=np.intp),
        rng_state=rng_state, params=params, state=state,
        optimizer=dict(solver=solver, learning_rate=0.01, momentum=0.0, beta_1=0.9,
                       beta_2=0.999, epsilon=1e-8, alpha=1e-3, t=0),
        model=dict(activation=Activation.ACT_SIGMOID, output=Activation.ACT_SIGMOID,
                   loss=Loss.LOSS_CROSS_ENTROPY, contraction=0.0,
                   encoder_transposed=not sparse),
        noise=dict(noise=Noise.NOISE_MASKING, level=0.3, low=None, high=None,
                   emphasis=None),
    )
    return kw


def _run(kw, n_threads=1, batch_size=7):
    with threadpool_limits(limits=1, user_api="blas"):
        return train_autoencoder_epoch(**kw, batch_size=batch_size, shuffle=True,
                                       n_threads=n_threads)


def test_an_epoch_returns_its_loss_steps_and_rows():
    kw = _problem()
    loss_sum, t, n_seen, status = _run(kw)
    assert status == Status.STATUS_DONE and n_seen == N
    assert t == -(-N // 7)  # one Adam step per minibatch
    assert np.isfinite(loss_sum) and loss_sum > 0


@pytest.mark.parametrize("mutate, match", [
    (lambda kw: kw["params"].__setitem__(0, kw["params"][0][:-1]), "shape"),
    (lambda kw: kw["params"].__setitem__(2, np.zeros(H + 1)), "shape"),
    (lambda kw: kw["params"].__setitem__(3, np.zeros(D - 1)), "visible|decoder"),
    (lambda kw: kw["params"].__setitem__(0, np.asfortranarray(kw["params"][0])),
     "C-contiguous"),
    (lambda kw: kw["params"][2].setflags(write=False), "read-only"),
    (lambda kw: kw["params"].__setitem__(2, kw["params"][2].astype(np.float32)), "dtype"),
    (lambda kw: kw["state"][0].__setitem__(1, np.zeros((0, 0))), "optimizer state 2"),
    (lambda kw: kw["state"][2].__setitem__(0, None), "optimizer state 1"),
    (lambda kw: kw.__setitem__("order", np.arange(N - 1, dtype=np.intp)), "order"),
    (lambda kw: kw.__setitem__("order", np.arange(N, dtype=np.intp) + 1),
     "out of range"),
    (lambda kw: kw.__setitem__("rng_state", np.zeros(3, np.uint64)), "rng_state"),
    (lambda kw: kw.__setitem__("X", kw["X"][:, :-1].copy()), "features"),
    (lambda kw: kw["noise"].update(noise=99), "noise code"),
    (lambda kw: kw["model"].update(loss=7), "loss code"),
    (lambda kw: kw["optimizer"].update(solver=3), "solver code"),
    (lambda kw: kw["noise"].update(noise=Noise.NOISE_GAUSSIAN, emphasis=(1, 0)),
     "emphasis"),
    (lambda kw: kw["noise"].update(noise=Noise.NOISE_SALT_AND_PEPPER), "numpy array"),
])
def test_autoencoder_entry_point_refuses_mismatched_buffers(mutate, match):
    kw = _problem()
    mutate(kw)
    with pytest.raises((ValueError, TypeError), match=match):
        _run(kw)


def test_untied_decoder_of_another_shape_is_refused():
    kw = _problem(tied=False)
    kw["params"][1] = kw["params"][1][:, :-1].copy()
    kw["state"][1] = [np.zeros_like(kw["params"][1])] * 2
    with pytest.raises(ValueError, match="decoder"):
        _run(kw)


def test_malformed_csr_input_is_refused():
    kw = _problem(sparse=True)
    kw["X"].indices[0] = D + 5  # as a CSR matrix built from bad arrays can have
    with pytest.raises(ValueError, match="column index"):
        _run(kw)
    kw = _problem(sparse=True)
    kw["X"].indptr[3] = kw["X"].indptr[5]
    with pytest.raises(ValueError, match="indptr"):
        _run(kw)


def _stack_problem(dtype=np.float64, sizes=(D, 33, 3), head="softmax"):
    """A stack's epoch: class indices for the softmax head, or real targets
    (N, n_outputs) for the identity head."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(N, sizes[0])).astype(dtype)
    y = rng.randint(sizes[-1], size=N).astype(np.intp)
    if head == "identity":
        y = rng.normal(size=(N, sizes[-1])).astype(dtype)
    coefs = [rng.normal(scale=0.3, size=(a, b)).astype(dtype)
             for a, b in zip(sizes[:-1], sizes[1:])]
    intercepts = [np.zeros(b, dtype) for b in sizes[1:]]
    rng_state = np.empty(4, dtype=np.uint64)
    seed_rng(rng_state, 1)
    state = [[None, None] for _ in coefs + intercepts]
    optimizer = dict(solver=Solver.SOLVER_SGD, learning_rate=0.1, momentum=0.0,
                     beta_1=0.9, beta_2=0.999, epsilon=1e-8, alpha=0.0, t=0)
    return dict(X=X, y=y, order=np.arange(N, dtype=np.intp), rng_state=rng_state,
                coefs=coefs, intercepts=intercepts, state=state, optimizer=optimizer)


@pytest.mark.parametrize("mutate, match", [
    (lambda kw: kw["coefs"].__setitem__(1, kw["coefs"][1][:-1].copy()), "inputs"),
    (lambda kw: kw["intercepts"].__setitem__(0, np.zeros(5)), "biases"),
    (lambda kw: kw.__setitem__("y", kw["y"] + 3), "class indices"),
    (lambda kw: kw.__setitem__("y", kw["y"][:-1].copy()), "shape"),
    (lambda kw: kw.__setitem__("state", kw["state"][:-1]), "optimizer state"),
    (lambda kw: kw["optimizer"].update(momentum=0.9), "optimizer state 1"),
    (lambda kw: kw.__setitem__("coefs", kw["coefs"][:1]), "layers|intercept"),
    (lambda kw: kw.__setitem__("y", np.zeros((N, 2))), r"y has shape \(\d+, 2\)"),
    (lambda kw: kw.__setitem__("y", np.zeros((N, 3), np.float32)), "y has dtype float32"),
])
def test_stack_entry_point_refuses_mismatched_buffers(mutate, match):
    kw = _stack_problem()
    mutate(kw)
    with pytest.raises((ValueError, TypeError), match=match):
        train_stack_epoch(**kw, activation=Activation.ACT_SIGMOID, batch_size=7,
                          shuffle=True)


THREADS = [1, 2, 4] if openmp_max_threads() > 1 else [1]


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("solver", [Solver.SOLVER_SGD, Solver.SOLVER_ADAM])
@pytest.mark.parametrize("shape", [(N, H, 7), (300, 130, 150)],
                         ids=["small-batch", "large-batch"])
def test_autoencoder_epochs_are_bit_identical_per_thread_count(sparse, solver, shape):
    # The blocks a thread count makes fix the arithmetic; which thread takes
    # which block does not matter (threads race for blocks differently on
    # every run). Across thread counts: equal to rounding. (From batch size
    # 128 on, a phase has one block per thread.)
    n_samples, n_hidden, batch_size = shape
    results = {}
    for n_threads in THREADS:
        runs = []
        for _ in range(3):
            kw = _problem(solver=solver, sparse=sparse, N=n_samples, H=n_hidden)
            loss_sum = _run(kw, n_threads=n_threads, batch_size=batch_size)[0]
            runs.append([loss_sum] + [p.copy() for p in kw["params"] if p is not None])
        for other in runs[1:]:
            for a, b in zip(runs[0], other):
                assert_array_equal(a, b)
        results[n_threads] = runs[0]
    for n_threads, run in results.items():
        for a, b in zip(run, results[1]):
            assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=str(n_threads))


@pytest.mark.parametrize("head", ["softmax", "identity"])
def test_stack_epochs_are_bit_identical_per_thread_count(head):
    results = {}
    for n_threads in THREADS:
        runs = []
        for _ in range(3):
            kw = _stack_problem(sizes=(D, 70, 50, 4), head=head)
            with threadpool_limits(limits=1, user_api="blas"):
                loss_sum = train_stack_epoch(**kw, activation=Activation.ACT_TANH,
                                             batch_size=5, shuffle=True,
                                             n_threads=n_threads)[0]
            runs.append([loss_sum] + [a.copy() for a in kw["coefs"] + kw["intercepts"]])
        for other in runs[1:]:
            for a, b in zip(runs[0], other):
                assert_array_equal(a, b)
        results[n_threads] = runs[0]
    for run in results.values():
        for a, b in zip(run, results[1]):
            assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_divergence_stops_at_the_minibatch_and_says_so():
    kw = _problem(solver=Solver.SOLVER_SGD)
    kw["optimizer"]["learning_rate"] = 1e30
    kw["model"]["loss"] = Loss.LOSS_SQUARED_ERROR
    kw["model"]["output"] = Activation.ACT_IDENTITY
    loss_sum, _, n_seen, status = _run(kw)
    assert status == Status.STATUS_DIVERGED
    assert n_seen < N
