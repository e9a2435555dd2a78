"""DAE vs CAE vs DAE+CAE features under the same classifier.

Fits tied sigmoid autoencoders (cross-entropy, SGD) that differ only in
their regulariser: none (plain AE), masking noise (DAE), the contractive
penalty ``lam ||J||_F^2`` (CAE, Rifai et al. 2011) and both; then trains the
same ``StandardScaler -> LogisticRegression`` on each code and reports test
error, the mean squared Jacobian norm on the test set, and fit time.

Data: MNIST (first ``--n-train`` training images, all 10 000 test images)
when :func:`skdae.datasets.fetch_mnist` finds it, else scikit-learn's digits.

Usage::

    SKDAE_DATA=../shared/data/mnist python benchmarks/bench_contractive.py
    python benchmarks/bench_contractive.py --quick      # digits, seconds
"""

import argparse
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdae import DenoisingAutoencoder
from skdae.datasets import fetch_mnist

ROWS = [  # label, masking level, contraction
    ("AE (no regulariser)", 0.0, 0.0),
    ("DAE, 25 % masking", 0.25, 0.0),
    ("CAE, lam = 0.1", 0.0, 0.1),
    ("CAE, lam = 1", 0.0, 1.0),
    ("DAE + CAE, 25 %, lam = 0.1", 0.25, 0.1),
]


def _data(args):
    if not args.quick:
        try:
            X, y = fetch_mnist(subset="train", return_X_y=True, download_if_missing=False)
            Xt, yt = fetch_mnist(subset="test", return_X_y=True, download_if_missing=False)
            return "MNIST", X[:args.n_train], y[:args.n_train], Xt, yt
        except OSError:
            print("MNIST not found; using digits", file=sys.stderr)
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X, Xt, y, yt = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    return "digits", X, y, Xt, yt


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=20_000)
    parser.add_argument("--n-components", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="digits, 64 units, 20 epochs")
    args = parser.parse_args()
    name, X, y, Xt, yt = _data(args)
    if name == "digits":
        args.n_components, args.epochs = 64, 20
    print(f"{name}: {X.shape[0]} train / {Xt.shape[0]} test; h={args.n_components}, "
          f"{args.epochs} epochs, SGD lr 0.1, batch 20, cross-entropy; classifier "
          "StandardScaler -> LogisticRegression(max_iter=300)")
    print(f"{'features':<28} {'test error %':>12} {'mean ||J||_F^2 (test)':>22} "
          f"{'fit s':>7}")
    for label, nu, lam in ROWS:
        dae = DenoisingAutoencoder(
            n_components=args.n_components, loss="cross_entropy",
            corruption="masking" if nu else None, corruption_level=nu, contraction=lam,
            solver="sgd", learning_rate=0.1, batch_size=20, max_iter=args.epochs,
            tol=0.0, random_state=0,
        )
        tic = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dae.fit(X)
        fit = time.perf_counter() - tic
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(dae.transform(X), y)
        error = 100 * (1 - clf.score(dae.transform(Xt), yt))
        jac = dae.jacobian_squared_norm(Xt).mean()
        print(f"{label:<28} {error:>12.2f} {jac:>22.3f} {fit:>7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
