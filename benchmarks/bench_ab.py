"""Two builds, epoch by epoch: the reference rows A B B A ..., one worker per build.

The one A/B tool of the benchmarks. A fresh process for every measurement
costs several seconds of start-up and data loading per epoch measured; on a
shared machine whose speed drifts by tens of percent within a minute, few
pairs then fit in a run and their ratios scatter. Here each build gets one
long-lived worker process per row (the data loaded and the model built
once); the driver then asks the two workers for one timed epoch at a time,
alternating ``A B``, ``B A``, ... with a short pause between, so that both
builds see the same machine within seconds of each other, and
dozens of pairs fit in a few minutes. An idle worker waits on a pipe and
uses no CPU.

Rows (``--rows``), the reference rows of ``benchmarks/README.md``
-----------------------------------------------------------------
f32-b20     DenoisingAutoencoder(500, loss="cross_entropy", corruption="masking",
            corruption_level=0.25, solver="sgd", learning_rate=0.1), the 60 000
            MNIST training images in float32, batch 20: one ``partial_fit`` per
            timed epoch (after one on 2 000 rows)
f32-b256    the same at batch 256
f64-b256    the same in float64, batch 256
csr         ``bench_sparse.py``'s MNIST row: a fresh fit of one epoch of
            DenoisingAutoencoder(100, ..., batch_size=256) on the CSR matrix
dense-twin  the same fit on the dense array
dae20-30k   ``bench_contention.py``'s ``dae20``: the first 30 000 images, batch 20, a
            fresh model per timed epoch (one ``partial_fit``)
dae256-30k  its ``dae256``, the same at batch 256
finetune    one fine-tuning epoch of ``sda_mnist.py --quick`` (3 x 1000 sigmoid
            layers, SGD lr 0.05 momentum 0.9, batch 5, 10 000 images), timed as a
            ``fit`` with ``pretrain=False`` and ``max_iter=1``

Per row the table gives the median epoch of each build, their ratio, the median
and the quartiles of the per-pair ratios A / B, the ratio of each build's
fastest quarter of epochs (the least disturbed ones), and the ratio of the
CPU seconds the two workers used (all threads). ``--threads`` sets
OMP_NUM_THREADS (and the BLAS variables) for both, ``--b-threads`` for B alone:
with ``--compare-python`` naming this same interpreter, that compares two thread
counts of one build.

Usage::

    python benchmarks/bench_ab.py --compare-python OTHER/bin/python --unset-openblas-coretype
    python benchmarks/bench_ab.py --compare-python OTHER/bin/python --rows f32-b20 --pairs 40
    python benchmarks/bench_ab.py --compare-python OTHER/bin/python --quick   # smoke run
    python benchmarks/bench_ab.py --compare-python "$(which python)" --rows f32-b20 \
        --threads 8 --b-threads 2                   # 8 threads against 2, one build
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _runner  # noqa: E402

#: row -> (what, worker settings)
ROWS = {
    "f32-b20": ("float32, batch 20, 60 000 x 784, h 500",
                dict(kind="dae", n=60000, batch=20, dtype="float32", h=500)),
    "f32-b256": ("float32, batch 256, 60 000 x 784, h 500",
                 dict(kind="dae", n=60000, batch=256, dtype="float32", h=500)),
    "f64-b256": ("float64, batch 256, 60 000 x 784, h 500",
                 dict(kind="dae", n=60000, batch=256, dtype="float64", h=500)),
    "csr": ("CSR MNIST fit, 1 epoch, h 100, batch 256",
            dict(kind="fit", n=60000, batch=256, dtype="float32", h=100, sparse=True)),
    "dense-twin": ("dense MNIST fit, 1 epoch, h 100, batch 256",
                   dict(kind="fit", n=60000, batch=256, dtype="float32", h=100, sparse=False)),
    "dae20-30k": ("bench_contention's dae20: fresh model, 30 000 rows, batch 20",
                  dict(kind="fresh", n=30000, batch=20, dtype="float32", h=500)),
    "dae256-30k": ("bench_contention's dae256: fresh model, 30 000 rows, batch 256",
                   dict(kind="fresh", n=30000, batch=256, dtype="float32", h=500)),
    "finetune": ("SdA fine-tuning epoch, batch 5, 10 000 images",
                 dict(kind="finetune", n=10000)),
}


def _worker(cfg):
    """Load the row's data, build its model, then time one epoch per line read
    from stdin; each answer is one JSON line."""
    import warnings

    import numpy as np
    import scipy.sparse as sp

    from skdae import DenoisingAutoencoder
    from skdae.datasets import fetch_mnist

    warnings.simplefilter("ignore")
    X, y = fetch_mnist(subset="train", return_X_y=True, data_home=cfg["data_home"],
                       download_if_missing=False)
    X, y = X[:cfg["n"]], np.asarray(y[:cfg["n"]])

    def dae(h, batch, **kw):
        return DenoisingAutoencoder(
            n_components=h, loss="cross_entropy", corruption="masking",
            corruption_level=0.25, solver="sgd", learning_rate=0.1, batch_size=batch,
            max_iter=1, random_state=0, **kw)

    if cfg["kind"] == "dae":
        X = X.astype(cfg["dtype"])
        model = dae(cfg["h"], cfg["batch"])
        model.partial_fit(X[:2000])

        def epoch():
            model.partial_fit(X)
    elif cfg["kind"] == "fresh":
        X = X.astype(cfg["dtype"])
        dae(cfg["h"], cfg["batch"]).partial_fit(X[:2000])

        def epoch():
            dae(cfg["h"], cfg["batch"]).partial_fit(X)
    elif cfg["kind"] == "fit":
        if cfg["sparse"]:
            X = sp.csr_matrix(X)

        def epoch():
            dae(cfg["h"], cfg["batch"], tol=0.0).fit(X)
    else:
        import sda_mnist

        clf = sda_mnist.make_sda(sda_mnist.QUICK, 0, pretrain=False, verbose=0)
        clf.set_params(early_stopping=False, n_iter_no_change=10**6, max_iter=1)

        def epoch():
            clf.fit(X, y)

    ready = {"skdae_file": sys.modules["skdae"].__file__}
    try:
        import threadpoolctl

        ready["threadpools"] = threadpoolctl.threadpool_info()
    except ImportError:
        pass
    print(json.dumps(ready), flush=True)
    for _ in sys.stdin:
        wall, cpu = time.perf_counter(), time.process_time()
        epoch()
        print(json.dumps({"wall": time.perf_counter() - wall,
                          "cpu": time.process_time() - cpu}), flush=True)


class Worker:
    """One build's long-lived worker process for one row."""

    def __init__(self, args, build, row, threads):
        cfg = dict(ROWS[row][1], data_home=args.data_home)
        self.build, self.walls, self.cpus = build, [], []
        self.proc = subprocess.Popen(
            [build.python, os.path.abspath(__file__), "--worker", json.dumps(cfg)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=_runner.worker_env(args, threads=threads, build=build),
            cwd=tempfile.gettempdir())
        self.ready = self._answer()
        _runner.check_worker_build(self.ready, build)

    def _answer(self):
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the %s worker ended early (exit %s)"
                             % (self.build.label, self.proc.wait()))
        return json.loads(line)

    def epoch(self, keep=True):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        res = self._answer()
        if keep:
            self.walls.append(res["wall"])
            self.cpus.append(res["cpu"])
        return res["wall"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def measure(args, row):
    a_build, b_build = _runner.builds(args)
    workers = [Worker(args, a_build, row, args.threads),
               Worker(args, b_build, row, args.b_threads or args.threads)]
    seen = set()
    for w in workers:
        _runner.print_threadpools(w.ready, "%s %s" % (row, w.build.label), seen)
    try:
        for w in workers:  # warm-up epoch, not counted
            w.epoch(keep=False)
        for i in range(args.pairs):
            times = {}
            for w in _runner.ab_order(workers, i):
                time.sleep(args.pause)
                times[w.build.label] = w.epoch()
            print("  %-10s pair %2d  A %.3f s  B %.3f s  A/B %.3f"
                  % (row, i, times["A"], times["B"], times["A"] / times["B"]), flush=True)
    finally:
        for w in workers:
            w.close()
    return workers


def summary(workers):
    a, b = workers
    pairs = [x / y for x, y in zip(a.walls, b.walls)]
    q1, _, q3 = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else (pairs[0],) * 3
    k = max(1, len(a.walls) // 4)
    fast = statistics.mean(sorted(a.walls)[:k]) / statistics.mean(sorted(b.walls)[:k])
    return dict(a=statistics.median(a.walls), b=statistics.median(b.walls),
                paired=statistics.median(pairs), q1=q1, q3=q3, fast=fast,
                cpu=statistics.median(a.cpus) / statistics.median(b.cpus), n=len(pairs))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", default="f32-b20,f32-b256,f64-b256,csr,dense-twin,finetune",
                   help="comma-separated subset of %s" % ",".join(ROWS))
    p.add_argument("--pairs", type=int, default=12, help="timed A/B pairs per row")
    p.add_argument("--pause", type=float, default=0.3,
                   help="seconds between two epochs (lets the other build's threads "
                   "go to sleep)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--b-threads", type=int, default=None,
                   help="threads of build B (default: --threads)")
    p.add_argument("--data-home", default=None,
                   help="folder with the MNIST IDX files (default: SKDAE_DATA)")
    p.add_argument("--quick", action="store_true", help="2 pairs of f32-b256 and csr")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--compare-python", default=None, metavar="PATH",
                   help="build B: another interpreter (another build of skdae, e.g. "
                   "OTHER/bin/python), timed against this one (build A) row by row. It runs "
                   "without PYTHONPATH, so it imports the skdae installed in its own "
                   "environment (the header says which). Required")
    _runner.add_runner_arguments(p)
    a = p.parse_args(argv)
    if a.worker is None and a.compare_python is None:
        p.error("--compare-python is required: this script compares two builds")
    if a.quick:
        a.rows, a.pairs = "f32-b256,csr", 2
    a.rows = a.rows.split(",")
    unknown = sorted(set(a.rows) - set(ROWS))
    if unknown:
        p.error("unknown rows %s; choose from %s" % (unknown, ",".join(ROWS)))
    return _runner.finish_runner_arguments(a)


def main(argv=None):
    args = parse_args(argv)
    if args.worker is not None:
        _worker(json.loads(args.worker))
        return
    _runner.print_machine(args, __file__)
    print("threads: A %d, B %d; %d pairs per row, alternating A B / B A, %.1f s apart"
          % (args.threads, args.b_threads or args.threads, args.pairs, args.pause), flush=True)
    results = {}
    for row in args.rows:
        with _runner.bench_lock(args.lock):
            _runner.wait_quiet(args)
            results[row] = summary(measure(args, row))
    print()
    print("| row | what | A s | B s | A / B of medians | paired A / B (quartiles) "
          "| fastest quarter A / B | CPU A / B | pairs |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for row, r in results.items():
        print("| %s | %s | %.3f | %.3f | %.3f | %.3f (%.3f-%.3f) | %.3f | %.3f | %d |"
              % (row, ROWS[row][0], r["a"], r["b"], r["a"] / r["b"], r["paired"], r["q1"],
                 r["q3"], r["fast"], r["cpu"], r["n"]))
    if args.json_out:
        _runner.append_json(args, {"script": "bench_ab", "results": results})


if __name__ == "__main__":
    main()
