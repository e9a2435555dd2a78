"""Progress lines for the long benchmark scripts: stderr, with the time elapsed."""

import sys
import time

#: When the benchmark started (this module's import).
START = time.perf_counter()


def progress(msg):
    """A progress line on stderr, with the time elapsed since start."""
    print(f"[{time.perf_counter() - START:7.1f}s] {msg}", file=sys.stderr, flush=True)


class EpochLog:
    """File-like object turning an estimator's verbose lines into progress
    lines (use with ``contextlib.redirect_stdout``)."""

    def __init__(self, prefix):
        self.prefix = prefix

    def write(self, s):
        for line in s.splitlines():
            if line.strip():
                progress(f"{self.prefix}: {line.strip()}")

    def flush(self):
        pass
