"""SdAClassifier's defaults on small data: digits, 30 stratified splits.

The table of the user guide's "The classifier's defaults" section: two
hidden layers of 128 and 64 units on ``load_digits() / 16``, every other
parameter at its default unless the row says otherwise, against
scikit-learn's MLPClassifier and LogisticRegression on the same splits.
For each row: the mean, standard deviation and minimum test accuracy over
the splits, the share of splits at 0.96 or more, the paired difference from
the defaults (mean and standard error), the median number of (fine-tuning)
epochs and the mean fit time.

Usage::

    python benchmarks/bench_defaults.py              # 30 splits, a few minutes
    python benchmarks/bench_defaults.py --splits 5   # a quick look
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from skdae import SdAClassifier

import _runner

_SDA = {
    "the defaults": {},
    "validation_fraction=0.2": dict(validation_fraction=0.2),
    "n_iter_no_change=20": dict(n_iter_no_change=20),
    "both of the above": dict(validation_fraction=0.2, n_iter_no_change=20),
    "early_stopping=False (200 epochs)": dict(early_stopping=False),
    "momentum=0 (the old fine-tuning)": dict(momentum=0.0),
    'solver="adam" (learning_rate 0.001)': dict(solver="adam"),
    'solver="adam", learning_rate=0.01': dict(solver="adam", learning_rate=0.01),
    "the old defaults": dict(pretrain_loss="squared_error", corruption_levels=(0.1, 0.2),
                             momentum=0.0, learning_rate=0.1, pretrain_learning_rate=0.01),
}
_PEERS = {
    "MLPClassifier((128, 64))": lambda seed: MLPClassifier((128, 64), random_state=seed),
    "MLPClassifier((128, 64), early_stopping=True)": lambda seed: MLPClassifier(
        (128, 64), early_stopping=True, random_state=seed),
    "LogisticRegression(max_iter=5000)": lambda seed: LogisticRegression(max_iter=5000),
}


def _model(name, seed):
    if name in _SDA:
        return SdAClassifier(hidden_layer_sizes=(128, 64), random_state=seed, **_SDA[name])
    return _PEERS[name](seed)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--splits", type=int, default=30)
    args = p.parse_args(argv)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    results = {}
    for name in list(_SDA) + list(_PEERS):
        scores, epochs, times = [], [], []
        for seed in range(args.splits):
            X_tr, X_te, y_tr, y_te = train_test_split(
                X, y, test_size=0.25, random_state=seed, stratify=y)
            score, seconds, n_iter = _runner.fit_and_score(
                _model(name, seed), X_tr, y_tr, X_te, y_te)
            scores.append(score)
            times.append(seconds)
            epochs.append(n_iter)
        results[name] = np.array(scores), np.median(epochs), np.mean(times)
        print(f"  {name}: {np.mean(scores):.3f}", flush=True)
    base = results["the defaults"][0]
    print(f"\nSdAClassifier(hidden_layer_sizes=(128, 64)) on digits, {args.splits} splits\n")
    print("| setting | mean | sd | min | >= 0.96 | vs defaults (paired, se) | epochs | fit s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (s, ep, t) in results.items():
        diff = s - base
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
        print(f"| {name} | {s.mean():.3f} | {s.std():.3f} | {s.min():.3f} | "
              f"{np.mean(s >= 0.96):.2f} | {diff.mean():+.3f} ({se:.3f}) | {ep:.0f} | {t:.2f} |")


if __name__ == "__main__":
    main()
