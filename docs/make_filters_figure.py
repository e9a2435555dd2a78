"""Make docs/_static/filters.png, the filters picture of the README and docs.

Trains a denoising autoencoder in the authors' setting (Vincent et al.,
2008: 500 sigmoid hidden units, cross-entropy, 25 % masking, SGD with
learning rate 0.1 on minibatches of 20, 15 epochs) on the first 50 000 MNIST
training digits, and draws the 100 filters with the largest norms, each on
its own symmetric grey scale. Without MNIST (see
``skdae.datasets.fetch_mnist``; it is never downloaded here) it falls back
to scikit-learn's 8 x 8 digits. Not part of the documentation build: run it
by hand, single-threaded for a reproducible figure (a few minutes)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 SKDAE_DATA=../shared/data/mnist \\
        python docs/make_filters_figure.py
"""

import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from skdae import DenoisingAutoencoder  # noqa: E402
from skdae.datasets import fetch_mnist  # noqa: E402
from skdae.plotting import FilterDisplay  # noqa: E402

OUT = Path(__file__).resolve().parent / "_static" / "filters.png"


def load_data():
    """The first 50 000 MNIST training digits in [0, 1], or the 8 x 8 digits."""
    try:
        X, _ = fetch_mnist(subset="train", return_X_y=True, download_if_missing=False)
        return X[:50_000], "MNIST"
    except OSError as exc:
        print(f"MNIST not found ({exc}); using scikit-learn's digits", file=sys.stderr)
        return load_digits().data / 16.0, "digits"


def main():
    X, name = load_data()
    dae = DenoisingAutoencoder(
        n_components=500,
        loss="cross_entropy",
        corruption="masking",
        corruption_level=0.25,
        solver="sgd",
        learning_rate=0.1,
        batch_size=20,
        max_iter=15,
        random_state=0,
        verbose=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dae.fit(X)
    fig, ax = plt.subplots(figsize=(4.0, 4.0))
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    W = dae.components_
    strongest = np.argsort(-np.linalg.norm(W, axis=1), kind="stable")[:100]
    FilterDisplay(W[strongest]).plot(scale="per_filter", ax=ax)
    ax.set_axis_off()
    fig.savefig(OUT, dpi=100, pil_kwargs={"optimize": True})
    print(f"{name}: wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
