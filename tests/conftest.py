"""Shared fixture: run test cases in a child process, where a crash of the
compiled engine (a segfault, an endless loop) fails the case instead of
killing the test run."""

import json
import os
import subprocess
import sys

import pytest

# The child imports the test module by path and runs the named functions in
# order, printing a line when each case starts and ends.
_CHILD = """
import faulthandler, importlib.util, json, sys, traceback
faulthandler.enable()
path, cases = sys.argv[1], json.loads(sys.argv[2])
spec = importlib.util.spec_from_file_location("_cases_in_child", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
for index, name, kwargs in cases:
    print("CHILD-CASE", json.dumps({"start": index}), flush=True)
    try:
        getattr(module, name)(**kwargs)
        error = None
    except BaseException:
        error = traceback.format_exc()
    print("CHILD-CASE", json.dumps({"done": index, "error": error}), flush=True)
"""


def _text(output):
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output


def _run_cases_in_child(path, cases, timeout=120):
    """Run ``cases``, ``(function name, kwargs)`` pairs of the module at
    ``path``, in a child Python process.

    Returns one outcome per case: None when it passed, else the failure (the
    traceback, or how the child died and the tail of its stderr). After a
    crash the remaining cases run in a new child.

    The child runs BLAS and OpenMP on one thread unless the environment says
    otherwise: the cases are small, and on a busy machine BLAS threads make
    them several times slower (the engine's own threads need larger problems
    than these).

    The child runs in the tests' folder: ``python -c`` puts its working
    directory first on ``sys.path``, and from the project root that would
    import the uncompiled source tree instead of the installed package.
    """
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           **os.environ}
    outcomes = [None] * len(cases)
    todo = [[i, name, kwargs] for i, (name, kwargs) in enumerate(cases)]
    while todo:
        try:
            proc = subprocess.run(
                [sys.executable, "-c", _CHILD, str(path), json.dumps(todo)],
                capture_output=True, text=True, timeout=timeout, check=False, env=env,
                cwd=os.path.dirname(os.path.abspath(__file__)),
            )
            stdout, stderr, died = proc.stdout, proc.stderr, f"exit status {proc.returncode}"
        except subprocess.TimeoutExpired as exc:
            stdout, stderr = _text(exc.stdout), _text(exc.stderr)
            died = f"no answer within {timeout} s (killed)"
        started, finished = None, set()
        for line in stdout.splitlines():
            if not line.startswith("CHILD-CASE "):
                continue  # the case's own output
            record = json.loads(line[len("CHILD-CASE "):])
            if "start" in record:
                started = record["start"]
            else:
                finished.add(record["done"])
                outcomes[record["done"]] = record["error"]
        todo = [case for case in todo if case[0] not in finished]
        if not todo:
            break
        crashed = started if started in {case[0] for case in todo} else todo[0][0]
        # what the case printed last, and the top of faulthandler's traceback
        before, _, after = stderr.partition("Fatal Python error")
        tail = "\n".join(before.splitlines()[-25:])
        if after:
            tail += "\nFatal Python error" + "\n".join(after.splitlines()[:12])
        outcomes[crashed] = (
            f"the child process died during this case ({died}); its stderr ends "
            f"with:\n{tail}"
        )
        todo = [case for case in todo if case[0] != crashed]
    return outcomes


@pytest.fixture(scope="session")
def run_in_child():
    """``run_in_child(path, cases)``: see ``_run_cases_in_child``."""
    return _run_cases_in_child
