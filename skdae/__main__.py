"""The main job: raw, PCA and DAE features under the same classifier.

Run ``python -m skdae`` (or the ``skdae`` console script). It fits three
pipelines that end in the same ``StandardScaler -> LogisticRegression``: on
the raw pixels, on ``PCA`` features and on ``DenoisingAutoencoder``
features, and prints each one's test error and fit time. It uses MNIST when
:func:`skdae.datasets.fetch_mnist` finds the files (``--data-home`` or the
``SKDAE_DATA`` environment variable) and otherwise scikit-learn's bundled
digits, and says which (and where it looked for MNIST).
"""

import argparse
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import DenoisingAutoencoder, __version__
from .datasets import fetch_mnist, get_data_home
from .datasets._mnist import _candidate_folders

# Fewest training rows (--n-train): as many as there are digit classes. Fewer
# compare nothing, and rows of a single class leave LogisticRegression unable
# to fit.
_MIN_TRAIN = 10


def _number(kind, low, high=None):
    """An argparse ``type``: ``kind`` (int or float) parsed and checked to lie
    in ``[low, high]`` (``high=None``: no upper bound), or an argparse error
    that says so."""
    expected = (
        f"{'an integer' if kind is int else 'a number'} "
        + (f">= {low}" if high is None else f"in [{low}, {high}]")
    )

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        # (not (low <= value ...) also rejects NaN)
        if value is None or not (low <= value and (high is None or value <= high)):
            raise argparse.ArgumentTypeError(f"must be {expected}; got {text!r}")
        return value

    return parse


def _load(dataset, data_home, n_train, seed):
    """Return (name, X_train, y_train, X_test, y_test) as float32 in [0, 1]."""
    if dataset in ("auto", "mnist"):
        try:
            X_train, y_train = fetch_mnist(
                data_home=data_home, subset="train", return_X_y=True,
                download_if_missing=False,
            )
            X_test, y_test = fetch_mnist(
                data_home=data_home, subset="test", return_X_y=True,
                download_if_missing=False,
            )
        except OSError as exc:
            if dataset == "mnist":
                raise SystemExit(f"MNIST not found: {exc}") from exc
            folders = " or ".join(_candidate_folders(get_data_home(data_home)))
            print(f"MNIST not found in {folders} (point SKDAE_DATA or --data-home "
                  "at the folder holding its four IDX files); using "
                  "scikit-learn's bundled digits.", file=sys.stderr)
        except ValueError as exc:  # found, but malformed or not the original
            raise SystemExit(f"MNIST could not be read: {exc}") from None
        else:
            if n_train is not None:
                X_train, y_train = X_train[:n_train], y_train[:n_train]
            return "MNIST", X_train, y_train, X_test, y_test
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=y
    )
    if n_train is not None:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    return "digits", X_train, y_train, X_test, y_test


def _classifier():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))


def main(argv=None):
    """Entry point of ``python -m skdae``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m skdae",
        description="Compare the raw pixels, PCA features and denoising-"
        "autoencoder features under the same standardized logistic regression, "
        "on MNIST when it is found (SKDAE_DATA or --data-home) and on "
        "scikit-learn's digits otherwise.",
    )
    parser.add_argument("--dataset", choices=["auto", "mnist", "digits"], default="auto",
                        help="auto: MNIST if its files are found, else digits")
    parser.add_argument("--data-home", default=None,
                        help="folder holding the MNIST IDX files (default: SKDAE_DATA)")
    parser.add_argument("--n-components", type=_number(int, 1), default=None,
                        help="hidden units / principal components (default: 500 on "
                        "MNIST, 128 on digits; PCA keeps at most as many as there "
                        "are features and training rows)")
    parser.add_argument("--corruption-level", type=_number(float, 0, 1), default=0.25,
                        help="masking noise fraction, in [0, 1] (default: 0.25)")
    parser.add_argument("--epochs", type=_number(int, 1), default=None,
                        help="training epochs of the autoencoder (default: 5 on MNIST, "
                        "30 on digits)")
    parser.add_argument("--n-train", type=_number(int, _MIN_TRAIN), default=None,
                        help=f"use only the first N training rows (at least {_MIN_TRAIN})")
    parser.add_argument("--seed", type=_number(int, 0, 2**32 - 1), default=0,
                        help="seed of the split, PCA and the autoencoder (default: 0)")
    parser.add_argument("--version", action="version", version=f"skdae {__version__}")
    args = parser.parse_args(argv)

    name, X_train, y_train, X_test, y_test = _load(
        args.dataset, args.data_home, args.n_train, args.seed)
    mnist = name == "MNIST"
    k = (500 if mnist else 128) if args.n_components is None else args.n_components
    epochs = (5 if mnist else 30) if args.epochs is None else args.epochs
    print(f"skdae {__version__}: {name}, {X_train.shape[0]} train / {X_test.shape[0]} "
          f"test rows, {X_train.shape[1]} features, k = {k}")
    dae = DenoisingAutoencoder(
        n_components=k, loss="cross_entropy", corruption="masking",
        corruption_level=args.corruption_level, solver="sgd", learning_rate=0.1,
        batch_size=20, max_iter=epochs, tol=0.0, random_state=args.seed,
    )
    k_pca = min(k, *X_train.shape)
    rows = [
        ("raw pixels", _classifier()),
        (f"PCA({k_pca})", make_pipeline(PCA(n_components=k_pca, random_state=args.seed),
                                         _classifier())),
        (f"DAE({k}), {args.corruption_level:.0%} masking, {epochs} epochs",
         make_pipeline(dae, _classifier())),
    ]
    print(f"\n{'features':<42} {'test error %':>12} {'fit time s':>11}")
    for label, model in rows:
        tic = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        fit_time = time.perf_counter() - tic
        error = 100.0 * (1.0 - model.score(X_test, y_test))
        print(f"{label:<42} {error:>12.2f} {fit_time:>11.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
