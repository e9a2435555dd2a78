"""sgemm rates of this machine's OpenBLAS at the reference workload's shapes.

What bounds a training epoch from below: one epoch of the reference workload
(MNIST, d = 784, h = 500) is 10 N d h = 2.35e11 FLOP, all of it in products of
the shapes below. This script times ``np.matmul(A, B, out=C)`` on each shape,
in a subprocess per thread count (OpenBLAS reads its thread count at import),
and prints GFLOP/s (best and median of ``--repeats`` timings) plus the epoch
time that rate would give. The large square product shows the machine's peak.

Usage::

    python benchmarks/gemm_rates.py [--threads 1 2] [--repeats 7] [--unset-openblas-coretype]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

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


def worker(repeats):
    import numpy as np

    rng = np.random.default_rng(0)
    rows = []
    for label, m, k, n in SHAPES:
        A = rng.random((m, k), dtype=np.float32)
        B = rng.random((k, n), dtype=np.float32)
        C = np.empty((m, n), np.float32)
        flop = 2.0 * m * k * n
        calls = max(3, int(1e10 / flop))
        times = []
        for _ in range(repeats):
            tic = time.perf_counter()
            for _ in range(calls):
                np.matmul(A, B, out=C)
            times.append((time.perf_counter() - tic) / calls)
        rows.append({"shape": label, "best": flop / min(times) / 1e9,
                     "median": flop / statistics.median(times) / 1e9})
    print(json.dumps(rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--unset-openblas-coretype", action="store_true",
                        help="remove OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for the workers")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.repeats)
        return
    print(f"epoch = {EPOCH_FLOP:.3g} FLOP; 'epoch s' = that work at the median rate")
    for threads in args.threads:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads),
                   OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        if args.unset_openblas_coretype:
            env.pop("OPENBLAS_CORETYPE", None)
            env.pop("OPENBLAS_L2_SIZE", None)
        out = subprocess.run(
            [sys.executable, __file__, "--worker", "--repeats", str(args.repeats)],
            env=env, check=True, capture_output=True, text=True).stdout
        print(f"\n{threads} thread(s), OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE', '-')}")
        print("| shape | GFLOP/s best | GFLOP/s median | epoch s |")
        print("|---|---:|---:|---:|")
        for row in json.loads(out):
            print(f"| {row['shape']} | {row['best']:.0f} | {row['median']:.0f} | "
                  f"{EPOCH_FLOP / row['median'] / 1e9:.2f} |")


if __name__ == "__main__":
    main()
