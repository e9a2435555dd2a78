"""Every Python code block of the user guide (docs/user_guide.rst) runs as
written, each in a fresh namespace.

The fine-tuning block trains the paper's MNIST network on the 50 000 / 10 000 /
10 000 split (minutes): here ``load_mnist_paper_split`` hands it a small
slice of digits instead, so the block runs as written on small data.
"""

import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

import skdae.datasets

USER_GUIDE = Path(__file__).resolve().parents[1] / "docs" / "user_guide.rst"

pytestmark = pytest.mark.skipif(not USER_GUIDE.exists(), reason="docs/ folder not found")


def _python_blocks():
    """The user guide's ``.. code-block:: python`` blocks, dedented."""
    text = USER_GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"^\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", text, re.M)
    return [textwrap.dedent(block) for block in blocks]


def _small_paper_split(**kwargs):
    """Digits in [0, 1], float32, shaped as load_mnist_paper_split's six arrays."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return X[:200], y[:200], X[200:300], y[200:300], X[300:400], y[300:400]


def test_the_user_guide_has_python_blocks():
    assert len(_python_blocks()) >= 3


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_user_guide_code_block_runs_as_written(index, monkeypatch):
    monkeypatch.setattr(skdae.datasets, "load_mnist_paper_split", _small_paper_split)
    code = _python_blocks()[index]
    exec(compile(code, f"{USER_GUIDE}:block {index}", "exec"), {})
