"""The estimators' options, each declared once.

One registry per kind of option -- corruption processes, hidden activations,
reconstruction losses, solvers -- maps a parameter value to its engine code
(the enums of ``_engine.pxd``, read here, never copied) and to the properties
the estimators check it by. The parameter constraints, the validation rules
and the tags are derived from these tables, so adding an option is one entry
here (and its kernel in the engine).
"""

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._engine import Activation, Loss, Noise, Solver


@dataclass(frozen=True)
class _CorruptionOption:
    """A corruption process.

    code : the engine's ``Noise`` code.
    level_is_fraction : ``corruption_level`` is the fraction of components
        corrupted (in [0, 1]); else a standard deviation.
    keeps_sparse : applies to CSR input without giving the implicit zeros a value
        (the engine drops stored entries).
    partial : corrupts some components and leaves the others as they are, so
        emphasized denoising (weighting the two sets) is defined.
    """

    code: int
    level_is_fraction: bool
    keeps_sparse: bool
    partial: bool


CORRUPTIONS = {
    None: _CorruptionOption(Noise.NOISE_NONE, False, True, False),
    "masking": _CorruptionOption(Noise.NOISE_MASKING, True, True, True),
    "gaussian": _CorruptionOption(Noise.NOISE_GAUSSIAN, False, False, False),
    "salt_and_pepper": _CorruptionOption(Noise.NOISE_SALT_AND_PEPPER, True, False, True),
    "swap": _CorruptionOption(Noise.NOISE_SWAP, True, False, True),
}


@dataclass(frozen=True)
class _ActivationOption:
    """A hidden activation ``s``.

    code : the engine's ``Activation`` code.
    values : the interval its values lie in, as a string for messages.
    unit_interval : its values lie in [0, 1] (what a cross-entropy layer above
        needs as targets).
    """

    code: int
    values: str

    @property
    def unit_interval(self):
        return self.values == "[0, 1]"

    def derivative(self, H):
        """``s'(a)`` through ``H = s(a)`` (NumPy, float64)."""
        if self.code == Activation.ACT_SIGMOID:
            return H * (1.0 - H)
        if self.code == Activation.ACT_TANH:
            return 1.0 - H * H
        if self.code == Activation.ACT_RELU:
            return (H > 0).astype(np.float64)
        return np.ones_like(H)

    def init_bound(self, fan_in, fan_out):
        """Half-width of the uniform weight initialisation: sigmoid the
        authors' ``4 sqrt(6 / (fan_in + fan_out))``, tanh Glorot's
        ``sqrt(6 / (fan_in + fan_out))``, relu He's ``sqrt(6 / fan_in)``."""
        if self.code == Activation.ACT_RELU:
            return np.sqrt(6.0 / fan_in)
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        return 4.0 * bound if self.code == Activation.ACT_SIGMOID else bound


ACTIVATIONS = {
    "sigmoid": _ActivationOption(Activation.ACT_SIGMOID, "[0, 1]"),
    "tanh": _ActivationOption(Activation.ACT_TANH, "[-1, 1]"),
    "relu": _ActivationOption(Activation.ACT_RELU, "[0, inf)"),
}

# decoder outputs (``output_activation``)
OUTPUT_ACTIVATIONS = {
    "identity": Activation.ACT_IDENTITY,
    "sigmoid": Activation.ACT_SIGMOID,
}


@dataclass(frozen=True)
class _LossOption:
    """A reconstruction loss.

    code : the engine's ``Loss`` code.
    output : the decoder output it pairs with by default.
    needs_unit_interval : defined only for targets in [0, 1].
    """

    code: int
    output: str
    needs_unit_interval: bool


LOSSES = {
    "squared_error": _LossOption(Loss.LOSS_SQUARED_ERROR, "identity", False),
    "cross_entropy": _LossOption(Loss.LOSS_CROSS_ENTROPY, "sigmoid", True),
}

SOLVERS = {"sgd": Solver.SOLVER_SGD, "adam": Solver.SOLVER_ADAM}


def _names(registry):
    return StrOptions({name for name in registry if name is not None})


# What ``learning_rate="auto"`` stands for, by solver and loss. Adam moves each
# weight by about ``learning_rate`` per update whatever the gradient's scale;
# SGD moves it by ``learning_rate`` times the gradient, whose scale depends on
# the loss (0.1 is the authors' step for the cross-entropy and diverges with
# the squared error on standardized MNIST). "log_loss" is SdAClassifier's
# fine-tuning of the whole stack, where Adam needs a tenth of an autoencoder's
# step (0.01 leaves wide stacks at chance); "regression" is SdARegressor's,
# whose squared-error gradient is not bounded as the softmax's is, so SGD
# takes a tenth of the classifier's step. Measurements: the learning_rate
# docstrings and the user guide.
AUTO_LEARNING_RATES = {
    ("adam", "cross_entropy"): 0.01,
    ("adam", "squared_error"): 0.01,
    ("adam", "log_loss"): 0.001,
    ("sgd", "cross_entropy"): 0.1,
    ("sgd", "squared_error"): 0.01,
    ("sgd", "log_loss"): 0.1,
    ("adam", "regression"): 0.001,
    ("sgd", "regression"): 0.01,
}


def step_size(learning_rate, solver, loss):
    """The step: ``learning_rate``, or what "auto" stands for with this
    solver and loss."""
    if isinstance(learning_rate, str):  # "auto"
        return AUTO_LEARNING_RATES[solver, loss]
    return float(learning_rate)


# Constraints shared by the estimators, declared once.
OPTIMIZER_CONSTRAINTS = {
    "solver": [_names(SOLVERS)],
    "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "epsilon": [Interval(Real, 0, None, closed="neither")],
}
STOPPING_CONSTRAINTS = {
    "tol": [Interval(Real, 0, None, closed="left")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
}
LAYER_CONSTRAINTS = {
    "activation": [_names(ACTIVATIONS)],
    "corruption": [_names(CORRUPTIONS), None],
    "contraction": [Interval(Real, 0, None, closed="left")],
    "alpha": [Interval(Real, 0, None, closed="left")],
}
LOSS_CONSTRAINT = [_names(LOSSES)]
# a stack's per-layer losses and corruption levels: one for all layers, one
# per layer, or "auto" (resolved per layer in fit)
STACK_LOSS_CONSTRAINT = [StrOptions(set(LOSSES) | {"auto"}), "array-like"]
LEVELS_CONSTRAINT = [Interval(Real, 0, None, closed="left"), StrOptions({"auto"}),
                     "array-like"]
OUTPUT_CONSTRAINT = [StrOptions(set(OUTPUT_ACTIVATIONS)), None]
# emphasis: None, or (weight of the corrupted components, of the others)
EMPHASIS_CONSTRAINT = [tuple, list, None]


def check_corruption(corruption, level, *, emphasis=None, where=""):
    """The rules every corruption setting obeys, with errors that say how to
    fix it; ``where`` names the layer for a stack ("" for one autoencoder)."""
    option = CORRUPTIONS[corruption]
    name = "corruption_levels" if where else "corruption_level"
    if option.level_is_fraction and not 0 <= level <= 1:
        raise ValueError(
            f"{name}{where} is the fraction of inputs corrupted by "
            f"corruption={corruption!r} and must lie in [0, 1]; got {level!r}."
        )
    if emphasis is not None:
        emphasis = check_emphasis(emphasis, where)
        if not option.partial:
            raise ValueError(
                f"emphasis{where} weights the corrupted components of the loss "
                f"apart from the others, but corruption={corruption!r} "
                + ("corrupts none" if corruption is None else "corrupts every one")
                + ". Use corruption='masking', 'salt_and_pepper' or 'swap', or "
                "emphasis=None."
            )
    return emphasis


def check_emphasis(emphasis, where=""):
    """``emphasis`` as a pair of floats ``(alpha, beta)``: both finite and
    non-negative, not both zero."""
    try:
        alpha, beta = (float(v) for v in emphasis)
    except (TypeError, ValueError):
        raise ValueError(
            f"emphasis{where} must be None or a pair (alpha, beta) of non-negative "
            f"floats, the loss weights of corrupted and untouched components; got "
            f"{emphasis!r}."
        ) from None
    if not (np.isfinite(alpha) and np.isfinite(beta) and alpha >= 0 and beta >= 0
            and alpha + beta > 0):
        raise ValueError(
            f"emphasis{where} weights must be finite, non-negative and not both "
            f"zero; got {emphasis!r} (the paper's full emphasis is (1, 0))."
        )
    return alpha, beta


def check_sparse_corruption(corruption, where=""):
    """Refuse a noise that would densify CSR input."""
    if not CORRUPTIONS[corruption].keeps_sparse:
        raise ValueError(
            f"corruption={corruption!r}{where} is not supported on sparse input: it "
            "would give values to the implicit zeros (densifying the data)"
            + (" and read every corrupted value from another row"
               if corruption == "swap" else "")
            + ". Use corruption='masking' (drops stored entries) or None, or pass "
            "dense data if it fits in memory: X.toarray(), or in a Pipeline an "
            "encoder that outputs dense arrays (e.g. OneHotEncoder(sparse_output="
            "False), or sparse_threshold=0 on a ColumnTransformer)."
        )


def keeps_sparse(corruption):
    """Whether ``corruption`` can train on sparse input (the estimators' tag)."""
    return CORRUPTIONS[corruption].keeps_sparse
