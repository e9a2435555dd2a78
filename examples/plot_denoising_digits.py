"""
Denoising digits
================

A denoising autoencoder is trained to undo a corruption process, so once
fitted it can be used as a denoiser: encode a corrupted example with
:meth:`~skdae.DenoisingAutoencoder.transform` and decode the code with
:meth:`~skdae.DenoisingAutoencoder.inverse_transform`.
:class:`~skdae.plotting.ReconstructionDisplay` shows clean examples, their
corrupted copies drawn with the autoencoder's own noise process, and the
reconstructions, for held-out digits.
"""

# %%
# Two autoencoders, two kinds of noise
# ------------------------------------
# One autoencoder is trained with half of the pixels masked, the other with
# salt-and-pepper noise on a quarter of them. Both are fitted on the first
# 1 500 digits and shown the others. Setting the environment variable
# ``SKDAE_EXAMPLES_QUICK=1`` cuts the number of epochs (used by the
# test-suite).
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

from skdae import DenoisingAutoencoder
from skdae.plotting import ReconstructionDisplay

QUICK = os.environ.get("SKDAE_EXAMPLES_QUICK", "") not in ("", "0")
max_iter = 5 if QUICK else 60

X = load_digits().data / 16.0
X_train, X_test = X[:1500], X[1500:]

models = {
    "masking, 50 %": DenoisingAutoencoder(
        n_components=128, loss="cross_entropy", corruption="masking",
        corruption_level=0.5, max_iter=max_iter, random_state=0,
    ),
    "salt and pepper, 25 %": DenoisingAutoencoder(
        n_components=128, loss="cross_entropy", corruption="salt_and_pepper",
        corruption_level=0.25, max_iter=max_iter, random_state=0,
    ),
}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for dae in models.values():
        dae.fit(X_train)

fig, axes = plt.subplots(2, 1, figsize=(7, 5.5), layout="constrained")
displays = {}
for ax, (name, dae) in zip(axes, models.items()):
    displays[name] = ReconstructionDisplay.from_estimator(
        dae, X_test, n_examples=10, random_state=0, ax=ax
    )
    ax.set_title(name)
plt.show()

# %%
# The masked strokes are filled in and the isolated salt-and-pepper pixels
# are removed: the reconstructions recover the shape of most digits, even
# where half of the input was missing, though with blurred strokes.
#
# How much does it help?
# ----------------------
# The same two kinds of noise, drawn with NumPy for all the held-out digits,
# and the mean squared difference from the clean digits (per pixel) before
# and after denoising. The baseline is PCA with 20 components fitted on the
# clean training digits: it projects a noisy digit onto the principal
# subspace of clean digits.
rng = np.random.default_rng(0)
noisy = {
    "masking, 50 %": X_test * (rng.random(X_test.shape) >= 0.5),
    "salt and pepper, 25 %": np.where(
        rng.random(X_test.shape) < 0.25, rng.integers(0, 2, X_test.shape), X_test
    ),
}
pca = PCA(n_components=20).fit(X_train)
for name, dae in models.items():
    X_noisy = noisy[name]
    X_dae = dae.inverse_transform(dae.transform(X_noisy))
    X_pca = pca.inverse_transform(pca.transform(X_noisy))
    print(f"{name:>22}: noisy {np.mean((X_noisy - X_test) ** 2):.4f}, "
          f"DAE {np.mean((X_dae - X_test) ** 2):.4f}, "
          f"PCA {np.mean((X_pca - X_test) ** 2):.4f}")

# %%
# The display's constructor takes any arrays, so the PCA reconstructions of
# the digits corrupted above can be drawn the same way.
shown = displays["masking, 50 %"]
fig, ax = plt.subplots(figsize=(7, 2.6), layout="constrained")
display = ReconstructionDisplay(
    shown.clean, shown.corrupted, pca.inverse_transform(pca.transform(shown.corrupted))
).plot(ax=ax)
ax.set_title("PCA (20 components), masking 50 %")
plt.show()
