"""MNIST feature pipelines: the same linear classifier on top of learned features.

Trains on the 60 000 MNIST training images and reports the error on the
10 000 test images, the fit time and the transform time of one fixed
classifier, ``StandardScaler -> LogisticRegression(C, max_iter=300)``, on top
of

1. ``raw``      the 784 raw pixels;
2. ``pca``      ``PCA(k)`` for k in (50, 100, 500);
3. ``rbm``      ``BernoulliRBM(k)`` for k in (100, 500);
4. ``dae``      ``DenoisingAutoencoder(k)`` for k in (100, 500, 1000), at
                masking levels nu = 0 % (``corruption=None``: a plain, basic
                autoencoder) and 25 %;
5. ``stacked``  ``DenoisingAutoencoder(1000) -> DenoisingAutoencoder(1000)``
                as a :class:`~sklearn.pipeline.Pipeline`: greedy layer-wise
                pretraining, the second autoencoder is fitted on the codes of
                the first one (sigmoid codes are in [0, 1], so it also uses
                the cross-entropy loss).

Every autoencoder is the tied-weight sigmoid DAE of Vincent et al. (2008)
with the cross-entropy loss; the solver, learning rate, batch size and number
of epochs (per layer) are printed with the table. There is no supervised
fine-tuning: the features are learned without the labels and frozen, only the
classifier sees ``y``. ``C`` was chosen once on the 50 000 / 10 000
validation split of the training file (``load_mnist_paper_split``) and is the
same for every row (see ``benchmarks/README.md``).

Timing: "fit s" is the time to fit the whole pipeline on the training set,
i.e. what :meth:`Pipeline.fit` does -- ``fit_transform`` of each feature step
in turn, then the scaler and the logistic regression; the table splits it into
"feat s" (feature learning) and "clf s" (scaler + logistic regression).
"transform s" is the time to map the 10 000 test images through the feature
steps (``Pipeline[:-2].transform``). The pipelines are fitted step by step
exactly as ``Pipeline.fit`` would, so that the two parts can be timed
separately; the fitted steps are then used as one ``Pipeline``.

The machine this was written for has 2 cores shared with other jobs: the
timings are noisy (the load average is printed before and after). The
thread pools (BLAS, OpenMP) are listed with the settings. By default they are
all limited to ONE thread through ``threadpoolctl`` (``--threads N`` to
change, ``--threads 0`` for the libraries' defaults): with minibatches of 20
rows a second BLAS thread gains little on an idle machine and, on a machine
whose cores are busy with other jobs, makes each epoch 10-20 times slower.

Usage::

    SKDAE_DATA=../shared/data/mnist python benchmarks/mnist_features.py
    python benchmarks/mnist_features.py --quick             # a few minutes
    python benchmarks/mnist_features.py --rows pca,dae --epochs 5
    python benchmarks/mnist_features.py --data-home /path/to/mnist --seed 1

Exit status 2 if MNIST is not found (downloading is never attempted here).
"""

import argparse
import contextlib
import datetime
import os
import platform
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

try:
    import skdae
except ImportError:  # not installed: use the in-place build of this checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import skdae
from skdae import DenoisingAutoencoder
from skdae.datasets import fetch_mnist

import _runner
from _progress import START, EpochLog, progress

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
    threadpool_info = threadpool_limits = None

# The feature learners run a fixed number of epochs on purpose; their
# "maximum iterations reached" warning is expected (the classifier's is not:
# it is caught and flagged in the table).
warnings.filterwarnings("ignore", category=ConvergenceWarning, module=r"skdae\.")

ROW_KINDS = ("raw", "pca", "rbm", "dae", "stacked")

# Defaults of a full run (chosen to fit in 30 minutes on 2 shared cores; see
# benchmarks/README.md for what was tried).
DEFAULT_EPOCHS = 15
DEFAULT_C = 0.03
QUICK_EPOCHS = 3
# One BLAS thread by default: the DAE trains on minibatches of 20 rows, whose
# small products gain little from a second thread on an idle 2-core machine
# and are slowed down 10-20x by it when the cores are shared with other jobs
# (measured; see benchmarks/README.md). --threads 0 keeps the libraries'
# defaults.
DEFAULT_THREADS = 1


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def thread_settings():
    """Human-readable lines describing the thread pools and the machine."""
    lines = []
    try:
        n_avail = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n_avail = os.cpu_count()
    lines.append(f"cpu_count={os.cpu_count()}  usable cores={n_avail}")
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    env = ", ".join(f"{k}={os.environ[k]}" for k in names if k in os.environ)
    lines.append("env: " + (env or "(no thread or BLAS variables set)"))
    if threadpool_info is not None:
        for pool in threadpool_info():
            arch = pool.get("architecture") or ""
            lines.append(
                f"{pool['user_api']:6s} {pool.get('internal_api', '?'):9s} {arch:8s} "
                f"{pool.get('version') or '':14s} num_threads={pool['num_threads']}  "
                f"({os.path.basename(pool['filepath'])})"
            )
    return lines


def load_avg():
    try:
        return "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:  # pragma: no cover
        return "load average n/a"


def load_data(args):
    """(X_train, y_train, X_test, y_test); exit 2 with a message if MNIST is
    missing. ``--data-home digits``: scikit-learn's digits / 16, split 3:1
    (run.py --smoke)."""
    if args.data_home == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X, X_test, y, y_test = train_test_split((X / 16.0).astype(np.float32), y,
                                                random_state=0, stratify=y)
        return X, y, X_test, y_test
    try:
        X, y = fetch_mnist(
            data_home=args.data_home, subset="train", return_X_y=True,
            download_if_missing=False,
        )
        X_test, y_test = fetch_mnist(
            data_home=args.data_home, subset="test", return_X_y=True,
            download_if_missing=False,
        )
    except FileNotFoundError as exc:
        print(
            "mnist_features.py: MNIST not found, nothing to benchmark.\n"
            "Point --data-home or the SKDAE_DATA environment variable at the "
            "folder holding the four IDX files, e.g.\n"
            "    SKDAE_DATA=../shared/data/mnist python benchmarks/mnist_features.py\n\n"
            f"{exc}",
            file=sys.stderr,
        )
        sys.exit(2)
    except ValueError as exc:
        print(f"mnist_features.py: MNIST files unreadable: {exc}", file=sys.stderr)
        sys.exit(2)
    X, y = X[: args.n_train], y[: args.n_train]
    X_test, y_test = X_test[: args.n_test], y_test[: args.n_test]
    return X, y, X_test, y_test


# --------------------------------------------------------------------------
# the rows
# --------------------------------------------------------------------------
def make_dae(args, n_components, noise):
    return DenoisingAutoencoder(
        n_components,
        activation="sigmoid",
        loss="cross_entropy",
        tied_weights=True,
        # nu = 0: no corruption at all, i.e. a plain (non-denoising) autoencoder
        corruption="masking" if noise > 0 else None,
        corruption_level=noise,
        solver=args.solver,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        max_iter=args.epochs,
        # fixed number of epochs: never stop early on the training loss
        n_iter_no_change=args.epochs + 1,
        verbose=int(args.epoch_progress),
        random_state=args.seed,
    )


def build_rows(args):
    """List of (kind, method, k, noise, epochs, feature_steps)."""
    rows = []
    if "raw" in args.rows:
        rows.append(("raw", "raw pixels", 784, None, None, []))
    if "pca" in args.rows:
        for k in args.pca_sizes:
            rows.append(("pca", "PCA", k, None, None,
                         [("pca", PCA(k, random_state=args.seed))]))
    if "rbm" in args.rows:
        for k in args.rbm_sizes:
            rbm = BernoulliRBM(
                k, learning_rate=args.rbm_learning_rate,
                batch_size=args.rbm_batch_size, n_iter=args.rbm_epochs,
                random_state=args.seed,
            )
            rows.append(("rbm", "BernoulliRBM", k, None, args.rbm_epochs, [("rbm", rbm)]))
    if "dae" in args.rows:
        for k in args.dae_sizes:
            for noise in args.noise_levels:
                rows.append(("dae", "DAE", k, noise, args.epochs,
                             [("dae", make_dae(args, k, noise))]))
    if "stacked" in args.rows:
        k, noise = args.stacked_size, args.stacked_noise
        rows.append(("stacked", "DAE -> DAE", k, noise, args.epochs, [
            ("dae1", make_dae(args, k, noise)),
            ("dae2", make_dae(args, k, noise)),
        ]))
    return rows


def classifier(args):
    return [
        ("scaler", StandardScaler()),
        ("logreg", LogisticRegression(C=args.C, max_iter=args.clf_max_iter)),
    ]


def run_row(row, args, X, y, X_test, y_test):
    kind, method, k, noise, epochs, feature_steps = row
    pipe = Pipeline(feature_steps + classifier(args))
    n_feat = len(feature_steps)

    # Pipeline.fit, step by step (fit_transform of each feature step, then
    # the classifier), so that feature learning and classifier are timed apart.
    Xt = X
    tic = time.perf_counter()
    for name, step in pipe.steps[:n_feat]:
        size = getattr(step, "n_components", None)
        progress(f"  fitting {name}: {type(step).__name__}({size if size else ''})")
        with contextlib.redirect_stdout(EpochLog(f"  {name}")):
            Xt = step.fit_transform(Xt, y)
    feat_s = time.perf_counter() - tic
    progress(f"  fitting classifier on {Xt.shape[1]} features")
    tic = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        pipe[n_feat:].fit(Xt, y)
    clf_s = time.perf_counter() - tic
    clf_converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    del Xt

    tic = time.perf_counter()
    Ht = pipe[:n_feat].transform(X_test) if n_feat else X_test
    transform_s = time.perf_counter() - tic if n_feat else None
    error = 100.0 * (1.0 - pipe[n_feat:].score(Ht, y_test))

    if kind in ("dae", "stacked"):
        epochs = [step.n_iter_ for _, step in pipe.steps[:n_feat]]
        epochs = epochs[0] if len(set(epochs)) == 1 else "+".join(map(str, epochs))
    return dict(
        kind=kind, method=method, k=k, noise=noise, epochs=epochs,
        test_error=error, fit_s=feat_s + clf_s, feat_s=feat_s, clf_s=clf_s,
        transform_s=transform_s, clf_iter=int(np.max(pipe[-1].n_iter_)),
        clf_converged=clf_converged,
    )


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------
def feature_table(args, per_seed, n_train, n_test):
    """One row per pipeline: test error as the mean and range over the seeds
    (a seed-free row -- raw pixels, PCA -- runs once), times as medians."""
    rows = []
    for runs in per_seed:
        r = runs[0]
        errors = [x["test_error"] for x in runs]
        k = {"raw": "784", "stacked": f"{r['k']}-{r['k']}"}.get(r["kind"], str(r["k"]))
        rows.append([
            r["method"], k, "-" if r["noise"] is None else f"{100 * r['noise']:.0f} %",
            "-" if r["epochs"] is None else str(r["epochs"]),
            f"{np.mean(errors):.2f}" + ("" if all(x["clf_converged"] for x in runs) else " *"),
            f"{min(errors):.2f}-{max(errors):.2f}" if len(runs) > 1 else "-",
            round(float(np.median([x["fit_s"] for x in runs])), 1),
            None if r["transform_s"] is None else round(float(np.median(
                [x["transform_s"] for x in runs])), 2)])
    data = "digits" if args.data_home == "digits" else "MNIST"
    return _runner.table(
        "features", f"{data} features against PCA and RBM: the same classifier "
        f"(StandardScaler -> LogisticRegression(C={args.C})) on each feature step, "
        f"{n_train} training / {n_test} test images, seeds {', '.join(map(str, args.seeds))}",
        ["features", "k", "masking", "epochs", "test error %", "range over seeds",
         "fit s", "transform s"], rows,
        [f"Test error: mean over the seeds (raw pixels and PCA do not depend on one); "
         f"fit s: the whole pipeline's fit, median; every DAE is tied, sigmoid, "
         f"cross-entropy, {args.solver} lr {args.learning_rate}, batch {args.batch_size}; "
         + (f"every pool at {args.threads} thread(s)" if args.threads
            else "the libraries' default threads")
         + "; '*': the LogisticRegression hit max_iter."])


def settings_lines(args, n_train, n_test):
    lines = [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, skdae {skdae.__version__}",
        f"data: MNIST, {n_train} training / {n_test} test images (float32 in [0, 1])"
        + ("  [--quick]" if args.quick else ""),
        f"classifier (every row): StandardScaler -> LogisticRegression(C={args.C}, "
        f"max_iter={args.clf_max_iter}) (lbfgs, multinomial)",
        f"DAE (every layer): tied sigmoid, loss=cross_entropy, corruption=masking, "
        f"solver={args.solver}, learning_rate={args.learning_rate}, "
        f"batch_size={args.batch_size}, epochs per layer={args.epochs}, "
        f"random_state={args.seed}",
        f"stacked: DAE({args.stacked_size}, nu={args.stacked_noise}) -> "
        f"DAE({args.stacked_size}, nu={args.stacked_noise}), greedy layer-wise, "
        f"{args.epochs} epochs each",
        f"BernoulliRBM: learning_rate={args.rbm_learning_rate}, "
        f"batch_size={args.rbm_batch_size}, n_iter={args.rbm_epochs}",
        "PCA: sklearn default svd_solver='auto'",
        "threads: "
        + (f"every pool limited to {args.threads} (--threads {args.threads}, threadpoolctl)"
           if args.threads else "libraries' defaults (--threads 0)"),
    ]
    lines += ["  " + s for s in thread_settings()]
    return lines


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--quick", action="store_true",
                   help=f"10 000 train / 2 000 test images, {QUICK_EPOCHS} epochs "
                        "(unless --epochs/--n-train/--n-test are given): a few minutes")
    p.add_argument("--data-home", default=None,
                   help="folder holding MNIST (default: SKDAE_DATA, else sklearn's data home)")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"epochs per DAE layer (default {DEFAULT_EPOCHS}, "
                        f"{QUICK_EPOCHS} with --quick)")
    p.add_argument("--rows", default=",".join(ROW_KINDS),
                   help="comma-separated subset of " + ",".join(ROW_KINDS))
    p.add_argument("--seed", type=int, default=0, help="random_state of every estimator")
    p.add_argument("--n-train", type=int, default=None,
                   help="use the first N training images (default 60000, 10000 with --quick)")
    p.add_argument("--n-test", type=int, default=None,
                   help="use the first N test images (default 10000, 2000 with --quick)")
    p.add_argument("--C", type=float, default=DEFAULT_C,
                   help="inverse regularisation of the LogisticRegression (all rows)")
    p.add_argument("--clf-max-iter", type=int, default=300)
    p.add_argument("--solver", choices=("sgd", "adam"), default="sgd")
    p.add_argument("--learning-rate", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--dae-sizes", default="100,500,1000")
    p.add_argument("--noise-levels", default="0,0.25",
                   help="masking levels of the single-layer DAE rows")
    p.add_argument("--stacked-size", type=int, default=1000)
    p.add_argument("--stacked-noise", type=float, default=0.25)
    p.add_argument("--pca-sizes", default="50,100,500")
    p.add_argument("--rbm-sizes", default="100,500")
    p.add_argument("--rbm-epochs", type=int, default=None,
                   help="BernoulliRBM n_iter (default 10, 2 with --quick)")
    p.add_argument("--rbm-learning-rate", type=float, default=0.05)
    p.add_argument("--rbm-batch-size", type=int, default=20)
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help="limit every BLAS/OpenMP pool to N threads (threadpoolctl); "
                        "0 = leave the libraries' defaults (one thread per core)")
    p.add_argument("--no-epoch-progress", dest="epoch_progress", action="store_false",
                   help="do not print one progress line per DAE epoch")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="run the seed-dependent rows once per seed (default: --seed)")
    _runner.add_json_argument(p)
    args = p.parse_args(argv)

    args.seeds = args.seeds or [args.seed]
    args.rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = sorted(set(args.rows) - set(ROW_KINDS))
    if unknown:
        p.error(f"unknown rows {unknown}; choose from {','.join(ROW_KINDS)}")
    for name in ("dae_sizes", "pca_sizes", "rbm_sizes"):
        setattr(args, name, [int(v) for v in getattr(args, name).split(",") if v])
    args.noise_levels = [float(v) for v in args.noise_levels.split(",") if v]
    if args.epochs is None:
        args.epochs = QUICK_EPOCHS if args.quick else DEFAULT_EPOCHS
    if args.rbm_epochs is None:
        args.rbm_epochs = 2 if args.quick else 10
    if args.n_train is None:
        args.n_train = 10_000 if args.quick else 60_000
    if args.n_test is None:
        args.n_test = 2_000 if args.quick else 10_000
    return args


def main(argv=None):
    args = parse_args(argv)
    limits = (
        threadpool_limits(args.threads)
        if args.threads and threadpool_limits is not None
        else contextlib.nullcontext()
    )
    with limits:
        return _main(args)


def _main(args):
    X, y, X_test, y_test = load_data(args)
    settings = settings_lines(args, X.shape[0], X_test.shape[0])
    for line in settings:
        progress(line)
    load_before = load_avg()
    progress(load_before)

    per_seed = []
    for i, seed in enumerate(args.seeds):
        args.seed = seed
        rows = [r for r in build_rows(args) if i == 0 or r[0] not in ("raw", "pca")]
        for j, row in enumerate(rows):
            kind, method, k, noise, epochs, _ = row
            nu = "" if noise is None else f", nu={noise}"
            progress(f"seed {seed}, row {j + 1}/{len(rows)}: {method} k={k}{nu} ...")
            r = run_row(row, args, X, y, X_test, y_test)
            if i == 0:
                per_seed.append([r])
            else:
                next(runs for runs in per_seed if runs[0]["method"] == method and
                     runs[0]["k"] == k and runs[0]["noise"] == noise).append(r)
            progress(
                f"seed {seed}, row {j + 1}/{len(rows)}: {method} k={k}{nu}: test error "
                f"{r['test_error']:.2f} %, fit {r['fit_s']:.1f} s (features "
                f"{r['feat_s']:.1f} s, classifier {r['clf_s']:.1f} s, {r['clf_iter']} lbfgs "
                "iterations)")
    load_after = load_avg()
    total = time.perf_counter() - START

    print("MNIST feature pipelines")
    print("=======================")
    for line in settings:
        print(line)
    print(f"{load_before} (start), {load_after} (end); total wall time {total / 60:.1f} min")
    print()
    t = feature_table(args, per_seed, X.shape[0], X_test.shape[0])
    print(_runner.markdown(t))
    _runner.write_json(args.json, __file__, t)
    return per_seed

if __name__ == "__main__":
    main()
