"""Peak memory of training from a memory-mapped file larger than a budget.

Writes a float32 file of --n-samples x --n-features uniform [0, 1) values
(default 640 000 x 784 = 2.0 GB, MNIST-shaped) to a temporary directory, then
trains one epoch of a DenoisingAutoencoder on it in three ways, each in its own
subprocess so that every peak is measured from a fresh interpreter:

chunks      skdae.partial_fit_chunks(est, X, chunk_size=...): partial_fit per
            block of rows; each block's pages are released after use
naive       for each block: est.partial_fit(X[start:stop]) (the file's pages
            stay mapped, so the resident set grows to the file's size)
in-memory   est.partial_fit(np.array(X)): the whole file copied into RAM
            (skip with --skip-in-memory)

Measures (names after scikit-learn's asv benchmarks):

time_fit      wall time of the epoch, s
peakmem_rss   peak resident set size (VmHWM of /proc/self/status): anonymous
              memory plus mapped file pages, MiB
peakmem_anon  peak anonymous (heap) memory, sampled every 5 ms from
              /proc/self/status RssAnon, MiB
base_rss      resident set after the imports, before training, MiB

The chunked run passes when its peak RSS stays under --budget-mb (default
768 MiB, well under the file's size); the script exits 1 otherwise. The file
is removed at the end, also on errors.

Memory is the subject; time_fit is indicative only. The training runs use
--threads BLAS and OpenMP threads (default 1, through threadpoolctl): on a
busy machine spinning threads make the timings erratic.

Usage::

    python benchmarks/bench_memmap.py
    python benchmarks/bench_memmap.py --n-samples 100000 --chunk-size 20000 --budget-mb 512
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MODES = ["chunks", "naive", "in-memory"]


def _proc_status():
    """VmHWM, VmRSS and RssAnon of this process in MiB (Linux), else psutil's RSS."""
    out = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                    out[key] = int(value.split()[0]) / 1024.0
    except OSError:
        import psutil

        rss = psutil.Process().memory_info().rss / 2**20
        out = {"VmRSS": rss, "RssAnon": rss}
    return out


class _PeakSampler(threading.Thread):
    """Samples the resident memory every `interval` seconds (the anonymous part
    has no kernel high-water mark)."""

    def __init__(self, interval=0.005):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_anon = 0.0
        self.peak_rss = 0.0
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            self._sample()
            time.sleep(self.interval)

    def _sample(self):
        status = _proc_status()
        self.peak_anon = max(self.peak_anon, status.get("RssAnon", 0.0))
        self.peak_rss = max(self.peak_rss, status.get("VmRSS", 0.0))

    def stop(self):
        self._done.set()
        self.join()
        self._sample()


def child(args):
    """Train one epoch in one mode; print a JSON line with the measures."""
    import numpy as np

    from skdae import DenoisingAutoencoder
    from skdae._incremental import partial_fit_chunks

    X = np.memmap(args.path, dtype=np.float32, mode="r",
                  shape=(args.n_samples, args.n_features))
    est = DenoisingAutoencoder(
        n_components=args.n_components, loss="cross_entropy",
        batch_size=args.batch_size, random_state=0,
    )
    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(args.threads)
    base = _proc_status()
    sampler = _PeakSampler()
    sampler.start()
    tic = time.perf_counter()
    if args.child == "chunks":
        partial_fit_chunks(est, X, chunk_size=args.chunk_size, shuffle_chunks=False)
    elif args.child == "naive":
        for start in range(0, args.n_samples, args.chunk_size):
            est.partial_fit(X[start:start + args.chunk_size])
    else:
        est.partial_fit(np.array(X))
    elapsed = time.perf_counter() - tic
    sampler.stop()
    limits.restore_original_limits()
    end = _proc_status()
    # VmHWM is this process's own peak; ru_maxrss is not used because Linux
    # carries the pre-exec peak of the forking parent over into it.
    peak = end.get("VmHWM", max(sampler.peak_rss, end["VmRSS"]))
    print(json.dumps({
        "mode": args.child, "time_fit": elapsed, "peakmem_rss": peak,
        "peakmem_anon": sampler.peak_anon, "base_rss": base.get("VmRSS", 0.0),
        "rows_seen": int(est.t_), "loss": float(est.loss_),
    }))


def write_file(path, n_samples, n_features, rows=50_000):
    """Write the data in blocks, so the writer's own memory stays small."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_samples, n_features))
    for start in range(0, n_samples, rows):
        stop = min(start + rows, n_samples)
        X[start:stop] = rng.random((stop - start, n_features), dtype=np.float32)
    X.flush()
    del X


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-samples", type=int, default=640_000)
    p.add_argument("--n-features", type=int, default=784)
    p.add_argument("--n-components", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--chunk-size", type=int, default=50_000)
    p.add_argument("--budget-mb", type=float, default=768.0)
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS and OpenMP threads in the training runs (default: %(default)s)")
    p.add_argument("--dir", default=tempfile.gettempdir(),
                   help="where to write the temporary file (default: %(default)s)")
    p.add_argument("--skip-in-memory", action="store_true")
    p.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    p.add_argument("--path", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)

    size_mb = args.n_samples * args.n_features * 4 / 2**20
    fd, path = tempfile.mkstemp(prefix="skdae-memmap-", suffix=".f32", dir=args.dir)
    os.close(fd)
    rows = []
    try:
        tic = time.perf_counter()
        write_file(path, args.n_samples, args.n_features)
        print(f"wrote {path}: {args.n_samples} x {args.n_features} float32 = "
              f"{size_mb:.0f} MiB in {time.perf_counter() - tic:.1f} s")
        modes = [m for m in MODES if not (args.skip_in_memory and m == "in-memory")]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH")]))
        for mode in modes:
            cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, "--path", path]
            for name in ("n_samples", "n_features", "n_components", "batch_size",
                         "chunk_size", "threads"):
                cmd += ["--" + name.replace("_", "-"), str(getattr(args, name))]
            out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        os.remove(path)
        print(f"removed {path}")

    print()
    print("command: python %s" % " ".join([os.path.relpath(__file__, REPO)] + sys.argv[1:]))
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus; file {size_mb:.0f} MiB; "
          f"chunk {args.chunk_size} rows = {args.chunk_size * args.n_features * 4 / 2**20:.0f} "
          f"MiB; DAE h={args.n_components}, batch {args.batch_size}, one epoch, "
          f"{args.threads} thread(s)")
    header = (f"{'mode':<10} {'time_fit s':>10} {'peakmem_rss MiB':>16} "
              f"{'peakmem_anon MiB':>17} {'base_rss MiB':>13} {'rows':>9} {'loss':>9}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['mode']:<10} {r['time_fit']:>10.2f} {r['peakmem_rss']:>16.0f} "
              f"{r['peakmem_anon']:>17.0f} {r['base_rss']:>13.0f} {r['rows_seen']:>9d} "
              f"{r['loss']:>9.3f}")
    chunked = next(r for r in rows if r["mode"] == "chunks")
    ok = chunked["peakmem_rss"] <= args.budget_mb
    print()
    print(f"budget {args.budget_mb:.0f} MiB for the chunked run (file {size_mb:.0f} MiB): "
          f"peak RSS {chunked['peakmem_rss']:.0f} MiB -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
