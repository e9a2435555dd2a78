"""Denoising autoencoder as a scikit-learn transformer."""

# Python owns the policy here (validation, parameter mapping, allocation,
# seeding, the epoch loop, early stopping, printing, warnings); the arithmetic
# runs in ``_autoencoder_fast.pyx``.

import os
import time
import warnings
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.sparsefuncs import min_max_axis
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import ThreadpoolController

from ._autoencoder_fast import (
    _bias_activation,
    _corrupt,
    _encode_dense,
    _openmp_max_threads,
    _reconstruction_loss_rows,
    _seed_rng,
    _train_epoch,
    _train_epoch_sparse,
)

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


# String -> engine code maps (must match the enums in _autoencoder_fast.pyx).
_ACTIVATIONS = {"sigmoid": 0, "tanh": 1, "relu": 2, "identity": 3}
_LOSSES = {"squared_error": 0, "cross_entropy": 1}
_CORRUPTIONS = {None: 0, "masking": 1, "gaussian": 2, "salt_and_pepper": 3}
_SOLVERS = {"sgd": 0, "adam": 1}

# Rows per chunk when scoring, so memory stays bounded on large inputs; the
# chunk also shrinks so that a densified sparse chunk stays under 2**22 values.
_SCORE_CHUNK_ROWS = 4096
_SCORE_CHUNK_VALUES = 2**22

_THREADPOOL_CONTROLLER = None

# The multi-threaded engines synchronise their threads a few times per
# minibatch; below this many flops per minibatch (10 * batch * d * h for one
# autoencoder layer) the synchronisation costs more than the second core gives.
_MIN_FLOPS_PER_THREADED_BATCH = 2.5e7


def _engine_threads(batch_flops, n_units):
    """Engine threads for a problem size, and the context to run an epoch in.

    ``batch_flops`` is the work of one minibatch and ``n_units`` the width
    that is split between the threads (blocks of at least 16 units). The
    engine's threads are OpenMP threads (``OMP_NUM_THREADS`` and
    threadpoolctl's limits apply). With more than one, each runs
    single-threaded BLAS on its block, so BLAS is limited to one thread for
    the duration of the epoch: no oversubscription. With one, the products
    are left to the BLAS library's own threads.
    """
    global _THREADPOOL_CONTROLLER
    n_threads = max(1, min(_openmp_max_threads(), os.cpu_count() or 1, n_units // 16))
    if n_threads == 1 or batch_flops < _MIN_FLOPS_PER_THREADED_BATCH:
        return 1, nullcontext()
    if _THREADPOOL_CONTROLLER is None:
        _THREADPOOL_CONTROLLER = ThreadpoolController()
    return n_threads, _THREADPOOL_CONTROLLER.limit(limits=1, user_api="blas")


# What ``learning_rate="auto"`` stands for, by solver and loss. Adam moves each
# weight by about ``learning_rate`` per update whatever the gradient's scale;
# SGD moves it by ``learning_rate`` times the gradient, whose scale depends on
# the loss (0.1 is the authors' step for the cross-entropy and diverges with
# the squared error on standardized MNIST). "log_loss" is SdAClassifier's
# fine-tuning of the whole stack, where Adam needs a tenth of an autoencoder's
# step (0.01 leaves wide stacks at chance). Measurements: the learning_rate
# docstrings and the user guide.
_AUTO_LEARNING_RATES = {
    ("adam", "cross_entropy"): 0.01,
    ("adam", "squared_error"): 0.01,
    ("adam", "log_loss"): 0.001,
    ("sgd", "cross_entropy"): 0.1,
    ("sgd", "squared_error"): 0.01,
    ("sgd", "log_loss"): 0.1,
}


def _learning_rate(learning_rate, solver, loss):
    """The step size: ``learning_rate``, or what "auto" stands for with this
    solver and loss."""
    if isinstance(learning_rate, str):  # "auto"
        return _AUTO_LEARNING_RATES[solver, loss]
    return float(learning_rate)


def _init_bound(activation, n_features, n_components):
    """Half-width of the uniform initialisation of the weights.

    Sigmoid: the authors' reference code, ``4 * sqrt(6 / (d + h))``; tanh: the
    Glorot bound ``sqrt(6 / (d + h))``; relu: He's ``sqrt(6 / d)``.
    """
    if activation == "relu":
        return np.sqrt(6.0 / n_features)
    bound = np.sqrt(6.0 / (n_features + n_components))
    return 4.0 * bound if activation == "sigmoid" else bound


class DenoisingAutoencoder(
    CallbackSupportMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Denoising autoencoder with one hidden layer (Vincent et al., 2008).

    The encoder maps an input ``x`` to ``h(x) = s(b + W x)``; the decoder maps
    a code back to ``x_hat = o(c + W* h)`` with tied weights ``W* = W^T`` by
    default. During training the encoder sees a corrupted copy of each
    example while the loss compares the reconstruction with the clean example,
    so the hidden units must capture the structure of the data rather than the
    identity. ``transform`` returns the clean code ``h(x)``, which makes the
    estimator a feature extractor for a :class:`~sklearn.pipeline.Pipeline`.

    Training is minibatch SGD or Adam in a compiled (Cython + BLAS) engine
    that runs a whole epoch with the GIL released.

    Parameters
    ----------
    n_components : int, default=256
        Number of hidden units. May exceed ``n_features`` (overcomplete); the
        corruption is what keeps such a layer from learning the identity.

    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden activation ``s``.

    loss : {"squared_error", "cross_entropy"}, default="squared_error"
        Reconstruction loss per example, averaged over each minibatch.

        - ``"squared_error"``: ``0.5 * sum_k (x_hat_k - x_k)**2``, for any
          real-valued input (use it on standardized data).
        - ``"cross_entropy"``: ``-sum_k [x_k log x_hat_k + (1 - x_k)
          log(1 - x_hat_k)]`` with a sigmoid output, for inputs in [0, 1]
          (e.g. pixel intensities). It is computed from the decoder
          pre-activation in a numerically stable form.

    output_activation : {"identity", "sigmoid"}, default=None
        Decoder output ``o``. ``None`` picks ``"identity"`` for
        ``loss="squared_error"`` and ``"sigmoid"`` for ``loss="cross_entropy"``
        (which requires the sigmoid).

    tied_weights : bool, default=True
        If True the decoder uses ``W^T``; otherwise it has its own weights
        ``decoder_components_``.

    corruption : {"masking", "gaussian", "salt_and_pepper"} or None, \
default="masking"
        Noise applied to the encoder input during training only, drawn afresh
        for every minibatch:

        - ``"masking"``: each input set to 0 with probability
          ``corruption_level``;
        - ``"gaussian"``: additive ``N(0, corruption_level**2)`` noise
          (Box-Muller from 64 random bits per value: draws beyond 5.77
          standard deviations, of probability 8e-9, do not occur);
        - ``"salt_and_pepper"``: each input, with probability
          ``corruption_level``, set to its minimum or maximum with equal
          chance (0 or 1 with ``loss="cross_entropy"``, otherwise the
          per-feature minimum and maximum of the training data,
          ``data_min_`` and ``data_max_``);
        - ``None``: a plain (non-denoising) autoencoder.

        On sparse input only ``"masking"`` (which drops stored entries, the
        same masks the dense input would get) and ``None`` are allowed:
        Gaussian and salt-and-pepper noise would turn every implicit zero
        into a stored value, densifying the data.

    corruption_level : float, default=0.25
        The masking or salt-and-pepper fraction (in [0, 1]) or the Gaussian
        standard deviation.

    solver : {"adam", "sgd"}, default="adam"
        ``"sgd"`` is minibatch stochastic gradient descent (with optional
        ``momentum``), the authors' setting; ``"adam"`` (Kingma & Ba) is
        insensitive to the scale of the gradients, which is why it is the
        default: it trains well on standardized and on [0, 1] data alike.

    learning_rate : float or "auto", default="auto"
        Step size. The two solvers need different ones: Adam moves each
        weight by about ``learning_rate`` per update whatever the scale of
        its gradient, SGD by ``learning_rate`` times the gradient. ``"auto"``
        is 0.01 with ``solver="adam"``; with ``solver="sgd"`` it is 0.1 for
        ``loss="cross_entropy"`` (the authors' MNIST setting, with
        ``batch_size=20``) and 0.01 for ``loss="squared_error"`` (0.1
        diverges on standardized MNIST). Adam with SGD's step ruins the
        features without an error: it saturates the sigmoid codes. MNIST,
        500 units, 5 epochs, batch 20, test error of
        ``StandardScaler -> LogisticRegression`` on the codes: with the
        cross-entropy on [0, 1] pixels, Adam 0.001 / 0.01 / 0.03 / 0.1 give
        4.1 / 3.6 / 6.2 / 13.9 % (PCA(500): 7.6 %), SGD 0.01 / 0.1 give
        4.1 / 3.7 %; with the squared error on standardized pixels, Adam
        0.001 / 0.01 / 0.1 give 6.0 / 6.3 / 44.9 %, SGD 0.01 gives 6.1 %.
        Steps that fit: 0.001 to 0.01 for Adam; 0.01 to 0.1 for SGD with the
        cross-entropy, 0.01 or less with the squared error.

    batch_size : int, default=32
        Minibatch size (clipped to the number of samples).

    max_iter : int, default=100
        Maximum number of epochs (passes over the data).

    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.

    contraction : float, default=0.0
        Weight ``lam`` of the contractive penalty (Rifai et al., 2011):
        ``lam * ||dh(x~)/dx~||_F**2`` is added to each example's loss,
        which makes the code insensitive to small input changes. For sigmoid
        units ``||J||_F**2 = sum_j (h_j (1 - h_j))**2 ||W_j||**2``; tanh and
        relu use their own derivatives. It is evaluated at the encoder input
        (the corrupted example when ``corruption`` is set; set
        ``corruption=None`` for a pure contractive autoencoder) and its
        gradient is computed in closed form in the engine. See
        :meth:`jacobian_squared_norm` to measure the effect.

    alpha : float, default=0.0
        L2 penalty: ``0.5 * alpha * ||W||**2`` (and the same for the decoder
        weights when untied) is added to the mean loss. Biases are not
        penalised.

    momentum : float, default=0.0
        Momentum of SGD, in [0, 1). Only used when ``solver="sgd"``.

    beta_1 : float, default=0.9
        Exponential decay rate of Adam's first moment estimates, in [0, 1).

    beta_2 : float, default=0.999
        Exponential decay rate of Adam's second moment estimates, in [0, 1).

    epsilon : float, default=1e-8
        Adam's numerical stability term.

    tol : float, default=1e-4
        Tolerance for the optimisation: when the training loss (or, with
        ``early_stopping``, the validation score) does not improve by at
        least ``tol`` for ``n_iter_no_change`` consecutive epochs,
        training stops.

    n_iter_no_change : int, default=10
        Number of epochs without improvement by ``tol`` before stopping.

    early_stopping : bool, default=False
        Whether to set aside ``validation_fraction`` of the training data and
        stop when the validation score (negative clean reconstruction loss)
        stops improving. The parameters of the best epoch are restored.

    validation_fraction : float, default=0.1
        Fraction of the training data set aside for early stopping.

    warm_start : bool, default=False
        Whether ``fit`` continues from the previous solution instead of
        reinitialising.

    verbose : int, default=0
        Print ``Iteration N, loss = ..., time = ...s`` after each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the shuffling, the corruption noise
        and the validation split. Pass an int for reproducible results: with
        a fixed thread count, two fits are identical bit for bit.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Encoder weights ``W`` (also the decoder's ``W^T`` when tied).

    decoder_components_ : ndarray of shape (n_components, n_features)
        Decoder weights (the reconstruction is ``o(c + h @
        decoder_components_)``). Only present when ``tied_weights=False``.

    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases ``b``.

    intercept_visible_ : ndarray of shape (n_features,)
        Visible (decoder) biases ``c``.

    data_min_ : ndarray of shape (n_features,)
        Per-feature minimum of the training data seen so far.

    data_max_ : ndarray of shape (n_features,)
        Per-feature maximum of the training data seen so far.

    n_iter_ : int
        Number of epochs run.

    t_ : int
        Number of training samples seen by the solver.

    loss_ : float
        Mean training loss of the last epoch (reconstruction plus the
        contractive and L2 terms).

    loss_curve_ : list of float
        ``loss_`` after each epoch.

    best_loss_ : float or None
        Lowest ``loss_`` reached; None when ``early_stopping=True``.

    validation_scores_ : list of float or None
        Validation score (negative mean clean reconstruction loss) after
        each epoch; None unless ``early_stopping=True``.

    best_validation_score_ : float or None
        Best of ``validation_scores_``; None unless ``early_stopping=True``.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.decomposition.PCA : Linear projection that a linear autoencoder
        with squared error recovers (its principal subspace).
    sklearn.neural_network.BernoulliRBM : Another unsupervised one-layer
        feature learner for [0, 1] data.
    sklearn.neural_network.MLPRegressor : A general multi-layer perceptron
        (an untied, noise-free autoencoder when fitted on ``(X, X)``).

    Notes
    -----
    The weights are drawn from ``U(-r, r)``: ``r = 4 sqrt(6 / (d + h))`` for
    the sigmoid (the authors' reference code), ``sqrt(6 / (d + h))`` for tanh
    and ``sqrt(6 / d)`` for relu; biases start at zero.

    ``fit`` raises a ``ValueError`` if the loss becomes non-finite (a
    learning rate too large for the data), leaving the parameters of the last
    finite epoch in place.

    References
    ----------
    .. [1] P. Vincent, H. Larochelle, Y. Bengio and P.-A. Manzagol, "Extracting
       and Composing Robust Features with Denoising Autoencoders", ICML 2008.
    .. [2] P. Vincent, H. Larochelle, I. Lajoie, Y. Bengio and P.-A. Manzagol,
       "Stacked Denoising Autoencoders: Learning Useful Representations in a
       Deep Network with a Local Denoising Criterion", JMLR 11, 2010.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdae import DenoisingAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> dae = DenoisingAutoencoder(n_components=32, loss="cross_entropy",
    ...                            max_iter=5, random_state=0)
    >>> H = dae.fit_transform(X)
    >>> H.shape
    (1797, 32)
    >>> dae.inverse_transform(H).shape
    (1797, 64)
    >>> bool(dae.loss_curve_[-1] < dae.loss_curve_[0])
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"sigmoid", "tanh", "relu"})],
        "loss": [StrOptions({"squared_error", "cross_entropy"})],
        "output_activation": [StrOptions({"identity", "sigmoid"}), None],
        "tied_weights": ["boolean"],
        "corruption": [StrOptions({"masking", "gaussian", "salt_and_pepper"}), None],
        "corruption_level": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"sgd", "adam"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "contraction": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components=256,
        *,
        activation="sigmoid",
        loss="squared_error",
        output_activation=None,
        tied_weights=True,
        corruption="masking",
        corruption_level=0.25,
        solver="adam",
        learning_rate="auto",
        batch_size=32,
        max_iter=100,
        shuffle=True,
        contraction=0.0,
        alpha=0.0,
        momentum=0.0,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        warm_start=False,
        verbose=0,
        random_state=None,
    ):
        self.n_components = n_components
        self.activation = activation
        self.loss = loss
        self.output_activation = output_activation
        self.tied_weights = tied_weights
        self.corruption = corruption
        self.corruption_level = corruption_level
        self.solver = solver
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.contraction = contraction
        self.alpha = alpha
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ #
    # Fitting
    # ------------------------------------------------------------------ #
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the autoencoder to ``X`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. With ``loss="cross_entropy"`` every value must
            lie in [0, 1]. Sparse input is converted to CSR and trained on
            without densifying it.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Run one epoch over ``X``, initialising the model on the first call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A block of training data.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, incremental=True)

    def _output_activation(self):
        """Decoder output activation after resolving ``None``."""
        if self.output_activation is None:
            return "sigmoid" if self.loss == "cross_entropy" else "identity"
        return self.output_activation

    def _step_size(self):
        """``learning_rate``, with "auto" resolved for this solver and loss."""
        return _learning_rate(self.learning_rate, self.solver, self.loss)

    def _check_params(self):
        if self.loss == "cross_entropy" and self._output_activation() != "sigmoid":
            raise ValueError(
                "loss='cross_entropy' requires a sigmoid output; got "
                f"output_activation={self.output_activation!r}. Use "
                "output_activation=None (or 'sigmoid'), or loss='squared_error'."
            )
        if self.corruption in ("masking", "salt_and_pepper") and self.corruption_level > 1:
            raise ValueError(
                f"corruption_level is the fraction of inputs corrupted by "
                f"corruption={self.corruption!r} and must lie in [0, 1]; got "
                f"{self.corruption_level!r}."
            )

    def _check_unit_interval(self, X, column_bounds=None):
        """Cross-entropy is only defined for targets in [0, 1].

        ``column_bounds``: the per-column minima and maxima of ``X`` when the
        caller has them (saves two passes over the data)."""
        values = X.data if sp.issparse(X) else X
        if self.loss != "cross_entropy" or not values.size:
            return
        if column_bounds is not None:
            lo, hi = column_bounds[0].min(), column_bounds[1].max()
        else:
            lo, hi = values.min(), values.max()
        if lo < 0 or hi > 1:
            raise ValueError(
                "loss='cross_entropy' requires every input value to lie in [0, 1]; "
                f"got values in [{lo:.6g}, {hi:.6g}]. Rescale the data "
                "first (e.g. with sklearn.preprocessing.MinMaxScaler in a "
                "Pipeline) or use loss='squared_error' for real-valued inputs."
            )

    def _initialize(self, n_features, dtype, rng):
        """Allocate parameters, optimizer state and the engine's RNG."""
        bound = _init_bound(self.activation, n_features, self.n_components)
        shape = (self.n_components, n_features)
        self.components_ = rng.uniform(-bound, bound, size=shape).astype(dtype)
        if not self.tied_weights:
            self.decoder_components_ = rng.uniform(-bound, bound, size=shape).astype(dtype)
        elif hasattr(self, "decoder_components_"):
            del self.decoder_components_
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=dtype)
        self.intercept_visible_ = np.zeros(n_features, dtype=dtype)
        self._rng_state = np.empty(4, dtype=np.uint64)
        _seed_rng(self._rng_state, int(rng.randint(np.iinfo(np.int32).max)))

        def state():
            # Optimizer buffers shaped like [W, V, b, c]; empty when unused.
            empty_w = np.empty((0, 0), dtype=dtype)
            need_v = not self.tied_weights
            return [
                np.zeros(shape, dtype=dtype),
                np.zeros(shape, dtype=dtype) if need_v else empty_w,
                np.zeros(self.n_components, dtype=dtype),
                np.zeros(n_features, dtype=dtype),
            ]

        uses_state1 = self.solver == "adam" or self.momentum > 0
        empty = [np.empty((0, 0), dtype=dtype), np.empty((0, 0), dtype=dtype),
                 np.empty(0, dtype=dtype), np.empty(0, dtype=dtype)]
        self._state1 = state() if uses_state1 else empty
        self._state2 = state() if self.solver == "adam" else list(empty)
        self._adam_t = 0
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf
        self.data_min_ = np.full(n_features, np.inf, dtype=dtype)
        self.data_max_ = np.full(n_features, -np.inf, dtype=dtype)

    def _parameters(self):
        """The mutable training state, in a fixed order (for snapshots)."""
        arrays = [self.components_, self.intercept_hidden_, self.intercept_visible_]
        if not self.tied_weights:
            arrays.append(self.decoder_components_)
        return arrays + self._state1 + self._state2 + [self._rng_state]

    def _snapshot(self):
        return [a.copy() for a in self._parameters()], self._adam_t

    def _restore(self, snapshot):
        arrays, self._adam_t = snapshot
        for dst, src in zip(self._parameters(), arrays):
            dst[...] = src

    def _fit(self, X, y, incremental):
        self._check_params()
        if self.early_stopping and incremental:
            raise ValueError(
                "partial_fit does not support early_stopping=True; call fit, or "
                "set early_stopping=False."
            )
        first_pass = not hasattr(self, "components_") or (
            not self.warm_start and not incremental
        )
        X = validate_data(
            self, X, accept_sparse="csr", dtype=(np.float64, np.float32), order="C",
            reset=first_pass,
        )
        sparse = sp.issparse(X)
        if sparse and self.corruption not in (None, "masking"):
            raise ValueError(
                f"corruption={self.corruption!r} is not supported on sparse input: it "
                "would give every implicit zero a value and densify the data. Use "
                "corruption='masking' (drops stored entries) or None, or pass a "
                "dense array (X.toarray()) if it fits in memory."
            )
        if sparse:
            X_min, X_max = min_max_axis(X, axis=0)
        else:
            X_min, X_max = X.min(axis=0), X.max(axis=0)
        self._check_unit_interval(X, (X_min, X_max))
        if not first_pass:
            X = X.astype(self.components_.dtype, copy=False)
            X_min = X_min.astype(X.dtype, copy=False)
            X_max = X_max.astype(X.dtype, copy=False)
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize(X.shape[1], X.dtype, rng)
        np.minimum(self.data_min_, X_min, out=self.data_min_)
        np.maximum(self.data_max_, X_max, out=self.data_max_)
        if self.loss == "cross_entropy":
            noise_low = np.zeros_like(self.data_min_)
            noise_high = np.ones_like(self.data_max_)
        else:
            noise_low, noise_high = self.data_min_, self.data_max_

        n_epochs = 1 if incremental else self.max_iter
        # Callbacks (scikit-learn >= 1.9) see one task per fit or partial_fit
        # call with one subtask per epoch, and the data as passed to fit.
        callback_ctx = self._init_callback_context(
            task_name="partial_fit" if incremental else "fit", max_subtasks=n_epochs
        )
        callback_ctx.call_on_fit_task_begin(estimator=self, X=X, y=y)
        X_fit = X

        X_val = None
        if self.early_stopping:
            X, X_val = train_test_split(
                X, test_size=self.validation_fraction, random_state=rng
            )
            if X.shape[0] < 1 or X_val.shape[0] < 1:
                raise ValueError(
                    f"validation_fraction={self.validation_fraction} leaves an empty "
                    "training or validation set; use more samples or "
                    "early_stopping=False."
                )
            if not sparse:
                X, X_val = np.ascontiguousarray(X), np.ascontiguousarray(X_val)
            best = self._snapshot()

        order = np.arange(X.shape[0], dtype=np.intp)
        engine_params = dict(
            batch_size=self.batch_size,
            tied=self.tied_weights,
            activation=_ACTIVATIONS[self.activation],
            output=_ACTIVATIONS[self._output_activation()],
            loss=_LOSSES[self.loss],
            noise=_CORRUPTIONS[self.corruption],
            noise_level=float(self.corruption_level),
            solver=_SOLVERS[self.solver],
            learning_rate=self._step_size(),
            momentum=float(self.momentum) if self.solver == "sgd" else 0.0,
            beta1=float(self.beta_1),
            beta2=float(self.beta_2),
            epsilon=float(self.epsilon),
            alpha=float(self.alpha),
            contraction=float(self.contraction),
            shuffle=self.shuffle,
        )
        W = self.components_
        V = W if self.tied_weights else self.decoder_components_
        if sparse:
            indices = X.indices.astype(np.intp, copy=False)
            indptr = X.indptr.astype(np.intp, copy=False)
            row_nnz = np.diff(indptr)
            max_batch_nnz = int(min(X.nnz, self.batch_size * row_nnz.max(initial=0)))
            del engine_params["noise_level"], engine_params["noise"]
        for _ in range(n_epochs):
            epoch_ctx = callback_ctx.subcontext(task_name="epoch")
            epoch_ctx.call_on_fit_task_begin(estimator=self, X=X_fit, y=y)
            tic = time.perf_counter()
            snapshot = self._snapshot()
            if sparse:
                loss_sum, adam_t, n_seen = _train_epoch_sparse(
                    X.data, indices, indptr, order, W, V, self.intercept_hidden_,
                    self.intercept_visible_, self._state1, self._state2,
                    self._rng_state, adam_t=self._adam_t, max_batch_nnz=max_batch_nnz,
                    noise=_CORRUPTIONS[self.corruption],
                    noise_level=float(self.corruption_level), **engine_params,
                )
            else:
                n_threads, blas_limit = _engine_threads(
                    10.0 * min(self.batch_size, X.shape[0]) * X.shape[1] * self.n_components,
                    self.n_components)
                with blas_limit:
                    loss_sum, adam_t, n_seen = _train_epoch(
                        X, order, W, V, self.intercept_hidden_, self.intercept_visible_,
                        self._state1, self._state2, noise_low, noise_high,
                        self._rng_state, adam_t=self._adam_t, n_threads=n_threads,
                        **engine_params,
                    )
            self._adam_t = adam_t
            if n_seen < X.shape[0] or not all(
                np.isfinite(a).all() for a in self._parameters()[:4]
            ):
                self._restore(snapshot)
                raise ValueError(
                    f"Training diverged in epoch {self.n_iter_ + 1}: the "
                    "reconstruction loss became non-finite. The learning rate "
                    f"(learning_rate={self._step_size()}, solver={self.solver!r}) "
                    "is too large for this data: lower it (e.g. ten times), "
                    "standardize the inputs, or use solver='adam'. The parameters "
                    "of the last finite epoch were kept."
                )
            self.n_iter_ += 1
            self.t_ += X.shape[0]
            self.loss_ = loss_sum / X.shape[0] + self._penalty()
            self.loss_curve_.append(self.loss_)
            if self.verbose:
                print(
                    "Iteration %d, loss = %.8f, time = %.2fs"
                    % (self.n_iter_, self.loss_, time.perf_counter() - tic)
                )
            if self._update_no_improvement_count(X_val):
                best = self._snapshot()
            stop = epoch_ctx.call_on_fit_task_end(
                estimator=self, X=X_fit, y=y,
                reconstruction_attributes=self._fitted_attributes,
            )
            if incremental:
                break
            if stop:
                if self.verbose:
                    print("A callback stopped the training.")
                break
            if self._no_improvement_count > self.n_iter_no_change:
                if self.verbose:
                    what = "Validation score" if self.early_stopping else "Training loss"
                    print(
                        f"{what} did not improve more than tol={self.tol} for "
                        f"{self.n_iter_no_change} consecutive epochs. Stopping."
                    )
                break
        else:
            if not incremental:
                warnings.warn(
                    f"Stochastic optimizer: maximum iterations ({self.max_iter}) "
                    "reached and the optimization hasn't converged yet.",
                    ConvergenceWarning,
                )
        if self.early_stopping:
            self._restore(best)
        callback_ctx.call_on_fit_task_end(
            estimator=self, X=X_fit, y=y,
            reconstruction_attributes=self._fitted_attributes,
        )
        return self

    def _fitted_attributes(self):
        """Copies of what inference needs, for a callback's ``fitted_estimator``
        (a snapshot: the training engine updates the live arrays in place)."""
        names = ["components_", "intercept_hidden_", "intercept_visible_",
                 "data_min_", "data_max_"]
        if not self.tied_weights:
            names.append("decoder_components_")
        attributes = {name: getattr(self, name).copy() for name in names}
        attributes.update(n_iter_=self.n_iter_, t_=self.t_, loss_=self.loss_,
                          loss_curve_=list(self.loss_curve_))
        return attributes

    def _penalty(self):
        """L2 term ``0.5 * alpha * ||W||**2`` (plus the untied decoder's)."""
        if self.alpha == 0:
            return 0.0
        sq = float(np.dot(self.components_.ravel(), self.components_.ravel()))
        if not self.tied_weights:
            V = self.decoder_components_.ravel()
            sq += float(np.dot(V, V))
        return 0.5 * self.alpha * sq

    def _update_no_improvement_count(self, X_val):
        """Track convergence as MLP does; return True on a new best validation score."""
        if X_val is not None:
            score = float(np.mean(-self._row_loss(X_val)))
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                return True
            return False
        if self.loss_curve_[-1] > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
        return False

    # ------------------------------------------------------------------ #
    # Inference
    # ------------------------------------------------------------------ #
    def _decoder_weights(self):
        return self.components_ if self.tied_weights else self.decoder_components_

    def _validate_X(self, X, ensure_all_finite=True):
        X = validate_data(
            self, X, accept_sparse="csr", dtype=(np.float64, np.float32), order="C",
            reset=False, ensure_all_finite=ensure_all_finite,
        )
        return X.astype(self.components_.dtype, copy=False)

    def _encode(self, X):
        """Hidden code of a validated ``X`` (dense: by row blocks in the
        engine, which also reports non-finite input)."""
        if sp.issparse(X):
            H = np.ascontiguousarray(safe_sparse_dot(X, self.components_.T,
                                                     dense_output=True))
            _bias_activation(H, self.intercept_hidden_, _ACTIVATIONS[self.activation])
            return H
        H = np.empty((X.shape[0], self.n_components), dtype=self.components_.dtype)
        n_threads, blas_limit = _engine_threads(
            2.0 * X.shape[0] * X.shape[1] * self.n_components, X.shape[0])
        with blas_limit:
            nonfinite = _encode_dense(X, self.components_, self.intercept_hidden_,
                                      _ACTIVATIONS[self.activation], H, n_threads)
        if nonfinite:
            raise ValueError(
                "Input X contains NaN or infinity (or values so large that "
                "X @ components_.T overflows). Remove or impute the missing values "
                "(e.g. sklearn.impute.SimpleImputer in a Pipeline) and scale the "
                "data as for fit."
            )
        return H

    def _row_loss(self, X, code=None):
        """Clean reconstruction loss of each row of a validated ``X`` (float64).

        ``code`` maps a chunk of ``X`` to the hidden code this layer decodes;
        by default its own encoding (a stack passes the code decoded down
        from its top layer)."""
        code = self._encode if code is None else code
        out = np.empty(X.shape[0], dtype=np.float64)
        V = self._decoder_weights()
        chunk = max(1, min(_SCORE_CHUNK_ROWS, _SCORE_CHUNK_VALUES // max(X.shape[1], 1)))
        for batch in gen_batches(X.shape[0], chunk):
            Xb = X[batch]
            Z = code(Xb) @ V
            if sp.issparse(Xb):
                Xb = Xb.toarray()
            _reconstruction_loss_rows(
                Xb, Z, self.intercept_visible_, _LOSSES[self.loss],
                _ACTIVATIONS[self._output_activation()], out[batch],
            )
        return out

    def transform(self, X):
        """Encode ``X``: the clean hidden code ``s(b + X W^T)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode. No corruption is applied.

        Returns
        -------
        H : ndarray of shape (n_samples, n_components)
            Hidden representation, of the fitted weights' dtype.
        """
        check_is_fitted(self)
        # Dense input skips validation's finiteness pass: the engine detects
        # NaN and infinity in the product instead (one pass less over X).
        return self._encode(self._validate_X(X, ensure_all_finite=sp.issparse(X)))

    def inverse_transform(self, X):
        """Decode hidden codes back to input space: ``o(c + H W*)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Hidden codes, e.g. the output of :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Reconstruction of the fitted weights' dtype.
        """
        check_is_fitted(self)
        H = check_array(X, dtype=(np.float64, np.float32), order="C")
        if H.shape[1] != self.n_components:
            raise ValueError(
                f"X has {H.shape[1]} features, but inverse_transform expects codes "
                f"with n_components={self.n_components} features (the output of "
                "transform)."
            )
        H = H.astype(self.components_.dtype, copy=False)
        Z = H @ self._decoder_weights()
        _bias_activation(Z, self.intercept_visible_, _ACTIVATIONS[self._output_activation()])
        return Z

    def jacobian_squared_norm(self, X):
        """Squared Frobenius norm of the encoder's Jacobian at each sample.

        ``||dh(x)/dx||_F**2 = sum_j s'(b_j + W_j x)**2 ||W_j||**2``: how
        strongly the code reacts to small changes of the input. The
        ``contraction`` penalty lowers it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Points at which to evaluate the Jacobian (no corruption).

        Returns
        -------
        norms : ndarray of shape (n_samples,)
            ``||J(x)||_F**2`` per row, in float64.
        """
        check_is_fitted(self)
        H = self._encode(self._validate_X(X)).astype(np.float64, copy=False)
        if self.activation == "sigmoid":
            deriv = H * (1.0 - H)
        elif self.activation == "tanh":
            deriv = 1.0 - H * H
        else:
            deriv = (H > 0).astype(np.float64)
        W = self.components_.astype(np.float64, copy=False)
        return (deriv * deriv) @ np.einsum("ij,ij->i", W, W)

    def score_samples(self, X):
        """Negative clean reconstruction loss of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct (no corruption is applied).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-loss(x, x_hat)`` per row, with the estimator's ``loss``
            summed over the features; higher is better.
        """
        check_is_fitted(self)
        X = self._validate_X(X)
        self._check_unit_interval(X)
        return -self._row_loss(X)

    def score(self, X, y=None):
        """Mean negative clean reconstruction loss, for model selection.

        Higher is better, so :class:`~sklearn.model_selection.GridSearchCV`
        can tune the autoencoder without labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            ``mean(score_samples(X))``.
        """
        return float(np.mean(self.score_samples(X)))

    def _corrupt(self, X, random_state=None):
        """Apply the training noise process to ``X`` (a validated, C-ordered
        array of the weights' dtype), with its own seed. Used by displays and
        tests; training draws its noise inside the engine."""
        state = np.empty(4, dtype=np.uint64)
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        _seed_rng(state, int(seed))
        out = np.empty_like(X)
        if self.loss == "cross_entropy":
            low, high = np.zeros_like(self.data_min_), np.ones_like(self.data_max_)
        else:
            low, high = self.data_min_, self.data_max_
        _corrupt(X, out, _CORRUPTIONS[self.corruption], float(self.corruption_level),
                 low, high, state)
        return out

    @property
    def _n_features_out(self):
        """Number of transformed output features."""
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Gaussian and salt-and-pepper noise would densify sparse input
        tags.input_tags.sparse = self.corruption in (None, "masking")
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
