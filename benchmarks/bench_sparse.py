"""Sparse (CSR) input against densifying first: fit time and peak memory.

Two workloads, each measured in fresh subprocesses (so peak RSS is the fit's
own), alternating sparse and dense over ``--repeats``:

1. a synthetic bag-of-words-like matrix (default 100 000 x 20 000 at 0.5 %
   density, float32, values in [0, 1]): the dense row first materialises the
   ``X.toarray()`` copy the user would otherwise have to make;
2. MNIST as CSR (about 19 % of the pixels are non-zero) against the dense
   array (skipped when MNIST is not found).

Where the time goes: the encoder product ``X~ W^T`` and the encoder half of
the weight gradient cost ``2 nnz h`` each on the sparse path instead of
``2 N d h``; the decoder (``H W``), the back-propagation to the hidden layer
(``G_Z W^T``) and the decoder half of the gradient (``G_Z^T H``) stay dense
(``6 N d h``): reconstructing every input coordinate is dense work whatever
the input's sparsity. So sparse input wins on memory always, and on time by
at most 40 % of the dense flops (less in practice: scattered updates run
below GEMM speed).

Usage::

    python benchmarks/bench_sparse.py                 # both workloads
    python benchmarks/bench_sparse.py --quick         # 20 000 x 5 000 smoke run
    python benchmarks/bench_sparse.py --json csr.json # the table for run.py

Two builds are compared on the MNIST rows with ``bench_ab.py --rows
csr,dense-twin``.
"""

import argparse
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _runner  # noqa: E402


def _child(args):
    import warnings

    import numpy as np
    import scipy.sparse as sp

    from skdae import DenoisingAutoencoder

    if args.workload == "synthetic":
        # built from coordinates (scipy.sparse.random would allocate an index
        # array of n_samples * n_features entries)
        rng = np.random.RandomState(0)
        nnz = int(args.n_samples * args.n_features * args.density)
        X = sp.csr_matrix(
            (rng.uniform(0, 1, nnz).astype(np.float32),
             (rng.randint(0, args.n_samples, nnz), rng.randint(0, args.n_features, nnz))),
            shape=(args.n_samples, args.n_features),
        )
        X.data = np.minimum(X.data, 1)  # duplicates were summed
    else:
        from skdae.datasets import fetch_mnist

        try:
            X = sp.csr_matrix(fetch_mnist(subset="train", return_X_y=True,
                                          download_if_missing=False)[0])
        except OSError:
            _runner.print_result({"error": "skipped: MNIST not found (set SKDAE_DATA)"})
            return
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tic = time.perf_counter()
    if args.mode == "dense":
        X = X.toarray()
    dae = DenoisingAutoencoder(
        n_components=args.n_components, loss="cross_entropy", corruption="masking",
        corruption_level=0.25, solver="sgd", learning_rate=0.1,
        batch_size=args.batch_size, max_iter=args.epochs, tol=0.0, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dae.fit(X)
    fit = time.perf_counter() - tic
    _runner.print_result({
        "time_fit": fit,
        "peakmem_fit_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_data_mb": rss_data,
        "loss": dae.loss_,
        "shape": list(X.shape),
        "density": float(X.nnz / (X.shape[0] * X.shape[1])) if sp.issparse(X) else None,
        "skdae_file": sys.modules["skdae"].__file__,
    })


def _run(args, workload, mode):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--workload", workload,
           "--mode", mode, "--n-samples", str(args.n_samples),
           "--n-features", str(args.n_features), "--density", str(args.density),
           "--n-components", str(args.n_components), "--batch-size", str(args.batch_size),
           "--epochs", str(args.epochs)]
    res = _runner.run_worker(args, cmd, _runner.worker_env(args))
    _runner.append_json(args, dict(res, workload=workload, mode=mode))
    return res


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workload", default="synthetic", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="sparse", help=argparse.SUPPRESS)
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=20_000)
    parser.add_argument("--density", type=float, default=0.005)
    parser.add_argument("--n-components", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true",
                        help="20 000 x 5 000 synthetic matrix, one repeat")
    parser.add_argument("--workloads", default="synthetic,mnist")
    _runner.add_runner_arguments(parser)
    args = parser.parse_args()
    if args.child:
        return _child(args)
    if args.quick:
        args.n_samples, args.n_features, args.repeats = 20_000, 5_000, 1
    _runner.finish_runner_arguments(args)
    _runner.print_machine(args, __file__)
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"cores={os.cpu_count()}; {args.epochs} epoch(s), h={args.n_components}, "
          f"batch {args.batch_size}, SGD lr 0.1, masking 25 %, cross-entropy; "
          f"medians of {args.repeats} repeat(s), each a fresh process")
    rows = []
    for workload in args.workloads.split(","):
        results = {mode: [] for mode in ("sparse", "dense")}
        for r in range(args.repeats):
            for mode in _runner.ab_order(results, r):
                res = _run(args, workload, mode)
                results[mode].append(res)
                print(f"  rep {r} {workload} {mode}: " + (
                    res["error"] if "error" in res else
                    f"{res['time_fit']:.2f} s [other procs: "
                    f"{_runner.fmt(res['other_cores'], '.2f')} cores]"), flush=True)
        label = (f"synthetic {args.n_samples} × {args.n_features} @ {args.density:.1%}"
                 if workload == "synthetic" else "MNIST 60 000 × 784 (~19 %)")
        for mode in ("sparse", "dense"):
            ok = [r for r in results[mode] if "error" not in r]
            if not ok:
                rows.append([label, mode, results[mode][0]["error"]] + [None] * 4)
                continue
            times = [r["time_fit"] for r in ok]
            other = max(r["other_cores"] or 0.0 for r in ok)
            rows.append([label, "CSR" if mode == "sparse" else "densified",
                         round(statistics.median(times), 2),
                         f"{min(times):.2f}-{max(times):.2f}",
                         round(max(r["peakmem_fit_mb"] for r in ok)),
                         round(max(r["rss_after_data_mb"] for r in ok)),
                         round(ok[-1]["loss"], 3)])
            if other > args.quiet_cores:
                print(f"  WARNING: other processes used {other:.2f} cores during {label} "
                      f"{mode}")
    t = _runner.table(
        "csr", f"Sparse (CSR) input against densifying first: one epoch of fit, "
        f"h = {args.n_components}, batch {args.batch_size}, SGD lr 0.1, masking 25 %, "
        f"cross-entropy; medians of {args.repeats} repeat(s), each a fresh process",
        ["data", "input", "time_fit s", "spread", "peakmem_fit MB", "data MB", "final loss"],
        rows, ["densified: the fit includes the `X.toarray()` copy the user would "
               "otherwise make. Equal final losses: the CSR engine makes the same masking "
               "decisions and updates as the dense one."])
    print("\n" + _runner.markdown(t))
    _runner.write_json(args.json, __file__, t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
