"""docs/conf.py: building the docs from a source tree that has no compiled
engine stops with a message that says what to do."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[1] / "docs" / "conf.py"

pytestmark = pytest.mark.skipif(not CONF.exists(), reason="docs/ folder not found")


def test_conf_says_to_install_or_build_in_place_without_the_engine(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("matplotlib")
    # A source tree whose package imports a compiled module that was never
    # built, documented with `python -m sphinx` from its root (which puts the
    # tree first on sys.path, ahead of any installed skdae). The module name
    # exists nowhere, so that an editable install of the real tree cannot
    # supply it.
    tree = tmp_path / "tree"
    (tree / "skdae").mkdir(parents=True)
    (tree / "docs").mkdir()
    (tree / "skdae" / "__init__.py").write_text("from ._engine_never_built import train_epoch\n")
    shutil.copy(CONF, tree / "docs" / "conf.py")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", "docs", str(tmp_path / "html")],
        cwd=tree, env=env, capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "No module named 'skdae._engine_never_built'" in output
    assert "source tree without its compiled engine" in output
    assert "python -m pip install -e ." in output
    assert "python -m pip install ." in output
    assert "docs/build.sh" in output
