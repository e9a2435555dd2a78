"""Stacked denoising autoencoder on MNIST: pretraining + fine-tuning vs peers.

The setting of Vincent et al. (2010) and of the authors' Theano tutorial
(``SdA.py``): MNIST as 50 000 training / 10 000 validation / 10 000 test
images (``load_mnist_paper_split``), three sigmoid layers of 1000 units,
masking corruption 10 % / 20 % / 30 %, 15 pretraining epochs per layer with
the cross-entropy reconstruction loss, then supervised fine-tuning of the
whole stack plus a softmax layer, early-stopped on the validation error (the
weights of the best validation epoch are kept and scored on the test set).

Rows (``--rows``, comma-separated):

``sda``     :class:`skdae.SdAClassifier` -- pretraining, then fine-tuning;
``nopre``   the same network and fine-tuning from a random initialisation
            (``pretrain=False``), to measure what the pretraining brings;
``mlp``     :class:`sklearn.neural_network.MLPClassifier` with
            ``hidden_layer_sizes=(1000, 1000, 1000)`` and its defaults (relu,
            Adam, batch 200), trained on the same 50 000 images for
            ``--mlp-epochs`` epochs; its validation and test errors are those
            of the final epoch (sklearn's MLP cannot early-stop on a given
            validation set).

For each row the table gives the test error, the validation error, the
pretraining time, the fine-tuning time, the total, and the epochs. Progress
lines (one per epoch) go to stderr. ``--json PATH`` also writes the results.

Usage::

    SKDAE_DATA=../shared/data/mnist python benchmarks/sda_mnist.py
    python benchmarks/sda_mnist.py --quick          # a few minutes, a subset
    python benchmarks/sda_mnist.py --rows sda --finetune-epochs 60

``--unset-openblas-coretype`` re-runs the script without the
``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` variables that this project's
machine sets (they force OpenBLAS's AVX2 kernels on an AVX-512 machine; see
``benchmarks/README.md``). Exit status 2 if MNIST is not found.
"""

import os
import sys

import _runner

_runner.reexec_without_openblas_vars("--unset-openblas-coretype" in sys.argv)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

try:
    import skdae  # noqa: F401
except ImportError:  # not installed: use the in-place build of this checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from skdae import SdAClassifier  # noqa: E402
from skdae.datasets import load_mnist_paper_split  # noqa: E402

from _progress import EpochLog, progress  # noqa: E402

ROWS = ("sda", "nopre", "mlp")

# Defaults of the full run (see benchmarks/README.md for what was tried).
FULL = dict(
    layers=(1000, 1000, 1000),
    corruption=(0.1, 0.2, 0.3),
    pretrain_epochs=15,
    pretrain_solver="sgd",
    pretrain_lr=0.1,
    pretrain_batch=20,
    finetune_lr=0.05,
    finetune_momentum=0.9,
    finetune_batch=5,
    finetune_epochs=40,
    patience=10,
    mlp_epochs=30,
    n_train=50000,
)
# --quick: the same model on a 10 000-image subset, a few epochs each.
QUICK = dict(FULL, pretrain_epochs=3, finetune_epochs=8, patience=8, mlp_epochs=5,
             n_train=10000)

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="10 000 training images and a few epochs: a smoke run")
    p.add_argument("--rows", default=",".join(ROWS),
                   help=f"comma-separated subset of {ROWS}")
    p.add_argument("--data-home", default=None,
                   help="folder with the MNIST IDX files (default: SKDAE_DATA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="run every row once per seed: the table gives the mean test error "
                   "and its range (default: --seed)")
    p.add_argument("--layers", type=int, nargs="+", default=None,
                   help="hidden layer sizes (default 1000 1000 1000)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    for name in ("pretrain_epochs", "pretrain_batch", "finetune_batch",
                 "finetune_epochs", "patience", "mlp_epochs", "n_train"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=None)
    for name in ("pretrain_lr", "finetune_lr", "finetune_momentum"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=None)
    p.add_argument("--pretrain-solver", choices=("sgd", "adam"), default=None)
    _runner.add_json_argument(p)
    p.add_argument("--unset-openblas-coretype", action="store_true",
                   help="run without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE")
    args = p.parse_args(argv)
    settings = dict(QUICK if args.quick else FULL)
    for key in settings:
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    if args.layers:
        settings["layers"] = tuple(args.layers)
        settings["corruption"] = tuple(settings["corruption"][min(i, 2)]
                                       for i in range(len(args.layers)))
    args.seeds = args.seeds or [args.seed]
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        p.error(f"unknown rows {unknown}; choose from {ROWS}")
    return args, settings, rows


def load(args, settings):
    if args.data_home == "digits":  # run.py --smoke: digits / 16, split 3:1:1
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X, X_test, y, y_test = train_test_split((X / 16.0).astype(args.dtype), y,
                                                test_size=0.2, random_state=0, stratify=y)
        X, X_val, y, y_val = train_test_split(X, y, test_size=0.25, random_state=0,
                                              stratify=y)
        return X, y, X_val, y_val, X_test, y_test
    try:
        X_train, y_train, X_val, y_val, X_test, y_test = load_mnist_paper_split(
            data_home=args.data_home, download_if_missing=False)
    except FileNotFoundError as exc:
        print("sda_mnist.py: MNIST not found, nothing to benchmark. Point "
              "--data-home or SKDAE_DATA at the folder holding the four IDX files, "
              f"e.g. SKDAE_DATA=../shared/data/mnist.\n\n{exc}", file=sys.stderr)
        sys.exit(2)
    n = settings["n_train"]
    dtype = np.dtype(args.dtype)
    return (X_train[:n].astype(dtype), y_train[:n], X_val.astype(dtype), y_val,
            X_test.astype(dtype), y_test)


def make_sda(settings, seed, pretrain, verbose):
    return SdAClassifier(
        hidden_layer_sizes=settings["layers"],
        activation="sigmoid",
        pretrain=pretrain,
        pretrain_loss="cross_entropy",
        corruption="masking",
        corruption_levels=settings["corruption"],
        pretrain_solver=settings["pretrain_solver"],
        pretrain_learning_rate=settings["pretrain_lr"],
        pretrain_batch_size=settings["pretrain_batch"],
        pretrain_max_iter=settings["pretrain_epochs"],
        solver="sgd",
        learning_rate=settings["finetune_lr"],
        momentum=settings["finetune_momentum"],
        batch_size=settings["finetune_batch"],
        max_iter=settings["finetune_epochs"],
        n_iter_no_change=settings["patience"],
        tol=5e-5,  # one validation image is 1e-4: ties count as no improvement
        early_stopping=True,
        verbose=verbose,
        random_state=seed,
    )


def run_sda(name, data, settings, seed, pretrain):
    X_train, y_train, X_val, y_val, X_test, y_test = data
    clf = make_sda(settings, seed, pretrain, verbose=1)
    log = EpochLog(name)
    marks = {}

    class _Clock:
        # the classifier prints "Fine-tuning ..." when pretraining is over
        def write(self, s):
            if "Fine-tuning" in s:
                marks["finetune_start"] = time.perf_counter()
            log.write(s)

        def flush(self):
            pass

    tic = time.perf_counter()
    with warnings.catch_warnings(), contextlib.redirect_stdout(_Clock()):
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    total = time.perf_counter() - tic
    pretrain_s = marks["finetune_start"] - tic
    best_epoch = int(np.argmax(clf.validation_scores_)) + 1
    return dict(
        row=name,
        test_error=100 * (1 - clf.score(X_test, y_test)),
        val_error=100 * (1 - clf.score(X_val, y_val)),
        pretrain_s=pretrain_s,
        finetune_s=total - pretrain_s,
        total_s=total,
        epochs=f"{clf.n_iter_} ft (best {best_epoch})"
        + (f" + {settings['pretrain_epochs']}/layer pre" if pretrain else ""),
    )


def run_mlp(data, settings, seed):
    X_train, y_train, X_val, y_val, X_test, y_test = data
    clf = MLPClassifier(hidden_layer_sizes=settings["layers"],
                        max_iter=settings["mlp_epochs"], random_state=seed, verbose=True)
    tic = time.perf_counter()
    with warnings.catch_warnings(), contextlib.redirect_stdout(EpochLog("mlp")):
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    total = time.perf_counter() - tic
    return dict(
        row="mlp",
        test_error=100 * (1 - clf.score(X_test, y_test)),
        val_error=100 * (1 - clf.score(X_val, y_val)),
        pretrain_s=0.0,
        finetune_s=total,
        total_s=total,
        epochs=f"{clf.n_iter_} (relu, adam, batch 200)",
    )


def sda_table(args, settings, runs):
    """One row per model: test error as the mean and range over the seeds,
    the rest as medians."""
    rows = []
    for name in dict.fromkeys(r["row"] for r in runs):
        rs = [r for r in runs if r["row"] == name]
        err = [r["test_error"] for r in rs]
        med = {k: float(np.median([r[k] for r in rs]))
               for k in ("val_error", "pretrain_s", "finetune_s", "total_s")}
        rows.append([name, len(rs), "%.2f" % np.mean(err),
                     "%.2f-%.2f" % (min(err), max(err)) if len(rs) > 1 else "-",
                     "%.2f" % med["val_error"], round(med["pretrain_s"]),
                     round(med["finetune_s"]), round(med["total_s"] / 60, 1),
                     "; ".join(r["epochs"] for r in rs)])
    data = "digits" if args.data_home == "digits" else "MNIST"
    layers = " × ".join(map(str, settings["layers"]))
    return _runner.table(
        "sda", f"SdA on {data}: {layers} sigmoid layers, {settings['n_train']} training "
        f"images, {settings['pretrain_epochs']} pretraining epochs per layer, at most "
        f"{settings['finetune_epochs']} fine-tuning epochs (patience "
        f"{settings['patience']}), {args.dtype}, seeds {', '.join(map(str, args.seeds))}",
        ["row", "seeds", "test error %", "range", "valid error %", "pretrain s",
         "fine-tune s", "total min", "epochs per seed"], rows,
        ["sda: SdAClassifier (pretraining, then fine-tuning; the weights of the best "
         "validation epoch are scored); nopre: the same network fine-tuned from a random "
         "start; mlp: MLPClassifier with the same layers and its defaults (relu, Adam, batch "
         "200), errors of its last epoch. Test error: mean over the seeds; the other columns "
         "are medians."])


def main(argv=None):
    args, settings, rows = parse_args(argv)
    data = load(args, settings)
    for line in _runner.machine_lines():
        print(line)
    print("settings: " + ", ".join(f"{k}={v}" for k, v in settings.items())
          + f", dtype={args.dtype}, seeds={args.seeds}")
    results = []
    for seed in args.seeds:
        for row in rows:
            progress(f"row {row}, seed {seed}")
            if row == "mlp":
                results.append(run_mlp(data, settings, seed))
            else:
                results.append(run_sda(row, data, settings, seed, pretrain=row == "sda"))
            r = results[-1]
            progress(f"row {row}, seed {seed}: test error {r['test_error']:.2f} %, "
                     f"{r['total_s']:.0f} s")
    t = sda_table(args, settings, results)
    print()
    print(_runner.markdown(t))
    print("load average after: " + "%.2f %.2f %.2f" % os.getloadavg())
    _runner.write_json(args.json, __file__, t)

if __name__ == "__main__":
    main()
