"""Pieces shared by the benchmark scripts and their runner ``run.py``.

Private helper module. It knows how to

- describe the machine a figure was measured on (CPU model, cores, the BLAS
  libraries and the kernel OpenBLAS chose, the skdae build and its commit:
  :func:`machine`), and write a script's table as the JSON that ``run.py``
  turns into a table of ``benchmarks/README.md`` (:func:`add_json_argument`,
  :func:`table`, :func:`write_json`; the same tables print as markdown with
  :func:`markdown`);
- build a worker's environment (thread counts, the machine's OpenBLAS
  variables, the interpreter's own ``PYTHONPATH``);
- run one measurement in a fresh subprocess under an exclusive lock, after
  waiting for a quiet machine, and measure how many cores *other* processes
  used meanwhile;
- describe the interpreters of ``bench_ab.py``'s A/B comparison
  (``--compare-python``, the one A/B tool): which skdae each one imports,
  from which commit, and whether its compiled engine is older than its
  sources; and order runs so that drift hits every item alike (A B, then B A).

Only the standard library is imported at module level, so a worker started
with another interpreter can import this module too.
"""

import contextlib
import datetime
import glob
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

#: Prefix of the line holding a worker's JSON result on its stdout.
RESULT_PREFIX = "@@RESULT "
#: The machine's OpenBLAS variables that ``--unset-openblas-coretype`` removes.
OB_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# --------------------------------------------------------------------------
# options
# --------------------------------------------------------------------------
def add_runner_arguments(parser):
    """Add the options of the subprocess runner to an argparse parser."""
    parser.add_argument("--unset-openblas-coretype", action="store_true",
                        help="remove OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from the "
                        "workers' env")
    parser.add_argument("--wait-quiet", type=float, default=None,
                        help="before each worker, wait up to this many seconds until other "
                        "processes use < --quiet-cores cores (0: don't wait; default 120, "
                        "0 with --quick)")
    parser.add_argument("--quiet-cores", type=float, default=0.25)
    parser.add_argument("--lock", default=os.path.join("/tmp", "skdae_bench.lock"),
                        help="hold an exclusive flock on this file while a worker runs, so "
                        "benchmarks that use the same lock never overlap ('' to disable)")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="per subprocess, seconds")
    parser.add_argument("--json-out", default=None,
                        help="append raw worker results (JSON lines)")
    add_json_argument(parser)


def add_json_argument(parser):
    """``--json PATH``: write the script's table(s) for ``run.py``."""
    parser.add_argument("--json", default=None, metavar="PATH",
                        help="also write the table(s) to PATH as JSON (what "
                        "benchmarks/run.py reads to rewrite benchmarks/README.md)")


def finish_runner_arguments(args):
    """Fill in the defaults that depend on ``--quick``."""
    if args.wait_quiet is None:
        args.wait_quiet = 0.0 if getattr(args, "quick", False) else 120.0
    if getattr(args, "compare_python", None) is not None:
        path = os.path.abspath(os.path.expanduser(args.compare_python))
        if not os.access(path, os.X_OK):
            raise SystemExit("--compare-python %s: not an executable interpreter"
                             % args.compare_python)
        args.compare_python = path
    return args


# --------------------------------------------------------------------------
# builds: the interpreters of an A/B comparison
# --------------------------------------------------------------------------
class Build:
    """An interpreter and the skdae it imports; ``label`` is "A" (this one) or "B"."""

    def __init__(self, label, python):
        self.label, self.python = label, python
        self.info = None

    @property
    def is_this(self):
        return self.python == sys.executable


def builds(args):
    """[A] or [A, B]: this interpreter, then ``--compare-python`` if given
    (made once per run and kept on ``args``, described by ``print_machine``)."""
    if getattr(args, "_builds", None) is None:
        args._builds = [Build("A", sys.executable)]
        if getattr(args, "compare_python", None):
            args._builds.append(Build("B", args.compare_python))
    return args._builds


def ab_order(items, repeat):
    """``items`` in order on even repeats and reversed on odd ones (A B, B A, ...),
    so that a linear drift of the machine hits every item alike."""
    return list(items) if repeat % 2 == 0 else list(items)[::-1]


_DESCRIBE = r"""
import json, sys
out = {"python": sys.executable, "python_version": sys.version.split()[0]}
for name in ("numpy", "scipy", "sklearn", "skdae", "threadpoolctl", "torch"):
    try:
        mod = __import__(name)
        out[name] = getattr(mod, "__version__", "?")
        out[name + "_file"] = getattr(mod, "__file__", None)
    except Exception as exc:
        out[name] = None
        out[name + "_error"] = "%s: %s" % (type(exc).__name__, exc)
print(json.dumps(out))
"""


def _git(tree, *cmd):
    try:
        return subprocess.run(["git", "-C", tree] + list(cmd), capture_output=True,
                              text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def describe(build, env):
    """Ask ``build.python`` (from outside any source tree) what it imports;
    store and return a dict with the skdae tree's commit and state."""
    proc = subprocess.run([build.python, "-c", _DESCRIBE], env=env, capture_output=True,
                          text=True, cwd=tempfile.gettempdir(), timeout=300)
    try:
        info = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        info = {"python": build.python, "error": (proc.stderr or "no output").strip()[-500:]}
    pkg = os.path.dirname(info.get("skdae_file") or "")
    if pkg:
        tree = os.path.dirname(pkg)
        info["skdae_tree"] = tree
        info["commit"] = _git(tree, "rev-parse", "--short", "HEAD") or None
        if info["commit"]:
            dirty = _git(tree, "status", "--porcelain", "--untracked-files=no", "--", "skdae")
            info["dirty"] = bool(dirty)
        sources = [p for ext in ("pyx", "pxd", "h")
                   for p in glob.glob(os.path.join(pkg, "*." + ext))]
        libs = glob.glob(os.path.join(pkg, "*.so"))
        if sources and libs:
            info["stale_build"] = max(map(os.path.getmtime, sources)) > max(
                map(os.path.getmtime, libs))
    build.info = info
    return info


def describe_line(build):
    """One line saying what ``build`` runs."""
    i = build.info or {}
    if "error" in i or not i.get("skdae"):
        return "%s = %s: skdae not importable (%s)" % (
            build.label, build.python, i.get("error") or i.get("skdae_error"))
    state = ""
    if i.get("commit"):
        state = " at commit %s%s" % (i["commit"], " + uncommitted changes in skdae/"
                                     if i.get("dirty") else "")
    warn = ("  WARNING: its compiled engine is older than its .pyx/.pxd/.h sources "
            "(rebuild: pip install -e .)" if i.get("stale_build") else "")
    return ("%s = %s (Python %s): skdae %s from %s%s; numpy %s, scipy %s, scikit-learn %s%s"
            % (build.label, build.python, i.get("python_version"), i.get("skdae"),
               i.get("skdae_tree"), state, i.get("numpy"), i.get("scipy"), i.get("sklearn"),
               warn))


def check_worker_build(res, build):
    """Warn when a worker imported another skdae than its build's (say, through
    a stray PYTHONPATH or the working directory)."""
    want = (build.info or {}).get("skdae_file")
    got = res.get("skdae_file")
    if want and got and os.path.realpath(want) != os.path.realpath(got):
        print("  WARNING: a %s worker imported skdae from %s, not %s" % (build.label, got, want),
              flush=True)


# --------------------------------------------------------------------------
# environment
# --------------------------------------------------------------------------
def worker_env(args, threads=None, build=None, data_home=None):
    """The environment of a worker: ``threads`` in every thread variable,
    the OpenBLAS variables removed with ``--unset-openblas-coretype``, and
    no ``PYTHONPATH`` for an interpreter other than this one."""
    env = dict(os.environ)
    if threads is not None:
        for k in THREAD_VARS:
            env[k] = str(threads)
    if data_home is not None:
        env["SKDAE_DATA"] = data_home
    if getattr(args, "unset_openblas_coretype", False):
        for k in OB_VARS:
            env.pop(k, None)
    if build is not None and not build.is_this:
        env.pop("PYTHONPATH", None)
    return env


# --------------------------------------------------------------------------
# machine load
# --------------------------------------------------------------------------
def _cpu_busy_s():
    """Machine-wide busy CPU seconds (all cores) from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _children_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def other_load(seconds=1.0):
    """Cores used by other processes over the next `seconds` (None if unknown)."""
    b0 = _cpu_busy_s()
    time.sleep(seconds)
    b1 = _cpu_busy_s()
    return None if b0 is None or b1 is None else (b1 - b0) / seconds


def wait_quiet(args):
    """Wait (up to --wait-quiet s) until other processes use < --quiet-cores cores."""
    if args.wait_quiet <= 0:
        return
    t0, told = time.monotonic(), False
    while True:
        load = other_load(1.0)
        if load is None or load < args.quiet_cores:
            return
        if time.monotonic() - t0 > args.wait_quiet:
            print("  (machine still busy: %.2f cores used by other processes; running anyway)"
                  % load, flush=True)
            return
        if not told:
            print("  (waiting for the machine to be quiet: %.2f cores busy)" % load, flush=True)
            told = True


@contextlib.contextmanager
def bench_lock(path):
    """An exclusive flock on ``path`` ('' or None: no lock)."""
    if not path:
        yield
        return
    import fcntl

    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # serialise with other benchmarks using the lock
        yield


# --------------------------------------------------------------------------
# one measurement
# --------------------------------------------------------------------------
def run_worker(args, cmd, env, during=None):
    """Run ``cmd`` (a worker printing ``RESULT_PREFIX + json``) in a subprocess.

    Holds ``--lock``, waits for a quiet machine, then enters ``during()`` (a
    context manager, e.g. a process that keeps a core busy) around the worker.
    Returns the worker's dict plus ``wall_s``, ``worker_cpu_s`` and
    ``other_cores`` (cores used by other processes while it ran), or a dict
    with ``error``.
    """
    with bench_lock(args.lock):
        wait_quiet(args)
        with (during() if during is not None else contextlib.nullcontext()):
            b0, c0, t0 = _cpu_busy_s(), _children_cpu_s(), time.perf_counter()
            try:
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                                      timeout=args.timeout)
            except subprocess.TimeoutExpired:
                return {"error": "timeout after %.0f s" % args.timeout}
            wall = time.perf_counter() - t0
            b1, c1 = _cpu_busy_s(), _children_cpu_s()
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            res = json.loads(line[len(RESULT_PREFIX):])
            res["wall_s"] = wall
            res["worker_cpu_s"] = c1 - c0
            res["other_cores"] = (None if b0 is None or b1 is None
                                  else max(0.0, (b1 - b0) - (c1 - c0)) / wall)
            return res
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
    return {"error": "worker exited %d: %s" % (proc.returncode, " | ".join(tail))}


def print_result(result, file=None):
    """The worker's side: print its result line."""
    file = file or sys.stdout
    file.write(RESULT_PREFIX + json.dumps(result) + "\n")
    file.flush()


def append_json(args, record):
    """Append one record to ``--json-out`` (if given)."""
    if args.json_out:
        with open(args.json_out, "a") as f:
            f.write(json.dumps(record) + "\n")


# --------------------------------------------------------------------------
# printing
# --------------------------------------------------------------------------
def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def ratio(a, b):
    """a / b, or None when either is missing."""
    return None if a is None or not b else a / b


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def threadpools_line(res):
    """threadpoolctl's view of a worker (which BLAS, which kernel, how many threads)."""
    pools = "; ".join("%s %s %s arch=%s threads=%s" % (
        p.get("internal_api"), p.get("prefix"), p.get("version", ""),
        p.get("architecture", "-"), p.get("num_threads")) for p in sorted(
            res.get("threadpools", []), key=lambda p: (str(p.get("internal_api")),
                                                       str(p.get("prefix")))))
    if "torch_version" in res:
        pools += " | torch %s %s threads=%s" % (res["torch_version"], res["torch_blas"],
                                                res["torch_threads"])
    return pools


def print_threadpools(res, key, seen):
    """Print ``threadpools_line`` once per ``key``."""
    if key in seen or "threadpools" not in res:
        return
    seen.add(key)
    print("  [threadpoolctl] %-13s %s" % (key, threadpools_line(res)), flush=True)


def cpu_model():
    """(model name, AVX-512F available) from /proc/cpuinfo."""
    cpu, flags = "?", ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and cpu == "?":
                    cpu = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = line
    except OSError:
        pass
    return cpu, "avx512f" in flags.split()


def print_machine(args, script):
    """Date, CPU, cores, platform, the OpenBLAS variables, the load now, the
    builds of an A/B run, and the command."""
    import numpy

    cpu, avx512 = cpu_model()
    print("date: %s" % datetime.datetime.now().astimezone().isoformat(timespec="seconds"))
    print("machine: %s, %d logical CPUs, AVX-512F: %s, %s; Python %s, numpy %s"
          % (cpu, os.cpu_count(), avx512, platform.platform(), platform.python_version(),
             numpy.__version__))
    for k in OB_VARS:
        v = os.environ.get(k)
        print("%s: %s%s" % (k, "set to %r" % v if v is not None else "not set",
                             " (removed for workers: --unset-openblas-coretype)"
                             if v is not None and args.unset_openblas_coretype else ""))
    try:
        print("load average: %.2f %.2f %.2f; other processes now: %.2f cores"
              % (os.getloadavg() + (other_load(1.0) or 0.0,)))
    except OSError:
        pass
    for b in builds(args):
        describe(b, worker_env(args, build=b))
        print("build " + describe_line(b))
    repo = os.path.dirname(os.path.dirname(os.path.abspath(script)))
    print("command: python %s" % " ".join([os.path.relpath(script, repo)] + sys.argv[1:]))


# --------------------------------------------------------------------------
# the tables of benchmarks/README.md: machine, command, JSON, markdown
# --------------------------------------------------------------------------
def blas_pools():
    """The BLAS libraries numpy and scipy (the engine's BLAS) load in this
    process, as threadpoolctl sees them: library, version, the kernel
    OpenBLAS chose (``architecture``) and the thread count."""
    try:
        import numpy  # noqa: F401
        import scipy.linalg  # noqa: F401  (loads scipy's BLAS, the one the engine calls)
        from threadpoolctl import threadpool_info
    except ImportError as exc:
        return [{"error": "threadpoolctl not importable (%s)" % exc}]
    return [{"library": p.get("internal_api"), "version": p.get("version"),
             "kernel": p.get("architecture"), "threads": p.get("num_threads"),
             # whose copy: numpy.libs/..., scipy.libs/... (wheels), else the file
             "of": os.path.basename(os.path.dirname(p.get("filepath") or "")).replace(
                 ".libs", "") or p.get("prefix")}
            for p in threadpool_info() if p.get("user_api") == "blas"]


def skdae_build():
    """The skdae this interpreter imports: version, folder, commit (None
    outside a git checkout) and whether ``skdae/`` differs from it."""
    out = {"version": None, "commit": None, "dirty": None}
    try:
        import skdae
    except ImportError as exc:
        out["error"] = str(exc)
        return out
    out["version"] = getattr(skdae, "__version__", None)
    tree = os.path.dirname(os.path.dirname(os.path.abspath(skdae.__file__)))
    out["commit"] = _git(tree, "rev-parse", "--short", "HEAD") or None
    if out["commit"]:
        out["dirty"] = bool(_git(tree, "status", "--porcelain", "--untracked-files=no",
                                 "--", "skdae"))
    return out


def machine():
    """What a figure was measured on: date, CPU model, cores, BLAS and its
    kernel, the OpenBLAS variables, the software versions and the skdae build."""
    import numpy

    cpu, avx512 = cpu_model()
    versions = {"python": platform.python_version(), "numpy": numpy.__version__}
    for name in ("scipy", "sklearn"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = None
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "cpu": cpu, "avx512f": avx512, "cores": os.cpu_count(),
            "platform": platform.platform(), "blas": blas_pools(),
            "env": {k: os.environ.get(k) for k in OB_VARS + THREAD_VARS},
            "versions": versions, "skdae": skdae_build()}


def machine_line(m):
    """One line: CPU, cores, BLAS and kernel (the engine's BLAS first)."""
    pools = sorted(m.get("blas", []), key=lambda p: p.get("of") != "scipy")
    names = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}
    blas = ", ".join("%s's %s %s (%s kernels)" % (p.get("of"), names.get(p.get("library"),
                                                                         p.get("library")),
                                                   p.get("version"), p.get("kernel") or "?")
                     for p in pools if "error" not in p) or "BLAS unknown"
    return "%s, %s cores; %s" % (m.get("cpu"), m.get("cores"), blas)


def command_line(script, argv=None):
    """The command that produced a table: ``python benchmarks/NAME.py ARGS``,
    without ``--json PATH``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--json":
            skip = True
        elif not a.startswith("--json="):
            out.append(a)
    return " ".join(["python", "benchmarks/" + os.path.basename(script)]
                    + [shlex.quote(a) for a in out])


def table(name, title, columns, rows, notes=()):
    """One table of a script: ``rows`` are lists of cells (str, numbers or None)."""
    return {"name": name, "title": title, "columns": list(columns),
            "rows": [list(r) for r in rows], "notes": list(notes)}


def write_json(path, script, tables, **extra):
    """Write ``tables`` (one dict from :func:`table`, or a list) to ``path``
    with the command and the machine; nothing when ``path`` is None."""
    if not path:
        return
    many = isinstance(tables, (list, tuple))
    stamp = dict(extra, command=command_line(script), machine=machine())
    out = [dict(t, **stamp) for t in tables] if many else dict(tables, **stamp)
    with open(path, "w") as f:
        json.dump(out, f, indent=1)


def cell(x):
    """A table cell as text: a number as the script rounded it, None as "n/a"."""
    if x is None:
        return "n/a"
    return "%.6g" % x if isinstance(x, float) else str(x)


def markdown(t):
    """A table from :func:`table` as markdown (text columns left, numbers right)."""
    numeric = [all(isinstance(r[i], (int, float)) or r[i] is None for r in t["rows"])
               and any(isinstance(r[i], (int, float)) for r in t["rows"])
               for i in range(len(t["columns"]))]
    lines = ["| " + " | ".join(t["columns"]) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in t["rows"]]
    return "\n".join(lines + [""] + list(t["notes"]) if t["notes"] else lines)


def machine_lines():
    """:func:`machine` as lines to print before a script's table."""
    m = machine()
    sk = m["skdae"]
    env = ", ".join("%s=%s" % kv for kv in m["env"].items() if kv[1] is not None)
    return ["date: %s" % m["date"], "machine: " + machine_line(m),
            "skdae %s at commit %s%s; %s" % (sk.get("version"), sk.get("commit"),
                                            " + changes" if sk.get("dirty") else "",
                                            ", ".join("%s %s" % kv
                                                      for kv in m["versions"].items())),
            "env: " + (env or "no thread or OpenBLAS variables set")]


def reexec_without_openblas_vars(requested):
    """For a script that measures in its own process: when ``requested``
    (its ``--unset-openblas-coretype``) and OPENBLAS_CORETYPE or
    OPENBLAS_L2_SIZE is set, start it again without them (OpenBLAS reads them
    when it is loaded). Call before importing numpy."""
    if requested and any(v in os.environ for v in OB_VARS):
        env = {k: v for k, v in os.environ.items() if k not in OB_VARS}
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def fit_and_score(model, X_train, y_train, X_test, y_test):
    """Fit ``model`` with its warnings silenced; return its test score, the fit's
    wall-clock seconds and its epochs (``n_iter_``, 0 when it has none)."""
    import warnings

    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - tic
    return model.score(X_test, y_test), seconds, getattr(model, "n_iter_", 0)
