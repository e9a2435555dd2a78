"""Two engine threads on a busy machine: seconds per epoch, quiet and busy, 2 threads and 1.

Workloads (``--workloads``)
---------------------------
dae20     MNIST, the first 30 000 training rows, float32; DenoisingAutoencoder(500,
          loss="cross_entropy", corruption="masking", corruption_level=0.25,
          solver="sgd", learning_rate=0.1), batch 20: bench_training.py's skdae
          peer, one ``partial_fit`` of a fresh model per timed epoch after an
          untimed warm-up epoch of a throwaway model on 2 000 rows
dae256    the same at batch 256
finetune  one fine-tuning epoch of ``sda_mnist.py --quick``: SdAClassifier with
          3 x 1000 sigmoid layers and a softmax layer, SGD lr 0.05, momentum
          0.9, batch 5, on the first 10 000 training images; ``pretrain=False``
          (an epoch costs the same whatever weights it starts from) and
          ``early_stopping=False`` (no validation pass between epochs); the
          epoch is timed from the classifier's verbose lines
torch20   bench_training.py's torch peer (hand-written tied DAE) at batch 20, on
          the dae20 data; only if torch imports

Configurations (``--configs``), each measurement in its own process
-------------------------------------------------------------------
quiet-2 / quiet-1   OMP_NUM_THREADS (and OPENBLAS/MKL_NUM_THREADS) = 2 or 1
busy-2 / busy-1     the same while one other process spins on one of the
                    cores: started by this script for each measurement
                    (pure-Python loop pinned with os.sched_setaffinity to
                    --busy-cpu) and ended by its pid when the measurement ends,
                    on Ctrl-C, on an exception and at exit; it also ends by
                    itself if this script dies

guide, guide_dae, stack, grid1, grid2 (issue 26.1: small problems, digits / 16,
          default settings, seconds per fit): the user guide's stacking snippet
          (DAE(256) -> DAE(128), cross-entropy, -> LogisticRegression(max_iter=1000)),
          its two DenoisingAutoencoder layers alone (skdae's share of it),
          StackedDenoisingAutoencoder((128, 64)), and a GridSearchCV of
          DenoisingAutoencoder(loss="cross_entropy") over n_components (64, 128) x
          corruption_level (0.1, 0.3), cv=3, with n_jobs=1 and n_jobs=2

Targets: busy-2 / busy-1 <= 1.15 for dae20, dae256 and finetune (issue 15) and
for the small problems (guide, guide_dae, stack, grid1, grid2; issue 26.1). Two
builds are compared with ``bench_ab.py`` (its rows dae20-30k, dae256-30k and
finetune are these workloads, epoch by epoch).

The two points that hold today (printed in their own table; ``--no-holds``
skips them): (a) dae20 with OMP_NUM_THREADS=4 and 8 on the 2 cores is as fast
as with 2 (ratio <= 1.05 counted as "as fast"); (b) a 4-candidate
GridSearchCV of the DAE (n_components x corruption_level, scored by the DAE's
own ``score``, the reconstruction log-likelihood; ``refit=False``) on a few
thousand MNIST rows runs faster with ``n_jobs=2`` and joblib's threading
backend, and with a dask ``LocalCluster(processes=False, threads_per_worker=2)``
through joblib's dask backend, than with ``n_jobs=1``.

Every configuration runs once per repeat; on odd repeats the order is reversed
(A B ..., then ... B A), so that drift hits all of them alike. The tables give
medians over ``--repeats`` x ``--epochs``; ratios are of medians of the same
run. "other load" is what processes other than the worker (and the busy
process) used meanwhile, from /proc/stat: a "!" means the timing was
disturbed.

Usage::

    python benchmarks/bench_contention.py --quick                  # smoke run
    python benchmarks/bench_contention.py --unset-openblas-coretype   # the whole table
    python benchmarks/bench_contention.py --json contention.json      # the tables for run.py
    python benchmarks/bench_contention.py --no-holds --repeats 5 --configs busy-2,busy-1 \\
        --workloads dae20,dae256,finetune,guide,guide_dae,stack,grid1,grid2  # issue 26.1
"""

import argparse
import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import _peers  # noqa: E402
import _runner  # noqa: E402
from _runner import fmt, median, ratio  # noqa: E402

#: workload -> (bench peer, batch size, what the row is)
WORKLOADS = {
    "dae20": ("skdae", 20, "skdae DAE, batch 20"),
    "dae256": ("skdae", 256, "skdae DAE, batch 256"),
    "finetune": ("sda_finetune", 5, "SdA fine-tuning epoch, batch 5"),
    "torch20": ("torch", 20, "torch DAE, batch 20"),
    # issue 26.1, small problems (digits): seconds per fit, not per epoch
    **{w: ("small", None, what) for w, what in (
        ("guide", "digits: user guide stack (DAE 256, DAE 128, LogisticRegression), s/fit"),
        ("guide_dae", "digits: its two DAE layers alone (fit_transform), s/fit"),
        ("stack", "digits: StackedDenoisingAutoencoder((128, 64)), s/fit"),
        ("grid1", "digits: GridSearchCV of the DAE, n_jobs=1, s/search"),
        ("grid2", "digits: GridSearchCV of the DAE, n_jobs=2, s/search"))},
}
#: configuration -> (busy, threads)
CONFIGS = {"quiet-2": (False, 2), "quiet-1": (False, 1), "busy-2": (True, 2),
           "busy-1": (True, 1)}
#: point (a): more threads than cores, quiet, on dae20
HOLD_THREADS = (4, 8)
GRID_VARIANTS = ("n_jobs=1", "threading, n_jobs=2", "dask LocalCluster")
BUSY_TARGET, AB_TARGET, AS_FAST = 1.15, 1.03, 1.05


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help="comma list from %s" % ",".join(WORKLOADS))
    p.add_argument("--configs", default=",".join(CONFIGS),
                   help="comma list from %s" % ",".join(CONFIGS))
    p.add_argument("--no-holds", action="store_true",
                   help="skip the two points that hold today")
    p.add_argument("--repeats", type=int, default=None, help="default 3, 1 with --quick")
    p.add_argument("--epochs", type=int, default=1, help="timed epochs per process")
    p.add_argument("--n-samples", type=int, default=30000, help="rows of the DAE workloads")
    p.add_argument("--finetune-samples", type=int, default=10000)
    p.add_argument("--warmup", type=int, default=2000, help="rows of the untimed warm-up")
    p.add_argument("--grid-samples", type=int, default=10000)
    p.add_argument("--grid-epochs", type=int, default=2)
    p.add_argument("--grid-cv", type=int, default=2)
    p.add_argument("--busy-cpu", type=int, default=max(os.sched_getaffinity(0)),
                   help="the CPU the busy process is pinned to (default: the last)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true",
                   help="5 000 DAE rows, 2 000 fine-tuning and grid rows, 500 warm-up "
                   "rows, one repeat unless --repeats")
    p.add_argument("--data-home", default=os.environ.get(
        "SKDAE_DATA", os.path.normpath(os.path.join(REPO, "..", "shared", "data", "mnist"))))
    _runner.add_runner_arguments(p)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    a.workloads = [w.strip() for w in a.workloads.split(",") if w.strip()]
    a.configs = [c.strip() for c in a.configs.split(",") if c.strip()]
    for name, chosen, known in (("workloads", a.workloads, WORKLOADS),
                                ("configs", a.configs, CONFIGS)):
        unknown = [x for x in chosen if x not in known]
        if unknown:
            p.error("unknown %s %s; choose from %s" % (name, unknown, ",".join(known)))
    if a.quick:
        a.n_samples, a.finetune_samples, a.grid_samples = 5000, 2000, 2000
        a.warmup = 500
    if a.repeats is None:
        a.repeats = 1 if a.quick else 3
    return _runner.finish_runner_arguments(a)


# --------------------------------------------------------------------------
# the busy process
# --------------------------------------------------------------------------
_SPIN = """
import os, signal
signal.signal(signal.SIGINT, signal.SIG_IGN)  # ended by its pid, not by the terminal
os.sched_setaffinity(0, {%d})
parent = os.getppid()
while os.getppid() == parent:  # ends by itself if the benchmark dies
    for _ in range(1000000):
        pass
"""
_RUNNING = {}  # pid -> Popen of the busy processes alive


def _proc_cpu_s(pid):
    """CPU seconds (user + system) of a process, from /proc; None if unknown."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def end_busy_processes():
    """Kill every busy process still running, by its pid."""
    for pid, proc in list(_RUNNING.items()):
        if proc.poll() is None:
            os.kill(pid, signal.SIGKILL)
        proc.wait()
        del _RUNNING[pid]


atexit.register(end_busy_processes)


class BusyCore:
    """Context manager: one process spinning on ``cpu`` while inside; then
    ``cores`` is the share of a core it got."""

    def __init__(self, cpu):
        self.cpu, self.cores, self.pid = cpu, None, None

    def __enter__(self):
        proc = subprocess.Popen([sys.executable, "-c", _SPIN % self.cpu],
                                stdin=subprocess.DEVNULL)
        _RUNNING[proc.pid] = proc
        self.pid, self._t0 = proc.pid, time.perf_counter()
        time.sleep(0.2)  # let it start spinning
        if proc.poll() is not None:
            end_busy_processes()
            raise RuntimeError("the busy process exited at once (status %s)" % proc.returncode)
        return self

    def __exit__(self, *exc):
        cpu = _proc_cpu_s(self.pid)
        if cpu is not None:
            self.cores = cpu / (time.perf_counter() - self._t0)
        proc = _RUNNING.pop(self.pid)
        if proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        proc.wait()
        return False


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)  # runs the finally blocks and atexit


# --------------------------------------------------------------------------
# workers (this script with --worker, in a fresh process)
# --------------------------------------------------------------------------
def grid_worker(cfg):
    """Time GridSearchCV over 4 DAE candidates with one of GRID_VARIANTS."""
    import joblib
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV

    from skdae import DenoisingAutoencoder

    out = {"variant": cfg["variant"], "pid": os.getpid()}
    X, out["loader"] = _peers.load_mnist(cfg["data_home"], cfg["n_samples"], np.float32,
                                         "skdae")
    dae = DenoisingAutoencoder(
        n_components=500, loss="cross_entropy", corruption="masking", solver="sgd",
        learning_rate=0.1, batch_size=cfg["batch_size"], max_iter=cfg["epochs"],
        random_state=cfg["seed"])
    grid = {"n_components": [250, 500], "corruption_level": [0.1, 0.3]}
    n_jobs, backend, cluster = 1, contextlib.nullcontext(), None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dae.set_params(max_iter=1).fit(X[:500])  # warm-up, untimed
        dae.set_params(max_iter=cfg["epochs"])
        if cfg["variant"] == "threading, n_jobs=2":
            n_jobs, backend = 2, joblib.parallel_config(backend="threading")
        elif cfg["variant"] == "dask LocalCluster":
            from distributed import Client, LocalCluster

            cluster = LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                   dashboard_address=None)
            client = Client(cluster)
            n_jobs, backend = -1, joblib.parallel_config(backend="dask")
        search = GridSearchCV(dae, grid, cv=cfg["cv"], n_jobs=n_jobs, refit=False)
        c0, t0 = time.process_time(), time.perf_counter()
        with backend:
            search.fit(X)
        out["epoch_s"] = [time.perf_counter() - t0]
        out["epoch_cpu_s"] = [time.process_time() - c0]
    if cluster is not None:
        client.close()
        cluster.close()
    out["scores"] = [float(s) for s in search.cv_results_["mean_test_score"]]
    out["loss"] = -max(out["scores"])
    out["threadpools"] = _peers._threadpools()
    out["skdae_file"] = sys.modules["skdae"].__file__
    return out


def small_worker(cfg):
    """Time one small problem of issue 26.1 on digits (pixels / 16): a fit
    as the user guide and a first user run it, default settings; warm-up
    (imports, one tiny fit) untimed."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from skdae import DenoisingAutoencoder, StackedDenoisingAutoencoder

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    seed, w = cfg["seed"], cfg["workload"]
    layers = [DenoisingAutoencoder(n, loss="cross_entropy", corruption_level=0.25,
                                   random_state=seed) for n in (256, 128)]
    grid = {"n_components": [64, 128], "corruption_level": [0.1, 0.3]}
    # the timed fit, and a sanity value of the fitted object (untimed): the
    # training accuracy, the mean code, the score, the best grid score
    fits = {
        "guide": (lambda: make_pipeline(*layers, LogisticRegression(max_iter=1000)).fit(
            X, y), lambda m: m.score(X, y)),
        "guide_dae": (lambda: make_pipeline(*layers).fit_transform(X), np.mean),
        "stack": (lambda: StackedDenoisingAutoencoder(
            hidden_layer_sizes=(128, 64), random_state=seed).fit(X), lambda m: m.score(X)),
        "grid1": (lambda: GridSearchCV(DenoisingAutoencoder(
            loss="cross_entropy", random_state=seed), grid, cv=3, n_jobs=1).fit(X),
                  lambda m: m.best_score_),
        "grid2": (lambda: GridSearchCV(DenoisingAutoencoder(
            loss="cross_entropy", random_state=seed), grid, cv=3, n_jobs=2).fit(X),
                  lambda m: m.best_score_),
    }
    fit, sanity = fits[w]
    out = {"workload": w, "pid": os.getpid()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        DenoisingAutoencoder(16, max_iter=1).fit(X[:100])  # warm-up, untimed
        c0, t0 = time.process_time(), time.perf_counter()
        fitted = fit()
        out["epoch_s"] = [time.perf_counter() - t0]
        out["epoch_cpu_s"] = [time.process_time() - c0]
        out["loss"] = float(sanity(fitted))
    out["threadpools"] = _peers._threadpools()
    out["skdae_file"] = sys.modules["skdae"].__file__
    return out


def main_worker(cfg_json):
    cfg = json.loads(cfg_json)
    if cfg["mode"] == "grid":
        _runner.print_result(grid_worker(cfg))
    elif cfg["mode"] == "small":
        _runner.print_result(small_worker(cfg))
    else:
        _peers.main_worker(cfg_json)


# --------------------------------------------------------------------------
# parent side
# --------------------------------------------------------------------------
class Cell:
    """One configuration of the table: a workload, a configuration and a build."""

    def __init__(self, workload, config, threads, busy, build):
        self.workload, self.config, self.threads = workload, config, threads
        self.busy, self.build = busy, build
        self.results = []

    @property
    def key(self):
        return (self.workload, self.config, self.build.label)

    def worker_cfg(self, args, repeat):
        if self.workload == "grid":
            return {"mode": "grid", "variant": self.config, "n_samples": args.grid_samples,
                    "batch_size": 20, "epochs": args.grid_epochs, "cv": args.grid_cv,
                    "seed": args.seed, "data_home": args.data_home, "repeat": repeat}
        peer, batch_size, _ = WORKLOADS[self.workload]
        if peer == "small":
            return {"mode": "small", "workload": self.workload, "seed": args.seed + repeat,
                    "repeat": repeat}
        n = args.finetune_samples if peer == "sda_finetune" else args.n_samples
        return _peers.worker_config(args, peer, batch_size, repeat, threads=self.threads,
                                    n_samples=n, seed=args.seed)


def plan(args):
    """The cells of one repeat, in the order of an even repeat."""
    a = _runner.builds(args)[0]
    torch_ok = a.info and a.info.get("torch")
    cells = []
    for w in args.workloads:
        if w == "torch20" and not torch_ok:
            print("torch20: skipped (torch is not importable by %s)" % a.python)
            args.skipped.append("torch20: torch not installed (`pip install torch`, the "
                                "`benchmark` extra)")
            continue
        for c in args.configs:
            busy, threads = CONFIGS[c]
            cells.append(Cell(w, c, threads, busy, a))
        if w == "dae20" and not args.no_holds:
            cells += [Cell(w, "quiet-%d" % t, t, False, a) for t in HOLD_THREADS]
    if not args.no_holds:
        cells += [Cell("grid", v, 2, False, a) for v in GRID_VARIANTS]
    return cells


def measure(args, cell, repeat, seen):
    cfg = cell.worker_cfg(args, repeat)
    cmd = [cell.build.python, os.path.abspath(__file__), "--worker", json.dumps(cfg)]
    env = _runner.worker_env(args, threads=cell.threads, build=cell.build,
                             data_home=args.data_home)
    busy = BusyCore(args.busy_cpu) if cell.busy else None
    res = _runner.run_worker(args, cmd, env, during=(lambda: busy) if busy else None)
    res["busy_cores"] = busy.cores if busy else None
    if res.get("other_cores") is not None:
        res["extra_cores"] = max(0.0, res["other_cores"] - (res["busy_cores"] or 0.0))
    cell.results.append(res)
    _runner.check_worker_build(res, cell.build)
    _runner.append_json(args, dict(res, workload=cell.workload, config=cell.config,
                                   threads=cell.threads, busy=cell.busy,
                                   build=cell.build.label, python=cell.build.python))
    if "error" in res:
        msg = res["error"]
    else:
        msg = "%s s" % " ".join("%.3f" % t for t in res["epoch_s"])
        if res.get("loss") is not None:
            msg += ", loss %.2f" % res["loss"]
        msg += " [other procs: %s cores" % fmt(res.get("extra_cores"), ".2f")
        msg += (", busy process: %s cores]" % fmt(res["busy_cores"], ".2f")
                if cell.busy else "]")
    print("  rep %d %-8s %-19s %s: %s" % ((repeat,) + cell.key + (msg,)), flush=True)
    _runner.print_threadpools(res, "%s %s" % (cell.workload, cell.build.label), seen)


def stats(cell):
    ok = [r for r in cell.results if "error" not in r]
    if not ok:
        return {"error": cell.results[0]["error"] if cell.results else "not run"}
    ts = [t for r in ok for t in r["epoch_s"]]
    return {"med": median(ts), "min": min(ts), "max": max(ts), "n": len(ts),
            "cpu": median([t for r in ok for t in r.get("epoch_cpu_s", [])]),
            "extra": max((r.get("extra_cores") or 0.0) for r in ok),
            "busy": median([r.get("busy_cores") for r in ok]),
            "loss": median([r.get("loss") for r in ok]), "ok": ok}


def verdict(value, target, below=False):
    """'met' / 'MISSED' for a ratio against its target ('' when unknown)."""
    if value is None:
        return ""
    return " met" if (value < target if below else value <= target) else " MISSED"


def disturbed_note(args, cells):
    """A warning line when other processes disturbed some measurements."""
    bad = sum(1 for c in cells for r in c.results
              if (r.get("extra_cores") or 0.0) > args.quiet_cores)
    if bad:
        print("\nWARNING: in %d of %d measurements other processes used more than %.2f "
              "cores (the '!' rows below): these ratios do not describe this machine "
              "quiet; re-run when it is." % (bad, sum(len(c.results) for c in cells),
                                            args.quiet_cores))


def main_table(args, cells):
    med = {c.key: stats(c).get("med") for c in cells}
    rows = []
    for w in [w for w in WORKLOADS if any(c.workload == w for c in cells)]:
        q2, q1, b2, b1 = (med.get((w, c, "A")) for c in CONFIGS)
        busy_ratio = ratio(b2, b1)
        rows.append([WORKLOADS[w][2]] + [None if x is None else round(x, 3)
                                         for x in (q2, q1, b2, b1)] + [
            None if busy_ratio is None else fmt(busy_ratio, ".3f")
            + (verdict(busy_ratio, BUSY_TARGET) if w != "torch20" else ""),
            None if ratio(q2, q1) is None else round(ratio(q2, q1), 3)])
    t = _runner.table(
        "contention", "Threads on a busy machine: seconds per epoch, quiet and with one "
        "core taken by another process, 2 engine threads and 1 (medians of %d repeat(s) x "
        "%d epoch(s), each measurement a fresh process; %d DAE rows, %d fine-tuning rows)"
        % (args.repeats, args.epochs, args.n_samples, args.finetune_samples),
        ["workload", "quiet, 2 threads", "quiet, 1 thread", "busy, 2 threads",
         "busy, 1 thread", "busy 2 / busy 1 (target <= %.2f)" % BUSY_TARGET,
         "quiet 2 / quiet 1"], rows,
        ["busy: one process spinning on CPU %d, started and ended by the script around "
         "each busy measurement." % args.busy_cpu] + args.skipped)
    print("\n" + _runner.markdown(t))
    return t


def holds_table(args, cells):
    med = {c.key: stats(c).get("med") for c in cells}
    if not any(c.workload == "grid" for c in cells):
        return None
    rows = []
    ref = med.get(("dae20", "quiet-2", "A"))
    if any(c.workload == "dae20" for c in cells):
        rows.append(["DAE batch 20, quiet, s/epoch", "OMP_NUM_THREADS=2", fmt(ref, ".3f"),
                     "1.000", "reference"])
        for t in HOLD_THREADS:
            s = med.get(("dae20", "quiet-%d" % t, "A"))
            r = ratio(s, ref)
            rows.append(["", "OMP_NUM_THREADS=%d" % t, fmt(s, ".3f"), fmt(r, ".3f"),
                         (verdict(r, AS_FAST).strip() or "?") + " (as fast: <= %.2f)"
                         % AS_FAST])
    ref = med.get(("grid", GRID_VARIANTS[0], "A"))
    what = ("GridSearchCV, 4 DAE candidates x cv=%d, %d rows, %d epoch(s), batch 20, "
            "s per search" % (args.grid_cv, args.grid_samples, args.grid_epochs))
    for i, v in enumerate(GRID_VARIANTS):
        s = med.get(("grid", v, "A"))
        r = ratio(s, ref)
        rows.append([what if i == 0 else "", v, fmt(s, ".3f"), fmt(r, ".3f"),
                     "reference" if i == 0 else (verdict(r, 1.0, below=True).strip() or "?")
                     + " (faster: < 1)"])
    scores = {tuple(round(x, 6) for x in r["scores"])
              for c in cells if c.workload == "grid" for r in c.results if "scores" in r}
    t = _runner.table(
        "contention-holds", "More threads than cores, and a grid search in threads",
        ["point", "configuration", "s (median)", "/ reference", "holds?"], rows,
        ["The grid's scores (mean_test_score per candidate) are identical across the "
         "variants and repeats: %s." % ("yes" if len(scores) == 1 else "no")])
    print("\n" + _runner.markdown(t))
    return t


def details_table(args, cells):
    print("\n### every configuration\n")
    print("| workload | configuration | build | s (median) | spread (min-max) | n | CPU s "
          "| other load | busy process | loss |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for c in cells:
        s = stats(c)
        if "error" in s:
            print("| %s | %s | %s | %s | | | | | | |" % (c.key + (s["error"],)))
            continue
        print("| %s | %s | %s | %.3f | %.3f-%.3f | %d | %s | %.2f%s | %s | %s |" % (
            c.key + (s["med"], s["min"], s["max"], s["n"], fmt(s["cpu"], ".2f"),
                     s["extra"], " !" if s["extra"] > args.quiet_cores else "",
                     fmt(s["busy"], ".2f") if c.busy else "-", fmt(s["loss"], ".2f"))))
    print("\nCPU s = process CPU time per epoch (all its threads, spin-waits included); "
          "other load = max cores used by processes other than the worker and the busy "
          "process ('!' = more than --quiet-cores: timings disturbed); busy process = the "
          "share of a core the spinning process got (median); loss = the DAE's clean "
          "reconstruction cross-entropy, the fine-tuning's training loss, the grid's best "
          "-score.")
    lines = {}
    for c in cells:
        for r in c.results:
            if "threadpools" in r:
                lines.setdefault((c.build.label, WORKLOADS.get(c.workload, ("grid",))[0]),
                                 _runner.threadpools_line(r))
    print("\nthreadpoolctl in the workers (build, peer): the OpenBLAS kernel is 'arch'")
    for (label, peer), line in sorted(lines.items()):
        print("  %s %-13s %s" % (label, peer, line))


def main(argv=None):
    args = parse_args(argv)
    if args.worker is not None:
        return main_worker(args.worker)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    _runner.print_machine(args, __file__)
    print("data: %s; DAE rows %d, fine-tuning rows %d, warm-up rows %d; busy process "
          "pinned to CPU %d of %s" % (args.data_home, args.n_samples, args.finetune_samples,
                                      args.warmup, args.busy_cpu,
                                      sorted(os.sched_getaffinity(0))))
    args.skipped = []
    cells = plan(args)
    seen = set()
    try:
        for r in range(args.repeats):
            for cell in _runner.ab_order(cells, r):
                measure(args, cell, r, seen)
    except KeyboardInterrupt:
        end_busy_processes()
        print("\ninterrupted: busy processes ended; the tables below hold what was measured",
              flush=True)
    finally:
        end_busy_processes()
    tables = [main_table(args, cells), holds_table(args, cells)]
    disturbed_note(args, cells)
    details_table(args, cells)
    _runner.write_json(args.json, __file__, [t for t in tables if t])
    return 0


if __name__ == "__main__":
    sys.exit(main())
