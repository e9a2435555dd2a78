"""Run the benchmark suite and rewrite the tables of benchmarks/README.md.

Each table of the page sits between two markers::

    <!-- table: NAME -->
    ...generated: command, date, commit, machine, the table, its notes...
    <!-- /table -->

This runner runs the script behind each table (a subprocess with ``--json``,
so that every script also works on its own), then REWRITES the text between
that table's markers from what was measured, together with the line of the
top README.md between ``<!-- perf -->`` and ``<!-- /perf -->`` (from the
training table). The page is regenerated, not edited by hand: change the
prose around the markers, never the tables.

Modes
-----
--quick   every table in its short setting, at most about 15 minutes on
          2 cores (the elapsed time of each table is printed against its
          budget); the tables that only --full measures keep their text
--full    every table in the setting of the published figures (hours)
--smoke   digits-sized data, one repeat, for the test: writes to temporary
          copies of the page and the README unless --page/--readme are given

Usage::

    python benchmarks/run.py --quick --unset-openblas-coretype
    python benchmarks/run.py --full --unset-openblas-coretype
    python benchmarks/run.py --quick --only training gemm
    python benchmarks/run.py --smoke

A peer that is not installed (torch, PyOD) is skipped with a note in its
table. Figures of a busy machine are noisy: run on a quiet one.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import _runner  # noqa: E402

SMOKE_DIGITS = ["--data-home", "digits"]

#: table -> script, arguments per mode (None: not run in that mode), budget of
#: --quick in seconds on 2 quiet cores (together 15 minutes). A script may
#: write several tables (its JSON is then a list): the names are those of its
#: tables; a script's one table fills its entry's markers.
TABLES = {
    "training": dict(
        script="bench_training.py",
        quick=["--batch-sizes", "20", "256", "--epochs", "2", "--repeats", "1",
               "--wait-quiet", "0"],
        full=["--batch-sizes", "20", "256", "--epochs", "2", "--repeats", "3"],
        smoke=SMOKE_DIGITS + ["--peers", "skdae,torch,floor", "--batch-sizes", "20",
                              "--epochs", "1", "--repeats", "1", "--n-hidden", "32",
                              "--warmup", "100", "--wait-quiet", "0", "--lock", ""],
        budget=180),
    "gemm": dict(
        script="gemm_rates.py",
        quick=["--threads", "2", "--repeats", "3"],
        full=["--threads", "1", "2", "--repeats", "7"],
        smoke=["--threads", "1", "--repeats", "1", "--smoke"],
        budget=20),
    "features": dict(
        script="mnist_features.py",
        quick=["--quick", "--seeds", "0", "1", "--no-epoch-progress"],
        full=["--seeds", "0", "1", "--no-epoch-progress"],
        smoke=SMOKE_DIGITS + ["--rows", "pca,dae", "--pca-sizes", "16", "--dae-sizes", "16",
                              "--noise-levels", "0.25", "--epochs", "1",
                              "--no-epoch-progress"],
        budget=120),
    "sda": dict(
        script="sda_mnist.py",
        quick=["--quick", "--seeds", "0", "1", "--rows", "sda"],
        full=None,
        smoke=SMOKE_DIGITS + ["--rows", "sda", "--layers", "32", "32",
                              "--pretrain-epochs", "1", "--finetune-epochs", "1"],
        budget=150),
    "sda-full": dict(
        script="sda_mnist.py",
        quick=None,
        full=["--rows", "sda,nopre", "--seeds", "0", "1"],
        smoke=None,
        budget=None),
    "contention": dict(
        script="bench_contention.py",
        quick=["--repeats", "1", "--wait-quiet", "0"],
        full=[],
        smoke=SMOKE_DIGITS + ["--workloads", "dae20", "--configs", "quiet-2,busy-2",
                              "--no-holds", "--n-samples", "500", "--warmup", "100",
                              "--repeats", "1", "--wait-quiet", "0", "--lock", ""],
        budget=240),
    "csr": dict(
        script="bench_sparse.py",
        quick=["--quick", "--wait-quiet", "0"],
        full=["--repeats", "2"],
        smoke=["--workloads", "synthetic", "--n-samples", "500", "--n-features", "200",
               "--repeats", "1", "--wait-quiet", "0", "--lock", ""],
        budget=45),
    "outliers": dict(
        script="bench_outliers.py",
        quick=["--quick"],
        full=None,
        smoke=None,
        budget=145),
    "outliers-full": dict(
        script="bench_outliers.py",
        quick=None,
        full=["--no-mnist"],
        smoke=None,
        budget=None),
}

#: The page stays one page.
MAX_LINES = 250
TABLE_RE = r"(<!-- table: %s -->\n)(.*?)(<!-- /table -->)"
PERF_RE = r"(<!-- perf -->)(.*?)(<!-- /perf -->)"


def parse_args(argv=None):
    budgets = ", ".join("%s %s" % (n, "%d s" % t["budget"] if t["quick"] else "--full only")
                        for n, t in TABLES.items())
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1]
                                + "\nTables and their --quick budgets on 2 cores: " + budgets
                                + " (a table that takes 3 times its budget is stopped).",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true", help="short settings, <= 15 min")
    mode.add_argument("--full", action="store_true", help="the published settings")
    mode.add_argument("--smoke", action="store_true",
                      help="digits-sized data, one repeat, temporary page (the test)")
    p.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(TABLES),
                   help="run only these tables (%s)" % ", ".join(TABLES))
    p.add_argument("--unset-openblas-coretype", action="store_true",
                   help="run the measured commands without OPENBLAS_CORETYPE and "
                   "OPENBLAS_L2_SIZE (OpenBLAS then picks the CPU's own kernels; each "
                   "table says which kernel ran, from threadpoolctl)")
    p.add_argument("--page", default=None,
                   help="the page to rewrite (default benchmarks/README.md; with --smoke a "
                   "temporary copy of it)")
    p.add_argument("--readme", default=None,
                   help="the README whose <!-- perf --> line is rewritten (default "
                   "README.md; with --smoke a temporary copy of it)")
    p.add_argument("--data-home", default=None,
                   help="MNIST folder for the scripts (default: SKDAE_DATA)")
    args = p.parse_args(argv)
    args.mode = "quick" if args.quick else "full" if args.full else "smoke"
    for name, default in (("page", os.path.join(HERE, "README.md")),
                          ("readme", os.path.join(ROOT, "README.md"))):
        if getattr(args, name) is None:
            if args.smoke:
                fd, tmp = tempfile.mkstemp(prefix="skdae-%s-" % name, suffix=".md")
                os.close(fd)
                shutil.copyfile(default, tmp)
                default = tmp
            setattr(args, name, default)
    return args


def env_for(args):
    env = dict(os.environ)
    if args.unset_openblas_coretype:
        for k in _runner.OB_VARS:
            env.pop(k, None)
    if args.data_home:
        env["SKDAE_DATA"] = args.data_home
    # the helpers of the scripts' own folder (_runner, _peers, _progress)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [HERE, env.get("PYTHONPATH")]))
    return env


def run_table(args, name, spec):
    """Run one script; return its tables (a list) or a reason it did not run."""
    script = os.path.join(HERE, spec["script"])
    if not os.path.exists(script):
        return "skipped: benchmarks/%s is not in this checkout" % spec["script"]
    fd, out = tempfile.mkstemp(prefix="skdae-%s-" % name, suffix=".json")
    os.close(fd)
    cmd = [sys.executable, script] + spec[args.mode] + ["--json", out]
    print("\n== %s: %s" % (name, " ".join(cmd[1:-2])), flush=True)
    # its own process group, so that a stop also ends the workers it started
    proc = subprocess.Popen(cmd, env=env_for(args), cwd=ROOT, start_new_session=True)
    try:
        proc.wait(timeout=3 * spec["budget"] if args.quick else None)
        if proc.returncode != 0:
            return "failed: exit status %d" % proc.returncode
        with open(out) as f:
            tables = json.load(f)
    except (subprocess.TimeoutExpired, KeyboardInterrupt) as exc:
        os.killpg(proc.pid, signal.SIGTERM)  # the scripts clean up on SIGTERM
        proc.wait()
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "failed: stopped after %d s, 3 times its budget" % (3 * spec["budget"])
    except (OSError, ValueError) as exc:
        return "failed: %s" % exc
    finally:
        os.remove(out)
    if isinstance(tables, dict):  # one table: it fills this entry's markers
        tables = [dict(tables, name=name)]
    for t in tables:
        # a script that writes its own JSON: the runner's machine fills what it lacks, and
        # the command is written as the page's others are
        if not {"date", "blas", "skdae"} <= set(t.get("machine", {})):
            t["machine"] = dict(measured_machine(args), **t.get("machine", {}))
        argv = shlex.split(t.get("command", ""))
        at = next((i for i, a in enumerate(argv) if a.endswith(spec["script"])), None)
        t["command"] = _runner.command_line(script, argv[at + 1:] if at is not None
                                            else spec[args.mode])
    return tables


def measured_machine(args):
    """:func:`_runner.machine` as the measured commands see it (their environment)."""
    code = "import json, _runner; print(json.dumps(_runner.machine()))"
    out = subprocess.run([sys.executable, "-c", code], env=env_for(args), cwd=HERE,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def caption(t, args, commit):
    m = t["machine"]
    run = "python benchmarks/run.py --%s%s" % (
        args.mode, " --unset-openblas-coretype" if args.unset_openblas_coretype else "")
    return ("*%s.* Command: `%s` (run by `%s`); %s, commit %s; %s." % (
        t["title"], t["command"], run, m["date"][:10], commit, _runner.machine_line(m)))


def block(t, args, commit):
    return caption(t, args, commit) + "\n\n" + _runner.markdown(t) + "\n"


def commit_of(t):
    s = t["machine"].get("skdae", {})
    c = s.get("commit")
    return "unknown (not a git checkout)" if not c else c + (" + changes" if s.get("dirty")
                                                             else "")


def rewrite(path, pattern, text):
    """Replace the text between the markers of ``pattern`` in ``path``; False
    when the page has no such markers."""
    with open(path) as f:
        page = f.read()
    new, n = re.subn(pattern, lambda m: m.group(1) + text + m.group(3), page, flags=re.S)
    if n:
        with open(path, "w") as f:
            f.write(new)
    return bool(n)


def _find(t, **where):
    """The row of table ``t`` whose cells equal ``where`` (a peer's "*" left out)."""
    cols = t["columns"]
    for r in t["rows"]:
        if all(str(r[cols.index(k)]).rstrip("*") == str(v) for k, v in where.items()):
            return dict(zip(cols, r))
    return None


def _times(t, peer, who):
    """"N× faster than WHO" from the peer's "/ skdae" at batch 20, or None."""
    ratio = (_find(t, peer=peer, batch=20) or {}).get("/ skdae")
    if not isinstance(ratio, (int, float)):
        return None
    return ("%.1f× faster than %s" % (ratio, who) if ratio >= 1
            else "%.1f× slower than %s" % (1 / ratio, who))


def perf_line(t):
    """The top README's speed sentence, from the training table."""
    b20 = _find(t, peer="skdae", batch=20)
    b256 = _find(t, peer="skdae", batch=256)
    if b20 is None or not isinstance(b20.get("s/epoch"), (int, float)):
        return None
    peers = [p for p in (_times(t, "torch", "a hand-written PyTorch CPU loop"),
                         _times(t, "mlp", "sklearn's `MLPRegressor`"),
                         _times(t, "rbm", "sklearn's `BernoulliRBM`")) if p]
    text = "Speed: on %s an epoch at batch 20 takes %.2f s" % (t["workload"], b20["s/epoch"])
    if peers:
        text += ", " + " and ".join([", ".join(peers[:-1]), peers[-1]] if peers[1:] else peers)
    if b256 is not None and isinstance(b256.get("/ floor"), (int, float)):
        text += ("; at batch 256 it takes %.2f s, %.2f× the time the epoch's matrix products "
                 "alone take" % (b256["s/epoch"], b256["/ floor"]))
    return text + (" (%s, commit %s; figures, commands and peers in `benchmarks/README.md`)."
                   % (t["machine"]["date"][:10], commit_of(t)))


def wrap(text, width=98, indent="  "):
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = indent + word
        else:
            line = (line + " " + word) if line else word
    return "\n".join(lines + [line])


def main(argv=None):
    args = parse_args(argv)
    names = args.only or list(TABLES)
    todo = [n for n in names if TABLES[n][args.mode] is not None]
    skipped = [n for n in names if n not in todo]
    print("page: %s\nREADME: %s\ntables: %s%s" % (
        args.page, args.readme, ", ".join(todo),
        "; not in --%s (their text is kept): %s" % (args.mode, ", ".join(skipped))
        if skipped else ""), flush=True)
    report = []
    for name in todo:
        spec = TABLES[name]
        t0 = time.perf_counter()
        tables = run_table(args, name, spec)
        elapsed = time.perf_counter() - t0
        budget = spec["budget"] if args.quick else None
        if isinstance(tables, str):
            print("%s: %s" % (name, tables), flush=True)
            report.append((name, elapsed, budget, tables))
            continue
        written = []
        for t in tables:
            if rewrite(args.page, TABLE_RE % re.escape(t["name"]),
                       block(t, args, commit_of(t))):
                written.append(t["name"])
            else:
                print("WARNING: %s has no markers for table %r" % (args.page, t["name"]))
            line = perf_line(t) if t["name"] == "training" else None
            prefix = "- <!-- perf -->"  # where the README's line starts
            if line and rewrite(args.readme, PERF_RE, wrap(prefix + line)[len(prefix):]):
                written.append("README perf line")
        report.append((name, elapsed, budget, "rewrote " + ", ".join(written)))
    with open(args.page) as f:
        n_lines = len(f.read().splitlines())
    if n_lines > MAX_LINES:
        print("WARNING: %s has %d lines, more than %d: shorten its prose or its tables"
              % (args.page, n_lines, MAX_LINES))
    print("\n| table | elapsed s | --quick budget s | result |\n|---|---:|---:|---|")
    for name, elapsed, budget, what in report:
        over = " (OVER BUDGET)" if budget and elapsed > budget else ""
        print("| %s | %.0f | %s | %s%s |" % (name, elapsed, budget or "-", what, over))
    total = sum(r[1] for r in report)
    print("total %.1f min (%s)" % (total / 60, datetime.datetime.now(
        datetime.timezone.utc).isoformat(timespec="seconds")))
    return 1 if any(r[3].startswith("failed") for r in report) else 0


if __name__ == "__main__":
    sys.exit(main())
