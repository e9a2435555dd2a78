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
    python benchmarks/bench_sparse.py --workloads mnist --compare-python OTHER/bin/python

``--compare-python`` runs every row with a second interpreter (another build
of skdae) too, alternating the two builds in the same run, and adds its
median and the ratio of the two builds.
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

        X = sp.csr_matrix(fetch_mnist(subset="train", return_X_y=True,
                                      download_if_missing=False)[0])
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


def _run(args, workload, mode, build):
    cmd = [build.python, os.path.abspath(__file__), "--child", "--workload", workload,
           "--mode", mode, "--n-samples", str(args.n_samples),
           "--n-features", str(args.n_features), "--density", str(args.density),
           "--n-components", str(args.n_components), "--batch-size", str(args.batch_size),
           "--epochs", str(args.epochs)]
    res = _runner.run_worker(args, cmd, _runner.worker_env(args, build=build))
    _runner.check_worker_build(res, build)
    _runner.append_json(args, dict(res, workload=workload, mode=mode, build=build.label,
                                   python=build.python))
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
    _runner.add_runner_arguments(parser, compare_help="every row")
    args = parser.parse_args()
    if args.child:
        return _child(args)
    if args.quick:
        args.n_samples, args.n_features, args.repeats = 20_000, 5_000, 1
    _runner.finish_runner_arguments(args)
    _runner.print_machine(args, __file__)
    builds = _runner.builds(args)
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"cores={os.cpu_count()}; {args.epochs} epoch(s), h={args.n_components}, "
          f"batch {args.batch_size}, SGD lr 0.1, masking 25 %, cross-entropy; "
          f"medians of {args.repeats} repeat(s), each a fresh process"
          + ("; builds alternate A B, then B A" if len(builds) > 1 else ""))
    head = (f"{'workload':<34} {'input':<7} {'time_fit s (median)':>20} {'spread':>15} "
            f"{'peakmem_fit MB':>15} {'data MB':>8} {'final loss':>11} {'other load':>10}")
    if len(builds) > 1:
        head += f" {'B: time_fit s':>14} {'B: loss':>9} {'A / B':>6}"
    lines = []
    for workload in args.workloads.split(","):
        results = {(mode, b.label): [] for mode in ("sparse", "dense") for b in builds}
        for r in range(args.repeats):
            for mode in ("sparse", "dense"):
                for b in _runner.ab_order(builds, r):
                    res = _run(args, workload, mode, b)
                    results[mode, b.label].append(res)
                    print(f"  rep {r} {workload} {mode} {b.label}: " + (
                        res["error"] if "error" in res else
                        f"{res['time_fit']:.2f} s [other procs: "
                        f"{_runner.fmt(res['other_cores'], '.2f')} cores]"), flush=True)
        label = (f"synthetic {args.n_samples}x{args.n_features} @{args.density:.1%}"
                 if workload == "synthetic" else "MNIST 60000x784 (~19 %)")
        for mode in ("sparse", "dense"):
            runs = results[mode, "A"]
            ok = [r for r in runs if "error" not in r]
            if not ok:
                lines.append(f"{label:<34} {mode:<7} skipped: {runs[0]['error']}")
                continue
            times = [r["time_fit"] for r in ok]
            other = max(r["other_cores"] or 0.0 for r in ok)
            line = (f"{label:<34} {mode:<7} {statistics.median(times):>20.2f} "
                    f"{min(times):>7.2f}-{max(times):<7.2f} "
                    f"{max(r['peakmem_fit_mb'] for r in ok):>15.0f} "
                    f"{max(r['rss_after_data_mb'] for r in ok):>8.0f} {ok[-1]['loss']:>11.3f} "
                    f"{other:>8.2f}{' !' if other > args.quiet_cores else '  '}")
            if len(builds) > 1:
                ok_b = [r for r in results[mode, "B"] if "error" not in r]
                med_b = _runner.median([r["time_fit"] for r in ok_b])
                line += (f" {_runner.fmt(med_b, '.2f'):>14} "
                         f"{_runner.fmt(ok_b[-1]['loss'] if ok_b else None, '.3f'):>9} "
                         f"{_runner.fmt(_runner.ratio(statistics.median(times), med_b), '.3f'):>6}")
            lines.append(line)
    print()
    print(head)
    print("\n".join(lines))
    print("other load = max cores used by other processes during the A runs ('!' = more "
          "than --quiet-cores: timings disturbed)"
          + ("; A / B = median time of build A / median time of build B" if len(builds) > 1
             else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
