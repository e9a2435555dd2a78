"""
Training and validation loss curves
===================================

:class:`~skdae.plotting.LossCurveDisplay` draws ``loss_curve_``, the
training loss after each epoch, and with ``early_stopping=True`` also the
validation loss: the negated ``validation_scores_``, the clean
reconstruction loss on the held-out fraction of the data.

The two curves measure different things. The training loss is the
reconstruction loss of *corrupted* inputs (plus the L2 penalty, if any),
averaged over the epoch while the weights change; the validation loss is
the reconstruction loss of *clean* inputs with the weights at the end of the
epoch. The validation curve therefore lies below the training curve, and the
gap grows with the corruption level.
"""

# %%
# One autoencoder with early stopping
# -----------------------------------
# Setting the environment variable ``SKDAE_EXAMPLES_QUICK=1`` cuts the
# number of epochs (used by the test-suite).
import os
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skdae import DenoisingAutoencoder
from skdae.plotting import LossCurveDisplay

QUICK = os.environ.get("SKDAE_EXAMPLES_QUICK", "") not in ("", "0")

X = load_digits().data / 16.0

dae = DenoisingAutoencoder(
    n_components=64,
    loss="cross_entropy",
    corruption_level=0.25,
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=5,
    max_iter=5 if QUICK else 200,
    random_state=0,
).fit(X)
print(f"stopped after {dae.n_iter_} epochs; best validation loss "
      f"{-dae.best_validation_score_:.3f} (the weights of that epoch are kept)")

display = LossCurveDisplay.from_estimator(dae)
display.ax_.set_title("25 % masking, Adam")
plt.show()

# %%
# Comparing optimisers
# --------------------
# Several displays can share one axes; ``line_kw`` names the curves. Adam
# with its default learning rate against plain SGD with the authors' setting
# (``learning_rate=0.1``, minibatches of 20), both for 30 epochs.
settings = {
    "Adam, lr=0.01": dict(solver="adam", learning_rate=0.01),
    "SGD, lr=0.1, batch 20": dict(solver="sgd", learning_rate=0.1, batch_size=20),
}
fig, ax = plt.subplots()
for name, params in settings.items():
    dae = DenoisingAutoencoder(
        n_components=64, loss="cross_entropy", corruption_level=0.25,
        max_iter=5 if QUICK else 30,
        tol=0.0, random_state=0, **params,
    )
    # tol=0 trains for all max_iter epochs, which fit reports with a
    # ConvergenceWarning; that is expected here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dae.fit(X)
    LossCurveDisplay.from_estimator(dae, ax=ax, line_kw={"label": name})
ax.set_title("Training loss, 25 % masking")
plt.show()
