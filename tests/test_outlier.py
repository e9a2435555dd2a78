"""DAEOutlierDetector: scikit-learn's outlier conventions and its own rules."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdae import DAEOutlierDetector


def _data(n=300, n_outliers=15, seed=0):
    """Rows near a 2-d plane in 6-d space, and rows off it (the last ones)."""
    rng = np.random.RandomState(seed)
    t = rng.normal(size=(n, 2))
    A = rng.normal(size=(2, 6))
    X = t @ A + 0.05 * rng.normal(size=(n, 6))
    X[-n_outliers:] = 4.0 * rng.normal(size=(n_outliers, 6))
    y = np.zeros(n, dtype=int)
    y[-n_outliers:] = 1
    return X, y


def _fast(**params):
    return DAEOutlierDetector(n_estimators=2, max_iter=30, random_state=0, **params)


@pytest.mark.parametrize("contamination", [0.05, 0.1, 0.25])
def test_contamination_flags_that_fraction_of_the_training_data(contamination):
    X, _ = _data()
    det = _fast(contamination=contamination).fit(X)
    assert np.mean(det.predict(X) == -1) == pytest.approx(contamination, abs=1 / len(X))


def test_decision_function_is_score_minus_offset_and_negative_for_outliers():
    X, _ = _data()
    det = _fast(contamination=0.1).fit(X)
    scores, decision = det.score_samples(X), det.decision_function(X)
    np.testing.assert_allclose(decision, scores - det.offset_)
    np.testing.assert_array_equal(det.predict(X) == -1, decision < 0)
    # the planted outliers are the least normal rows
    assert roc_auc_score(_data()[1], -scores) > 0.95


def test_auto_threshold_is_the_robust_rule_on_the_cube_root_of_the_errors():
    X, y = _data()
    det = _fast().fit(X)
    root = np.cbrt(det.reconstruction_error(X))
    median = np.median(root)
    mad = 1.4826 * np.median(np.abs(root - median))
    assert det.offset_ == pytest.approx(-((median + 2.5 * mad) ** 3))
    flagged = det.predict(X) == -1
    # it finds the planted outliers without being told how many there are
    assert flagged[y == 1].mean() > 0.8 and flagged[y == 0].mean() < 0.05


def test_fit_predict_equals_fit_then_predict_on_the_training_data():
    X, _ = _data()
    np.testing.assert_array_equal(_fast().fit_predict(X), _fast().fit(X).predict(X))


def test_per_feature_errors_sum_to_the_sample_error():
    X, _ = _data()
    det = _fast().fit(X)
    per_feature = det.reconstruction_error(X, per_feature=True)
    assert per_feature.shape == X.shape and (per_feature >= 0).all()
    np.testing.assert_allclose(per_feature.sum(axis=1), det.reconstruction_error(X))
    np.testing.assert_allclose(det.score_samples(X), -det.reconstruction_error(X))


def test_per_feature_error_points_at_the_corrupted_column():
    X, _ = _data(n_outliers=1)
    det = _fast().fit(X[:-1])
    row = X[:1].copy()
    row[0, 3] += 5 * X[:, 3].std()
    assert np.argmax(det.reconstruction_error(row, per_feature=True)[0]) == 3


def test_error_is_the_normalised_squared_error_of_the_standardised_data():
    X, _ = _data()
    det = _fast(trim_fraction=0.0).fit(X)
    Xs = (X - X.mean(axis=0)) / X.std(axis=0)
    expected = np.zeros_like(X)
    for member, scale in zip(det.estimators_, det.error_scale_):
        Z = member.inverse_transform(member.transform(Xs))
        errors = (Xs - Z) ** 2
        np.testing.assert_allclose(scale, np.median(errors, axis=0), rtol=1e-10)
        expected += errors / scale
    np.testing.assert_allclose(det.reconstruction_error(X, per_feature=True),
                               expected / len(det.estimators_), rtol=1e-8)


def test_trimmed_refit_leaves_out_the_worst_rows():
    X, _ = _data()
    det = _fast(trim_fraction=0.1).fit(X)
    # each member was refitted on 90 % of the rows (its fit counts them)
    n_kept = len(X) - int(0.1 * len(X))
    n_train = n_kept - int(np.ceil(0.1 * n_kept))  # early stopping's split
    assert all(m.t_ == m.n_iter_ * n_train for m in det.estimators_)


def test_same_random_state_gives_the_same_scores():
    X, _ = _data()
    a = _fast().fit(X).score_samples(X)
    b = _fast().fit(X).score_samples(X)
    np.testing.assert_array_equal(a, b)
    c = _fast().set_params(random_state=1).fit(X).score_samples(X)
    assert not np.array_equal(a, c)


def test_in_a_pipeline_after_a_scaler():
    X, y = _data()
    pipe = make_pipeline(StandardScaler(), _fast(standardize=False, contamination=0.05))
    pipe.fit(X)
    assert roc_auc_score(y, -pipe.score_samples(X)) > 0.95
    assert set(np.unique(pipe.predict(X))) == {-1, 1}
    np.testing.assert_array_equal(pipe.predict(X), pipe[-1].predict(pipe[0].transform(X)))


def test_partial_fit_streams_blocks_and_updates_the_scaler():
    X, y = _data(n=600, n_outliers=30)
    rng = np.random.RandomState(0)
    order = rng.permutation(len(X))
    det = _fast()
    for _ in range(20):
        for block in np.array_split(order, 4):
            det.partial_fit(X[block])
    np.testing.assert_allclose(det.scaler_.mean_, X.mean(axis=0))
    assert det.scaler_.n_samples_seen_ == 20 * len(X)
    assert all(m.n_iter_ == 80 for m in det.estimators_)
    assert roc_auc_score(y, -det.score_samples(X)) > 0.9
    # the threshold comes from the last block
    assert det.offset_ < 0


def test_partial_fit_refuses_a_changed_structure():
    X, _ = _data()
    det = _fast().partial_fit(X)
    det.set_params(n_estimators=3)
    with pytest.raises(ValueError, match="n_estimators changed"):
        det.partial_fit(X)


def test_pickle_round_trip_keeps_scores():
    X, _ = _data()
    det = _fast().fit(X)
    loaded = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(loaded.score_samples(X), det.score_samples(X))
    assert loaded.offset_ == det.offset_


def test_dataframe_in_keeps_names_and_set_output():
    pd = pytest.importorskip("pandas")
    X, _ = _data()
    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    det = _fast().fit(df)
    np.testing.assert_array_equal(det.feature_names_in_, df.columns)
    np.testing.assert_allclose(det.score_samples(df), _fast().fit(X).score_samples(X))
    pipe = make_pipeline(StandardScaler(), _fast(standardize=False)).set_output(
        transform="pandas")
    pipe.fit(df)
    assert pipe.predict(df).shape == (len(df),)


def test_nan_input_raises_the_usual_error():
    X, _ = _data()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        _fast().fit(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_of_the_members_follows_the_input(dtype):
    X, _ = _data()
    det = _fast().fit(X.astype(dtype))
    assert all(m.components_.dtype == dtype for m in det.estimators_)
    assert det.score_samples(X.astype(dtype)).dtype == np.float64


def test_parameters_are_forwarded_to_every_member():
    X, _ = _data()
    det = _fast(activation="tanh", corruption="gaussian", corruption_level=0.2,
                batch_size=64, n_components=3).fit(X)
    for member in det.estimators_:
        assert member.activation == "tanh" and member.corruption == "gaussian"
        assert member.corruption_level == 0.2 and member.batch_size == 64
        assert member.n_components == 3 and member.loss == "squared_error"
    # "auto": half the columns, rounded up
    assert clone(det).set_params(n_components="auto").fit(X[:, :5]).estimators_[
        0].n_components == 3
