"""SdAClassifier's default network size on a small table, MNIST and Adult.

The table behind the user guide's "The classifier's defaults" choice of
``hidden_layer_sizes``: test accuracy (mean and standard deviation over
seeds: the split where there is one, the initialisation, the noise and the
shuffling) and the median fit time of ``SdAClassifier`` with every other
parameter at its default, for a few network sizes, next to scikit-learn's
``MLPClassifier()`` with its defaults.

- digits: ``load_digits() / 16``, a stratified 75 / 25 split per seed;
- mnist: the first ``--mnist-train`` training images (10 000 by default) and
  the 10 000 test images (``skdae.datasets.fetch_mnist``; set ``SKDAE_DATA``);
- adult: ``adult-train.csv`` / ``adult-test.csv`` from ``--adult-dir`` (or
  ``$SKDAE_DATA/../adult``): the numeric columns min-max scaled to [0, 1],
  the categorical ones one-hot encoded, ``?`` imputed with the column's most
  frequent value (``SimpleImputer``).

Fit times are indicative only: they depend on what else the machine runs
(on a machine whose cores other jobs use, ``OMP_NUM_THREADS=1
OPENBLAS_NUM_THREADS=1`` made the small networks many times faster; the
accuracies do not depend on it).

Usage::

    python benchmarks/bench_sda_sizes.py digits
    SKDAE_DATA=/path/to/mnist python benchmarks/bench_sda_sizes.py mnist --sizes 128 256,256
    python benchmarks/bench_sda_sizes.py adult --adult-dir /path/to/adult --json adult.json
"""

import argparse
import os
import sys

import numpy as np
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_digits
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

from skdae import SdAClassifier

import _runner

_SIZES = ["128", "256", "256,256", "500,500", "1000,1000,1000"]
_ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num",
                  "marital-status", "occupation", "relationship", "race", "sex",
                  "capital-gain", "capital-loss", "hours-per-week", "native-country",
                  "income"]


def _digits(seed, args):
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=seed, stratify=y)


def _mnist(seed, args):
    from skdae.datasets import fetch_mnist

    X, y = fetch_mnist(subset="train", return_X_y=True)
    X_test, y_test = fetch_mnist(subset="test", return_X_y=True)
    n = args.mnist_train
    return X[:n], X_test, y[:n], y_test


def _adult(seed, args):
    import pandas as pd

    folder = args.adult_dir or os.path.join(os.environ.get("SKDAE_DATA", "."), "..",
                                            "adult")
    frames = [pd.read_csv(os.path.join(folder, name), header=None, names=_ADULT_COLUMNS,
                          skipinitialspace=True, na_values="?", comment="|")
              for name in ("adult-train.csv", "adult-test.csv")]
    train, test = (f.dropna(subset=["income"]) for f in frames)
    y_train = (train.pop("income").str.rstrip(".") == ">50K").to_numpy()
    y_test = (test.pop("income").str.rstrip(".") == ">50K").to_numpy()
    numeric = list(train.select_dtypes(include="number").columns)
    categorical = [c for c in train.columns if c not in numeric]
    encode = make_column_transformer(
        (MinMaxScaler(clip=True), numeric),
        (make_pipeline(SimpleImputer(strategy="most_frequent"),
                       OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
         categorical),
    )
    X_train = encode.fit_transform(train).astype(np.float32)
    X_test = encode.transform(test).astype(np.float32)
    return X_train, X_test, y_train, y_test


_DATA = {"digits": _digits, "mnist": _mnist, "adult": _adult}


def _models(sizes):
    for spec in sizes:
        layers = tuple(int(s) for s in spec.split(","))
        yield (f"SdAClassifier(hidden_layer_sizes={layers})",
               lambda seed, layers=layers: SdAClassifier(hidden_layer_sizes=layers,
                                                         random_state=seed))
    yield "MLPClassifier()", lambda seed: MLPClassifier(random_state=seed)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dataset", choices=sorted(_DATA))
    p.add_argument("--sizes", nargs="+", default=_SIZES,
                   help="hidden_layer_sizes to try, comma-separated per network")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--mnist-train", type=int, default=10_000)
    p.add_argument("--adult-dir", default=None)
    p.add_argument("--no-mlp", action="store_true", help="leave out MLPClassifier()")
    _runner.add_json_argument(p)
    args = p.parse_args(argv)
    rows = []
    for name, make in _models(args.sizes):
        if args.no_mlp and name.startswith("MLP"):
            continue
        scores, times, epochs = [], [], []
        for seed in range(args.seeds):
            X_tr, X_te, y_tr, y_te = _DATA[args.dataset](seed, args)
            score, seconds, n_iter = _runner.fit_and_score(make(seed), X_tr, y_tr, X_te, y_te)
            scores.append(score)
            times.append(seconds)
            epochs.append(n_iter)
            print(f"  {name} seed {seed}: {scores[-1]:.4f} in {times[-1]:.1f} s",
                  file=sys.stderr, flush=True)
        rows.append([name, round(float(np.mean(scores)), 4),
                     round(float(np.std(scores)), 4), float(np.median(epochs)),
                     round(float(np.median(times)), 1)])
    columns = ["model", "test accuracy (mean)", "sd", "epochs (median)",
               "fit s (median, indicative)"]
    notes = ["fit times are indicative only: measured on a shared machine"]
    if args.dataset == "mnist":
        notes.append(f"the first {args.mnist_train} training images, the 10 000 test images")
    t = _runner.table("sda-sizes-" + args.dataset,
                      f"SdAClassifier network sizes on {args.dataset}, {args.seeds} seeds",
                      columns, rows, notes)
    for line in _runner.machine_lines():
        print(line)
    print(f"\n{t['title']}\n")
    print(_runner.markdown(t))
    _runner.write_json(args.json, __file__, t)

if __name__ == "__main__":
    main()
