"""The training driver (skdae/_training.py): interrupts, rollback, early stopping.

The interrupt tests run a fit in a child process, send it SIGINT in the
middle of a long epoch and check, in the child, that the estimator is left
exactly as after its last completed epoch (compared bit for bit with a fit
of that many epochs) and, in the parent, that the interrupt took effect
within a second.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from skdae import DenoisingAutoencoder, SdAClassifier
from skdae._training import forget_fit

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from numpy.testing import assert_array_equal
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted
    from skdae import DenoisingAutoencoder, SdAClassifier, StackedDenoisingAutoencoder

    case = sys.argv[1]
    rng = np.random.default_rng(0)
    # long epochs: 40 000 rows x 784, batch 20 (about 0.9 s per epoch on 2 quiet
    # cores, many hundreds of minibatches)
    X = rng.random((40_000, 784), dtype=np.float32)
    y = rng.integers(3, size=X.shape[0])

    def make(**kw):
        if case.startswith("classifier"):
            return SdAClassifier(hidden_layer_sizes=(500, 500), pretrain=False,
                                 early_stopping=False, batch_size=20, random_state=0, **kw)
        if case == "stack":
            return StackedDenoisingAutoencoder(hidden_layer_sizes=(500, 100),
                                               corruption_levels=0.2, batch_size=20,
                                               random_state=0, **kw)
        return DenoisingAutoencoder(500, solver="sgd", learning_rate=0.1, momentum=0.5,
                                    batch_size=20, random_state=0, **kw)

    def state(est):
        return [a.copy() for a in est._training_state()] + [est._adam_t, est.n_iter_,
                                                           est.t_, list(est.loss_curve_)]

    est = make(max_iter=3, verbose=1)
    before = None
    if case == "partial_fit":
        est.partial_fit(X[:2000])
        before = state(est)
    print("READY", flush=True)
    try:
        if case == "partial_fit":
            est.partial_fit(X)
        else:
            est.fit(X, y) if case.startswith("classifier") else est.fit(X)
    except KeyboardInterrupt:
        print("INTERRUPTED", flush=True)
    else:
        print("NOT INTERRUPTED", flush=True)
        sys.exit(1)
    if case in ("first_epoch", "stack", "classifier_first_epoch"):
        try:
            check_is_fitted(est)
        except NotFittedError:
            print("OK unfitted", flush=True)
        sys.exit(0)
    got = state(est)
    if case == "partial_fit":
        want = before
    else:
        want = state(make(max_iter=got[-3]).fit(*((X, y) if case.startswith("classifier")
                                                  else (X,))))
    assert got[-3] >= 1, got[-3]
    for a, b in zip(got, want):
        assert_array_equal(a, b)
    print(f"OK n_iter_={got[-3]}", flush=True)
    """
)


def _interrupt(case, *, after_lines, delay):
    """Start the child, wait until it starts fitting ("READY") and then for
    ``after_lines`` more lines starting with "Iteration" (epochs completed),
    then ``delay`` seconds, send SIGINT; returns the child's output, the
    seconds from the signal to its "INTERRUPTED" line and its exit code."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # (in the tests' folder, so that the installed package is imported, not
    # the source tree that `python -c` would find in the working directory)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, case], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=os.path.dirname(os.path.abspath(__file__)))
    lines, seen, ready, latency = [], 0, False, None
    try:
        while not ready or seen < after_lines:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            ready = ready or line.startswith("READY")
            seen += ready and line.startswith("Iteration")
        time.sleep(delay)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("INTERRUPTED") and latency is None:
                latency = time.perf_counter() - sent
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return "".join(lines), latency, proc.returncode


@pytest.mark.parametrize("case, after_lines", [
    ("fit", 1),            # mid second epoch: back to the first epoch's state
    ("partial_fit", 0),    # the interrupted pass rolled back
    ("classifier", 1),     # a fine-tuning epoch, likewise
])
def test_interrupt_mid_epoch_restores_the_last_completed_epoch(case, after_lines):
    out, latency, code = _interrupt(case, after_lines=after_lines, delay=0.4)
    assert code == 0, out
    assert "OK n_iter_=" in out, out
    assert latency is not None and latency < 1.0, (latency, out)


@pytest.mark.parametrize("case", ["first_epoch", "stack", "classifier_first_epoch"])
def test_interrupt_before_a_first_epoch_completes_leaves_it_unfitted(case):
    out, latency, code = _interrupt(case, after_lines=0, delay=0.4)
    assert code == 0, out
    assert "OK unfitted" in out, out
    assert latency is not None and latency < 1.0, (latency, out)


def test_forget_fit_removes_fitted_and_training_state():
    X = np.random.RandomState(0).rand(50, 6)
    dae = DenoisingAutoencoder(4, max_iter=2, random_state=0).fit(X)
    forget_fit(dae)
    assert not [k for k in vars(dae) if k.endswith("_")]
    assert not hasattr(dae, "_rng_state") and not hasattr(dae, "_state1")
    assert dae.get_params()["n_components"] == 4
    clf = SdAClassifier((4,), pretrain=False, max_iter=2, early_stopping=False).fit(
        X, np.arange(50) % 2)
    forget_fit(clf)
    assert not [k for k in vars(clf) if k.endswith("_")]


@pytest.mark.parametrize("n_iter_no_change", [1, 2, 3])
def test_training_stops_after_n_iter_no_change_plus_one_epochs_without_improvement(
        n_iter_no_change):
    # tol so large that no epoch after the first improves: the first epoch
    # improves on an infinite best, then n_iter_no_change + 1 epochs do not,
    # as the docstrings say (and as scikit-learn's MLP counts).
    X = np.random.RandomState(0).rand(60, 5)
    y = np.arange(60) % 2
    dae = DenoisingAutoencoder(3, tol=1e9, n_iter_no_change=n_iter_no_change,
                               max_iter=50, random_state=0).fit(X)
    clf = SdAClassifier((4,), corruption_levels=0.1, pretrain_max_iter=1, tol=1e9,
                        n_iter_no_change=n_iter_no_change, early_stopping=False,
                        max_iter=50, random_state=0).fit(X, y)
    assert dae.n_iter_ == clf.n_iter_ == n_iter_no_change + 2


def _stop_epoch(curve, tol, n_iter_no_change, relative, higher_is_better=False):
    """The epoch scikit-learn's rule stops at on ``curve`` (None: never)."""
    best, count = -np.inf if higher_is_better else np.inf, 0
    for epoch, value in enumerate(curve, 1):
        margin = tol * abs(best) if relative and np.isfinite(best) else (
            0.0 if relative else tol)
        worse = value < best + margin if higher_is_better else value > best - margin
        count = count + 1 if worse else 0
        best = max(best, value) if higher_is_better else min(best, value)
        if count > n_iter_no_change:
            return epoch
    return None


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("early_stopping", [False, True])
def test_autoencoder_tol_is_relative_to_the_best_loss(early_stopping):
    # the loss is summed over the features, so an absolute tol means little
    # on 784 pixels what it means on 64: an improvement counts when it exceeds
    # tol times the best so far
    from sklearn.datasets import load_digits

    X = load_digits().data / 16.0
    dae = DenoisingAutoencoder(32, loss="cross_entropy", tol=0.01, n_iter_no_change=2,
                               early_stopping=early_stopping, max_iter=100,
                               random_state=0).fit(X)
    curve = dae.validation_scores_ if early_stopping else dae.loss_curve_
    stops = {relative: _stop_epoch(curve, 0.01, 2, relative, early_stopping)
             for relative in (True, False)}
    assert stops[True] != stops[False]
    assert dae.n_iter_ == stops[True]


@pytest.mark.parametrize("openmp, cores, units, expected", [
    (8, 2, 500, 2),    # OMP_NUM_THREADS above the cores: one thread per core
    (4, 2, 500, 2),
    (2, 8, 500, 2),    # fewer OpenMP threads than cores
    (8, 8, 40, 2),     # at least 16 units per thread
    (8, 1, 500, 1),
])
def test_engine_threads_are_capped_by_cores_and_units(monkeypatch, openmp, cores, units,
                                                      expected):
    # the team never oversubscribes: OMP_NUM_THREADS=8 on 2 cores runs (and computes)
    # exactly what 2 threads do
    from skdae import _training

    monkeypatch.setattr(_training, "openmp_max_threads", lambda: openmp)
    monkeypatch.setattr(_training.os, "cpu_count", lambda: cores)
    assert _training.engine_threads(1e9, units)[0] == expected


def _blas_threads():
    """The thread count of every BLAS library loaded (numpy's and scipy's)."""
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


@pytest.fixture
def two_blas_threads():
    """BLAS allowed two threads, so that a limit to one can be seen."""
    with threadpool_limits(2, user_api="blas"):
        if _blas_threads() != {2}:
            pytest.skip("the BLAS libraries do not take two threads here")
        yield


@pytest.mark.parametrize("openmp", [1, 2])
def test_small_problems_run_blas_on_one_thread(two_blas_threads, monkeypatch, openmp):
    # microsecond products on BLAS's own threads wait for a thread the system
    # gave another process's core (the digits stack on a busy machine: 15-25x)
    from skdae import _training

    monkeypatch.setattr(_training, "openmp_max_threads", lambda: openmp)
    n_threads, context = _training.engine_threads(10.0 * 32 * 64 * 256, 256)
    with context:
        assert _blas_threads() == {1}
    assert n_threads == 1
    assert _blas_threads() == {2}  # restored
    # a large problem the engine runs on one thread keeps BLAS's threads
    n_threads, context = _training.engine_threads(1e9, 256)
    with context:
        assert _blas_threads() == ({2} if openmp == 1 else {1})
    assert n_threads == openmp


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_small_fits_and_scores_run_blas_on_one_thread(two_blas_threads, monkeypatch):
    # every product of a digits-sized fit, early-stopping validation and score:
    # the engine's epochs and the decoder products of the clean loss
    from skdae import _autoencoder

    seen = []

    def spy(real):
        def call(*args, **kwargs):
            seen.append(_blas_threads())
            return real(*args, **kwargs)
        return call

    for name in ("train_autoencoder_epoch", "_reconstruction_loss_rows"):
        monkeypatch.setattr(_autoencoder, name, spy(getattr(_autoencoder, name)))
    X = np.random.RandomState(0).uniform(size=(300, 64))
    dae = DenoisingAutoencoder(128, early_stopping=True, max_iter=3,
                               random_state=0).fit(X)
    dae.score(X)
    assert len(seen) == 3 + 3 + 1
    assert all(threads == {1} for threads in seen)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
@pytest.mark.parametrize("oversubscription", [2, 4])
def test_more_openmp_threads_than_cores_fit_like_one_per_core(oversubscription):
    # bit for bit the fit of OMP_NUM_THREADS = cores (the team is capped at the cores)
    code = textwrap.dedent("""
        import hashlib, numpy as np
        from skdae import DenoisingAutoencoder, _training
        X = np.random.RandomState(0).uniform(size=(600, 784)).astype(np.float32)
        m = DenoisingAutoencoder(256, max_iter=2, batch_size=20, random_state=0,
                                 tol=0).fit(X)
        print(_training.engine_threads(10.0 * 20 * 784 * 256, 256)[0],
              hashlib.sha256(m.components_.tobytes()).hexdigest())
    """)
    cores = min(os.cpu_count(), 256 // 16)
    runs = {}
    for n in (cores, oversubscription * cores):
        env = dict(os.environ, OMP_NUM_THREADS=str(n))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, cwd=os.path.dirname(__file__), timeout=300)
        assert out.returncode == 0, out.stderr
        runs[n] = out.stdout.split()
    assert runs[cores][0] == str(cores)  # the threaded engine ran
    assert runs[cores] == runs[oversubscription * cores]


def test_interrupted_fit_says_what_it_kept(monkeypatch):
    # the KeyboardInterrupt (as the engine re-raises Ctrl-C) carries a
    # sentence, which interrupted_ keeps; a fit that ran to its end has None
    X = np.random.RandomState(0).rand(50, 6)
    original = DenoisingAutoencoder._epoch_runner
    interrupt_after = [2]  # epochs

    def runner(self, *args, **kwargs):
        epoch = original(self, *args, **kwargs)

        def interrupted_epoch():
            if self.n_iter_ == interrupt_after[0]:
                raise KeyboardInterrupt
            return epoch()

        return interrupted_epoch

    monkeypatch.setattr(DenoisingAutoencoder, "_epoch_runner", runner)
    dae = DenoisingAutoencoder(4, max_iter=5, random_state=0)
    with pytest.raises(KeyboardInterrupt, match=r"last completed epoch \(n_iter_=2"):
        dae.fit(X)
    assert dae.interrupted_.startswith("DenoisingAutoencoder was interrupted: it keeps")
    assert dae.n_iter_ == 2
    interrupt_after[0] = 0
    with pytest.raises(KeyboardInterrupt, match="nothing was kept"):
        dae.fit(X)  # a fresh fit interrupted in its first epoch
    assert not hasattr(dae, "interrupted_") and not hasattr(dae, "components_")
    monkeypatch.undo()
    assert DenoisingAutoencoder(4, max_iter=2, random_state=0).fit(X).interrupted_ is None
