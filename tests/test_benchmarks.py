"""benchmarks/run.py: the runner runs its scripts and regenerates the page.

The benchmarks ship in the sdist (MANIFEST.in), so this runs wherever the
suite does; ``--smoke`` uses scikit-learn's digits, neither MNIST nor a peer.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "run.py"
MARKED = re.compile(r"(<!-- table: ([\w-]+) -->\n)(.*?)(<!-- /table -->)", re.S)


def _tables(text):
    return {m.group(2): m.group(3) for m in MARKED.finditer(text)}


def _prose(text):
    return MARKED.sub(r"\1\4", text)


def test_smoke_run_rewrites_the_tables_and_the_readme_speed_line(tmp_path):
    page, readme = tmp_path / "page.md", tmp_path / "README.md"
    page.write_text((ROOT / "benchmarks" / "README.md").read_text())
    readme.write_text((ROOT / "README.md").read_text())
    before = page.read_text()
    # a stale table: the runner must replace it, whatever it held
    page.write_text(before.replace("<!-- table: features -->\n",
                                   "<!-- table: features -->\nSTALE FIGURES\n"))
    proc = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--only", "training", "features",
         "--page", str(page), "--readme", str(readme)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    after = page.read_text()
    assert _prose(after) == _prose(before)  # only the text between markers changes
    old, new = _tables(before), _tables(after)
    assert set(new) == set(old)
    for name in ("training", "features"):
        block = new[name]
        assert block != old[name] and "STALE" not in block
        assert "Command: `python benchmarks/" in block
        assert re.search(r"; \d{4}-\d\d-\d\d, commit ", block)
        assert "cores;" in block and "kernels)" in block  # the machine and its BLAS
    assert "| peer | batch | s/epoch |" in new["training"]
    assert re.search(r"\| skdae \| 20 \| \d", new["training"])
    assert "| PCA | 16 |" in new["features"] and "| DAE | 16 | 25 % |" in new["features"]
    # a peer that is not installed is a note in its row, not an error
    torch_row = next(line for line in new["training"].splitlines()
                     if line.startswith("| torch |"))
    assert re.search(r"\| torch \| 20 \| (\d|not installed)", torch_row)
    for name in set(old) - {"training", "features"}:
        assert new[name] == old[name]

    perf = re.compile(r"<!-- perf -->(.*?)<!-- /perf -->", re.S)
    speed = " ".join(perf.search(readme.read_text()).group(1).split())
    assert re.match(r"Speed: on digits \(\d+ × 64, 32 hidden units, 2 threads\) an epoch at "
                    r"batch 20 takes \d+\.\d\d s", speed)
    assert perf.sub("", readme.read_text()) == perf.sub("", (ROOT / "README.md").read_text())


def test_help_says_the_page_is_regenerated():
    out = subprocess.run([sys.executable, str(RUN), "--help"], capture_output=True,
                         text=True, timeout=60).stdout
    assert "REWRITES" in out and "--quick" in out and "--unset-openblas-coretype" in out
