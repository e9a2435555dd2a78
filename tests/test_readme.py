"""The README's quick start runs as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
def test_readme_quick_start_runs_and_beats_the_raw_pixels(capsys):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Quick start"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(code.strip().splitlines()) <= 14
    exec(compile(code, str(README), "exec"), {})
    raw, codes = (float(line) for line in capsys.readouterr().out.split())
    # the autoencoder's features must beat the raw pixels clearly: at least a
    # quarter fewer errors, with the same classifier on top
    assert raw > 0.9
    assert 1 - codes <= 0.75 * (1 - raw)
