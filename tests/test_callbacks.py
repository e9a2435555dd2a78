"""scikit-learn's experimental callback API (sklearn.callback, scikit-learn >= 1.9)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

callback = pytest.importorskip(
    "sklearn.callback", reason="scikit-learn < 1.9 has no callback API"
)

from skdae import DenoisingAutoencoder  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class Recorder:
    """A FitCallback that records every hook call."""

    def __init__(self, stop_after_epoch=None):
        self.stop_after_epoch = stop_after_epoch
        self.calls = []
        self.snapshots = []

    def setup(self, estimator, context):
        self.calls.append(("setup", context.task_name))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", context.task_name))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None):
        self.calls.append(("begin", context.estimator_name, context.task_name,
                           context.task_id))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None,
                        fitted_estimator=None):
        self.calls.append(("end", context.estimator_name, context.task_name,
                           context.task_id))
        if context.task_name == "epoch":
            self.snapshots.append(fitted_estimator)
            return context.task_id + 1 == self.stop_after_epoch
        return False


class PropagatedRecorder(Recorder):
    """The same, set on a meta-estimator and handed down to its steps."""

    max_propagation_depth = None


def _data():
    return np.random.RandomState(0).rand(200, 10).astype(np.float32)


def _dae(**params):
    return DenoisingAutoencoder(n_components=4, batch_size=20, n_iter_no_change=100,
                                random_state=0, **params)


def test_hooks_run_once_per_epoch():
    rec = Recorder()
    dae = _dae(max_iter=3).set_callbacks(rec)
    dae.fit(_data())
    name = "DenoisingAutoencoder"
    assert rec.calls == [
        ("setup", "fit"),
        ("begin", name, "fit", 0),
        ("begin", name, "epoch", 0), ("end", name, "epoch", 0),
        ("begin", name, "epoch", 1), ("end", name, "epoch", 1),
        ("begin", name, "epoch", 2), ("end", name, "epoch", 2),
        ("end", name, "fit", 0),
        ("teardown", "fit"),
    ]
    # The fit leaves no callback state behind.
    assert not hasattr(dae, "_callback_fit_ctx")


@pytest.mark.parametrize("tied_weights", [True, False])
def test_fitted_estimator_is_a_snapshot_of_each_epoch(tied_weights):
    X = _data()
    rec = Recorder()
    _dae(max_iter=3, tied_weights=tied_weights).set_callbacks(rec).fit(X)
    assert [s.n_iter_ for s in rec.snapshots] == [1, 2, 3]
    for k, snapshot in enumerate(rec.snapshots, start=1):
        # The model after k epochs, as a fit with max_iter=k gives it.
        ref = _dae(max_iter=k, tied_weights=tied_weights).fit(X)
        assert_array_equal(snapshot.transform(X), ref.transform(X))
        assert snapshot.score(X) == ref.score(X)


def test_callback_stops_training():
    rec = Recorder(stop_after_epoch=2)
    dae = _dae(max_iter=10).set_callbacks(rec)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        dae.fit(_data())
    assert dae.n_iter_ == 2
    assert len(dae.loss_curve_) == 2


def test_partial_fit_is_one_epoch_task():
    rec = Recorder()
    dae = _dae().set_callbacks(rec)
    dae.partial_fit(_data())
    dae.partial_fit(_data())
    tasks = [c[2:] for c in rec.calls if c[0] == "begin"]
    assert tasks == [("partial_fit", 0), ("epoch", 0)] * 2
    assert dae.n_iter_ == 2


def test_callbacks_do_not_change_the_fit():
    X = _data()
    with_cb = _dae(max_iter=4).set_callbacks(Recorder()).fit(X)
    without = _dae(max_iter=4).fit(X)
    assert_array_equal(with_cb.components_, without.components_)
    assert with_cb.loss_curve_ == without.loss_curve_


def _reconstruction_score(estimator, X, y=None):
    return estimator.score(X)


def test_scoring_monitor_logs_each_epoch():
    X = _data()
    # ScoringMonitor scores only when fit is given a y (ignored by the
    # autoencoder). scoring=None is broken in scikit-learn 1.9.1 and removed
    # afterwards (scikit-learn PR 34590): pass the estimator's score explicitly.
    y = np.zeros(X.shape[0])
    monitor = callback.ScoringMonitor(scoring={"reconstruction": _reconstruction_score})
    dae = _dae(max_iter=3).set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    epochs = [row for row in rows if row["task_name"] == "epoch"]
    assert len(epochs) == 3
    scores = [row["reconstruction"] for row in epochs]
    assert scores[-1] == pytest.approx(dae.score(X))
    assert scores[-1] > scores[0]


def test_callbacks_propagate_from_a_pipeline():
    X = _data()
    y = (X[:, 0] > 0.5).astype(int)
    rec = PropagatedRecorder()
    pipe = make_pipeline(_dae(max_iter=2), LogisticRegression())
    pipe.set_callbacks(rec)
    pipe.fit(X, y)
    epochs = [c for c in rec.calls
              if c[0] == "end" and c[1] == "DenoisingAutoencoder" and c[2] == "epoch"]
    assert len(epochs) == 2


def test_progress_bar():
    pytest.importorskip("rich")
    _dae(max_iter=2).set_callbacks(callback.ProgressBar()).fit(_data())


def test_classifier_runs_callbacks_once_per_fine_tuning_epoch():
    from skdae import SdAClassifier

    X = _data()
    y = (X[:, 0] > 0.5).astype(int)

    def classifier(**params):
        return SdAClassifier(hidden_layer_sizes=(8,), corruption_levels=0.2,
                             pretrain_max_iter=2, early_stopping=False, batch_size=20,
                             n_iter_no_change=100, random_state=0, **params)

    rec = Recorder()
    classifier(max_iter=3).set_callbacks(rec).fit(X, y)
    name = "SdAClassifier"
    assert [c for c in rec.calls if c[0] in ("begin", "end")] == [
        ("begin", name, "fit", 0),
        ("begin", name, "epoch", 0), ("end", name, "epoch", 0),
        ("begin", name, "epoch", 1), ("end", name, "epoch", 1),
        ("begin", name, "epoch", 2), ("end", name, "epoch", 2),
        ("end", name, "fit", 0),
    ]
    # each snapshot predicts as the fit of that many epochs does
    for k, snapshot in enumerate(rec.snapshots, start=1):
        ref = classifier(max_iter=k).fit(X, y)
        assert_array_equal(snapshot.predict_proba(X), ref.predict_proba(X))
    clf = classifier(max_iter=10).set_callbacks(Recorder(stop_after_epoch=2)).fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
