"""The training driver: the epoch loop that every estimator's fit runs in.

An estimator hands :func:`run_epochs` a function that runs one epoch in the
engine (``skdae/_engine.pyx``) and exposes its mutable training state;
the driver owns everything around it, once for all estimators:

- a snapshot of the state before each epoch, restored when the epoch
  diverges (``ValueError``, never NaN weights; its advice fits the solver)
  or is interrupted (Ctrl-C: ``KeyboardInterrupt`` propagates); either way
  the estimator is left exactly as after its last completed epoch --
  unfitted if that was none of a fresh fit (:func:`interruptible_fit`);
- ``n_iter_``, ``t_``, ``loss_`` and ``loss_curve_``, the ``verbose`` lines;
- the no-improvement count on the training loss or the validation score,
  early stopping with the best epoch's weights restored;
- ``ConvergenceWarning`` at ``max_iter``;
- scikit-learn's callbacks (one task per fit, one subtask per epoch).

It also picks the engine's thread count and when BLAS runs on one thread
(:func:`engine_threads`, :func:`small_products`).
"""

import os
import time
import warnings
from contextlib import contextmanager, nullcontext

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

from ._engine import Status, openmp_max_threads

try:  # scikit-learn >= 1.9: the experimental callback API (sklearn.callback)
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9: no callbacks, fit runs as before

    class _NoCallbackContext:
        """Stands in for sklearn.callback.CallbackContext: calls nothing."""

        def subcontext(self, **kwargs):
            return self

        def call_on_fit_task_begin(self, **kwargs):
            return self

        def call_on_fit_task_end(self, **kwargs):
            return False

    class CallbackSupportMixin:
        """No ``set_callbacks`` before scikit-learn 1.9."""

        def _init_callback_context(self, **kwargs):
            return _NoCallbackContext()


_THREADPOOL_CONTROLLER = None

# A multi-threaded engine hands work between its threads a few times per
# minibatch; below this many flops per minibatch (10 * batch * d * h for one
# autoencoder layer) that costs more than the second core gives. The BLAS
# library's own threads cost the same below it, and far more on a busy
# machine: a product of microseconds waits for a BLAS thread that the
# operating system gave another process's core to (the user guide's digits
# stack, one core busy: 15-25 times slower than with one BLAS thread).
_MIN_FLOPS_PER_THREADED_BATCH = 2.5e7


def engine_threads(batch_flops, n_units):
    """Engine threads for a problem size, and the context to run an epoch in.

    ``batch_flops`` is the work of one minibatch (or one product) and
    ``n_units`` the widest dimension the engine cuts into blocks of at least
    16 units. The engine's threads are OpenMP threads (``OMP_NUM_THREADS`` and
    threadpoolctl's limits apply), at most one per core. With more than one,
    each block runs single-threaded BLAS, so BLAS is limited to one thread for
    the duration of the epoch: no oversubscription. A problem below
    ``_MIN_FLOPS_PER_THREADED_BATCH`` runs on one thread, BLAS included
    (:func:`small_products`). Only a larger problem that the engine runs on
    one thread (OpenMP limited to one thread, or too few units to cut) leaves
    the products to the BLAS library's own threads.
    """
    if batch_flops < _MIN_FLOPS_PER_THREADED_BATCH:
        return 1, _one_blas_thread()
    n_threads = max(1, min(openmp_max_threads(), os.cpu_count() or 1, n_units // 16))
    if n_threads == 1:
        return 1, nullcontext()
    return n_threads, _one_blas_thread()


def small_products(flops):
    """The context to run products of about ``flops`` each in: BLAS on one
    thread when they are too small for threads to pay (below
    ``_MIN_FLOPS_PER_THREADED_BATCH``), else BLAS's own threads."""
    if flops < _MIN_FLOPS_PER_THREADED_BATCH:
        return _one_blas_thread()
    return nullcontext()


def _one_blas_thread():
    """A context limiting the BLAS libraries to one thread (threadpoolctl)."""
    global _THREADPOOL_CONTROLLER
    if _THREADPOOL_CONTROLLER is None:
        _THREADPOOL_CONTROLLER = ThreadpoolController()
    return _THREADPOOL_CONTROLLER.limit(limits=1, user_api="blas")


# Bookkeeping the loop keeps on the estimator, saved with each snapshot.
_PROGRESS = ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_",
             "_no_improvement_count", "_adam_t")
_PROGRESS_LISTS = ("loss_curve_", "validation_scores_")


def reset_progress(estimator, early_stopping):
    """Start the bookkeeping of a fresh fit."""
    estimator.n_iter_ = 0
    estimator.t_ = 0
    estimator.loss_curve_ = []
    estimator._no_improvement_count = 0
    if early_stopping:
        estimator.validation_scores_ = []
        estimator.best_validation_score_ = -np.inf
        estimator.best_loss_ = None
    else:
        estimator.validation_scores_ = None
        estimator.best_validation_score_ = None
        estimator.best_loss_ = np.inf


class _Snapshot:
    """Copies of an estimator's training state (parameters, optimizer
    state, random state) and bookkeeping, to roll an epoch back."""

    def __init__(self, estimator):
        self.arrays = [a.copy() for a in estimator._training_state()]
        self.progress = {k: getattr(estimator, k, None) for k in _PROGRESS}
        self.lengths = {k: len(getattr(estimator, k) or ()) for k in _PROGRESS_LISTS}

    def restore(self, estimator):
        for dst, src in zip(estimator._training_state(), self.arrays):
            dst[...] = src
        for key, value in self.progress.items():
            setattr(estimator, key, value)
        for key, n in self.lengths.items():
            values = getattr(estimator, key)
            if values is not None:
                del values[n:]

    def restore_training_state(self, estimator):
        """The training state without the bookkeeping (the best epoch's, at
        the end of early stopping)."""
        for dst, src in zip(estimator._training_state(), self.arrays):
            dst[...] = src
        estimator._adam_t = self.progress["_adam_t"]


def forget_fit(estimator):
    """Leave ``estimator`` unfitted: remove its fitted attributes (names
    ending in ``_``) and its private training state."""
    for name in list(vars(estimator)):
        if (name.endswith("_") and not name.startswith("__")) or name in getattr(
                estimator, "_TRAINING_STATE", ()):
            delattr(estimator, name)


# The lists an estimator's completed work goes into: its epochs, and the
# layers of its pretraining.
_WORK = ("loss_curve_", "autoencoders_")


@contextmanager
def interruptible_fit(estimator, fresh):
    """Around a whole fit: what an interrupt or an error leaves.

    The epoch loop has rolled back a partial epoch itself. A fresh fit that
    completed nothing it keeps -- an epoch (``loss_curve_``) or, for the
    stacks, a pretrained layer (``autoencoders_``) -- is left unfitted,
    whether it was interrupted (``KeyboardInterrupt``), diverged in its first
    epoch or refused its data: never with its random initial weights.
    Otherwise the estimator keeps the completed work and ``interrupted_``
    says what it holds (the estimator's ``_interrupted_state()``, by default
    :func:`kept_epochs`); an error in a continued fit that completed nothing
    new leaves the estimator untouched. A ``KeyboardInterrupt`` is re-raised
    with that sentence as its message. After a fit that ran to its end
    ``interrupted_`` is None.
    """
    before = [getattr(estimator, key, None) for key in _WORK]
    try:
        yield
    except BaseException as exc:
        error = isinstance(exc, Exception)
        name = type(estimator).__name__
        made = any(now is not was and now for now, was in zip(
            (getattr(estimator, key, None) for key in _WORK), before))
        if fresh and not made:
            forget_fit(estimator)
            message = (f"{name} was interrupted before its fit completed anything "
                       "it keeps (an epoch; for a stack, a whole pretrained layer; "
                       "for a fine-tuned stack, the whole pretraining): nothing was "
                       "kept, the estimator is unfitted.")
        elif error and not made:
            raise
        else:
            describe = getattr(estimator, "_interrupted_state", None)
            message = (f"{name} was {'stopped by an error' if error else 'interrupted'}: "
                       + (describe() if describe else kept_epochs(estimator)))
            estimator.interrupted_ = message
        # (the outermost estimator's sentence wins; a message of the user's stays)
        if isinstance(exc, KeyboardInterrupt) and (
                not exc.args or getattr(exc, "_skdae_kept", False)):
            exc.args = (message,)
            exc._skdae_kept = True
        raise
    estimator.interrupted_ = None


def kept_epochs(estimator):
    """What an interrupted epoch loop leaves, in words: the model of its
    last completed epoch."""
    return (f"it keeps the model as after its last completed epoch "
            f"(n_iter_={estimator.n_iter_} epochs in all); the interrupted epoch "
            "was rolled back.")


def run_epochs(estimator, epoch, *, n_epochs, n_rows, incremental, X, y=None,
               validation=None, what="Training", relative_tol=False):
    """Run up to ``n_epochs`` epochs of ``epoch()`` on ``estimator``.

    ``epoch()`` runs one engine epoch in place and returns ``(loss_sum,
    n_seen, status)``; ``n_rows`` is the number of rows an epoch sees.
    ``validation()`` returns the validation score (higher is better) when
    the estimator early-stops, else ``validation`` is None. The estimator
    provides ``_training_state()`` (the arrays an epoch changes, in a fixed
    order), ``_adam_t``, ``_penalty()`` (the L2 term), ``_fitted_attributes()``
    (for callbacks), ``learning_rate``, ``solver``, ``tol``,
    ``n_iter_no_change``, ``max_iter``, ``verbose``. ``what`` names the
    training in messages ("Training", "Fine-tuning"). ``X`` and ``y`` are
    what the callbacks see. ``relative_tol``: an improvement counts when it
    exceeds ``tol`` times the best loss (or score) so far, for losses that
    grow with the number of features; else ``tol`` itself.
    """
    est = estimator
    # Callbacks (scikit-learn >= 1.9) see one task per fit or partial_fit
    # call with one subtask per epoch, and the data as passed to fit.
    callback_ctx = est._init_callback_context(
        task_name="partial_fit" if incremental else "fit", max_subtasks=n_epochs
    )
    callback_ctx.call_on_fit_task_begin(estimator=est, X=X, y=y)
    best = _Snapshot(est) if validation is not None else None
    for _ in range(n_epochs):
        epoch_ctx = callback_ctx.subcontext(task_name="epoch")
        epoch_ctx.call_on_fit_task_begin(estimator=est, X=X, y=y)
        tic = time.perf_counter()
        snapshot = _Snapshot(est)
        try:
            loss_sum, n_seen, status = epoch()
            if status == Status.STATUS_DIVERGED or n_seen < n_rows or not all(
                np.isfinite(a).all() for a in est._training_state()[:est._n_parameters]
            ):
                snapshot.restore(est)
                raise ValueError(_divergence_message(est, what, X))
            est.n_iter_ += 1
            est.t_ += n_rows
            est.loss_ = loss_sum / n_rows + est._penalty()
            est.loss_curve_.append(est.loss_)
            if est.verbose:
                print("Iteration %d, loss = %.8f, time = %.2fs"
                      % (est.n_iter_, est.loss_, time.perf_counter() - tic))
            if _count_no_improvement(est, validation, relative_tol):
                best = _Snapshot(est)
        except BaseException as exc:
            if not isinstance(exc, ValueError):  # an interrupt: roll the epoch back
                snapshot.restore(est)
            raise
        stop = epoch_ctx.call_on_fit_task_end(
            estimator=est, X=X, y=y, reconstruction_attributes=est._fitted_attributes,
        )
        if incremental:
            break
        if stop:
            if est.verbose:
                print("A callback stopped the training.")
            break
        if est._no_improvement_count > est.n_iter_no_change:
            if est.verbose:
                watched = "Validation score" if validation is not None else "Training loss"
                by = f"tol={est.tol}" + (" times its best" if relative_tol else "")
                print(f"{watched} did not improve more than {by} for "
                      f"{est.n_iter_no_change} consecutive epochs. Stopping.")
            break
    else:
        if not incremental:
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({est.max_iter}) "
                "reached and the optimization hasn't converged yet.",
                ConvergenceWarning, stacklevel=2,
            )
    if validation is not None:
        best.restore_training_state(est)
    callback_ctx.call_on_fit_task_end(
        estimator=est, X=X, y=y, reconstruction_attributes=est._fitted_attributes,
    )


def _divergence_message(est, what, X):
    """Why an epoch of ``est`` diverged, what to do, and what was kept."""
    message = f"{what} diverged in epoch {est.n_iter_ + 1}: the loss became non-finite. "
    if est.solver == "adam":
        # Adam's steps do not grow with the gradient: the data overflowed
        values = X.data if sp.issparse(X) else np.asarray(X)
        largest = float(np.abs(values).max(initial=0))
        message += (
            "With solver='adam' each update moves a weight by about learning_rate "
            f"(learning_rate={est._step_size()}) whatever the gradient, so the "
            f"products overflowed on the inputs themselves (largest |x| = "
            f"{largest:.3g}): standardize them (sklearn.preprocessing.StandardScaler, "
            "or MinMaxScaler for [0, 1] data, in a Pipeline). If they are already "
            "of order 1, the learning rate is too large: lower it (e.g. ten times). "
        )
    else:
        message += (
            f"The learning rate (learning_rate={est._step_size()}, "
            f"solver={est.solver!r}) is too large for this data: lower it (e.g. ten "
            "times), standardize the inputs, or use solver='adam'. "
        )
    if est.n_iter_ == 0:
        return message + ("No epoch completed, so the estimator is left unfitted "
                          "(as after an interrupt in its first epoch).")
    return message + f"The parameters of the last finite epoch ({est.n_iter_}) were kept."


def _margin(est, best, relative_tol):
    """The improvement on ``best`` that counts: ``tol``, or ``tol * |best|``
    (nothing to improve on before a first epoch)."""
    if not relative_tol:
        return est.tol
    return est.tol * abs(best) if np.isfinite(best) else 0.0


def _count_no_improvement(est, validation, relative_tol=False):
    """Track convergence as scikit-learn's MLP does: the count of epochs
    without an improvement by ``tol`` (or ``tol`` times the best so far) of
    the validation score (or the training loss); True on a new best
    validation score."""
    if validation is not None:
        score = float(validation())
        est.validation_scores_.append(score)
        if est.verbose:
            print("Validation score: %f" % score)
        best = est.best_validation_score_
        if score < best + _margin(est, best, relative_tol):
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > best:
            est.best_validation_score_ = score
            return True
        return False
    best = est.best_loss_
    if est.loss_curve_[-1] > best - _margin(est, best, relative_tol):
        est._no_improvement_count += 1
    else:
        est._no_improvement_count = 0
    est.best_loss_ = min(best, est.loss_curve_[-1])
    return False
