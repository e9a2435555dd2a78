"""
Tuning a denoising autoencoder in a classification pipeline
===========================================================

A :class:`~skdae.DenoisingAutoencoder` is a scikit-learn transformer, so it
can be the feature-extraction step of a :class:`~sklearn.pipeline.Pipeline`
and its hyper-parameters can be tuned like any other's: here
:class:`~sklearn.model_selection.GridSearchCV` picks the number of hidden
units (``n_components``) and the fraction of masked inputs
(``corruption_level``) that give the best cross-validated accuracy of a
:class:`~sklearn.linear_model.LogisticRegression` trained on the learned
codes.

The autoencoder learns its features without the labels (``fit`` ignores
``y``); only the logistic regression sees them. Within each cross-validation
split, the features are learned on the training folds only, so the score is
an honest estimate of the whole pipeline.

The data are the 8 x 8 digits of :func:`sklearn.datasets.load_digits`, scaled
to [0, 1] so that the autoencoder can use the cross-entropy loss (the
setting of Vincent et al., 2008, for pixel intensities).
"""

# %%
# Data
# ----
# The 1797 digits are split into a training set, on which the grid search
# cross-validates, and a held-out test set scored once at the end. Setting
# the environment variable ``SKDAE_EXAMPLES_QUICK=1`` shrinks the grid and
# the number of epochs (used by the test-suite).
import os
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skdae import DenoisingAutoencoder

QUICK = os.environ.get("SKDAE_EXAMPLES_QUICK", "") not in ("", "0")

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixel intensities 0..16 -> [0, 1]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

# %%
# The pipeline
# ------------
# A tied-weight sigmoid autoencoder with the cross-entropy loss, trained by
# Adam, then a standardisation of its codes and a multinomial logistic
# regression. ``n_iter_no_change`` is set above ``max_iter`` so that every
# candidate trains for the same number of epochs; the autoencoder then warns
# that it stopped at ``max_iter`` (a ``ConvergenceWarning``), which is expected
# here and silenced.
warnings.filterwarnings("ignore", category=ConvergenceWarning)
max_iter = 10 if QUICK else 20
pipe = Pipeline(
    [
        (
            "dae",
            DenoisingAutoencoder(
                loss="cross_entropy",
                corruption="masking",
                solver="adam",
                learning_rate=0.01,
                batch_size=32,
                max_iter=max_iter,
                n_iter_no_change=max_iter + 1,
                random_state=0,
            ),
        ),
        ("scaler", StandardScaler()),
        ("logreg", LogisticRegression(C=0.1, max_iter=1000)),
    ]
)

# %%
# The grid
# --------
# Step parameters are addressed as ``<step>__<parameter>``. A masking level of
# 0 is a plain (non-denoising) autoencoder.
if QUICK:
    param_grid = {
        "dae__n_components": [32, 64],
        "dae__corruption_level": [0.0, 0.25],
    }
else:
    param_grid = {
        "dae__n_components": [32, 64, 128],
        "dae__corruption_level": [0.0, 0.25, 0.5],
    }

search = GridSearchCV(pipe, param_grid, cv=3, scoring="accuracy", n_jobs=1)
tic = time.perf_counter()
search.fit(X_train, y_train)
search_time = time.perf_counter() - tic

# %%
# Results
# -------
# The mean cross-validated accuracy of every candidate, then the best one,
# refitted on the whole training set and scored on the held-out test set.
results = search.cv_results_
for params, mean, std in zip(
    results["params"], results["mean_test_score"], results["std_test_score"]
):
    print(
        f"n_components={params['dae__n_components']:4d}  "
        f"corruption_level={params['dae__corruption_level']:.2f}  "
        f"accuracy={mean:.3f} (+/- {std:.3f})"
    )

best_params = search.best_params_
best_score = search.best_score_
test_accuracy = search.score(X_test, y_test)
print(f"\nbest parameters: {best_params}")
print(f"best cross-validated accuracy: {best_score:.3f}")
print(f"test accuracy of the refitted best pipeline: {test_accuracy:.3f}")
print(f"grid search time: {search_time:.1f} s")
