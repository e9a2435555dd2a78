"""Fitted-state safeguards shared by the skdae estimators.

Two mixins, both inherited by :class:`~skdae.DenoisingAutoencoder`,
:class:`~skdae.StackedDenoisingAutoencoder` and :class:`~skdae.SdAClassifier`:

- ``_VersionedStateMixin``: a pickle records the skdae version and the
  estimator's state layout; loading one made by another version warns, and
  loading a layout this version cannot read raises at load time (never a crash
  or silent garbage later). It also gives training a writeable copy of state
  loaded read-only (``joblib.load(..., mmap_mode="r")``).
- ``_FittedStructureMixin``: the structural parameters (those that shape the
  fitted arrays or give them their meaning) are recorded when the model is
  initialised; training further or predicting after ``set_params`` changed one
  raises a ``ValueError`` that names the parameter, instead of handing the
  engine buffers that do not match its parameters.
"""

import warnings

import numpy as np
from sklearn.exceptions import InconsistentVersionWarning

from ._version import __version__


class InconsistentSkdaeVersionWarning(InconsistentVersionWarning):
    """Warning raised when a skdae estimator is unpickled with another skdae version.

    A subclass of scikit-learn's
    :class:`~sklearn.exceptions.InconsistentVersionWarning`, so one filter
    covers both libraries' estimators.

    Parameters
    ----------
    estimator_name : str
        Name of the estimator's class.

    current_skdae_version : str
        The skdae version loading the pickle.

    original_skdae_version : str
        The skdae version that made the pickle.

    See Also
    --------
    sklearn.exceptions.InconsistentVersionWarning : The scikit-learn warning
        for scikit-learn's own estimators.

    Examples
    --------
    >>> from skdae._base import InconsistentSkdaeVersionWarning
    >>> w = InconsistentSkdaeVersionWarning(
    ...     estimator_name="DenoisingAutoencoder", current_skdae_version="0.2.0",
    ...     original_skdae_version="0.1.0")
    >>> print(str(w).split(". ")[0])
    Unpickling DenoisingAutoencoder made by skdae 0.1.0 with skdae 0.2.0
    """

    def __init__(self, *, estimator_name, current_skdae_version, original_skdae_version):
        self.estimator_name = estimator_name
        self.current_skdae_version = current_skdae_version
        self.original_skdae_version = original_skdae_version

    def __str__(self):
        return (
            f"Unpickling {self.estimator_name} made by skdae "
            f"{self.original_skdae_version} with skdae {self.current_skdae_version}. "
            "Its state layout is one this version reads, but the results may "
            "differ; refit the estimator, or load it with skdae "
            f"{self.original_skdae_version}, to be sure."
        )


def _recorded(version):
    return "a skdae version that records none" if version is None else f"skdae {version}"


class _VersionedStateMixin:
    """Pickles that record the skdae version and the state layout.

    Each estimator sets ``_skdae_state_layout``, an integer to bump whenever
    its fitted state changes meaning (new or renamed attributes, optimizer
    buffers laid out differently, another random number generator). Loading
    a pickle warns with :class:`InconsistentSkdaeVersionWarning` when another
    skdae version made it, and raises a ``ValueError`` when its layout is not
    the one this version reads.
    """

    _skdae_state_layout = None

    def __getstate__(self):
        state = super().__getstate__()
        return dict(
            state, _skdae_version=__version__, _skdae_state_layout=self._skdae_state_layout
        )

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop("_skdae_version", None)
        layout = state.pop("_skdae_state_layout", None)
        name = type(self).__name__
        if layout != self._skdae_state_layout:
            raise ValueError(
                f"This {name} pickle was made by {_recorded(version)} with state "
                f"layout {layout}; this is skdae {__version__}, which reads {name} "
                f"state layout {self._skdae_state_layout}. Refit the estimator with "
                f"this version, or load the pickle with {_recorded(version)}."
            )
        if version != __version__:
            warnings.warn(
                InconsistentSkdaeVersionWarning(
                    estimator_name=name,
                    current_skdae_version=__version__,
                    original_skdae_version=version,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)

    def _own_arrays(self):
        """Replace read-only arrays of the fitted state by writeable copies.

        Training updates its state in place; state loaded with
        ``joblib.load(..., mmap_mode="r")`` (or any read-only array) is copied
        once, on the first update. Writeable memory maps (``mmap_mode="r+"``)
        are left as they are: updating the file is what they were opened for.
        """
        for name, value in list(vars(self).items()):
            if isinstance(value, np.ndarray) and not value.flags.writeable:
                setattr(self, name, np.array(value))
            elif isinstance(value, list):
                value[:] = [
                    np.array(a) if isinstance(a, np.ndarray) and not a.flags.writeable else a
                    for a in value
                ]


def _forwarded_params(source, target_class, exclude=()):
    """The parameters of ``source`` that ``target_class`` also takes, by name.

    Forwarding by name (as scikit-learn's ``BaseEnsemble.estimator_params``)
    keeps the list of shared parameters in one place: the signatures of the
    two classes. ``exclude``: names the caller sets itself."""
    names = set(target_class._get_param_names()) - set(exclude)
    return {k: v for k, v in source.get_params(deep=False).items() if k in names}


def _same(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. an array compared with a tuple
        return False


class _FittedStructureMixin:
    """Refuse to train further or predict once the model's structure changed.

    Each estimator defines ``_structure()``, the structural parameters as a
    dict of comparable values in the order they are reported;
    ``_record_structure()`` stores it when the model is initialised and
    ``_check_structure`` compares it with the current parameters.
    """

    def _record_structure(self):
        self._fitted_structure = self._structure()

    def _check_structure(self, *, training):
        """Raise a ValueError naming the first structural parameter that changed.

        ``training``: whether the caller continues training the fitted model
        (``partial_fit``, ``fit`` with ``warm_start=True``) rather than using
        it (``transform``, ``score``, ``predict``...).
        """
        for name, new in self._structure().items():
            old = self._fitted_structure[name]
            if _same(old, new):
                continue
            changed = f"{name} changed from {old!r} to {new!r} since the model was"
            if training:
                raise ValueError(
                    f"{changed} initialised, so it cannot be trained further "
                    "(partial_fit, or fit with warm_start=True). Call fit with "
                    "warm_start=False, or clone the estimator (sklearn.base.clone), "
                    f"to start over with {name}={new!r}; or set_params({name}={old!r}) "
                    "to continue."
                )
            raise ValueError(
                f"{changed} fitted, and the fitted model has {name}={old!r}. Call fit "
                f"to refit with {name}={new!r}, or set_params({name}={old!r}) to use "
                "the fitted model."
            )
