"""
Denoising autoencoder or PCA as the features of a classifier
============================================================

:class:`~skdae.DenoisingAutoencoder` and :class:`~sklearn.decomposition.PCA`
are both unsupervised transformers, so either can be the feature-extraction
step of a :class:`~sklearn.pipeline.Pipeline` in front of a classifier. A
linear autoencoder trained with the squared error would learn the same
subspace as PCA (see the :ref:`user guide <user_guide>`); the nonlinear
hidden layer and the denoising criterion are what can make the autoencoder's
features different, and it can also have more hidden units than inputs,
which PCA cannot.

This example compares the cross-validated accuracy of a logistic regression
on raw pixels, on PCA projections and on denoising autoencoder codes of the
8 x 8 digits, for several numbers of components.
"""

# %%
# Pipelines
# ---------
# Pixels are scaled to [0, 1] inside the pipeline, so that the autoencoder
# can use the cross-entropy loss and the scaler is fitted on the training
# folds only. Setting the environment variable ``SKDAE_EXAMPLES_QUICK=1``
# tries fewer sizes for fewer epochs (used by the test-suite).
import os
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdae import DenoisingAutoencoder
from skdae.plotting import FilterDisplay

QUICK = os.environ.get("SKDAE_EXAMPLES_QUICK", "") not in ("", "0")

X, y = load_digits(return_X_y=True)


def classifier():
    return LogisticRegression(max_iter=2000)


def dae(n_components):
    return DenoisingAutoencoder(
        n_components, loss="cross_entropy", corruption_level=0.25,
        max_iter=5 if QUICK else 30,
        random_state=0,
    )


def cv_accuracy(pipeline):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cross_val_score(pipeline, X, y, cv=3).mean()


raw = cv_accuracy(make_pipeline(MinMaxScaler(), classifier()))
print(f"raw pixels: {raw:.3f}")

# %%
# Accuracy against the number of components
# -----------------------------------------
# PCA can keep at most 64 components (the number of pixels); the autoencoder
# can also be overcomplete.
sizes = [16, 128] if QUICK else [8, 16, 32, 64, 128]
scores = {"PCA": {}, "DAE": {}}
for k in sizes:
    if k <= X.shape[1]:
        scores["PCA"][k] = cv_accuracy(make_pipeline(MinMaxScaler(), PCA(k), classifier()))
    scores["DAE"][k] = cv_accuracy(make_pipeline(MinMaxScaler(), dae(k), classifier()))
    print(f"{k:4d} components: " + ", ".join(
        f"{name} {s[k]:.3f}" for name, s in scores.items() if k in s))

fig, ax = plt.subplots(figsize=(6, 4))
for name, marker in [("PCA", "o"), ("DAE", "s")]:
    ax.plot(list(scores[name]), list(scores[name].values()), marker=marker, label=name)
ax.axhline(raw, color="grey", linestyle="--", label="raw pixels")
ax.set_xscale("log", base=2)
ax.set_xticks(sizes, [str(k) for k in sizes])
ax.set_xlabel("number of components")
ax.set_ylabel("3-fold CV accuracy")
ax.legend()
plt.show()

# %%
# With few components the linear projection of PCA keeps more of what the
# classifier needs; the autoencoder's codes catch up as the layer grows, and
# only the autoencoder can go past the input dimension. The best numbers of
# components and corruption level depend on the data: tune them with
# :class:`~sklearn.model_selection.GridSearchCV` on the pipeline.
#
# What the two learn
# ------------------
# Both transformers have a ``components_`` matrix, so
# :class:`~skdae.plotting.FilterDisplay` shows either. The principal
# components are orthogonal and ordered by explained variance, from the
# broad shape of a digit to finer details; the autoencoder's filters are
# neither orthogonal nor ordered, and each responds to its own combination
# of strokes.
X01 = X / 16.0
pca = PCA(16).fit(X01)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    autoencoder = dae(16).fit(X01)

fig, axes = plt.subplots(1, 2, figsize=(8, 4), layout="constrained")
FilterDisplay.from_estimator(pca, scale="per_filter", ax=axes[0])
axes[0].set_title("PCA: 16 components")
FilterDisplay.from_estimator(autoencoder, scale="per_filter", ax=axes[1])
axes[1].set_title("DAE: 16 filters")
plt.show()
