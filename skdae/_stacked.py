"""Stacked denoising autoencoders: greedy layer-wise pretraining, and a
classifier that fine-tunes the whole stack with a softmax output layer."""

# Pretraining fits one DenoisingAutoencoder per layer; fine-tuning runs the
# engine's ``train_stack_epoch`` (``_engine.pyx``), one GIL-free call per
# epoch, inside the shared epoch loop of ``_training.py``. Python owns
# validation, seeding and the fitted attributes.

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import log_softmax, softmax
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
    _fit_context,
    is_classifier,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _options
from ._autoencoder import (
    DenoisingAutoencoder,
    _check_validation_split,
    _optimizer_settings,
    _optimizer_state,
    _refuse_overflow,
    _squared_norm,
)
from ._autoencoder_fast import _bias_activation
from ._base import _FittedStructureMixin, _VersionedStateMixin
from ._engine import seed_rng, train_stack_epoch
from ._options import ACTIVATIONS, LOSSES
from ._training import (
    CallbackSupportMixin,
    engine_threads,
    interruptible_fit,
    reset_progress,
    run_epochs,
)

# corruption_levels="auto": the authors' schedule for three layers (Vincent et
# al., 2010), its last level repeated for deeper stacks.
_AUTO_CORRUPTION_LEVELS = (0.1, 0.2, 0.3)


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


def _per_layer(value, n_layers, name):
    """``value`` repeated for each layer, or the per-layer sequence checked
    against the number of layers."""
    if isinstance(value, (str, Real)) or value is None:
        return [value] * n_layers
    values = list(value)
    if len(values) != n_layers:
        raise ValueError(
            f"{name} has {len(values)} values but hidden_layer_sizes has "
            f"{n_layers} layers; pass one value per layer or a single value for "
            "all layers."
        )
    return values


def _check_hidden_layer_sizes(hidden_layer_sizes):
    sizes = (
        [hidden_layer_sizes]
        if isinstance(hidden_layer_sizes, Integral)
        else list(hidden_layer_sizes)
    )
    if not sizes or any(
        not isinstance(s, Integral) or isinstance(s, bool) or s < 1 for s in sizes
    ):
        raise ValueError(
            "hidden_layer_sizes must be a positive int or a non-empty sequence of "
            f"positive ints; got {hidden_layer_sizes!r}."
        )
    return [int(s) for s in sizes]


def _check_corruption_levels(levels, corruption, n_layers, emphasis=None):
    """Each layer's corruption level and emphasis, checked by the rules of a
    single autoencoder (``_options.check_corruption``)."""
    levels = _per_layer(levels, n_layers, "corruption_levels")
    auto = _AUTO_CORRUPTION_LEVELS
    levels = [auto[min(i, len(auto) - 1)] if _is_auto(level) else level
              for i, level in enumerate(levels)]
    emphases = _per_layer_emphasis(emphasis, n_layers)
    for i, level in enumerate(levels):
        if not isinstance(level, Real) or isinstance(level, bool) or not level >= 0:
            raise ValueError(
                f"corruption_levels must hold non-negative floats; got {level!r}."
            )
        where = f" (layer {i + 1})" if n_layers > 1 else ""
        emphases[i] = _options.check_corruption(corruption, level, emphasis=emphases[i],
                                                where=where)
    return [float(level) for level in levels], emphases


def _per_layer_emphasis(emphasis, n_layers):
    """``emphasis`` for each layer: None, one ``(alpha, beta)`` pair for all
    layers, or one entry (a pair or None) per layer."""
    if emphasis is None:
        return [None] * n_layers
    values = list(emphasis)
    if len(values) == 2 and all(isinstance(v, Real) for v in values):
        return [tuple(values)] * n_layers
    return _per_layer(values, n_layers, "emphasis")


def _in_unit_interval(X):
    """Whether every value of ``X`` (dense or CSR) lies in [0, 1]."""
    values = X.data if sp.issparse(X) else X
    return values.size == 0 or (values.min() >= 0 and values.max() <= 1)


def _check_losses(losses, activation, n_layers, name, data_in_unit_interval):
    """The reconstruction loss of each layer. "auto" is the cross-entropy where
    the layer's input is known to lie in [0, 1] -- the data at the bottom when
    ``data_in_unit_interval``, the code of a sigmoid layer above -- and the
    squared error elsewhere."""
    values = _per_layer(losses, n_layers, name)
    resolved = []
    for i, loss in enumerate(values):
        if _is_auto(loss):
            known = ACTIVATIONS[activation].unit_interval if i > 0 else data_in_unit_interval
            loss = "cross_entropy" if known else "squared_error"
        if loss not in LOSSES:
            raise ValueError(
                f"{name} must be 'auto', 'squared_error' or 'cross_entropy' (or a "
                f"sequence of those, one per layer); got {loss!r}."
            )
        if LOSSES[loss].needs_unit_interval and i > 0 and not ACTIVATIONS[
                activation].unit_interval:
            fix = tuple([resolved[0]] + ["squared_error"] * (n_layers - 1))
            raise ValueError(
                f"{name}={losses!r} gives layer {i + 1} the cross-entropy, which "
                "needs inputs in [0, 1], but the input of layer "
                f"{i + 1} is the code of layer {i}, whose {activation} units take "
                f"values in {ACTIVATIONS[activation].values}. Pass one loss per layer, "
                f"e.g. {name}={fix!r}, or {name}='auto' (the cross-entropy only "
                "above sigmoid layers)."
            )
        resolved.append(loss)
    return resolved


def _pretrain_layers(X, layers, verbose, fitted):
    """Greedy layer-wise pretraining: fit each unfitted autoencoder of
    ``layers`` on the clean code of the one below, appending it to the list
    ``fitted`` once its fit completed (what an interrupt keeps). Returns the
    code of the top layer."""
    for i, layer in enumerate(layers):
        if verbose:
            print(
                f"Pretraining layer {i + 1}/{len(layers)} "
                f"({X.shape[1]} -> {layer.n_components} units)"
            )
        with warnings.catch_warnings():
            # max_iter is the number of pretraining epochs: reaching it is the
            # method, not a failure to converge
            warnings.simplefilter("ignore", ConvergenceWarning)
            layer.fit(X)
        fitted.append(layer)
        X = layer.transform(X)
    return X


class StackedDenoisingAutoencoder(
    _VersionedStateMixin,
    _FittedStructureMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Stack of denoising autoencoders pretrained greedily, layer by layer.

    Each layer is a :class:`DenoisingAutoencoder` trained on the clean code of
    the layer below, with the corruption applied to that layer's own input
    (Vincent et al., 2010). ``transform`` returns the code of the top layer;
    ``inverse_transform`` decodes back down the stack. To fine-tune the stack
    on labels, use :class:`SdAClassifier`.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(1000, 1000, 1000)
        Number of hidden units of each layer, from the bottom up.

    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden activation of every layer.

    loss : {"auto", "squared_error", "cross_entropy"} or tuple of those, \
default="auto"
        Reconstruction loss of each layer (one value for all layers, or one
        per layer). ``"cross_entropy"`` needs inputs in [0, 1]: the data for
        the bottom layer, and the code of the layer below for the others,
        which is true of sigmoid units only (tanh codes lie in [-1, 1], relu
        codes in [0, inf): a cross-entropy above them is an error).
        ``"auto"`` uses the cross-entropy where the layer's input is known
        to lie in [0, 1] -- at the bottom layer when every training value
        does (pixels scaled to [0, 1], the output of a ``MinMaxScaler``), and
        above sigmoid layers -- and the squared error elsewhere: at the
        bottom layer for other data (e.g. standardized), and above tanh or
        relu layers. The resolved losses are those of ``autoencoders_``;
        with the cross-entropy at the bottom, :meth:`score` wants data in
        [0, 1] too. With sigmoid units on [0, 1] data this is the paper's
        setting, the cross-entropy at every layer. The squared error on
        [0, 1] inputs (data or sigmoid codes) collapses the codes: on digits
        (``X / 16``, two layers of 128 and 64 units) the top code's units
        vary by a median standard deviation of 0.0007 over the samples,
        against 0.26 with the cross-entropy.

    corruption : {"masking", "gaussian", "salt_and_pepper", "swap"} or None, \
default="masking"
        Noise process of every layer (see :class:`DenoisingAutoencoder`).

    corruption_levels : "auto", float or tuple of float, default="auto"
        Corruption level of each layer, from the bottom up (one value for all
        layers, or one per layer). ``"auto"`` is the authors' schedule for
        three layers, 0.1, 0.2 and 0.3 from the bottom up, cut to the number
        of layers or with its last level repeated: ``(0.1,)`` for one layer,
        ``(0.1, 0.2)`` for two, ``(0.1, 0.2, 0.3, 0.3)`` for four.

    emphasis : tuple (alpha, beta), list of those, or None, default=None
        Emphasized denoising of each layer (see
        :class:`DenoisingAutoencoder`): one ``(alpha, beta)`` pair for every
        layer, or one pair (or None) per layer.

    tied_weights : bool, default=True
        Whether each layer's decoder uses the transpose of its encoder.

    solver : {"adam", "sgd"}, default="adam"
        Optimizer of each layer.

    learning_rate : float or "auto", default="auto"
        Step size of each layer's optimizer. ``"auto"`` is each layer's
        ``"auto"`` (see :class:`DenoisingAutoencoder`): 0.01 with Adam; with
        SGD, 0.1 for a layer trained with the cross-entropy and 0.01 for one
        trained with the squared error. Adam needs steps about ten times
        smaller than SGD: with SGD's 0.1 it saturates the codes.

    batch_size : int, default=32
        Minibatch size of the pretraining.

    max_iter : int, default=15
        Number of pretraining epochs per layer (the authors' setting). Reaching
        it is the normal end of a layer's pretraining and gives no warning.

    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.

    contraction : float, default=0.0
        Contractive penalty of each layer (see :class:`DenoisingAutoencoder`).

    alpha : float, default=0.0
        L2 penalty on each layer's weights.

    momentum : float, default=0.0
        SGD momentum, in [0, 1). Only used when ``solver="sgd"``.

    beta_1 : float, default=0.9
        Adam's first-moment decay rate, in [0, 1).

    beta_2 : float, default=0.999
        Adam's second-moment decay rate, in [0, 1).

    epsilon : float, default=1e-8
        Adam's numerical stability term.

    tol : float, default=1e-4
        An epoch of a layer whose training loss does not improve on the best
        so far by at least ``tol`` times that best counts as one without
        improvement (the ``tol`` of :class:`DenoisingAutoencoder`, relative).

    n_iter_no_change : int, default=10
        A layer stops after ``n_iter_no_change + 1`` consecutive epochs
        without improvement (as scikit-learn's MLP counts).

    verbose : int, default=0
        Print which layer is pretraining, and each layer's per-epoch lines.

    random_state : int, RandomState instance or None, default=None
        Draws one seed per layer, in order (``randint(2**31 - 1)`` each), which
        seeds that layer's initialisation, shuffling and noise.

    Attributes
    ----------
    autoencoders_ : list of DenoisingAutoencoder
        The fitted layers, from the bottom up: all of them, or after an
        interrupted fit those whose pretraining completed.

    n_layers_ : int
        Number of fitted layers: ``len(hidden_layer_sizes)``, or fewer after
        an interrupted fit (see ``interrupted_``).

    interrupted_ : str or None
        None after a fit that ran to its end. After Ctrl-C
        (``KeyboardInterrupt``, re-raised with this sentence as its message)
        once the first layer's pretraining completed, what the stack holds:
        the layers whose pretraining completed, which :meth:`transform`
        encodes through (the interrupted layer is discarded). A stack
        interrupted in its first layer is left unfitted.

    n_iter_ : int
        Pretraining epochs run, summed over the layers (each layer's own count
        is its ``n_iter_``).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    DenoisingAutoencoder : One layer of the stack.
    SdAClassifier : The stack fine-tuned with a softmax output layer.
    sklearn.neural_network.BernoulliRBM : Stacked, the layers of a deep
        belief network.

    References
    ----------
    .. [1] P. Vincent, H. Larochelle, I. Lajoie, Y. Bengio and P.-A. Manzagol,
       "Stacked Denoising Autoencoders: Learning Useful Representations in a
       Deep Network with a Local Denoising Criterion", JMLR 11, 2010.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdae import StackedDenoisingAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> sda = StackedDenoisingAutoencoder(
    ...     hidden_layer_sizes=(64, 32), corruption_levels=(0.2, 0.3),
    ...     loss="cross_entropy", max_iter=5, random_state=0)
    >>> H = sda.fit_transform(X)
    >>> H.shape
    (1797, 32)
    >>> [layer.n_components for layer in sda.autoencoders_]
    [64, 32]
    >>> sda.inverse_transform(H).shape
    (1797, 64)
    """

    # the fitted state's layout in pickles (see _base._VersionedStateMixin)
    _skdae_state_layout = 1

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        **_options.LAYER_CONSTRAINTS,
        "loss": _options.STACK_LOSS_CONSTRAINT,
        "corruption_levels": _options.LEVELS_CONSTRAINT,
        "emphasis": _options.EMPHASIS_CONSTRAINT,
        "tied_weights": ["boolean"],
        **_options.OPTIMIZER_CONSTRAINTS,
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        **_options.STOPPING_CONSTRAINTS,
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(1000, 1000, 1000),
        *,
        activation="sigmoid",
        loss="auto",
        corruption="masking",
        corruption_levels="auto",
        emphasis=None,
        tied_weights=True,
        solver="adam",
        learning_rate="auto",
        batch_size=32,
        max_iter=15,
        shuffle=True,
        contraction=0.0,
        alpha=0.0,
        momentum=0.0,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        tol=1e-4,
        n_iter_no_change=10,
        verbose=0,
        random_state=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.corruption = corruption
        self.corruption_levels = corruption_levels
        self.emphasis = emphasis
        self.tied_weights = tied_weights
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
        self.verbose = verbose
        self.random_state = random_state

    def _make_layers(self, X, rng, loss_name="loss"):
        """Unfitted layers for the training data ``X``, each seeded from
        ``rng`` in turn (``loss_name``: what the caller calls ``loss``, for
        the error messages)."""
        sizes = _check_hidden_layer_sizes(self.hidden_layer_sizes)
        losses = _check_losses(self.loss, self.activation, len(sizes), loss_name,
                               _in_unit_interval(X))
        levels, emphases = _check_corruption_levels(
            self.corruption_levels, self.corruption, len(sizes), self.emphasis
        )
        return [
            DenoisingAutoencoder(
                n_components=size,
                activation=self.activation,
                loss=loss,
                tied_weights=self.tied_weights,
                corruption=self.corruption,
                corruption_level=level,
                emphasis=emphasis,
                solver=self.solver,
                learning_rate=self.learning_rate,
                batch_size=self.batch_size,
                max_iter=self.max_iter,
                shuffle=self.shuffle,
                contraction=self.contraction,
                alpha=self.alpha,
                momentum=self.momentum,
                beta_1=self.beta_1,
                beta_2=self.beta_2,
                epsilon=self.epsilon,
                tol=self.tol,
                n_iter_no_change=self.n_iter_no_change,
                verbose=self.verbose,
                random_state=int(rng.randint(np.iinfo(np.int32).max)),
            )
            for size, loss, level, emphasis in zip(sizes, losses, levels, emphases)
        ]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Pretrain the layers greedily, from the bottom up.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (sparse input is accepted with
            ``corruption="masking"`` or None; the codes above it are dense).

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        # an interrupt keeps the layers whose pretraining completed (and
        # leaves the stack unfitted if that is none of them)
        with interruptible_fit(self, fresh=True):
            X = validate_data(
                self, X, accept_sparse="csr", dtype=(np.float64, np.float32), order="C"
            )
            layers = self._make_layers(X, check_random_state(self.random_state))
            self._record_structure()
            self.autoencoders_ = []
            try:
                _pretrain_layers(X, layers, self.verbose, self.autoencoders_)
            finally:
                self.n_layers_ = len(self.autoencoders_)
                self.n_iter_ = sum(layer.n_iter_ for layer in self.autoencoders_)
        return self

    def _interrupted_state(self):
        """What an interrupted fit kept, in words (see ``interrupted_``)."""
        n, total = len(self.autoencoders_), len(self._fitted_structure["hidden_layer_sizes"])
        kept = (f"it keeps the {n} of {total} layers whose pretraining completed "
                f"(autoencoders_, n_layers_={n}); transform encodes through them, "
                f"to {self.autoencoders_[-1].n_components} features.")
        if n < total:
            kept += (f" Layer {n + 1}'s partial pretraining was discarded; call fit "
                     "again for the whole stack.")
        return kept

    def _structure(self):
        """The parameters the fitted layers were built with (see
        _base._FittedStructureMixin)."""
        sizes = tuple(_check_hidden_layer_sizes(self.hidden_layer_sizes))
        loss = self.loss if isinstance(self.loss, str) else tuple(self.loss)
        return {
            "hidden_layer_sizes": sizes,
            "activation": self.activation,
            "tied_weights": self.tied_weights,
            "loss": (loss,) * len(sizes) if isinstance(loss, str) else loss,
        }

    def _check_layers(self):
        """Inference uses the fitted layers: refuse it when the stack's or a
        layer's structural parameters changed since fit."""
        self._check_structure(training=False)
        for layer in self.autoencoders_:
            layer._check_structure(training=False)

    def _validate_X(self, X):
        self._check_layers()
        X = validate_data(
            self, X, accept_sparse="csr", dtype=(np.float64, np.float32), order="C",
            reset=False,
        )
        return X.astype(self.autoencoders_[0].components_.dtype, copy=False)

    def _encode(self, X):
        for layer in self.autoencoders_:
            X = layer._encode(X)
        return X

    def transform(self, X):
        """Encode ``X`` through every layer: the top layer's clean code.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode. No corruption is applied.

        Returns
        -------
        H : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            Code of the top layer, of the fitted weights' dtype.
        """
        check_is_fitted(self)
        return self._encode(self._validate_X(X))

    def inverse_transform(self, X):
        """Decode top-layer codes back down the stack to input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, hidden_layer_sizes[-1])
            Codes of the top layer, e.g. the output of :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Reconstruction through every decoder, top to bottom.
        """
        check_is_fitted(self)
        self._check_layers()
        top = self.autoencoders_[-1].n_components
        H = check_array(X, dtype=(np.float64, np.float32), order="C")
        if H.shape[1] != top:
            raise ValueError(
                f"X has {H.shape[1]} features, but inverse_transform expects codes "
                f"of the top layer ({top} features, the output of transform)."
            )
        for layer in reversed(self.autoencoders_):
            H = layer.inverse_transform(H)
        return H

    def _bottom_code(self, X):
        """The first layer's code reconstructed through the rest of the stack:
        encode ``X`` to the top, decode back down to the first hidden layer."""
        H = self._encode(X)
        for layer in reversed(self.autoencoders_[1:]):
            H = layer.inverse_transform(H)
        return H

    def score_samples(self, X):
        """Negative reconstruction loss of each sample through the whole stack.

        With a bottom layer of ``loss="cross_entropy"``, ``X`` is clipped to
        [0, 1] first, as :meth:`DenoisingAutoencoder.score_samples` does.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode to the top layer and decode back (no corruption).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-loss(x, x_hat)`` per row with the bottom layer's ``loss``;
            higher is better.
        """
        check_is_fitted(self)
        bottom = self.autoencoders_[0]
        X = bottom._check_unit_interval(self._validate_X(X), new_data="clip")
        with np.errstate(over="ignore", invalid="ignore"):
            loss = bottom._row_loss(X, code=self._bottom_code)
        return -bottom._check_finite(loss, "reconstruction loss")

    def score(self, X, y=None):
        """Mean negative reconstruction loss through the whole stack.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            ``mean(score_samples(X))``; higher is better.
        """
        return float(np.mean(self.score_samples(X)))

    @property
    def _n_features_out(self):
        """Number of transformed output features."""
        return self.autoencoders_[-1].n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = _options.keeps_sparse(self.corruption)
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class _BaseSdA(
    _VersionedStateMixin,
    _FittedStructureMixin,
    CallbackSupportMixin,
    BaseEstimator,
):
    """What :class:`SdAClassifier` and :class:`SdARegressor` share (as
    scikit-learn's ``BaseMultilayerPerceptron``): the parameters, pretraining
    through :class:`StackedDenoisingAutoencoder`'s layers, the validation
    split, the fine-tuning through the engine's stack model and the training
    driver, ``partial_fit``, the forward pass, the tags and what an interrupt
    keeps.

    A subclass gives its head: ``_HEAD_LOSS`` (the loss ``learning_rate=
    "auto"`` is resolved for), ``_OUT_ACTIVATION``, ``_Y_CHECKS`` (for
    ``validate_data``), ``_fit_targets`` and ``_partial_fit_targets`` (``y``
    as the engine reads it: class indices or target rows),
    ``_encode_targets`` (validation targets) and ``_validation_score``
    (early stopping's score, higher is better).
    """

    # the fitted state's layout in pickles (see _base._VersionedStateMixin);
    # 2: the optimizer's kind recorded for partial_fit
    _skdae_state_layout = 2

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        **_options.LAYER_CONSTRAINTS,
        "pretrain": ["boolean"],
        "pretrain_loss": _options.STACK_LOSS_CONSTRAINT,
        "corruption_levels": _options.LEVELS_CONSTRAINT,
        "emphasis": _options.EMPHASIS_CONSTRAINT,
        "pretrain_solver": _options.OPTIMIZER_CONSTRAINTS["solver"],
        "pretrain_learning_rate": _options.OPTIMIZER_CONSTRAINTS["learning_rate"],
        "pretrain_batch_size": [Interval(Integral, 1, None, closed="left")],
        "pretrain_max_iter": [Interval(Integral, 1, None, closed="left")],
        **_options.OPTIMIZER_CONSTRAINTS,
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        **_options.STOPPING_CONSTRAINTS,
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    # private state a fit creates besides its fitted attributes
    _TRAINING_STATE = ("_rng_state", "_state1", "_state2", "_adam_t",
                       "_no_improvement_count", "_fitted_structure",
                       "_optimizer_state_kind")

    def __init__(
        self,
        hidden_layer_sizes=(500, 500),
        *,
        activation="sigmoid",
        pretrain=True,
        pretrain_loss="auto",
        corruption="masking",
        corruption_levels="auto",
        emphasis=None,
        pretrain_solver="adam",
        pretrain_learning_rate="auto",
        pretrain_batch_size=32,
        pretrain_max_iter=15,
        contraction=0.0,
        solver="sgd",
        learning_rate="auto",
        momentum=0.9,
        batch_size=32,
        max_iter=200,
        alpha=0.0,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=True,
        validation_fraction=0.1,
        shuffle=True,
        verbose=0,
        random_state=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.pretrain = pretrain
        self.pretrain_loss = pretrain_loss
        self.corruption = corruption
        self.corruption_levels = corruption_levels
        self.emphasis = emphasis
        self.pretrain_solver = pretrain_solver
        self.pretrain_learning_rate = pretrain_learning_rate
        self.pretrain_batch_size = pretrain_batch_size
        self.pretrain_max_iter = pretrain_max_iter
        self.contraction = contraction
        self.solver = solver
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.verbose = verbose
        self.random_state = random_state

    def _pretrainer(self):
        """The unsupervised stack the hidden layers are pretrained as."""
        return StackedDenoisingAutoencoder(
            hidden_layer_sizes=self.hidden_layer_sizes,
            activation=self.activation,
            loss=self.pretrain_loss,
            corruption=self.corruption,
            corruption_levels=self.corruption_levels,
            emphasis=self.emphasis,
            solver=self.pretrain_solver,
            learning_rate=self.pretrain_learning_rate,
            batch_size=self.pretrain_batch_size,
            max_iter=self.pretrain_max_iter,
            shuffle=self.shuffle,
            contraction=self.contraction,
            verbose=self.verbose,
        )

    def _step_size(self):
        """The fine-tuning's ``learning_rate``, with "auto" resolved for its
        solver and its head's loss."""
        return _options.step_size(self.learning_rate, self.solver, self._HEAD_LOSS)

    def _split(self, X, y, X_val, y_val, rng):
        """Training and validation parts (validation None without early stopping)."""
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ValueError("Pass both X_val and y_val, or neither.")
            if not self.early_stopping:
                raise ValueError(
                    "X_val and y_val are only used for early stopping; set "
                    "early_stopping=True or do not pass them."
                )
            X_val, y_val = validate_data(
                self, X_val, y_val, accept_sparse="csr", dtype=X.dtype, order="C",
                reset=False, **self._Y_CHECKS,
            )
            return X, y, X_val, self._encode_targets(y_val, "y_val", y)
        if not self.early_stopping:
            return X, y, None, None
        _check_validation_split(
            X.shape[0], self.validation_fraction,
            "use more samples, pass X_val and y_val, or set early_stopping=False")
        try:
            X, X_val, y, y_val = train_test_split(
                X, y, test_size=self.validation_fraction, random_state=rng,
                stratify=y if is_classifier(self) else None,
            )
        except ValueError:  # a class too small to stratify on: split plainly
            X, X_val, y, y_val = train_test_split(
                X, y, test_size=self.validation_fraction, random_state=rng
            )
        if not sp.issparse(X):
            X, X_val = np.ascontiguousarray(X), np.ascontiguousarray(X_val)
        return X, np.ascontiguousarray(y), X_val, np.ascontiguousarray(y_val)

    def _initialize(self, X, sizes, n_outputs, rng, early_stopping, pretrain):
        """Pretrain (or draw) the hidden layers; allocate the optimizer state
        and start the bookkeeping."""
        dtype = X.dtype
        fan = [X.shape[1]] + sizes + [n_outputs]
        layers = []
        if pretrain:
            _pretrain_layers(
                X, self._pretrainer()._make_layers(X, rng, loss_name="pretrain_loss"),
                self.verbose, layers)
            self.coefs_ = [np.ascontiguousarray(a.components_.T) for a in layers]
            self.intercepts_ = [a.intercept_hidden_.copy() for a in layers]
        else:
            self.coefs_, self.intercepts_ = [], []
            for fan_in, fan_out in zip(fan[:-2], fan[1:-1]):
                bound = ACTIVATIONS[self.activation].init_bound(fan_in, fan_out)
                self.coefs_.append(
                    rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dtype)
                )
                self.intercepts_.append(np.zeros(fan_out, dtype=dtype))
        self.coefs_.append(np.zeros((fan[-2], fan[-1]), dtype=dtype))
        self.intercepts_.append(np.zeros(fan[-1], dtype=dtype))
        self._rng_state = np.empty(4, dtype=np.uint64)
        seed_rng(self._rng_state, int(rng.randint(np.iinfo(np.int32).max)))
        self._allocate_optimizer_state()
        self.n_layers_ = len(fan)
        self.n_outputs_ = fan[-1]
        self.out_activation_ = self._OUT_ACTIVATION
        self._record_structure()
        reset_progress(self, early_stopping)
        # last: from here on an interrupt keeps the pretrained network
        self.autoencoders_ = layers

    def _optimizer_kind(self):
        """What the optimizer state holds: the solver, and whether it keeps
        a first buffer (Adam's first moments, or SGD's velocity)."""
        return self.solver, self.solver == "adam" or self.momentum > 0

    def _allocate_optimizer_state(self):
        """Zero optimizer state shaped like ``coefs_ + intercepts_``, Adam's
        step counter at 0."""
        self._state1, self._state2 = _optimizer_state(
            [a.shape for a in self.coefs_ + self.intercepts_], self.solver,
            self.momentum, self.coefs_[0].dtype)
        self._adam_t = 0
        self._optimizer_state_kind = self._optimizer_kind()

    def _structure(self):
        """The parameters ``coefs_`` were shaped by and the prediction uses
        (see _base._FittedStructureMixin)."""
        return {
            "hidden_layer_sizes": tuple(_check_hidden_layer_sizes(self.hidden_layer_sizes)),
            "activation": self.activation,
        }

    def _training_state(self):
        """The arrays an epoch changes, in a fixed order: the parameters
        (``_n_parameters`` of them), the optimizer state, the engine's random
        state."""
        return (self.coefs_ + self.intercepts_ + self._state1 + self._state2
                + [self._rng_state])

    @property
    def _n_parameters(self):
        return 2 * len(self.coefs_)

    def _penalty(self):
        if self.alpha == 0:
            return 0.0
        return 0.5 * self.alpha * sum(_squared_norm(W) for W in self.coefs_)

    def _fitted_attributes(self):
        """Copies of what prediction needs, for a callback's
        ``fitted_estimator`` (the engine updates the live arrays in place)."""
        return dict(
            coefs_=[W.copy() for W in self.coefs_],
            intercepts_=[b.copy() for b in self.intercepts_],
            **({"classes_": self.classes_} if hasattr(self, "classes_") else {}),
            n_layers_=self.n_layers_, n_outputs_=self.n_outputs_,
            out_activation_=self.out_activation_, n_iter_=self.n_iter_, t_=self.t_,
            loss_=self.loss_, loss_curve_=list(self.loss_curve_),
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, X_val=None, y_val=None):
        """Pretrain the hidden layers, then fine-tune the whole network on ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input is converted to CSR and trained on
            without densifying it (pretraining then needs
            ``corruption="masking"`` or None).

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classifier), or target values (regressor).

        X_val : {array-like, sparse matrix} of shape (n_val_samples, \
n_features), default=None
            Validation data for early stopping (requires
            ``early_stopping=True``); by default ``validation_fraction`` of
            ``X`` is set aside instead.

        y_val : array-like of shape (n_val_samples,) or (n_val_samples, \
n_outputs), default=None
            Labels or targets of ``X_val``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        with interruptible_fit(self, fresh=True):
            return self._fit(X, y, X_val, y_val)

    def _fit(self, X, y, X_val, y_val):
        X, y = validate_data(self, X, y, accept_sparse="csr",
                             dtype=(np.float64, np.float32), order="C", **self._Y_CHECKS)
        if sp.issparse(X) and self.pretrain:
            _options.check_sparse_corruption(self.corruption)
        y, n_outputs = self._fit_targets(y, X.dtype)
        sizes = _check_hidden_layer_sizes(self.hidden_layer_sizes)
        rng = check_random_state(self.random_state)
        X, y, X_val, y_val = self._split(X, y, X_val, y_val, rng)
        self._initialize(X, sizes, n_outputs, rng, X_val is not None, self.pretrain)
        if self.verbose:
            print(f"Fine-tuning {len(sizes)} hidden layer{'s' if len(sizes) > 1 else ''} "
                  f"and the {self._OUT_ACTIVATION} output layer")
        run_epochs(
            self, self._epoch_runner(X, y, sizes), n_epochs=self.max_iter,
            n_rows=X.shape[0], incremental=False, X=X, y=y,
            validation=None if X_val is None else (
                lambda: self._validation_score(self._logits(X_val), y_val)),
            what="Fine-tuning",
        )
        return self

    def _partial_fit(self, X, y, classes=None):
        """One fine-tuning pass over ``(X, y)``; a first call initialises the
        network at random, as ``pretrain=False`` does (no pretraining, no
        early stopping)."""
        first = not hasattr(self, "coefs_")
        if not first:
            self._check_structure(training=True)
            self._own_arrays()
            if self._optimizer_state_kind != self._optimizer_kind():
                self._allocate_optimizer_state()
            if self.validation_scores_ is not None:
                # after an early-stopping fit: the training loss's rule from here on
                kept = self.n_iter_, self.t_, self.loss_curve_
                reset_progress(self, False)
                self.n_iter_, self.t_, self.loss_curve_ = kept
        with interruptible_fit(self, first):
            X, y = validate_data(self, X, y, accept_sparse="csr", order="C",
                                 dtype=(np.float64, np.float32) if first
                                 else self.coefs_[0].dtype, reset=first,
                                 **self._Y_CHECKS)
            y, n_outputs = self._partial_fit_targets(y, classes, first, X.dtype)
            sizes = _check_hidden_layer_sizes(self.hidden_layer_sizes)
            if first:
                self._initialize(X, sizes, n_outputs, check_random_state(self.random_state),
                                 False, pretrain=False)
            run_epochs(self, self._epoch_runner(X, y, sizes), n_epochs=1,
                       n_rows=X.shape[0], incremental=True, X=X, y=y,
                       what="Fine-tuning")
        return self

    def _interrupted_state(self):
        """What an interrupted fit kept, in words (see ``interrupted_``)."""
        if self.n_iter_ == 0:
            return (
                "no fine-tuning epoch completed (n_iter_=0). It keeps the pretrained "
                "network: autoencoders_, and coefs_ and intercepts_ with the "
                "pretrained hidden layers and the output layer at its initial zeros "
                "(its predictions mean nothing yet). "
                "partial_fit fine-tunes it further; fit starts over."
            )
        kept = (f"it keeps the network as after its last completed fine-tuning epoch "
                f"(n_iter_={self.n_iter_}); the interrupted epoch was rolled back.")
        if self.validation_scores_:
            best = int(np.argmax(self.validation_scores_))
            if best + 1 < self.n_iter_:
                kept += (f" Early stopping's best epoch ({best + 1}, validation "
                         f"score {self.best_validation_score_:.4f}) was not restored.")
        return kept

    def _epoch_runner(self, X, y, sizes):
        """A function that runs one fine-tuning epoch in the engine, in place,
        and returns ``(loss_sum, n_seen, status)``."""
        order = np.arange(X.shape[0], dtype=np.intp)
        batch_flops = 6.0 * min(self.batch_size, X.shape[0]) * sum(
            W.size for W in self.coefs_)

        def epoch():
            # (the BLAS limit applies when created: a new one per epoch)
            n_threads, blas_limit = engine_threads(batch_flops, min(sizes))
            with blas_limit:
                loss_sum, self._adam_t, n_seen, status = train_stack_epoch(
                    X, y, order, self._rng_state, self.coefs_, self.intercepts_,
                    [list(pair) for pair in zip(self._state1, self._state2)],
                    _optimizer_settings(self, self._adam_t),
                    activation=ACTIVATIONS[self.activation].code,
                    batch_size=self.batch_size, shuffle=self.shuffle,
                    n_threads=n_threads,
                )
            return loss_sum, n_seen, status

        return epoch

    def _logits(self, X):
        """The output layer's pre-activations (the regressor's outputs) of a
        validated ``X`` (non-finite where the products overflow:
        ``_predict_logits`` refuses those)."""
        H = X
        with np.errstate(over="ignore", invalid="ignore"):
            for W, b in zip(self.coefs_[:-1], self.intercepts_[:-1]):
                H = np.ascontiguousarray(safe_sparse_dot(H, W, dense_output=True))
                _bias_activation(H, b, ACTIVATIONS[self.activation].code)
            return (safe_sparse_dot(H, self.coefs_[-1], dense_output=True)
                    + self.intercepts_[-1])

    def _predict_logits(self, X):
        """The logits of new data, refusing outputs that overflowed."""
        check_is_fitted(self)
        return _refuse_overflow(self._logits(self._validate_X(X)), "network's output",
                                "coefs_", self.coefs_)

    def _validate_X(self, X):
        self._check_structure(training=False)
        X = validate_data(self, X, accept_sparse="csr", dtype=(np.float64, np.float32),
                          order="C", reset=False)
        return X.astype(self.coefs_[0].dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = not self.pretrain or _options.keeps_sparse(self.corruption)
        return tags


class SdAClassifier(ClassifierMixin, _BaseSdA):
    """Stacked denoising autoencoder fine-tuned with a softmax output layer.

    ``fit`` first pretrains the hidden layers as a
    :class:`StackedDenoisingAutoencoder` (each layer a denoising autoencoder
    trained on the clean code of the layer below), then fine-tunes the whole
    network -- every hidden layer and a softmax output layer -- on the labels
    with the cross-entropy loss, by minibatch SGD or Adam, with early stopping
    on a validation split (Vincent et al., 2010). ``pretrain=False`` trains
    the same network from a random initialisation, which measures what the
    pretraining brings.

    Both phases run in the compiled engine of :class:`DenoisingAutoencoder`:
    the fine-tuning runs a whole epoch of forward and backward passes through
    the stack in one call with the GIL released.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(500, 500)
        Number of units of each hidden layer, from the bottom up. The
        default serves small tables and MNIST alike: on digits and Adult it
        is as accurate as any size measured; on MNIST (10 000 training
        images) within a few tenths of a point of the authors' network,
        ``(1000, 1000, 1000)``, the default before, which on digits is
        about ten times slower and less accurate (see the user guide's "The
        classifier's defaults"). Pass that network for the paper's setting.

    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden activation of every layer, in pretraining and fine-tuning.

    pretrain : bool, default=True
        Whether to pretrain the hidden layers as denoising autoencoders before
        fine-tuning. If False they start from a random initialisation of the
        distribution a pretraining layer starts from (uniform, with the same
        bound), drawn from ``random_state``, and the ``pretrain_*``,
        ``corruption``, ``corruption_levels``, ``emphasis`` and
        ``contraction`` parameters are unused.

    pretrain_loss : {"auto", "squared_error", "cross_entropy"} or tuple of \
those, default="auto"
        Reconstruction loss of each pretraining layer (one value for all
        layers, or one per layer). ``"auto"`` is the cross-entropy where the
        layer's input is known to lie in [0, 1] -- at the bottom when every
        training value does, and above sigmoid layers -- and the squared
        error elsewhere (see the ``loss`` of
        :class:`StackedDenoisingAutoencoder`): on [0, 1] data with sigmoid
        units, the paper's cross-entropy at every layer. The squared error on
        [0, 1] inputs collapses the pretrained codes, which leaves the
        fine-tuning stuck at chance for tens of epochs.

    corruption : {"masking", "gaussian", "salt_and_pepper", "swap"} or None, \
default="masking"
        Noise process of the pretraining layers.

    corruption_levels : "auto", float or tuple of float, default="auto"
        Corruption level of each pretraining layer, from the bottom up.
        ``"auto"`` is the authors' 0.1, 0.2, 0.3, cut to the number of layers
        or with its last level repeated (see
        :class:`StackedDenoisingAutoencoder`).

    emphasis : tuple (alpha, beta), list of those, or None, default=None
        Emphasized denoising of the pretraining layers (see
        :class:`StackedDenoisingAutoencoder`).

    pretrain_solver : {"adam", "sgd"}, default="adam"
        Optimizer of the pretraining layers.

    pretrain_learning_rate : float or "auto", default="auto"
        Step size of the pretraining. ``"auto"`` is each layer's ``"auto"``
        (see :class:`DenoisingAutoencoder`): 0.01 with Adam; with SGD, 0.1
        for a layer trained with the cross-entropy and 0.01 for one trained
        with the squared error.

    pretrain_batch_size : int, default=32
        Minibatch size of the pretraining.

    pretrain_max_iter : int, default=15
        Pretraining epochs per layer (the authors' setting).

    contraction : float, default=0.0
        Contractive penalty of each pretraining layer.

    solver : {"sgd", "adam"}, default="sgd"
        Optimizer of the fine-tuning: minibatch SGD with ``momentum`` or
        Adam.

    learning_rate : float or "auto", default="auto"
        Step size of the fine-tuning. ``"auto"`` is 0.1 with SGD (the
        authors' step; 0.01 for :class:`SdARegressor`, whose squared error
        has no bounded gradient) and 0.001 with Adam, a tenth of an
        autoencoder's: on
        MNIST, from the same pretrained default network, Adam at 0.01
        reached 3.88 % test error, Adam at 0.001 1.95 % and SGD at 0.1 with
        momentum 0.9 1.76 % (see the user guide).

    momentum : float, default=0.9
        SGD momentum of the fine-tuning, in [0, 1) (scikit-learn's
        ``MLPClassifier`` default). Without momentum SGD at ``batch_size=32``
        improves so slowly that early stopping ends it early: on digits,
        0.941 mean test accuracy against 0.967 with 0.9 (30 splits).

    batch_size : int, default=32
        Minibatch size of the fine-tuning (clipped to the number of samples).

    max_iter : int, default=200
        Maximum number of fine-tuning epochs.

    alpha : float, default=0.0
        L2 penalty ``0.5 * alpha * sum ||W||**2`` on the fine-tuned weights
        (not the intercepts).

    beta_1 : float, default=0.9
        Adam's first-moment decay rate, in [0, 1).

    beta_2 : float, default=0.999
        Adam's second-moment decay rate, in [0, 1).

    epsilon : float, default=1e-8
        Adam's numerical stability term.

    tol : float, default=1e-4
        A fine-tuning epoch whose validation score (the accuracy of
        :class:`SdAClassifier`, the R² of :class:`SdARegressor`; without
        early stopping, the training loss) does not improve on the best so
        far by at least ``tol`` counts as one without improvement.

    n_iter_no_change : int, default=10
        Fine-tuning stops after ``n_iter_no_change + 1`` consecutive epochs
        without improvement (as scikit-learn's MLP counts).

    early_stopping : bool, default=True
        Whether to monitor the score on a validation set (the accuracy, or
        for :class:`SdARegressor` the R²) -- the ``X_val, y_val`` passed to
        :meth:`fit`, or else ``validation_fraction`` of the training data set
        aside (stratified for the classifier) -- and restore the weights of
        the best epoch at the end. Pretraining uses only the training part;
        :meth:`partial_fit` does not stop early.

    validation_fraction : float, default=0.1
        Fraction of the training data set aside for early stopping when no
        ``X_val`` is given.

    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.

    verbose : int, default=0
        Print the pretraining progress and, per fine-tuning epoch,
        ``Iteration N, loss = ..., time = ...s`` and the validation score.

    random_state : int, RandomState instance or None, default=None
        Seeds, in this order, the validation split, the pretraining layers,
        the initialisation of the fine-tuned weights and the shuffling.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    coefs_ : list of ndarray
        ``coefs_[i]`` of shape (fan_in, fan_out) is the weight matrix between
        layer ``i`` and ``i + 1`` after fine-tuning, as in
        :class:`~sklearn.neural_network.MLPClassifier` (the transpose of a
        pretraining layer's ``components_``); the last one feeds the softmax.

    intercepts_ : list of ndarray
        ``intercepts_[i]`` of shape (fan_out,) is the bias of layer ``i + 1``.

    autoencoders_ : list of DenoisingAutoencoder
        The pretrained layers, as they were before fine-tuning; empty when
        ``pretrain=False`` or after a :meth:`partial_fit` on an unfitted
        classifier.

    n_layers_ : int
        Number of layers, counting the input and output layers.

    n_outputs_ : int
        Number of output units (``n_classes``).

    out_activation_ : str
        ``"softmax"``.

    n_iter_ : int
        Number of fine-tuning epochs run (plus one per :meth:`partial_fit`).

    t_ : int
        Number of training samples seen by the fine-tuning.

    loss_ : float
        Mean training cross-entropy (plus the L2 term) of the last epoch.

    loss_curve_ : list of float
        ``loss_`` after each fine-tuning epoch.

    best_loss_ : float or None
        Lowest ``loss_``; None with ``early_stopping=True``.

    validation_scores_ : list of float or None
        Validation accuracy after each fine-tuning epoch; None without early
        stopping.

    best_validation_score_ : float or None
        Best of ``validation_scores_``; None without early stopping.

    interrupted_ : str or None
        None after a fit that ran to its end. After Ctrl-C
        (``KeyboardInterrupt``, re-raised with this sentence as its message)
        once the pretraining completed, what the classifier holds: the
        network of its last completed fine-tuning epoch (``n_iter_`` of
        them; not early stopping's best epoch), or with ``n_iter_=0`` the
        pretrained hidden layers and the output layer at its initial zeros.
        A classifier interrupted during its pretraining (or, without
        pretraining, in its first epoch) is left unfitted.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    StackedDenoisingAutoencoder : The unsupervised stack alone (a transformer).
    sklearn.neural_network.MLPClassifier : The same kind of network trained
        from a random initialisation.

    Notes
    -----
    The output layer starts at zero, as in the authors' code; the fine-tuning
    applies no corruption.

    References
    ----------
    .. [1] P. Vincent, H. Larochelle, I. Lajoie, Y. Bengio and P.-A. Manzagol,
       "Stacked Denoising Autoencoders: Learning Useful Representations in a
       Deep Network with a Local Denoising Criterion", JMLR 11, 2010.
    .. [2] Y. Bengio, P. Lamblin, D. Popovici and H. Larochelle, "Greedy
       Layer-Wise Training of Deep Networks", NIPS 2006.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from skdae import SdAClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X / 16.0, y, random_state=0)
    >>> clf = SdAClassifier(hidden_layer_sizes=(100, 100), pretrain_max_iter=5,
    ...                     random_state=0).fit(X_train, y_train)
    >>> clf.predict(X_test[:5])
    array([2, 8, 2, 6, 6])
    >>> bool(clf.score(X_test, y_test) > 0.95)
    True

    The per-layer defaults as resolved for these data (in [0, 1]) and two
    sigmoid layers:

    >>> [(layer.loss, layer.corruption_level) for layer in clf.autoencoders_]
    [('cross_entropy', 0.1), ('cross_entropy', 0.2)]
    """

    _HEAD_LOSS = "log_loss"
    _OUT_ACTIVATION = "softmax"
    _Y_CHECKS = {}

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Make one fine-tuning pass over the block ``(X, y)``.

        As :meth:`MLPClassifier.partial_fit
        <sklearn.neural_network.MLPClassifier.partial_fit>`: ``classes`` is
        required on the first call and later calls continue the same
        network. partial_fit never pretrains: pretraining is
        ``pretrain_max_iter`` epochs per layer over a whole training set, not
        one pass over a block, so the first call on an unfitted classifier
        starts from the random initialisation of ``pretrain=False`` (and
        ignores ``early_stopping``). To pretrain, call :meth:`fit` first (on
        the data at hand, or a first block) and continue with partial_fit; it
        also fine-tunes further a classifier whose fit was interrupted (see
        ``interrupted_``). A changed structural parameter
        (``hidden_layer_sizes``, ``activation``) raises a ``ValueError``; a
        changed optimizer starts from fresh optimizer state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A block of training data.

        y : array-like of shape (n_samples,)
            Its class labels, each one of ``classes``.

        classes : array-like of shape (n_classes,), default=None
            Every class the classifier will see. Required on the first call,
            ignored (but checked) on later calls.

        Returns
        -------
        self : object
            The updated classifier.
        """
        return self._partial_fit(X, y, classes)

    def _encode_labels(self, y, what):
        """Class indices of ``y`` (labels not in ``classes_`` are an error)."""
        index = np.searchsorted(self.classes_, y)
        index = np.minimum(index, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if unknown.any():
            raise ValueError(
                f"{what} contains labels the classifier was not fitted with: "
                f"{np.unique(y[unknown]).tolist()!r}. Every label must be one of "
                f"classes_ {self.classes_.tolist()!r}."
            )
        return index.astype(np.intp)

    def _encode_targets(self, y, what, like):
        return self._encode_labels(y, what)

    def _fit_targets(self, y, dtype):
        """Class indices of the labels ``y``, and the number of classes."""
        check_classification_targets(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "SdAClassifier needs samples of at least 2 classes in the data, but "
                f"the data contain only one class: {self.classes_[0]!r}."
            )
        return y_index.astype(np.intp), len(self.classes_)

    def _partial_fit_targets(self, y, classes, first, dtype):
        """Class indices of ``y`` among ``classes`` (set on the first call)."""
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit: every "
                    "class the classifier will see, e.g. classes=np.unique(y_all)."
                )
            self.classes_ = unique_labels(classes)
            if len(self.classes_) < 2:
                raise ValueError(
                    f"SdAClassifier needs at least 2 classes; got classes={classes!r}."
                )
        elif classes is not None and not np.array_equal(unique_labels(classes),
                                                        self.classes_):
            raise ValueError(
                f"classes={unique_labels(classes).tolist()!r} is not classes_ "
                f"{self.classes_.tolist()!r}, the classes of the first call to "
                "partial_fit (or of fit)."
            )
        return self._encode_labels(y, "y"), len(self.classes_)

    def _validation_score(self, logits, y_index):
        """Early stopping's score: the accuracy."""
        return float(np.mean(logits.argmax(axis=1) == y_index))

    def predict_proba(self, X):
        """Class probabilities of the fine-tuned network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax outputs, columns in the order of ``classes_``.
        """
        return softmax(self._predict_logits(X), axis=1)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, computed stably.
        """
        return log_softmax(self._predict_logits(X), axis=1)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The most probable class of each sample.
        """
        index = self._predict_logits(X).argmax(axis=1)
        return self.classes_[index]



class SdARegressor(RegressorMixin, _BaseSdA):
    """Stacked denoising autoencoder fine-tuned with a linear output layer.

    The regression counterpart of :class:`SdAClassifier`, as
    :class:`~sklearn.neural_network.MLPRegressor` is of
    :class:`~sklearn.neural_network.MLPClassifier`: ``fit`` pretrains the
    hidden layers as a :class:`StackedDenoisingAutoencoder`, then fine-tunes
    the whole network -- every hidden layer and an output layer of
    ``n_outputs`` identity units -- on the targets with the squared error,
    by minibatch SGD or Adam, with early stopping on the R² of a validation
    split. Multi-output ``y`` is fitted jointly, as by ``MLPRegressor``. The
    fine-tuning runs in the same engine and training driver as the
    classifier's; only the output layer's head differs.

    The squared error's gradient grows with the targets' scale: standardize
    them (e.g. with :class:`~sklearn.compose.TransformedTargetRegressor`
    and a :class:`~sklearn.preprocessing.StandardScaler`), as the inputs.

    Parameters
    ----------
    (as SdAClassifier)

    Attributes
    ----------
    coefs_ : list of ndarray
        ``coefs_[i]`` of shape (fan_in, fan_out) is the weight matrix between
        layer ``i`` and ``i + 1`` after fine-tuning (the transpose of a
        pretraining layer's ``components_``); the last one feeds the output
        layer.

    intercepts_ : list of ndarray
        ``intercepts_[i]`` of shape (fan_out,) is the bias of layer ``i + 1``.

    autoencoders_ : list of DenoisingAutoencoder
        The pretrained layers, as they were before fine-tuning; empty when
        ``pretrain=False`` or after a :meth:`partial_fit` on an unfitted
        regressor.

    n_layers_ : int
        Number of layers, counting the input and output layers.

    n_outputs_ : int
        Number of outputs (``y``'s columns; 1 for one-dimensional ``y``).

    out_activation_ : str
        ``"identity"``.

    n_iter_ : int
        Number of fine-tuning epochs run (plus one per :meth:`partial_fit`).

    t_ : int
        Number of training samples seen by the fine-tuning.

    loss_ : float
        Half the mean squared error of the training outputs, summed over the
        outputs (``MLPRegressor``'s for one output), plus the L2 term, of the
        last epoch.

    loss_curve_ : list of float
        ``loss_`` after each fine-tuning epoch.

    best_loss_ : float or None
        Lowest ``loss_``; None with ``early_stopping=True``.

    validation_scores_ : list of float or None
        Validation R² after each fine-tuning epoch; None without early
        stopping.

    best_validation_score_ : float or None
        Best of ``validation_scores_``; None without early stopping.

    interrupted_ : str or None
        None after a fit that ran to its end; after Ctrl-C, what the
        regressor kept (as for :class:`SdAClassifier`).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    SdAClassifier : The same stack with a softmax output layer.
    StackedDenoisingAutoencoder : The unsupervised stack alone (a transformer).
    sklearn.neural_network.MLPRegressor : The same kind of network trained
        from a random initialisation.

    Notes
    -----
    The output layer starts at zero, as the classifier's; the fine-tuning
    applies no corruption. For SGD, ``learning_rate="auto"`` is 0.01 (a
    tenth of the classifier's step); for Adam 0.001, as for the classifier.

    References
    ----------
    .. [1] P. Vincent, H. Larochelle, I. Lajoie, Y. Bengio and P.-A. Manzagol,
       "Stacked Denoising Autoencoders: Learning Useful Representations in a
       Deep Network with a Local Denoising Criterion", JMLR 11, 2010.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.preprocessing import minmax_scale
    >>> from skdae import SdARegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X, y = minmax_scale(X), (y - y.mean()) / y.std()
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> reg = SdARegressor(hidden_layer_sizes=(32,), random_state=0)
    >>> reg.fit(X_train, y_train).predict(X_test[:3]).shape
    (3,)
    >>> bool(reg.score(X_test, y_test) > 0.3)
    True
    """

    _HEAD_LOSS = "regression"
    _OUT_ACTIVATION = "identity"
    _Y_CHECKS = {"multi_output": True, "y_numeric": True}

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y):
        """Make one fine-tuning pass over the block ``(X, y)``.

        As :meth:`MLPRegressor.partial_fit
        <sklearn.neural_network.MLPRegressor.partial_fit>`; partial_fit never
        pretrains (see :meth:`SdAClassifier.partial_fit`): the first call on
        an unfitted regressor starts from the random initialisation of
        ``pretrain=False``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A block of training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Its targets.

        Returns
        -------
        self : object
            The updated regressor.
        """
        return self._partial_fit(X, y)

    def _rows(self, y, dtype):
        """Targets as the engine reads them: (n_samples, n_outputs), of the
        weights' dtype."""
        y = np.asarray(y, dtype=dtype)
        return np.ascontiguousarray(y.reshape(-1, 1) if y.ndim == 1 else y)

    def _fit_targets(self, y, dtype):
        y = self._rows(y, dtype)
        return y, y.shape[1]

    def _encode_targets(self, y, what, like):
        y = self._rows(y, like.dtype)
        if y.shape[1] != like.shape[1]:
            raise ValueError(f"{what} has {y.shape[1]} outputs, but y has "
                             f"{like.shape[1]}.")
        return y

    def _partial_fit_targets(self, y, classes, first, dtype):
        y = self._rows(y, dtype)
        if not first and y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1]} outputs, but the regressor was fitted with "
                f"{self.n_outputs_}."
            )
        return y, y.shape[1]

    def _validation_score(self, outputs, y):
        """Early stopping's score: the R² (-inf for outputs that overflowed;
        the negative mean squared error for a validation set of one row,
        where the R² is undefined)."""
        if not np.isfinite(outputs).all():
            return -np.inf
        if len(y) < 2:
            return -float(np.mean((outputs - y) ** 2))
        return float(r2_score(y, outputs))

    def predict(self, X):
        """Predict with the fine-tuned network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The network's outputs, of the fitted weights' dtype; one
            dimension for a single output, as ``MLPRegressor`` returns.
        """
        outputs = self._predict_logits(X)
        return outputs.ravel() if outputs.shape[1] == 1 else outputs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


def _parameters_section(doc):
    """The Parameters section of a numpydoc class docstring."""
    return doc[doc.index("    Parameters\n"):doc.index("    Attributes\n")]


# one text for the parameters both fine-tuned stacks share
SdARegressor.__doc__ = SdARegressor.__doc__.replace(
    _parameters_section(SdARegressor.__doc__), _parameters_section(SdAClassifier.__doc__))
