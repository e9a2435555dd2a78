"""Tests of the fitted-state safeguards every estimator inherits: versioned
pickles, writeable copies of read-only state, structural-parameter checks."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator
from sklearn.datasets import load_digits
from sklearn.exceptions import InconsistentVersionWarning

import skdae._base
from skdae import DenoisingAutoencoder, SdAClassifier, StackedDenoisingAutoencoder
from skdae._base import (
    InconsistentSkdaeVersionWarning,
    _FittedStructureMixin,
    _VersionedStateMixin,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _fitted(name, digits):
    X, y = digits
    if name == "DenoisingAutoencoder":
        return DenoisingAutoencoder(n_components=4, max_iter=1, random_state=0).fit(X)
    if name == "StackedDenoisingAutoencoder":
        return StackedDenoisingAutoencoder(hidden_layer_sizes=(4, 3), corruption_levels=0.1,
                                           max_iter=1, random_state=0).fit(X)
    return SdAClassifier(hidden_layer_sizes=(4,), corruption_levels=0.1, pretrain_max_iter=1,
                         max_iter=1, random_state=0).fit(X, y)


def _output(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.transform(X)


ESTIMATORS = ["DenoisingAutoencoder", "StackedDenoisingAutoencoder", "SdAClassifier"]


@pytest.mark.parametrize("name", ESTIMATORS)
def test_pickle_records_version_and_layout_and_loads_silently(name, digits):
    est = _fitted(name, digits)
    data = pickle.dumps(est)
    state = est.__getstate__()
    assert state["_skdae_version"] == skdae.__version__
    assert state["_skdae_state_layout"] == type(est)._skdae_state_layout
    assert "_skdae_version" not in vars(est)  # stamped on the pickle, not the estimator
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        restored = pickle.loads(data)
    assert "_skdae_version" not in vars(restored)
    assert_array_equal(_output(restored, digits[0]), _output(est, digits[0]))


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("other_version", ["0.0.1", "99.0"])
def test_pickle_from_another_version_warns_naming_both(name, other_version, digits,
                                                      monkeypatch):
    est = _fitted(name, digits)
    monkeypatch.setattr(skdae._base, "__version__", other_version)
    data = pickle.dumps(est)
    monkeypatch.undo()
    with pytest.warns(InconsistentSkdaeVersionWarning) as record:
        restored = pickle.loads(data)
    # (a stack's layers warn too: each is a pickled DenoisingAutoencoder)
    warning = next(w.message for w in record if w.message.estimator_name == name)
    assert str(warning).startswith(
        f"Unpickling {name} made by skdae {other_version} with skdae {skdae.__version__}")
    assert isinstance(warning, InconsistentVersionWarning)
    assert warning.original_skdae_version == other_version
    assert warning.current_skdae_version == skdae.__version__
    assert_array_equal(_output(restored, digits[0]), _output(est, digits[0]))


@pytest.mark.filterwarnings("ignore::skdae._base.InconsistentSkdaeVersionWarning")
@pytest.mark.parametrize("name", ESTIMATORS)
def test_pickle_with_an_unknown_state_layout_is_refused_at_load(name, digits, monkeypatch):
    est = _fitted(name, digits)
    cls = type(est)
    monkeypatch.setattr(skdae._base, "__version__", "9.9")
    monkeypatch.setattr(cls, "_skdae_state_layout", cls._skdae_state_layout + 1)
    data = pickle.dumps(est)
    monkeypatch.undo()
    with pytest.raises(ValueError, match=(
            f"This {name} pickle was made by skdae 9.9 with state layout "
            f"{cls._skdae_state_layout + 1}; this is skdae {skdae.__version__}, which "
            f"reads {name} state layout {cls._skdae_state_layout}. Refit the estimator "
            "with this version, or load the pickle with skdae 9.9.")):
        pickle.loads(data)


def test_pickle_that_records_no_layout_is_refused_at_load(digits, monkeypatch):
    # a pickle made before versioned state: plain BaseEstimator state
    est = _fitted("DenoisingAutoencoder", digits)
    monkeypatch.setattr(_VersionedStateMixin, "__getstate__", BaseEstimator.__getstate__)
    data = pickle.dumps(est)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="made by a skdae version that records none with "
                                         "state layout None"):
        pickle.loads(data)


def test_nested_layers_of_a_stack_are_checked_too(digits, monkeypatch):
    sda = _fitted("StackedDenoisingAutoencoder", digits)
    monkeypatch.setattr(DenoisingAutoencoder, "_skdae_state_layout", 0)
    data = pickle.dumps(sda)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="DenoisingAutoencoder pickle .* state layout 0"):
        pickle.loads(data)


class _Toy(_VersionedStateMixin, _FittedStructureMixin, BaseEstimator):
    _skdae_state_layout = 7

    def __init__(self, size=3, name="a"):
        self.size = size
        self.name = name

    def _structure(self):
        return {"size": self.size, "name": self.name}


def test_own_arrays_copies_only_read_only_arrays():
    toy = _Toy()
    toy.read_only_ = np.arange(3.0)
    toy.read_only_.setflags(write=False)
    toy.writeable_ = np.arange(3.0)
    toy.listed_ = [np.zeros(2), np.ones(2)]
    toy.listed_[1].setflags(write=False)
    toy.other_ = [1.0, 2.0]
    writeable, first = toy.writeable_, toy.listed_[0]
    toy._own_arrays()
    assert toy.read_only_.flags.writeable
    assert_array_equal(toy.read_only_, np.arange(3.0))
    assert toy.writeable_ is writeable and toy.listed_[0] is first
    assert toy.listed_[1].flags.writeable
    assert toy.other_ == [1.0, 2.0]


def test_structure_check_names_the_first_changed_parameter():
    toy = _Toy()
    toy._record_structure()
    toy._check_structure(training=True)
    toy.set_params(size=np.int64(3))  # the same value, spelled otherwise
    toy._check_structure(training=False)
    toy.set_params(size=4, name="b")
    with pytest.raises(ValueError, match=r"^size changed from 3 to 4 since the model was "
                                         r"initialised.*set_params\(size=3\) to continue"):
        toy._check_structure(training=True)
    with pytest.raises(ValueError, match=r"^size changed from 3 to 4 since the model was "
                                         r"fitted, and the fitted model has size=3"):
        toy._check_structure(training=False)
    toy.set_params(size=np.array([3, 3]))  # not comparable: a change
    with pytest.raises(ValueError, match="^size changed"):
        toy._check_structure(training=False)
