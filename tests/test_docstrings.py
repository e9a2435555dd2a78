"""The Examples sections of the public docstrings run as written."""

import doctest
import importlib
import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning

MODULES = ["skdae._autoencoder", "skdae._stacked", "skdae._incremental", "skdae.datasets._mnist",
           "skdae.datasets._variations"]


# Examples whose fits run with the default max_iter: they must converge (stop
# before max_iter) without a ConvergenceWarning. The others cut max_iter to a
# few epochs to stay fast, and warn as they should.
CONVERGING = ["skdae._autoencoder", "skdae._incremental"]


@pytest.mark.parametrize("module_name", MODULES + ["skdae.plotting"])
def test_docstring_examples_run(module_name):
    if module_name == "skdae.plotting":
        pytest.importorskip("matplotlib").use("Agg")
    module = importlib.import_module(module_name)
    with warnings.catch_warnings():
        warnings.simplefilter("error" if module_name in CONVERGING else "ignore",
                              ConvergenceWarning)
        result = doctest.testmod(module,
                                 optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module_name} has no doctest examples"
    assert result.failed == 0
