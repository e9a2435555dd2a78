"""Outlier detection by reconstruction error, with scikit-learn's outlier API."""

# Python owns the detector's rules here (standardisation, the ensemble, the
# trimmed refit, the per-column error normalisation, the threshold); every
# autoencoder is a DenoisingAutoencoder trained by the one driver and engine.

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._autoencoder import DenoisingAutoencoder
from ._base import _FittedStructureMixin, _forwarded_params, _VersionedStateMixin
from ._training import interruptible_fit

# The autoencoder parameters the detector does not forward: it sets them itself
# (n_components after resolving "auto", a seed per member) or fixes them (the
# squared error with an identity output, the loss of real-valued data).
_NOT_FORWARDED = ("n_components", "random_state", "loss", "output_activation",
                  "warm_start")

# "auto" threshold: this many scaled MADs of the cube root of the error above
# its median (2.5: the "moderately conservative" choice of Leys et al. 2013).
_AUTO_MADS = 2.5
# MAD -> standard deviation for normally distributed values.
_MAD_TO_STD = 1.4826

_CHUNK_VALUES = 2**22


def _autoencoder_constraints():
    """The forwarded parameters' constraints, read from the autoencoder (one
    source for both estimators)."""
    return {k: v for k, v in DenoisingAutoencoder._parameter_constraints.items()
            if k not in _NOT_FORWARDED}


class DAEOutlierDetector(
    _VersionedStateMixin, _FittedStructureMixin, OutlierMixin, BaseEstimator
):
    """Unsupervised outlier detection by denoising-autoencoder reconstruction error.

    The detector standardises the data, trains ``n_estimators`` small
    :class:`DenoisingAutoencoder` models (squared error, different seeds) on
    the unlabelled, possibly contaminated training data, refits them without
    the ``trim_fraction`` of training rows they reconstruct worst, and scores
    a row by its reconstruction error: the squared error of each column,
    divided by that column's median training error, summed over the columns
    and averaged over the ensemble. Rows unlike the bulk of the training data
    are reconstructed badly and get a high error. It follows scikit-learn's
    outlier conventions (as :class:`~sklearn.ensemble.IsolationForest`):
    ``score_samples`` is higher for normal rows, ``decision_function`` is
    negative for outliers and ``predict`` returns -1 for them.

    Categorical columns and missing values are not supported yet: the input
    must be numeric and finite (NaN raises scikit-learn's usual error; impute
    first, e.g. with :class:`~sklearn.impute.SimpleImputer` in a Pipeline).

    Parameters
    ----------
    n_components : int or "auto", default="auto"
        Hidden units of each autoencoder. ``"auto"`` is half the number of
        features, rounded up.

    contamination : "auto" or float, default="auto"
        How ``offset_``, the threshold of ``predict``, is set from the
        training rows' errors. A float in (0, 0.5] flags that fraction of the
        training data. ``"auto"`` needs no guess of the fraction: a row is an
        outlier when the cube root of its error lies more than 2.5 scaled
        median absolute deviations above the median over the training rows
        (``e**(1/3) > median + 2.5 * 1.4826 * MAD``). The cube root of a sum
        of squares is close to normally distributed (Wilson and Hilferty),
        and the median and MAD are what the outliers themselves cannot move
        much, so this is the robust 2.5-sigma rule of Leys et al. (2013): on
        outlier-free data it flags about 0.6 % of the rows.

    n_estimators : int, default=5
        Number of autoencoders, fitted with different seeds; their
        normalised errors are averaged (it evens out the seed-to-seed spread
        of a single small network).

    trim_fraction : float, default=0.2
        Fraction of the training rows left out of a second fit: after a first
        fit, the autoencoders are refitted from their initial seeds without
        the rows they reconstructed worst, so that outliers in the training
        data shape the model less. 0 fits once on every row. In
        :meth:`partial_fit` the rule applies to each block after the first.

    standardize : bool, default=True
        Whether to scale each feature to zero mean and unit variance (a
        :class:`~sklearn.preprocessing.StandardScaler` fitted on the
        training data, ``scaler_``) before the autoencoders.

    normalize_errors : bool, default=True
        Whether each column's squared error is divided by its median over
        the training rows (``error_scale_``), so that every column counts
        alike whatever its own noise level; otherwise the errors are the
        plain squared errors of the standardised values.

    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden activation of the autoencoders.

    tied_weights : bool, default=True
        Whether each decoder uses the transposed encoder weights.

    corruption : {"masking", "gaussian", "salt_and_pepper", "swap"} or None, \
default="masking"
        Training noise of the autoencoders (see :class:`DenoisingAutoencoder`).

    corruption_level : float, default=0.25
        Strength of the training noise.

    emphasis : tuple (alpha, beta) or None, default=None
        Emphasized denoising (see :class:`DenoisingAutoencoder`).

    solver : {"adam", "sgd"}, default="adam"
        Optimizer of the autoencoders.

    learning_rate : float or "auto", default="auto"
        Step size (see :class:`DenoisingAutoencoder`).

    batch_size : int, default=32
        Minibatch size.

    max_iter : int, default=100
        Maximum number of epochs of each fit.

    shuffle : bool, default=True
        Whether to shuffle the rows before each epoch.

    contraction : float, default=0.0
        Weight of the contractive penalty.

    alpha : float, default=0.0
        L2 penalty on the weights.

    momentum : float, default=0.0
        SGD momentum.

    beta_1 : float, default=0.9
        Adam's first-moment decay.

    beta_2 : float, default=0.999
        Adam's second-moment decay.

    epsilon : float, default=1e-8
        Adam's numerical stability term.

    tol : float, default=1e-4
        Improvement below which an epoch counts as one without improvement.

    n_iter_no_change : int, default=10
        Epochs without improvement before training stops.

    early_stopping : bool, default=True
        Whether each autoencoder holds out ``validation_fraction`` of its
        training rows and stops when their reconstruction stops improving
        (restoring the best epoch). It is skipped when the data is too small
        to split (fewer than two rows), and never used by
        :meth:`partial_fit`.

    validation_fraction : float, default=0.1
        Fraction of the training rows held out for early stopping.

    verbose : int, default=0
        Print each autoencoder's epochs.

    random_state : int, RandomState instance or None, default=None
        Seeds the autoencoders (each member draws its own seed from it).
        Pass an int for reproducible scores: with a fixed thread count, two
        fits give the same scores bit for bit.

    Attributes
    ----------
    estimators_ : list of DenoisingAutoencoder
        The fitted autoencoders.

    scaler_ : StandardScaler or None
        The standardisation fitted on the training data; None when
        ``standardize=False``.

    error_scale_ : ndarray of shape (n_estimators, n_features)
        Each member's median squared error per column on the training rows
        (ones when ``normalize_errors=False``).

    offset_ : float
        The threshold: ``decision_function = score_samples - offset_``.

    n_iter_ : int
        The most epochs a member ran in its last fit (with
        :meth:`partial_fit`: the passes over the blocks so far).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.ensemble.IsolationForest : Isolation-based outlier detection,
        the same outlier API.
    sklearn.neighbors.LocalOutlierFactor : Density-based outlier detection.
    DenoisingAutoencoder : The autoencoder each member is.

    Notes
    -----
    The score is a reconstruction error, so it grows with the number of
    features: compare scores of one fitted detector, not across detectors.

    :meth:`partial_fit` trains every member one pass over the block (without
    its worst-reconstructed ``trim_fraction`` once the model exists),
    updates the scaler's running statistics, and sets ``error_scale_`` and
    ``offset_`` from the errors of that block.

    References
    ----------
    .. [1] S. Hawkins, H. He, G. Williams and R. Baxter, "Outlier Detection
       Using Replicator Neural Networks", DaWaK 2002.
    .. [2] S. Han, X. Hu, H. Huang, M. Jiang and Y. Zhao, "ADBench: Anomaly
       Detection Benchmark", NeurIPS 2022.
    .. [3] E. B. Wilson and M. M. Hilferty, "The distribution of chi-square",
       PNAS 17(12), 1931.
    .. [4] C. Leys, C. Ley, O. Klein, P. Bernard and L. Licata, "Detecting
       outliers: Do not use standard deviation around the mean, use absolute
       deviation around the median", J. Exp. Soc. Psychol. 49, 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from skdae import DAEOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> t = rng.normal(size=(500, 2))
    >>> X = t @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(500, 6))
    >>> X[:5] = 4 * rng.normal(size=(5, 6))  # five rows off the plane
    >>> det = DAEOutlierDetector(random_state=0).fit(X)
    >>> det.predict(X[:8])
    array([-1, -1, -1, -1, -1,  1,  1,  1])
    >>> det.reconstruction_error(X[:2], per_feature=True).shape
    (2, 6)
    """

    # the fitted state's layout in pickles (see _base._VersionedStateMixin)
    _skdae_state_layout = 1

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"),
                         StrOptions({"auto"})],
        "contamination": [StrOptions({"auto"}),
                          Interval(Real, 0, 0.5, closed="right")],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "trim_fraction": [Interval(Real, 0, 0.5, closed="left")],
        "standardize": ["boolean"],
        "normalize_errors": ["boolean"],
        **_autoencoder_constraints(),
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        contamination="auto",
        n_estimators=5,
        trim_fraction=0.2,
        standardize=True,
        normalize_errors=True,
        activation="sigmoid",
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
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=True,
        validation_fraction=0.1,
        verbose=0,
        random_state=None,
    ):
        self.n_components = n_components
        self.contamination = contamination
        self.n_estimators = n_estimators
        self.trim_fraction = trim_fraction
        self.standardize = standardize
        self.normalize_errors = normalize_errors
        self.activation = activation
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
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ #
    # Fitting
    # ------------------------------------------------------------------ #
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the autoencoders to ``X`` and set the threshold ``offset_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Unlabelled training data, possibly holding outliers. Numeric and
            finite (categorical columns and missing values are not supported
            yet).

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        with interruptible_fit(self, fresh=True):
            X = validate_data(self, X, dtype=(np.float64, np.float32), order="C")
            self.scaler_ = StandardScaler().fit(X) if self.standardize else None
            Xs = self._scale(X)
            seeds = self._seeds()
            self.estimators_ = self._fit_members(Xs, seeds, incremental=False)
            if self.trim_fraction > 0:
                self.error_scale_ = self._error_scale(Xs)
                kept = self._untrimmed(self._sample_error(Xs))
                self.estimators_ = self._fit_members(Xs[kept], seeds, incremental=False)
            self._set_threshold(Xs)
            self._record_structure()
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train every autoencoder one pass over the block ``X``.

        The first call initialises the detector. Later calls update the
        scaler's running mean and variance, leave out the block's
        ``trim_fraction`` of worst-reconstructed rows, train each member one
        epoch on the rest (without early stopping) and set ``error_scale_``
        and ``offset_`` from the errors of this block.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A block of training data.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The updated estimator.
        """
        first = not hasattr(self, "estimators_")
        if not first:
            self._check_structure(training=True)
        X = validate_data(self, X, dtype=(np.float64, np.float32), order="C",
                          reset=first)
        if first:
            self.scaler_ = StandardScaler() if self.standardize else None
        if self.scaler_ is not None:
            self.scaler_.partial_fit(X)
        Xs = self._scale(X)
        if first:
            self.estimators_ = self._fit_members(Xs, self._seeds(), incremental=True)
            self._record_structure()
        else:
            X_dtype = self.estimators_[0].components_.dtype
            Xs = Xs.astype(X_dtype, copy=False)
            if self.trim_fraction > 0:
                Xs_kept = Xs[self._untrimmed(self._sample_error(Xs))]
            else:
                Xs_kept = Xs
            for member in self.estimators_:
                member.set_params(**{**self._member_params(), "early_stopping": False})
                member.partial_fit(Xs_kept)
        self._set_threshold(Xs)
        return self

    def _structure(self):
        """The parameters the fitted members are built by (see
        _base._FittedStructureMixin)."""
        return {"n_components": self.n_components, "n_estimators": self.n_estimators,
                "standardize": self.standardize}

    def _member_params(self):
        return _forwarded_params(self, DenoisingAutoencoder, exclude=_NOT_FORWARDED)

    def _seeds(self):
        rng = check_random_state(self.random_state)
        return rng.randint(np.iinfo(np.int32).max, size=self.n_estimators)

    def _scale(self, X):
        return X if self.scaler_ is None else self.scaler_.transform(X)

    def _fit_members(self, Xs, seeds, incremental):
        """Fresh autoencoders, one per seed, fitted to ``Xs`` (one pass with
        ``incremental``)."""
        n_samples, n_features = Xs.shape
        n_components = (-(-n_features // 2) if self.n_components == "auto"
                        else self.n_components)
        params = self._member_params()
        # early stopping needs a training and a validation row
        n_val = int(np.ceil(self.validation_fraction * n_samples))
        params["early_stopping"] = (self.early_stopping and not incremental
                                    and 1 <= n_val < n_samples)
        members = []
        for seed in seeds:
            member = DenoisingAutoencoder(
                n_components=n_components, loss="squared_error",
                random_state=int(seed), **params)
            if incremental:
                member.partial_fit(Xs)
            else:
                with warnings.catch_warnings():
                    # max_iter is a budget here, not a convergence target
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    member.fit(Xs)
            members.append(member)
        return members

    def _untrimmed(self, errors):
        """Indices of the rows kept by the trimming: all but the
        ``trim_fraction`` with the largest errors, in their original order."""
        n_drop = int(self.trim_fraction * len(errors))
        if n_drop == 0:
            return np.arange(len(errors))
        return np.sort(np.argsort(errors, kind="stable")[:len(errors) - n_drop])

    def _set_threshold(self, Xs):
        """``error_scale_``, ``offset_`` (and ``n_iter_``) from the training
        rows ``Xs``."""
        self.n_iter_ = max(member.n_iter_ for member in self.estimators_)
        self.error_scale_ = self._error_scale(Xs)
        errors = self._sample_error(Xs)
        if self.contamination == "auto":
            # Wilson-Hilferty: the cube root of a sum of squares is close to
            # normal, where median + k * scaled MAD is the robust k-sigma rule
            root = np.cbrt(errors)
            median = np.median(root)
            mad = _MAD_TO_STD * np.median(np.abs(root - median))
            self.offset_ = -float((median + _AUTO_MADS * mad) ** 3)
        else:
            self.offset_ = float(np.percentile(-errors, 100.0 * self.contamination))

    def _error_scale(self, Xs):
        """Each member's median squared error per column on ``Xs`` (ones
        without ``normalize_errors``); a column reconstructed exactly on most
        rows gets a floor of 1e-6 of the mean column scale."""
        scale = np.ones((len(self.estimators_), Xs.shape[1]))
        if not self.normalize_errors:
            return scale
        for i, member in enumerate(self.estimators_):
            median = np.median(self._member_errors(member, Xs), axis=0)
            floor = 1e-6 * median.mean() if median.mean() > 0 else 1.0
            scale[i] = np.maximum(median, floor)
        return scale

    # ------------------------------------------------------------------ #
    # Inference
    # ------------------------------------------------------------------ #
    @staticmethod
    def _member_errors(member, Xs):
        """Squared error of each value of ``Xs`` reconstructed by ``member``
        (float64, by chunks of rows)."""
        out = np.empty(Xs.shape, dtype=np.float64)
        chunk = max(1, _CHUNK_VALUES // max(Xs.shape[1], 1))
        for rows in gen_batches(Xs.shape[0], chunk):
            Xb = Xs[rows]
            Z = member.inverse_transform(member.transform(Xb))
            out[rows] = np.square(Xb.astype(np.float64) - Z)
        return out

    def _feature_error(self, Xs):
        """The normalised squared error of each value, averaged over the
        members: shape (n_samples, n_features)."""
        total = np.zeros(Xs.shape, dtype=np.float64)
        for member, scale in zip(self.estimators_, self.error_scale_):
            total += self._member_errors(member, Xs) / scale
        return total / len(self.estimators_)

    def _sample_error(self, Xs):
        return self._feature_error(Xs).sum(axis=1)

    def _validate(self, X):
        check_is_fitted(self)
        self._check_structure(training=False)
        X = validate_data(self, X, dtype=(np.float64, np.float32), order="C",
                          reset=False)
        return self._scale(X).astype(self.estimators_[0].components_.dtype, copy=False)

    def reconstruction_error(self, X, per_feature=False):
        """Reconstruction error of each sample, or its share per feature.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to reconstruct (nothing is corrupted).

        per_feature : bool, default=False
            Whether to return each feature's share of the error, to see why
            a row is flagged.

        Returns
        -------
        error : ndarray of shape (n_samples,) or (n_samples, n_features)
            The error of each sample: the squared error of each standardised
            value, divided by its column's ``error_scale_``, averaged over
            the members and summed over the features. With ``per_feature``,
            the per-feature terms, whose row sums are the sample errors.
        """
        errors = self._feature_error(self._validate(X))
        return errors if per_feature else errors.sum(axis=1)

    def score_samples(self, X):
        """Opposite of the reconstruction error: higher is more normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-reconstruction_error(X)``.
        """
        return -self.reconstruction_error(X)

    def decision_function(self, X):
        """Shifted score: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Whether each sample is an inlier (+1) or an outlier (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        is_inlier : ndarray of shape (n_samples,)
            -1 where ``decision_function(X) < 0``, +1 elsewhere.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
