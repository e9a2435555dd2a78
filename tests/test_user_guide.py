"""Every Python code block of the user guide (docs/user_guide.rst) runs as
written, each in a fresh namespace.

The fine-tuning block trains the paper's MNIST network on the 50 000 / 10 000 /
10 000 split (minutes): here ``load_mnist_paper_split`` hands it a small
slice of digits instead, so the block runs as written on small data.
"""

import re
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

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
    return X[:50], y[:50], X[50:75], y[50:75], X[75:100], y[75:100]


def test_the_user_guide_has_python_blocks():
    assert len(_python_blocks()) >= 3


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_user_guide_code_block_runs_as_written(index, monkeypatch):
    monkeypatch.setattr(skdae.datasets, "load_mnist_paper_split", _small_paper_split)
    code = _python_blocks()[index]
    # The fits on digits must stop before max_iter, as a user's first fits
    # should; the paper's MNIST settings need not converge on the stand-in.
    paper = "load_mnist_paper_split" in code
    # (one BLAS thread: scikit-learn's LogisticRegression on small data is
    # many times slower with OpenBLAS's threads when the cores are busy)
    with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
        warnings.simplefilter("ignore" if paper else "error", ConvergenceWarning)
        exec(compile(code, f"{USER_GUIDE}:block {index}", "exec"), {})
