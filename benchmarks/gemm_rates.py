"""sgemm rates of this machine's OpenBLAS at the reference workload's shapes.

What bounds a training epoch from below: one epoch of the reference workload
(MNIST, d = 784, h = 500) is 10 N d h = 2.35e11 FLOP, all of it in products of
the shapes below. This script times ``np.matmul(A, B, out=C)`` on each shape,
in a subprocess per thread count (OpenBLAS reads its thread count at import),
and prints GFLOP/s (best and median of ``--repeats`` timings) plus the epoch
time that rate would give. The large square product shows the machine's peak.

Usage::

    python benchmarks/gemm_rates.py [--threads 1 2] [--repeats 7] [--unset-openblas-coretype]
    python benchmarks/gemm_rates.py --json gemm.json    # the table for run.py
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _runner  # noqa: E402

EPOCH_FLOP = 10 * 60_000 * 784 * 500

# (label, m, k, n): C (m, n) = A (m, k) @ B (k, n)
SHAPES = [
    ("peak: 4096^3", 4096, 4096, 4096),
    ("B=256 encode / backprop (256x784 @ 784x500)", 256, 784, 500),
    ("B=256 decode (256x500 @ 500x784)", 256, 500, 784),
    ("B=256 tied gradient (500x512 @ 512x784)", 500, 512, 784),
    ("B=20 encode / backprop (20x784 @ 784x500)", 20, 784, 500),
    ("B=20 decode (20x500 @ 500x784)", 20, 500, 784),
    ("B=20 tied gradient (500x40 @ 40x784)", 500, 40, 784),
    ("B=20, half of h per thread (20x784 @ 784x250)", 20, 784, 250),
]


def worker(repeats, smoke):
    import numpy as np

    rng = np.random.default_rng(0)
    rows = []
    for label, m, k, n in SHAPES[1:] if smoke else SHAPES:
        A = rng.random((m, k), dtype=np.float32)
        B = rng.random((k, n), dtype=np.float32)
        C = np.empty((m, n), np.float32)
        flop = 2.0 * m * k * n
        calls = 1 if smoke else max(3, int(1e10 / flop))
        times = []
        for _ in range(repeats):
            tic = time.perf_counter()
            for _ in range(calls):
                np.matmul(A, B, out=C)
            times.append((time.perf_counter() - tic) / calls)
        rows.append({"shape": label, "best": flop / min(times) / 1e9,
                     "median": flop / statistics.median(times) / 1e9})
    print(json.dumps({"rows": rows, "blas": _runner.blas_pools()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--unset-openblas-coretype", action="store_true",
                        help="remove OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for the workers")
    parser.add_argument("--smoke", action="store_true",
                        help="one call per timing, no 4096^3 product (run.py --smoke)")
    _runner.add_json_argument(parser)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.repeats, args.smoke)
        return
    print(f"epoch = {EPOCH_FLOP:.3g} FLOP; 'epoch s' = that work at the median rate")
    rates, kernels = {}, set()
    for threads in args.threads:
        env = _runner.worker_env(args, threads=threads)
        out = json.loads(subprocess.run(
            [sys.executable, __file__, "--worker", "--repeats", str(args.repeats)]
            + ["--smoke"] * args.smoke, env=env, check=True, capture_output=True,
            text=True).stdout)
        rates[threads] = out["rows"]
        kernels |= {"%s's: %s" % (p.get("of"), p.get("kernel")) for p in out["blas"]}
    columns = ["shape"] + ["GFLOP/s, %d thread%s" % (t, "s" * (t > 1)) for t in args.threads]
    columns.append("epoch s at %d threads' rate" % args.threads[-1])
    rows = [[row["shape"]] + [round(rates[t][i]["median"]) for t in args.threads]
            + [round(EPOCH_FLOP / rates[args.threads[-1]][i]["median"] / 1e9, 2)]
            for i, row in enumerate(rates[args.threads[0]])]
    t = _runner.table(
        "gemm", "The GEMM floor: sgemm rates (`np.matmul(A, B, out=C)`, float32, median of "
        "%d timings) at the reference workload's shapes" % args.repeats, columns, rows,
        ["An epoch of the reference workload (MNIST, h = 500) is 10·N·d·h = %.3g FLOP, all "
         "of it in products of these shapes; the last column is that work at the row's "
         "rate. OpenBLAS kernels in the workers: %s." % (EPOCH_FLOP, ", ".join(
             sorted(kernels)))])
    print(_runner.markdown(t))
    _runner.write_json(args.json, __file__, t)


if __name__ == "__main__":
    main()
