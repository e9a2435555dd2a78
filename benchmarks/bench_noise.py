"""Cost of each corruption process in a skdae training epoch.

Times ``DenoisingAutoencoder.partial_fit`` epochs on MNIST (60 000 x 784,
float32, 500 hidden units, plain SGD lr 0.1) for every corruption process
(none, masking, Gaussian, salt-and-pepper) and both losses, in one process,
configurations interleaved across repeats. Prints the median s/epoch, its
spread, and the ratio to the same loss without noise: what the noise costs
on top of the products.

Usage::

    SKDAE_DATA=../shared/data/mnist python benchmarks/bench_noise.py \\
        [--batch-size 256] [--epochs 2] [--repeats 3] [--n-samples 60000]
"""

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _peers  # noqa: E402

CORRUPTIONS = [None, "masking", "gaussian", "salt_and_pepper"]
LOSSES = ["cross_entropy", "squared_error"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=None)
    parser.add_argument("--level", type=float, default=0.25)
    parser.add_argument("--data-home", default=os.environ.get("SKDAE_DATA"))
    args = parser.parse_args()
    if not args.data_home:
        parser.error("set SKDAE_DATA or --data-home to the MNIST folder")

    from skdae import DenoisingAutoencoder

    X, _ = _peers.load_mnist(args.data_home, args.n_samples, np.float32)
    print(f"X {X.shape} float32, batch {args.batch_size}, noise level {args.level}, "
          f"{args.epochs} epoch(s) x {args.repeats} repeat(s), "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}")
    times = {(loss, c): [] for loss in LOSSES for c in CORRUPTIONS}
    warnings.simplefilter("ignore")
    for rep in range(args.repeats):
        configs = list(times)
        configs = configs[rep % len(configs):] + configs[:rep % len(configs)]
        for loss, corruption in configs:
            dae = DenoisingAutoencoder(
                n_components=500, loss=loss, corruption=corruption,
                corruption_level=args.level, solver="sgd", learning_rate=0.1,
                batch_size=args.batch_size, max_iter=1, random_state=rep)
            dae.partial_fit(X[:2000])  # warm-up
            for _ in range(args.epochs):
                tic = time.perf_counter()
                dae.partial_fit(X)
                times[loss, corruption].append(time.perf_counter() - tic)
    print("\n| loss | corruption | s/epoch (median) | spread (min-max) | / no noise |")
    print("|---|---|---:|---:|---:|")
    for (loss, corruption), ts in times.items():
        base = statistics.median(times[loss, None])
        med = statistics.median(ts)
        print(f"| {loss} | {corruption} | {med:.3f} | {min(ts):.3f}-{max(ts):.3f} | "
              f"{med / base:.2f} |")


if __name__ == "__main__":
    main()
