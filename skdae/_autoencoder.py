"""Denoising autoencoder as a scikit-learn transformer."""

# Python owns the policy here (validation, allocation, seeding); the epoch
# loop runs in ``_training.py``, the arithmetic in the engine
# (``_engine.pyx``, inference kernels in ``_autoencoder_fast.pyx``).

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state, gen_batches
from sklearn.utils._param_validation import Interval
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.sparsefuncs import min_max_axis
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _options
from ._autoencoder_fast import (
    _bias_activation,
    _corrupt,
    _encode_dense,
    _reconstruction_loss_rows,
)
from ._base import _FittedStructureMixin, _VersionedStateMixin
from ._engine import seed_rng, train_autoencoder_epoch
from ._options import ACTIVATIONS, CORRUPTIONS, LOSSES, OUTPUT_ACTIVATIONS, SOLVERS
from ._training import (
    CallbackSupportMixin,
    engine_threads,
    interruptible_fit,
    reset_progress,
    run_epochs,
    small_products,
)

# Rows per chunk when scoring, so memory stays bounded on large inputs; the
# chunk also shrinks so that a densified sparse chunk stays under 2**22 values.
_SCORE_CHUNK_ROWS = 4096
_SCORE_CHUNK_VALUES = 2**22

# The check for saturated codes after fit: on about this many training rows,
# a unit whose code varies by at most _CONSTANT_CODE is constant; the advice
# blames the scale of the data beyond inputs of _LARGE_INPUT.
_SATURATION_CHECK_ROWS = 1000
_CONSTANT_CODE = 1e-6
_LARGE_INPUT = 10.0


def _optimizer_state(shapes, solver, momentum, dtype):
    """Optimizer buffers for parameters of ``shapes``: the SGD velocity or
    Adam's first moments, and Adam's second moments (empty when unused)."""
    def buffers(used):
        return [np.zeros(shape if used else (0,) * len(shape), dtype=dtype)
                for shape in shapes]
    return buffers(solver == "adam" or momentum > 0), buffers(solver == "adam")


def _check_validation_split(n_samples, validation_fraction, fix):
    """Refuse, before splitting, a ``validation_fraction`` that leaves no
    training or no validation sample (``train_test_split``'s own error names
    its parameters, not the estimator's)."""
    n_val = int(np.ceil(validation_fraction * n_samples))
    if n_val < 1 or n_samples - n_val < 1:
        raise ValueError(
            f"validation_fraction={validation_fraction} of {n_samples} samples leaves "
            f"an empty training or validation set; {fix}."
        )


def _squared_norm(A):
    """``||A||**2`` summed in float64 (float32 weights of 1e19, which a
    diverging fit can leave, overflow a float32 sum)."""
    a = A.ravel()
    return float(np.einsum("i,i->", a, a, dtype=np.float64))


def _refuse_overflow(A, what, weights_name, weights):
    """``A``, an output, unless it overflowed: raise then, naming the largest
    of ``weights`` (a fit that is diverging leaves finite but huge ones)."""
    if not np.isfinite(A).all():
        largest = max(float(np.abs(W).max(initial=0)) for W in weights)
        raise ValueError(
            f"The {what} overflowed: the input holds values too large for the "
            f"fitted weights, or the weights are too large (largest |{weights_name}| "
            f"= {largest:.3g}), as a fit that diverged leaves them. Scale the data "
            "as for fit (e.g. with sklearn.preprocessing.StandardScaler in a "
            "Pipeline); if the weights are huge, refit with a lower learning_rate."
        )
    return A


def _optimizer_settings(estimator, t):
    """What the engine needs of an estimator's optimizer parameters."""
    return dict(
        solver=SOLVERS[estimator.solver],
        learning_rate=estimator._step_size(),
        momentum=float(estimator.momentum) if estimator.solver == "sgd" else 0.0,
        beta_1=float(estimator.beta_1),
        beta_2=float(estimator.beta_2),
        epsilon=float(estimator.epsilon),
        alpha=float(estimator.alpha),
        t=int(t),
    )


class DenoisingAutoencoder(
    _VersionedStateMixin,
    _FittedStructureMixin,
    CallbackSupportMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
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

    corruption : {"masking", "gaussian", "salt_and_pepper", "swap"} or None, \
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
        - ``"swap"``: each input, with probability ``corruption_level``,
          takes the value of the same feature in another row drawn
          uniformly from the data being fitted (swap noise, the corruption
          of the denoising autoencoders that won the 2017 Porto Seguro
          competition): a corrupted value keeps its column's own
          distribution, which suits tabular data whose columns differ in
          scale and type, where masking to 0 does not;
        - ``None``: a plain (non-denoising) autoencoder.

        On sparse input only ``"masking"`` (which drops stored entries, the
        same masks the dense input would get) and ``None`` are allowed:
        Gaussian, salt-and-pepper and swap noise would give values to the
        implicit zeros, densifying the data.

    corruption_level : float, default=0.25
        The masking, salt-and-pepper or swap fraction (in [0, 1]) or the
        Gaussian standard deviation, in the units of the data (so rescaling
        the data changes what a given level does: 0.5 is strong noise on
        data of variance 0.1 and weak on standardized data).

    emphasis : tuple (alpha, beta) or None, default=None
        Emphasized denoising (Vincent et al. 2010): the reconstruction loss
        weights the components the corruption touched by ``alpha`` and the
        others by ``beta``; ``(1, 0)`` is the paper's full emphasis (only the
        corrupted components count), ``(1, 0.5)`` its double emphasis, and
        None (or ``alpha == beta == 1``) the plain loss. Needs a corruption
        that touches some components and not others (masking,
        salt-and-pepper, swap). The weights apply to training only:
        ``loss_`` and ``loss_curve_`` report the weighted training loss,
        while :meth:`score` measures the plain clean reconstruction loss of
        every component (at scoring time nothing is corrupted), the quantity
        the emphasis is a means to.

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
        features without an error: it saturates the sigmoid codes. Steps
        that fit: 0.001 to 0.01 for Adam; 0.01 to 0.1 for SGD with the
        cross-entropy, 0.01 or less with the squared error (the user
        guide's "Optimiser and step size" has the measurements).

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

    tol : float, default=3e-3
        Relative tolerance for the optimisation: an epoch whose training loss
        (or, with ``early_stopping``, validation score) does not improve on
        the best so far by at least ``tol`` times that best counts as one
        without improvement. Relative, because the loss is summed over the
        features (it grows with their number). The default stops the fits a
        user runs first before ``max_iter``: on digits, 128 units with the
        cross-entropy stop after 39 to 52 epochs (five splits) instead of
        running 77 to 100 and warning, with the same accuracy of a logistic
        regression on the codes (0.975 against 0.976) and a held-out loss
        within 1.3 %. Larger data pay for the early stop: on 20 000 MNIST
        images, 500 units stop after 19 epochs, and a logistic regression on
        their codes errs 4.3 % on the validation images against 3.8 % after
        58 epochs with ``tol=0``. Set a lower ``tol``, or ``tol=0`` to train
        for ``max_iter`` epochs.

    n_iter_no_change : int, default=10
        Training stops after ``n_iter_no_change + 1`` consecutive epochs
        without improvement (the count scikit-learn's MLP keeps: it stops
        when the count exceeds ``n_iter_no_change``).

    early_stopping : bool, default=False
        Whether to set aside ``validation_fraction`` of the training data and
        stop when the validation score (negative clean reconstruction loss)
        stops improving. The parameters of the best epoch are restored.

    validation_fraction : float, default=0.1
        Fraction of the training data set aside for early stopping.

    warm_start : bool, default=False
        Whether ``fit`` continues from the previous solution instead of
        reinitialising. It continues the same model: after a change of
        ``n_components``, ``activation``, ``tied_weights``, ``loss`` or
        ``output_activation`` it raises a ``ValueError`` (fit with
        ``warm_start=False``, or clone the estimator, to start over). The
        optimizer state (SGD velocity, Adam moments and step count) carries
        over while the optimizer stays the same; after a change of
        ``solver``, or of ``momentum`` between zero and non-zero, the new
        optimizer starts from zero moments and step 0. ``learning_rate``,
        ``momentum``, ``beta_1``, ``beta_2`` and the other settings take
        effect from the next update; switching ``early_stopping`` restarts
        the stopping rule (``best_loss_``, ``validation_scores_``).

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
        Number of passes run: the epochs of :meth:`fit`, plus one per
        :meth:`partial_fit` call (each one pass over the block it is given).

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

    interrupted_ : str or None
        None after a :meth:`fit` or :meth:`partial_fit` that ran to its end.
        After Ctrl-C (``KeyboardInterrupt``, re-raised with this sentence as
        its message) once an epoch completed, what the model holds: the
        state of its last completed epoch (a fresh fit interrupted in its
        first epoch is left unfitted instead).

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
    learning rate too large for the data, or inputs far too large), leaving
    the parameters of the last finite epoch in place; a fresh fit that
    diverges in its first epoch leaves the estimator unfitted, as an
    interrupt (Ctrl-C) there does. ``fit`` warns (``UserWarning``) when at
    least half of the hidden units end saturated, giving every training
    sample the same code: inputs far outside the scale the initial weights
    expect (order 1) do this; scale them first.

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
    ...                            random_state=0)
    >>> H = dae.fit_transform(X)
    >>> H.shape
    (1797, 32)
    >>> dae.inverse_transform(H).shape
    (1797, 64)
    >>> bool(dae.n_iter_ < dae.max_iter)  # stopped: the loss stopped improving
    True
    """

    # the fitted state's layout in pickles (see _base._VersionedStateMixin)
    _skdae_state_layout = 1

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        **_options.LAYER_CONSTRAINTS,
        "loss": _options.LOSS_CONSTRAINT,
        "output_activation": _options.OUTPUT_CONSTRAINT,
        "tied_weights": ["boolean"],
        "corruption_level": [Interval(Real, 0, None, closed="left")],
        "emphasis": _options.EMPHASIS_CONSTRAINT,
        **_options.OPTIMIZER_CONSTRAINTS,
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        **_options.STOPPING_CONSTRAINTS,
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    # private state a fit creates besides its fitted attributes
    _TRAINING_STATE = ("_rng_state", "_state1", "_state2", "_adam_t",
                       "_no_improvement_count", "_optimizer_state_kind",
                       "_fitted_structure")

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
        emphasis=None,
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
        tol=3e-3,
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
        self.emphasis = emphasis
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
            lie in [0, 1]; values outside it by rounding errors (at most
            ``sqrt(eps)`` of the dtype, e.g. a ``MinMaxScaler``'s
            1.0000000000000002) are clipped. Sparse input is converted to CSR
            and trained on without densifying it.

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
        """Make one pass over the block ``X``; the first call initialises the model.

        Later calls continue the same model, as ``fit`` with
        ``warm_start=True`` does: a changed structural parameter
        (``n_components``, ``activation``, ``tied_weights``, ``loss``,
        ``output_activation``) raises a ``ValueError``, a changed optimizer
        (``solver``, or ``momentum`` between zero and non-zero) starts from
        fresh optimizer state, and other settings apply from the next update.
        A model loaded read-only (``joblib.load(..., mmap_mode="r")``) is
        copied into writeable memory on the first call.

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
        return _options.step_size(self.learning_rate, self.solver, self.loss)

    def _check_params(self):
        if LOSSES[self.loss].needs_unit_interval and self._output_activation() != "sigmoid":
            raise ValueError(
                f"loss={self.loss!r} requires a sigmoid output; got "
                f"output_activation={self.output_activation!r}. Use "
                "output_activation=None (or 'sigmoid'), or loss='squared_error'."
            )
        return _options.check_corruption(self.corruption, self.corruption_level,
                                         emphasis=self.emphasis)

    def _check_unit_interval(self, X, column_bounds=None, *, new_data=None):
        """``X`` clipped to [0, 1], where the cross-entropy is defined.

        Values outside [0, 1] by at most ``sqrt(eps)`` of the dtype (1.5e-8
        in float64, 3.5e-4 in float32) are rounding errors of a rescaling --
        ``MinMaxScaler`` returns ``1 + eps`` -- and are clipped. Values
        further out raise a ValueError in training data (``new_data`` None);
        in new data, which may stray outside the training range, they warn
        and are clipped (``new_data="clip"``, scoring) or encoded as given
        (``new_data="keep"``, ``transform``). ``column_bounds``: the
        per-column minima and maxima of ``X`` when the caller has them (saves
        two passes over the data); they are clipped in place with ``X``."""
        values = X.data if sp.issparse(X) else X
        if self.loss != "cross_entropy" or not values.size:
            return X
        if column_bounds is not None:
            lo, hi = column_bounds[0].min(), column_bounds[1].max()
        else:
            lo, hi = values.min(), values.max()
        if lo >= 0 and hi <= 1:
            return X
        tol = np.sqrt(np.finfo(values.dtype).eps)
        if lo < -tol or hi > 1 + tol:
            if new_data is None:
                raise ValueError(
                    "loss='cross_entropy' requires every input value to lie in [0, 1] "
                    f"(within {tol:.2g} for rounding); got values in [{lo!s}, {hi!s}]. "
                    "Rescale the data first (e.g. with sklearn.preprocessing."
                    "MinMaxScaler in a Pipeline) or use loss='squared_error' for "
                    "real-valued inputs."
                )
            warnings.warn(
                f"X holds values in [{lo!s}, {hi!s}], outside [0, 1]: this model was "
                "fitted with loss='cross_entropy' for inputs in [0, 1]. "
                + ("They are clipped to [0, 1] for scoring. " if new_data == "clip"
                   else "They are encoded as given. ")
                + "Rescale new data as the training data (e.g. with the same fitted "
                "MinMaxScaler, in a Pipeline).",
                UserWarning, stacklevel=3,
            )
        if new_data == "keep":
            return X
        if sp.issparse(X):
            X = X.copy()
            np.clip(X.data, 0, 1, out=X.data)
        else:
            X = np.clip(X, 0, 1)
        for bounds in column_bounds or ():
            np.clip(bounds, 0, 1, out=bounds)
        return X

    def _initialize(self, n_features, dtype, rng):
        """Allocate parameters, optimizer state and the engine's RNG."""
        bound = ACTIVATIONS[self.activation].init_bound(n_features, self.n_components)
        shape = (self.n_components, n_features)
        self.components_ = rng.uniform(-bound, bound, size=shape).astype(dtype)
        if not self.tied_weights:
            self.decoder_components_ = rng.uniform(-bound, bound, size=shape).astype(dtype)
        elif hasattr(self, "decoder_components_"):
            del self.decoder_components_
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=dtype)
        self.intercept_visible_ = np.zeros(n_features, dtype=dtype)
        self._rng_state = np.empty(4, dtype=np.uint64)
        seed_rng(self._rng_state, int(rng.randint(np.iinfo(np.int32).max)))
        self._allocate_optimizer_state()
        reset_progress(self, self.early_stopping)
        self.data_min_ = np.full(n_features, np.inf, dtype=dtype)
        self.data_max_ = np.full(n_features, -np.inf, dtype=dtype)
        self._record_structure()

    def _structure(self):
        """The parameters the fitted arrays are shaped by or mean something
        under (see _base._FittedStructureMixin)."""
        return {
            "n_components": self.n_components,
            "activation": self.activation,
            "tied_weights": self.tied_weights,
            # loss_curve_, best_loss_ and the stopping rule compare one loss
            "loss": self.loss,
            "output_activation": self._output_activation(),
        }

    def _optimizer_kind(self):
        """What the optimizer state holds: the solver, and whether it keeps
        a first buffer (Adam's first moments, or SGD's velocity with
        momentum)."""
        return self.solver, self.solver == "adam" or self.momentum > 0

    def _allocate_optimizer_state(self):
        """Zero optimizer buffers shaped like [W, V, b, c] (V's empty when
        tied), and Adam's step counter at 0."""
        shape = self.components_.shape
        self._state1, self._state2 = _optimizer_state(
            [shape, (0, 0) if self.tied_weights else shape, shape[:1], shape[1:]],
            self.solver, self.momentum, self.components_.dtype)
        self._adam_t = 0
        self._optimizer_state_kind = self._optimizer_kind()

    def _prepare_to_continue(self):
        """Make the fitted state fit for the current parameters before
        partial_fit or a warm-start fit trains it further.

        A changed structural parameter raises (``_check_structure``);
        read-only state (a model loaded with ``mmap_mode="r"``) is copied; a
        changed optimizer (solver, or SGD momentum turned on or off) starts
        from fresh state; switching ``early_stopping`` restarts the stopping
        rule (``reset_progress`` but for the epoch counts and the loss curve).
        """
        self._check_structure(training=True)
        self._own_arrays()
        if self._optimizer_state_kind != self._optimizer_kind():
            self._allocate_optimizer_state()
        if (self.validation_scores_ is not None) != self.early_stopping:
            kept = self.n_iter_, self.t_, self.loss_curve_
            reset_progress(self, self.early_stopping)
            self.n_iter_, self.t_, self.loss_curve_ = kept

    def _training_state(self):
        """The arrays an epoch changes, in a fixed order: the parameters
        (``_n_parameters`` of them), the optimizer state, the engine's random
        state."""
        arrays = [self.components_, self.intercept_hidden_, self.intercept_visible_]
        if not self.tied_weights:
            arrays.append(self.decoder_components_)
        return arrays + self._state1 + self._state2 + [self._rng_state]

    @property
    def _n_parameters(self):
        return 3 if self.tied_weights else 4

    def _fit(self, X, y, incremental):
        emphasis = self._check_params()
        if self.early_stopping and incremental:
            raise ValueError(
                "partial_fit does not support early_stopping=True; call fit, or "
                "set early_stopping=False."
            )
        first_pass = not hasattr(self, "components_") or (
            not self.warm_start and not incremental
        )
        if not first_pass:
            self._prepare_to_continue()
        with interruptible_fit(self, first_pass):
            return self._fit_validated(X, y, incremental, first_pass, emphasis)

    def _fit_validated(self, X, y, incremental, first_pass, emphasis):
        X = validate_data(
            self, X, accept_sparse="csr", dtype=(np.float64, np.float32), order="C",
            reset=first_pass,
        )
        if self.early_stopping:
            _check_validation_split(X.shape[0], self.validation_fraction,
                                    "use more samples or early_stopping=False")
        sparse = sp.issparse(X)
        if sparse:
            _options.check_sparse_corruption(self.corruption)
            X_min, X_max = min_max_axis(X, axis=0)
        else:
            X_min, X_max = X.min(axis=0), X.max(axis=0)
        X = self._check_unit_interval(X, (X_min, X_max))
        if not first_pass:
            X = X.astype(self.components_.dtype, copy=False)
            X_min = X_min.astype(X.dtype, copy=False)
            X_max = X_max.astype(X.dtype, copy=False)
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize(X.shape[1], X.dtype, rng)
        np.minimum(self.data_min_, X_min, out=self.data_min_)
        np.maximum(self.data_max_, X_max, out=self.data_max_)
        X_fit, X_val = X, None
        if self.early_stopping:
            X, X_val = train_test_split(X, test_size=self.validation_fraction,
                                        random_state=rng)
            if not sparse:
                X, X_val = np.ascontiguousarray(X), np.ascontiguousarray(X_val)
        run_epochs(
            self, self._epoch_runner(X, emphasis),
            n_epochs=1 if incremental else self.max_iter, n_rows=X.shape[0],
            incremental=incremental, X=X_fit, y=y,
            validation=None if X_val is None else (
                lambda: float(np.mean(-self._row_loss(X_val)))),
            relative_tol=True,
        )
        if not incremental:
            self._warn_if_saturated(X_fit)
        return self

    def _warn_if_saturated(self, X):
        """Warn when at least half of the hidden units give one code to every
        row of a sample of the training data ``X``, as when the inputs are far
        larger than the initial weights expect: saturated units learn nothing
        and the fit looks like any other that reached ``max_iter``."""
        rows = X[::max(1, X.shape[0] // _SATURATION_CHECK_ROWS)]
        if sp.issparse(rows):
            lo, hi = min_max_axis(rows, axis=0)
        else:
            rows = np.ascontiguousarray(rows)
            lo, hi = rows.min(axis=0), rows.max(axis=0)
        if not (hi > lo).any():  # identical rows: one code is right
            return
        H = self._encode(rows)
        n_constant = int(np.count_nonzero(np.ptp(H, axis=0) <= _CONSTANT_CODE))
        if 2 * n_constant < self.n_components:
            return
        largest = float(max(np.abs(self.data_min_).max(), np.abs(self.data_max_).max()))
        bound = ACTIVATIONS[self.activation].init_bound(X.shape[1], self.n_components)
        if largest > _LARGE_INPUT:
            advice = (
                f"The inputs reach |x| = {largest:.3g}, while the initial weights "
                f"(|W| <= {bound:.2g}) expect inputs of order 1: scale the data first "
                "(sklearn.preprocessing.StandardScaler, or MinMaxScaler to [0, 1] "
                "for loss='cross_entropy', in a Pipeline) and refit."
            )
        else:
            advice = "Lower the learning rate (e.g. ten times) and refit."
        warnings.warn(
            f"{n_constant} of the {self.n_components} hidden units give the same "
            f"code (within {_CONSTANT_CODE:g}) to every training sample: they are "
            f"saturated ({self.activation} units far outside their working range), "
            f"so the code carries little information. {advice}",
            UserWarning, stacklevel=6,  # (fit's caller, past _fit_context)
        )

    def _noise_extremes(self):
        """The values salt-and-pepper noise writes: 0 and 1 for the
        cross-entropy, else each feature's minimum and maximum."""
        if LOSSES[self.loss].needs_unit_interval:
            return np.zeros_like(self.data_min_), np.ones_like(self.data_max_)
        return self.data_min_, self.data_max_

    def _epoch_runner(self, X, emphasis):
        """A function that runs one epoch over ``X`` in the engine, in place,
        and returns ``(loss_sum, n_seen, status)``."""
        sparse = sp.issparse(X)
        order = np.arange(X.shape[0], dtype=np.intp)
        d, h = X.shape[1], self.n_components
        low, high = self._noise_extremes()
        model = dict(activation=ACTIVATIONS[self.activation].code,
                     output=OUTPUT_ACTIVATIONS[self._output_activation()],
                     loss=LOSSES[self.loss].code, contraction=float(self.contraction),
                     encoder_transposed=not sparse)
        noise = dict(noise=CORRUPTIONS[self.corruption].code,
                     level=float(self.corruption_level), low=low, high=high,
                     emphasis=emphasis)

        def epoch():
            W = self.components_
            V = None if self.tied_weights else self.decoder_components_
            states = [list(pair) for pair in zip(self._state1, self._state2)]
            if sparse:
                # the CSR engine reads the encoder as (n_features, n_hidden):
                # each stored entry then touches one contiguous run of weights
                W = np.ascontiguousarray(W.T)
                states[0] = [np.ascontiguousarray(a.T) for a in states[0]]
            n_threads, blas_limit = engine_threads(
                10.0 * min(self.batch_size, X.shape[0]) * d * h, h)
            try:
                with blas_limit:
                    loss_sum, self._adam_t, n_seen, status = train_autoencoder_epoch(
                        X, order, self._rng_state,
                        [W, V, self.intercept_hidden_, self.intercept_visible_], states,
                        _optimizer_settings(self, self._adam_t), model, noise,
                        batch_size=self.batch_size, shuffle=self.shuffle,
                        n_threads=n_threads,
                    )
            finally:
                if sparse:
                    self.components_[...] = W.T
                    for dst, src in zip((self._state1[0], self._state2[0]), states[0]):
                        dst[...] = src.T
            return loss_sum, n_seen, status

        return epoch

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
        sq = _squared_norm(self.components_)
        if not self.tied_weights:
            sq += _squared_norm(self.decoder_components_)
        return 0.5 * self.alpha * sq

    # ------------------------------------------------------------------ #
    # Inference
    # ------------------------------------------------------------------ #
    def _decoder_weights(self):
        return self.components_ if self.tied_weights else self.decoder_components_

    def _validate_X(self, X, ensure_all_finite=True):
        self._check_structure(training=False)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=(np.float64, np.float32), order="C",
            reset=False, ensure_all_finite=ensure_all_finite,
        )
        return X.astype(self.components_.dtype, copy=False)

    def _encode(self, X):
        """Hidden code of a validated ``X`` (dense: by row blocks in the
        engine, which also reports non-finite input)."""
        nonfinite_input = ValueError(
            "Input X contains NaN or infinity (or values so large that "
            "X @ components_.T overflows). Remove or impute the missing values "
            "(e.g. sklearn.impute.SimpleImputer in a Pipeline) and scale the "
            "data as for fit."
        )
        if sp.issparse(X):
            H = np.ascontiguousarray(safe_sparse_dot(X, self.components_.T,
                                                     dense_output=True))
            if not np.isfinite(H).all():  # (validation refused NaN and inf)
                raise nonfinite_input
            _bias_activation(H, self.intercept_hidden_, ACTIVATIONS[self.activation].code)
            return H
        H = np.empty((X.shape[0], self.n_components), dtype=self.components_.dtype)
        n_threads, blas_limit = engine_threads(
            2.0 * X.shape[0] * X.shape[1] * self.n_components, X.shape[0])
        with blas_limit:
            nonfinite = _encode_dense(X, self.components_, self.intercept_hidden_,
                                      ACTIVATIONS[self.activation].code, H, n_threads)
        if nonfinite:
            raise nonfinite_input
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
        # (the decoder's product, as the engine's: one BLAS thread when small)
        with small_products(2.0 * min(chunk, X.shape[0]) * V.size):
            for batch in gen_batches(X.shape[0], chunk):
                Xb = X[batch]
                Z = code(Xb) @ V
                if sp.issparse(Xb):
                    Xb = Xb.toarray()
                _reconstruction_loss_rows(
                    Xb, Z, self.intercept_visible_, LOSSES[self.loss].code,
                    OUTPUT_ACTIVATIONS[self._output_activation()], out[batch],
                )
        return out

    def transform(self, X):
        """Encode ``X``: the clean hidden code ``s(b + X W^T)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode. No corruption is applied. After a fit with
            ``loss="cross_entropy"``, values outside [0, 1] (by more than
            rounding) are encoded as given, with a ``UserWarning``.

        Returns
        -------
        H : ndarray of shape (n_samples, n_components)
            Hidden representation, of the fitted weights' dtype.
        """
        check_is_fitted(self)
        # Dense input skips validation's finiteness pass: the engine detects
        # NaN and infinity in the product instead (one pass less over X).
        X = self._validate_X(X, ensure_all_finite=sp.issparse(X))
        with np.errstate(invalid="ignore"):  # (NaN: the engine's error)
            self._check_unit_interval(X, new_data="keep")
        return self._encode(X)

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
        self._check_structure(training=False)
        H = check_array(X, dtype=(np.float64, np.float32), order="C")
        if H.shape[1] != self.n_components:
            raise ValueError(
                f"X has {H.shape[1]} features, but inverse_transform expects codes "
                f"with n_components={self.n_components} features (the output of "
                "transform)."
            )
        H = H.astype(self.components_.dtype, copy=False)
        with np.errstate(over="ignore", invalid="ignore"):
            Z = H @ self._decoder_weights()
        _bias_activation(Z, self.intercept_visible_,
                         OUTPUT_ACTIVATIONS[self._output_activation()])
        return self._check_finite(Z, "reconstruction")

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
        deriv = ACTIVATIONS[self.activation].derivative(H)
        W = self.components_.astype(np.float64, copy=False)
        with np.errstate(over="ignore", invalid="ignore"):
            norms = (deriv * deriv) @ np.einsum("ij,ij->i", W, W)
        return self._check_finite(norms, "Jacobian norm")

    def score_samples(self, X):
        """Negative clean reconstruction loss of each sample.

        With ``loss="cross_entropy"``, ``X`` is clipped to [0, 1] (where
        the loss is defined) first: new data rescaled with a
        ``MinMaxScaler`` fitted on other rows may stray outside it. Values
        outside by more than rounding also warn (``UserWarning``).

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
        X = self._check_unit_interval(self._validate_X(X), new_data="clip")
        with np.errstate(over="ignore", invalid="ignore"):
            return -self._check_finite(self._row_loss(X), "reconstruction loss")

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

    def _check_finite(self, A, what):
        """``A`` unless it overflowed (then raise, as ``transform`` does)."""
        return _refuse_overflow(A, what, "components_", [self.components_])

    def _corrupt(self, X, random_state=None):
        """Apply the training noise process to ``X`` (a validated, C-ordered
        array of the weights' dtype), with its own seed. Used by displays and
        tests; training draws its noise inside the engine."""
        state = np.empty(4, dtype=np.uint64)
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        seed_rng(state, int(seed))
        out = np.empty_like(X)
        low, high = self._noise_extremes()
        _corrupt(X, out, CORRUPTIONS[self.corruption].code, float(self.corruption_level),
                 low, high, state)
        return out

    @property
    def _n_features_out(self):
        """Number of transformed output features."""
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = _options.keeps_sparse(self.corruption)
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
