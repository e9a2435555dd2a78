"""
Tuning a denoising autoencoder without labels
=============================================

:meth:`DenoisingAutoencoder.score <skdae.DenoisingAutoencoder.score>` returns
the mean *negative* reconstruction loss of clean (uncorrupted) data, so higher
is better and :class:`~sklearn.model_selection.GridSearchCV` can tune an
autoencoder on its own, with no labels and no ``scoring`` argument: each
candidate is fitted on the training folds and scored by how well it
reconstructs the held-out fold.

The data are the 8 x 8 digits of :func:`sklearn.datasets.load_digits`, scaled
to [0, 1] for the cross-entropy loss; the labels are never used.
"""

# %%
# Data and grid
# -------------
# Setting the environment variable ``SKDAE_EXAMPLES_QUICK=1`` shrinks the grid
# and the number of epochs (used by the test-suite).
import os
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from skdae import DenoisingAutoencoder

QUICK = os.environ.get("SKDAE_EXAMPLES_QUICK", "") not in ("", "0")

X, _ = load_digits(return_X_y=True)  # the labels are not used
X = X / 16.0

# Every candidate trains for exactly ``max_iter`` epochs (``n_iter_no_change``
# is larger), so the autoencoder's "maximum iterations reached" warning is
# expected and silenced.
warnings.filterwarnings("ignore", category=ConvergenceWarning)
max_iter = 10 if QUICK else 20
dae = DenoisingAutoencoder(
    loss="cross_entropy",
    corruption="masking",
    solver="adam",
    learning_rate=0.01,
    batch_size=32,
    max_iter=max_iter,
    n_iter_no_change=max_iter + 1,
    random_state=0,
)
if QUICK:
    param_grid = {"n_components": [8, 32], "corruption_level": [0.0, 0.5]}
else:
    param_grid = {"n_components": [8, 16, 32, 64], "corruption_level": [0.0, 0.25, 0.5]}

# %%
# Search
# ------
# No ``scoring``: GridSearchCV calls ``dae.score`` on each held-out fold. The
# folds are shuffled because the digits file is ordered by writer.
search = GridSearchCV(dae, param_grid, cv=KFold(3, shuffle=True, random_state=0))
tic = time.perf_counter()
search.fit(X)
search_time = time.perf_counter() - tic

# %%
# Results
# -------
# ``mean_test_score`` is minus the mean cross-entropy (in nats per image,
# summed over the 64 pixels) of reconstructing the held-out digits.
n_components = param_grid["n_components"]
levels = param_grid["corruption_level"]
results = search.cv_results_
scores = np.empty((len(n_components), len(levels)))
for params, mean in zip(results["params"], results["mean_test_score"]):
    i = n_components.index(params["n_components"])
    j = levels.index(params["corruption_level"])
    scores[i, j] = mean

print("mean_test_score (negative reconstruction cross-entropy, higher is better)")
print("n_components | " + " | ".join(f"corruption={nu:.2f}" for nu in levels))
for k, row in zip(n_components, scores):
    print(f"{k:12d} | " + " | ".join(f"{s:16.3f}" for s in row))

best_params = search.best_params_
best_score = search.best_score_
print(f"\nbest parameters: {best_params}")
print(f"best mean_test_score: {best_score:.3f}")
print(f"grid search time: {search_time:.1f} s")

# %%
# Reading the table
# -----------------
# The score measures reconstruction of *clean* data, so it rewards capacity
# (more hidden units) and is not designed to reward corruption: masking noise
# is a regulariser that makes the features more robust, usually at some cost
# in clean reconstruction. The unsupervised score is therefore the right
# criterion for what governs the fit itself -- learning rate, batch size,
# epochs, weight decay -- and a sanity check for the others; to choose
# ``n_components`` and ``corruption_level`` for a downstream task, score the
# task, as in the pipeline example (``grid_search_pipeline.py``).
