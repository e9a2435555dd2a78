"""
Filters learned at 0, 25 and 50 % masking
=========================================

The figure that motivates denoising autoencoders (Vincent et al., 2008):
the same overcomplete autoencoder is trained three times on handwritten
digits, with 0 %, 25 % and 50 % of the input pixels masked (set to 0) at
random during training, and its filters, the rows of ``components_``, are
drawn as images with :class:`~skdae.plotting.FilterDisplay`.

Without noise, an autoencoder with more hidden units than pixels can get
away with copying its input, and many of its filters are detectors of
single pixels or unstructured noise. With masking it has to fill in missing
pixels from their neighbours, and the filters become smooth detectors of
blobs and strokes spread over several pixels.

The data are the 8 x 8 digits bundled with scikit-learn so that the example
runs in seconds; the picture on the front page shows the same effect on
MNIST (28 x 28 pixels).
"""

# %%
# Data and models
# ---------------
# The pixel intensities are scaled to [0, 1] so that the autoencoder can use
# the cross-entropy loss, the setting of the original papers for images. The
# autoencoders have 100 hidden units for 64 pixels (overcomplete) and are
# fitted without the labels; a quarter of the digits is held out to measure,
# at the end, how useful the learned features are to a classifier. Setting
# the environment variable ``SKDAE_EXAMPLES_QUICK=1`` cuts the number of
# epochs (used by the test-suite).
import os
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skdae import DenoisingAutoencoder
from skdae.plotting import FilterDisplay

QUICK = os.environ.get("SKDAE_EXAMPLES_QUICK", "") not in ("", "0")

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

levels = [0.0, 0.25, 0.5]
models = {}
for level in levels:
    dae = DenoisingAutoencoder(
        n_components=100,
        loss="cross_entropy",
        corruption="masking",
        corruption_level=level,
        max_iter=5 if QUICK else 60,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        models[level] = dae.fit(X_train)

# %%
# The filters
# -----------
# Each tile is one hidden unit's weights on the 8 x 8 pixels: light pixels
# excite the unit, dark ones inhibit it and mid-grey is zero. Every filter is
# scaled to its own largest absolute weight (``scale="per_filter"``) so that
# the pattern of each is visible whatever its norm.
fig, axes = plt.subplots(1, 3, figsize=(10, 3.8), layout="constrained")
for ax, level in zip(axes, levels):
    FilterDisplay.from_estimator(models[level], n_filters=49, scale="per_filter", ax=ax)
    ax.set_title(f"{level:.0%} masking")
fig.suptitle("First 49 of 100 filters")
plt.show()

# %%
# And the features?
# -----------------
# A logistic regression trained on the hidden codes of the training digits
# and scored on the held-out ones gives a simple measure of the features
# (the autoencoders never saw the labels).
for level, dae in models.items():
    clf = LogisticRegression(max_iter=2000).fit(dae.transform(X_train), y_train)
    accuracy = clf.score(dae.transform(X_test), y_test)
    print(f"{level:4.0%} masking: test accuracy {accuracy:.3f}, "
          f"training loss {dae.loss_:.2f} after {dae.n_iter_} epochs")

# %%
# On these small, clean digits a linear classifier does about equally well
# on the three codes: the difference denoising makes is in *what* the units
# detect. Its benefit for classification shows on larger and harder data
# (MNIST and its variations with rotations and background noise in Vincent
# et al., 2010), and in deeper stacks. The training loss grows with the
# corruption level because reconstructing a digit from half of its pixels is
# harder than from all of them.
