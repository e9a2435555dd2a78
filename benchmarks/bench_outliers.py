"""Outlier detection: DAEOutlierDetector against scikit-learn's and PyOD's detectors.

ADBench's unsupervised protocol (Han et al., NeurIPS 2022) on the 12 classical
tables in ``../shared/data/adbench/`` (``X``, ``y`` in each ``.npz``; y = 1 is
an anomaly): a stratified 70/30 split per seed, a ``StandardScaler`` fitted on
the training part, every detector fitted on the training part without labels,
ROC AUC and average precision of its scores on the test part. Detectors:
``DAEOutlierDetector`` (defaults), ``IsolationForest``,
``LocalOutlierFactor(novelty=True)``, ``OneClassSVM``, PCA reconstruction
error (half as many components as columns, rounded up, as the detector's
autoencoders), and PyOD's ``ECOD`` over the full protocol; PyOD's
``AutoEncoder`` and ``DeepSVDD`` (torch, about 0.1 s a minibatch on the
machine this was written on) in a second table where every detector is fitted
on training parts capped at ``--deep-max-train`` rows, over ``--deep-seeds``
splits (PyOD skipped with a note when it or torch is missing). Every detector
runs with its library's defaults; nothing is tuned on labels.

Also: one-class MNIST (each digit's training images, a random subsample of
``--mnist-train`` of them, as the normal class; all 10 000 test images scored,
that digit normal), ROC AUC per digit for the scikit-learn detectors and
skdae; the ``contamination="auto"`` rule on the ADBench test parts (fraction
flagged, precision, recall); ``--ablation``: the detector's robust-training
rules switched on one by one (mean ROC AUC over the same splits); and
``--speed``: fit time of one autoencoder against PyOD's ``AutoEncoder`` for
the same number of epochs and batch size.

Quality figures do not depend on the machine's load; times do (the machine
this was written on is shared: quote same-run ratios only).

Usage::

    python benchmarks/bench_outliers.py [--quick] [--datasets cardio,WBC]
        [--seeds 5] [--deep-seeds 2] [--deep-max-train 1000] [--no-adbench]
        [--no-mnist] [--no-pyod] [--ablation | --only-ablation] [--speed]
        [--json PATH]
"""

import argparse
import functools
import glob
import json
import os
import platform
import sys
import time
import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from skdae import DAEOutlierDetector  # noqa: E402

# ADBench's tables: SKDAE_ADBENCH, else ../shared/data/adbench next to the
# repository; MNIST: SKDAE_DATA (skdae's loader), else ../shared/data/mnist.
DATA = os.environ.get(
    "SKDAE_ADBENCH", os.path.join(HERE, "..", "..", "shared", "data", "adbench"))
MNIST = os.environ.get("SKDAE_DATA", os.path.join(HERE, "..", "..", "shared", "data", "mnist"))


# ---------------------------------------------------------------------------
# detectors: each maps (X_train, seed) to a scorer of X_test (higher = normal)
# ---------------------------------------------------------------------------
class _PCAError:
    """PCA reconstruction error, the linear baseline of an autoencoder (half
    as many components as columns, at most one per training row)."""

    def __init__(self, random_state):
        self.random_state = random_state

    def fit(self, X):
        k = min(-(-X.shape[1] // 2), X.shape[0])
        self.pca_ = PCA(n_components=k, random_state=self.random_state).fit(X)
        return self

    def score_samples(self, X):
        Z = self.pca_.inverse_transform(self.pca_.transform(X))
        return -np.square(X - Z).sum(axis=1)


class _PyOD:
    """A PyOD detector under the scikit-learn sign convention."""

    def __init__(self, detector):
        self.detector = detector

    def fit(self, X):
        self.detector.fit(X)
        return self

    def score_samples(self, X):
        return -self.detector.decision_function(X)


def _pyod_factories():
    """PyOD's detectors, or the reason they are missing."""
    try:
        import torch
        from pyod.models.auto_encoder import AutoEncoder
        from pyod.models.deep_svdd import DeepSVDD
        from pyod.models.ecod import ECOD
    except ImportError as exc:
        return {}, f"PyOD detectors skipped: {exc} (pip install pyod torch)"
    # One thread: with two, torch's OpenMP threads spin against the other
    # processes of a busy machine (a 64-32-64 step took over 100x longer).
    torch.set_num_threads(1)

    def ae(seed, X):
        return _PyOD(AutoEncoder(random_state=seed, verbose=0))

    def svdd(seed, X):
        return _PyOD(DeepSVDD(n_features=X.shape[1], random_state=seed, verbose=0))

    def ecod(seed, X):
        return _PyOD(ECOD())

    import pyod
    return ({"PyOD AutoEncoder": ae, "PyOD ECOD": ecod, "PyOD DeepSVDD": svdd},
            f"PyOD {pyod.__version__}, torch {torch.__version__}, default parameters")


SKLEARN = {
    "skdae DAEOutlierDetector": lambda seed, X: DAEOutlierDetector(random_state=seed),
    "IsolationForest": lambda seed, X: IsolationForest(random_state=seed),
    "LOF (novelty)": lambda seed, X: LocalOutlierFactor(novelty=True),
    "OneClassSVM": lambda seed, X: OneClassSVM(),
    "PCA error": lambda seed, X: _PCAError(seed),
}

# the ablation: the robust-training rules one by one (everything else default)
ABLATION = {
    "plain (1 DAE, no trim, raw errors)": dict(n_estimators=1, trim_fraction=0.0,
                                               normalize_errors=False),
    "+ per-column error normalisation": dict(n_estimators=1, trim_fraction=0.0),
    "+ ensemble of 5 seeds (no trim)": dict(trim_fraction=0.0),
    "+ trimmed refit 10%": dict(trim_fraction=0.1),
    "+ trimmed refit 20% (the default)": dict(),
    "default, trim 30%": dict(trim_fraction=0.3),
    "default, 10 seeds": dict(n_estimators=10),
    "default, raw errors": dict(normalize_errors=False),
    "default, tanh": dict(activation="tanh"),
    "default, no noise": dict(corruption=None),
    "default, no early stopping (100 epochs)": dict(early_stopping=False),
}


def _variant(params, seed, X):
    return DAEOutlierDetector(random_state=seed, **params)


def evaluate(make, X_train, X_test, y_test, seed):
    det = make(seed, X_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        det.fit(X_train)
        t1 = time.perf_counter()
        s = det.score_samples(X_test)
        t2 = time.perf_counter()
    return dict(auc=roc_auc_score(y_test, -s), ap=average_precision_score(y_test, -s),
                fit=t1 - t0, score=t2 - t1, det=det)


def _fmt_mean(values):
    """Mean of the finite values, or '-' when there is none (nothing flagged)."""
    values = [v for v in values if np.isfinite(v)]
    return f"{np.mean(values):.2f}" if values else "-"


def load_datasets(names):
    files = sorted(glob.glob(os.path.join(DATA, "*.npz")),
                   key=lambda p: int(os.path.basename(p).split("_")[0]))
    if not files:
        print(f"bench_outliers.py: no ADBench tables (*.npz) in {os.path.abspath(DATA)}; "
              "set SKDAE_ADBENCH to their folder", file=sys.stderr)
    out = {}
    for path in files:
        name = os.path.basename(path)[:-4].split("_", 1)[1]
        if names and name not in names:
            continue
        with np.load(path) as f:
            out[name] = f["X"].astype(np.float64), f["y"].astype(int)
    return out


def split(X, y, seed, max_train=None):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed)
    if max_train is not None and len(X_train) > max_train:
        X_train, _, y_train, _ = train_test_split(
            X_train, y_train, train_size=max_train, stratify=y_train, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_test


def ranks(table):
    """Mean rank (1 = best ROC AUC) of each detector over the datasets."""
    names = list(next(iter(table.values())))
    total = dict.fromkeys(names, 0.0)
    for row in table.values():
        aucs = np.array([row[n] for n in names])
        order = (-aucs).argsort().argsort() + 1.0
        for n, r in zip(names, order):
            # ties share the mean rank
            tie = aucs == row[n]
            total[n] += order[tie].mean() if tie.sum() > 1 else r
    return {n: total[n] / len(table) for n in names}


def print_table(title, columns, rows):
    print(f"\n{title}")
    widths = [max(len(str(c)), *(len(str(r[i])) for r in rows)) for i, c in enumerate(columns)]
    print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)), flush=True)


def run_adbench(datasets, seeds, detectors, max_train, auto_rows):
    """ROC AUC / AP / times per detector and dataset (means over seeds)."""
    res = {}
    for name, (X, y) in datasets.items():
        res[name] = {}
        for seed in seeds:
            X_train, X_test, y_test = split(X, y, seed, max_train)
            for det_name, make in detectors.items():
                r = evaluate(make, X_train, X_test, y_test, seed)
                res[name].setdefault(det_name, []).append(r)
                if auto_rows is not None and isinstance(r["det"], DAEOutlierDetector) \
                        and r["det"].contamination == "auto":
                    flagged = r["det"].predict(X_test) == -1
                    auto_rows.setdefault(name, []).append(
                        (flagged.mean(), y_test.mean(),
                         (y_test[flagged] == 1).mean() if flagged.any() else np.nan,
                         flagged[y_test == 1].mean()))
        line = "  ".join(f"{d} {np.mean([r['auc'] for r in v]):.3f}"
                         for d, v in res[name].items())
        print(f"[{name}, n={len(X)}, d={X.shape[1]}] {line}", flush=True)
    return res


def mnist_one_class(n_train, seed, detectors, digits):
    """ROC AUC of each detector for each digit of ``digits`` as the normal class."""
    sys.path.insert(0, HERE)
    import _peers
    X_tr = _peers._read_idx_images(os.path.join(MNIST, "train-images-idx3-ubyte.gz"))
    y_tr = _peers._read_idx_labels(os.path.join(MNIST, "train-labels-idx1-ubyte.gz"))
    X_te = _peers._read_idx_images(os.path.join(MNIST, "t10k-images-idx3-ubyte.gz"))
    y_te = _peers._read_idx_labels(os.path.join(MNIST, "t10k-labels-idx1-ubyte.gz"))
    out = {}
    for digit in digits:
        rng = np.random.RandomState([seed, digit])  # the same subsample in any run
        idx = np.flatnonzero(y_tr == digit)
        idx = rng.choice(idx, size=min(n_train, len(idx)), replace=False)
        Xd = X_tr[idx].astype(np.float64)
        out[digit] = {}
        for det_name, make in detectors.items():
            r = evaluate(make, Xd, X_te.astype(np.float64), (y_te != digit).astype(int), seed)
            out[digit][det_name] = r["auc"]
        print(f"[MNIST digit {digit}] " + "  ".join(
            f"{d} {a:.3f}" for d, a in out[digit].items()), flush=True)
    return out


def speed(datasets, epochs, max_rows):
    """Fit seconds of one autoencoder (skdae) and PyOD's AutoEncoder, the same
    epochs and batch size, on the first ``max_rows`` (standardised) rows of
    each table."""
    from pyod.models.auto_encoder import AutoEncoder
    rows = []
    for name, (X, _) in datasets.items():
        Xs = StandardScaler().fit_transform(X[:max_rows])
        t = {}
        for who in ("skdae", "pyod"):
            if who == "skdae":
                det = DAEOutlierDetector(n_estimators=1, trim_fraction=0.0,
                                         early_stopping=False, max_iter=epochs,
                                         random_state=0)
            else:
                det = AutoEncoder(epoch_num=epochs, batch_size=32, random_state=0,
                                  verbose=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                det.fit(Xs)
                t[who] = time.perf_counter() - t0
        rows.append([name, f"{t['skdae']:.2f}", f"{t['pyod']:.2f}",
                     f"{t['pyod'] / t['skdae']:.1f}"])
        print(rows[-1], flush=True)
    return rows


def _write_json(path, name, title, columns, rows, notes, extra):
    record = {
        "name": name, "title": title, "command": " ".join(["python"] + sys.argv),
        "columns": columns, "rows": rows, "notes": notes,
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "processor": platform.processor()},
        "tables": extra,
    }
    with open(path, "w") as f:
        json.dump(record, f, indent=1)


def adbench_table(res, n_seeds):
    """Columns and rows of a per-dataset table: ROC AUC / AP, then the means,
    the mean rank and the times."""
    dets = list(next(iter(res.values())))
    auc = {d: {n: np.mean([r["auc"] for r in res[d][n]]) for n in dets} for d in res}
    rank = ranks(auc)
    rows = [[d] + [f"{auc[d][n]:.3f} / {np.mean([r['ap'] for r in res[d][n]]):.3f}"
                   for n in dets] for d in res]

    def seed_spread(n):
        return np.std([np.mean([res[d][n][i]["auc"] for d in res]) for i in range(n_seeds)])

    rows.append(["mean ROC AUC (sd over seeds)"] + [
        f"{np.mean([auc[d][n] for d in res]):.3f} ({seed_spread(n):.3f})" for n in dets])
    rows.append(["mean AP"] + [
        f"{np.mean([np.mean([r['ap'] for r in res[d][n]]) for d in res]):.3f}"
        for n in dets])
    rows.append(["mean rank (ROC AUC)"] + [f"{rank[n]:.2f}" for n in dets])
    rows.append(["fit + score s (all tables, per seed)"] + [
        f"{sum(np.mean([r['fit'] + r['score'] for r in res[d][n]]) for d in res):.1f}"
        for n in dets])
    return ["dataset"] + dets, rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="2 seeds (1 for the deep table), training parts capped at "
                   "2000 rows, MNIST 2 digits of 500 images, 4 tables timed")
    p.add_argument("--datasets", default="", help="comma-separated names (e.g. cardio,WBC)")
    p.add_argument("--seeds", type=int, default=None, help="number of splits (default 5)")
    p.add_argument("--no-adbench", action="store_true",
                   help="skip the ADBench tables (e.g. to run MNIST or --speed alone)")
    p.add_argument("--no-main", action="store_true",
                   help="skip the full-protocol table (run only the capped deep table)")
    p.add_argument("--no-deep", action="store_true",
                   help="skip the capped table with PyOD's deep detectors")
    p.add_argument("--no-mnist", action="store_true")
    p.add_argument("--no-pyod", action="store_true")
    p.add_argument("--deep-max-train", type=int, default=1000,
                   help="training rows of the table with PyOD's deep detectors")
    p.add_argument("--deep-seeds", type=int, default=None,
                   help="splits of the table with PyOD's deep detectors (default 2)")
    p.add_argument("--digits", default=None,
                   help="comma-separated digits of the MNIST table (default all 10)")
    p.add_argument("--mnist-train", type=int, default=None,
                   help="training images per digit, a random subsample (default 1000, "
                   "500 with --quick)")
    p.add_argument("--ablation", action="store_true",
                   help="also run the detector's variants (robust-training rules)")
    p.add_argument("--only-ablation", action="store_true")
    p.add_argument("--speed", action="store_true",
                   help="also time one autoencoder against PyOD's AutoEncoder")
    p.add_argument("--epochs", type=int, default=10, help="epochs of --speed")
    p.add_argument("--json", default=None, metavar="PATH")
    args = p.parse_args()

    n_seeds = args.seeds or (2 if args.quick else 5)
    seeds = list(range(n_seeds))
    deep_seeds = list(range(args.deep_seeds or (1 if args.quick else 2)))
    max_train = 2000 if args.quick else None
    names = [n for n in args.datasets.split(",") if n]
    datasets = load_datasets(names)
    notes = [f"ADBench tables: {', '.join(datasets)}; {n_seeds} seeds (stratified 70/30 "
             "splits), StandardScaler fitted on each training part"
             + (f"; training parts capped at {max_train} rows" if max_train else "")
             + "; times are wall-clock seconds, to compare within one run."]
    detectors, deep = dict(SKLEARN), {}
    if not args.no_pyod:
        pyod, note = _pyod_factories()
        detectors.update({k: v for k, v in pyod.items() if k == "PyOD ECOD"})
        deep = {k: v for k, v in pyod.items() if k != "PyOD ECOD"}
        notes.append(note)
    if deep:
        notes.append(
            "PyOD's AutoEncoder and DeepSVDD (torch, one thread) take several ms per "
            "minibatch here plus PyOD's own overhead, hours for the full protocol: "
            "they run in a second table on training "
            f"parts capped at {args.deep_max_train} rows (a stratified subsample), "
            f"{len(deep_seeds)} seed(s), with every other detector on the same parts.")
    print("\n".join(notes), flush=True)

    tables, columns, rows = {}, None, []
    if not args.only_ablation and not args.no_adbench and not args.no_main:
        auto_rows = {}
        res = run_adbench(datasets, seeds, detectors, max_train, auto_rows)
        columns, rows = adbench_table(res, n_seeds)
        print_table("ROC AUC / average precision on the test parts (means over seeds)",
                    columns, rows)
        auto = [[d, f"{100 * np.mean([a[1] for a in v]):.1f}",
                 f"{100 * np.mean([a[0] for a in v]):.1f}",
                 _fmt_mean([a[2] for a in v]),
                 f"{np.mean([a[3] for a in v]):.2f}"] for d, v in auto_rows.items()]
        auto_cols = ["dataset", "true outliers %", "flagged %", "precision", "recall"]
        print_table('contamination="auto" on the test parts', auto_cols, auto)
        tables["auto"] = {"columns": auto_cols, "rows": auto}
    if not args.only_ablation and not args.no_adbench and not args.no_deep and deep:
        res = run_adbench(datasets, deep_seeds, {**detectors, **deep},
                          args.deep_max_train, None)
        dcols, drows = adbench_table(res, len(deep_seeds))
        print_table(f"With PyOD's deep detectors: training parts of at most "
                    f"{args.deep_max_train} rows, {len(deep_seeds)} seed(s)",
                    dcols, drows)
        tables["deep"] = {"columns": dcols, "rows": drows}

    if args.ablation or args.only_ablation:
        variants = {v: functools.partial(_variant, kw) for v, kw in ABLATION.items()}
        res = run_adbench(datasets, seeds, variants, max_train, None)
        abl = []
        for v in variants:
            per_seed = [np.mean([res[d][v][i]["auc"] for d in res]) for i in range(n_seeds)]
            abl.append([v, f"{np.mean(per_seed):.3f}", f"{np.std(per_seed):.3f}",
                        f"{sum(np.mean([r['fit'] for r in res[d][v]]) for d in res):.1f}"])
        abl_cols = ["variant", "mean ROC AUC", "sd over seeds", "fit s (all tables)"]
        print_table("Ablation (DAEOutlierDetector variants)", abl_cols, abl)
        tables["ablation"] = {"columns": abl_cols, "rows": abl}

    if not args.no_mnist and not args.only_ablation:
        digits = ([int(d) for d in args.digits.split(",")] if args.digits
                  else range(2 if args.quick else 10))
        if args.mnist_train is None:
            args.mnist_train = 500 if args.quick else 1000
        out = mnist_one_class(args.mnist_train, 0, SKLEARN, digits)
        mcols = ["digit"] + list(SKLEARN)
        mrows = [[d] + [f"{out[d][n]:.3f}" for n in SKLEARN] for d in out]
        mrows.append(["mean"] + [f"{np.mean([out[d][n] for d in out]):.3f}"
                                 for n in SKLEARN])
        print_table(f"One-class MNIST, ROC AUC ({args.mnist_train} training images of "
                    "the digit, all 10 000 test images)", mcols, mrows)
        tables["mnist"] = {"columns": mcols, "rows": mrows}

    if args.speed:
        timed = dict(list(datasets.items())[:4]) if args.quick else datasets
        srows = speed(timed, args.epochs, args.deep_max_train)
        scols = ["dataset", "skdae 1 DAE fit s", "PyOD AutoEncoder fit s",
                 "PyOD / skdae"]
        print_table(f"Fit time, {args.epochs} epochs, batch 32, the first "
                    f"{args.deep_max_train} rows of each table", scols, srows)
        tables["speed"] = {"columns": scols, "rows": srows}

    if args.json:
        _write_json(args.json, "outliers" if args.quick else "outliers-full",
                    "Outlier detection on ADBench's tables",
                    columns or [], rows, notes, tables)


if __name__ == "__main__":
    main()
