"""The Examples sections of the public docstrings run as written."""

import doctest
import importlib

import pytest

MODULES = ["skdae._autoencoder", "skdae._stacked", "skdae._incremental", "skdae.datasets._mnist",
           "skdae.datasets._variations"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("module_name", MODULES + ["skdae.plotting"])
def test_docstring_examples_run(module_name):
    if module_name == "skdae.plotting":
        pytest.importorskip("matplotlib").use("Agg")
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module_name} has no doctest examples"
    assert result.failed == 0
