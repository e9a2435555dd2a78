"""
Edge-like filters from natural image patches
============================================

A denoising autoencoder trained on small patches of photographs learns
localized, oriented filters, edge and grating detectors like those of
sparse coding and of simple cells in the visual cortex (Vincent et al.,
2010, trained on natural image patches with Gaussian noise). This example
reproduces that on 12 x 12 patches of the two photographs bundled with
scikit-learn, with the squared error loss for real-valued inputs.
"""

# %%
# Patches
# -------
# 5 000 random 12 x 12 patches are cut from each grey-level image. Each patch
# has its mean brightness removed and is divided by its contrast (standard
# deviation, plus a small constant so that flat patches are not amplified),
# then every pixel is standardized: the squared error assumes real values of
# comparable scale. Setting the environment variable
# ``SKDAE_EXAMPLES_QUICK=1`` uses fewer patches and epochs (used by the
# test-suite).
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_images
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.image import extract_patches_2d
from sklearn.preprocessing import StandardScaler

from skdae import DenoisingAutoencoder
from skdae.plotting import FilterDisplay

QUICK = os.environ.get("SKDAE_EXAMPLES_QUICK", "") not in ("", "0")

patch_size = (12, 12)
n_patches = 500 if QUICK else 5000
patches = []
for image in load_sample_images().images:
    grey = image.mean(axis=2) / 255.0
    patches.append(
        extract_patches_2d(grey, patch_size, max_patches=n_patches, random_state=0)
    )
X = np.concatenate(patches).reshape(-1, patch_size[0] * patch_size[1])
X -= X.mean(axis=1, keepdims=True)
X /= X.std(axis=1, keepdims=True) + 0.1
X = StandardScaler().fit_transform(X)
print(f"{X.shape[0]} patches of {X.shape[1]} pixels")

# %%
# The autoencoder
# ---------------
# 100 rectified linear hidden units, a linear output and the squared error
# (``loss="squared_error"``), trained to remove additive Gaussian noise of
# standard deviation 0.5. A small L2 penalty (``alpha``) pulls the weights of
# units that the data do not use back towards zero.
dae = DenoisingAutoencoder(
    n_components=100,
    activation="relu",
    loss="squared_error",
    corruption="gaussian",
    corruption_level=0.5,
    alpha=0.1,
    max_iter=3 if QUICK else 30,
    random_state=0,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    dae.fit(X)
print(f"training loss {dae.loss_:.2f} after {dae.n_iter_} epochs")

# %%
# The filters
# -----------
# :class:`~skdae.plotting.FilterDisplay` also takes the filters directly, so
# we show the 49 filters with the largest norms, each on its own symmetric
# grey scale. Many are localized edges and oriented gratings at various
# orientations and frequencies; units whose weights stayed small keep some
# of their random initial pattern.
W = dae.components_
strongest = np.argsort(-np.linalg.norm(W, axis=1))[:49]
display = FilterDisplay(W[strongest], image_shape=patch_size).plot(scale="per_filter")
display.figure_.set_size_inches(5.5, 5.5)
display.ax_.set_title("49 strongest of 100 filters")
plt.show()

# %%
# Compare with the principal components of the same patches
# (:class:`~sklearn.decomposition.PCA`, which ``FilterDisplay`` accepts too):
# they are global, Fourier-like patterns ordered by frequency, not localized
# edges.
pca = PCA(n_components=49, random_state=0).fit(X)
display = FilterDisplay.from_estimator(pca, image_shape=patch_size, scale="per_filter")
display.figure_.set_size_inches(5.5, 5.5)
display.ax_.set_title("First 49 principal components")
plt.show()
