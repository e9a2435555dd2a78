"""scikit-learn's estimator checks, with no expected failures."""

import pytest
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdae import (
    DAEOutlierDetector,
    DenoisingAutoencoder,
    SdAClassifier,
    SdARegressor,
    StackedDenoisingAutoencoder,
)

# Small, fast instances (scikit-learn keeps the same kind in INIT_PARAMS). The
# stacked estimators run with 1, 2 and 4 layers and the defaults of their
# per-layer parameters (loss, corruption_levels), which must fit any depth.
ESTIMATORS = [
    DenoisingAutoencoder(n_components=8, max_iter=5, batch_size=16),
    DenoisingAutoencoder(
        n_components=8, max_iter=5, batch_size=16, tied_weights=False,
        activation="tanh", solver="sgd", learning_rate=0.01, momentum=0.9,
        corruption="gaussian", corruption_level=0.1,
    ),
    StackedDenoisingAutoencoder(hidden_layer_sizes=(8, 4), max_iter=5, batch_size=16),
    StackedDenoisingAutoencoder(hidden_layer_sizes=(8,), max_iter=5, batch_size=16),
    StackedDenoisingAutoencoder(
        hidden_layer_sizes=(8, 8, 4, 4), activation="tanh", max_iter=5, batch_size=16,
    ),
    SdAClassifier(
        hidden_layer_sizes=(16, 8), pretrain_max_iter=3, max_iter=50, batch_size=16,
        early_stopping=False,
    ),
    SdAClassifier(
        hidden_layer_sizes=(16,), pretrain_max_iter=3, max_iter=50, batch_size=16,
        n_iter_no_change=5,
    ),
    SdAClassifier(
        hidden_layer_sizes=(16, 16, 8, 8), pretrain_max_iter=3, max_iter=50,
        batch_size=16,
    ),
    SdARegressor(
        hidden_layer_sizes=(16, 8), pretrain_max_iter=3, max_iter=50, batch_size=16,
        early_stopping=False,
    ),
    SdARegressor(
        hidden_layer_sizes=(16,), pretrain_max_iter=3, max_iter=50, batch_size=16,
        n_iter_no_change=5,
    ),
    SdARegressor(
        hidden_layer_sizes=(16, 16, 8, 8), pretrain_max_iter=3, max_iter=50,
        batch_size=16, activation="tanh",
    ),
]
FINE_TUNED = ESTIMATORS[5:]
DETECTORS = [
    DAEOutlierDetector(n_estimators=2, max_iter=5, batch_size=16),
    DAEOutlierDetector(
        n_components=3, n_estimators=1, trim_fraction=0.0, max_iter=5, batch_size=16,
        contamination=0.1, activation="tanh", corruption="swap", early_stopping=False,
        normalize_errors=False,
    ),
]
ESTIMATORS += DETECTORS
TRANSFORMERS = ESTIMATORS[:5]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# Checks scikit-learn runs on its own transformers but does not yield from
# parametrize_with_checks: set_output, feature names, parameter validation.
EXTRA_CHECKS = [
    "check_set_output_transform",
    "check_set_output_transform_pandas",
    "check_global_output_transform_pandas",
    "check_transformer_get_feature_names_out",
    "check_transformer_get_feature_names_out_pandas",
    "check_param_validation",
    "check_estimators_partial_fit_n_features",
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("check_name", EXTRA_CHECKS)
@pytest.mark.parametrize(
    "estimator", TRANSFORMERS, ids=["tied", "untied", "stack2", "stack1", "stack4"]
)
def test_extra_sklearn_checks(estimator, check_name):
    if "pandas" in check_name:
        pytest.importorskip("pandas")
    if "partial_fit" in check_name and not hasattr(estimator, "partial_fit"):
        pytest.skip("the stacked autoencoder has no partial_fit")
    check = getattr(estimator_checks, check_name)
    check(type(estimator).__name__, estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("check_name", ["check_param_validation",
                                        "check_estimators_partial_fit_n_features"])
@pytest.mark.parametrize("estimator", FINE_TUNED + DETECTORS, ids=[
    "classifier2", "classifier1", "classifier4", "regressor2", "regressor1", "regressor4",
    "detector", "detector-swap"])
def test_extra_sklearn_checks_of_the_fine_tuned_stacks_and_detectors(estimator, check_name):
    getattr(estimator_checks, check_name)(type(estimator).__name__, estimator)
