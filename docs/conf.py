"""Sphinx configuration for the skdae documentation.

Build offline with ``docs/build.sh`` (warnings are errors). Set
``SKDAE_DOCS_INTERSPHINX=1`` to link NumPy, SciPy, scikit-learn and
matplotlib names to their online documentation (needs network).
"""

import importlib.util
import os
import re
import sys
from pathlib import Path

import matplotlib
from sphinx.errors import ConfigError

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


def _engine_missing(exc):
    """The error for a skdae found without its compiled engine: a source tree
    that was neither installed from nor built in place."""
    spec = importlib.util.find_spec("skdae")
    where = spec.submodule_search_locations[0] if spec else str(ROOT / "skdae")
    return ConfigError(
        f"skdae was imported from {where}, a source tree without its compiled "
        f"engine ({exc}). Build it in place with `python -m pip install -e .`, "
        "or install the package with `python -m pip install .` and build the "
        "documentation with `docs/build.sh` (or `sphinx-build docs "
        "docs/_build/html`): `python -m sphinx` run from the repository root puts "
        "the source tree ahead of the installed package."
    )


# Document the installed package; when there is none, this source tree (if
# it is built in place).
try:
    try:
        import skdae
    except ModuleNotFoundError as exc:
        if exc.name != "skdae":
            raise
        sys.path.insert(0, str(ROOT))
        import skdae
except ModuleNotFoundError as exc:
    if not (exc.name or "").startswith("skdae."):
        raise
    raise _engine_missing(exc) from None

project = "skdae"
author = "The skdae developers"
copyright = "The skdae developers"
release = skdae.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
# sphinx-gallery writes these timing pages; they are not part of any toctree.
exclude_patterns += ["sg_execution_times.rst", "auto_examples/sg_execution_times.rst"]

# -- API reference ----------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Every public docstring is checked against the numpydoc standard; a failure
# is a warning, which the build turns into an error. Methods may leave out
# Examples, See Also and an extended summary (the class has them), and
# ``self : object`` style returns are allowed, as in scikit-learn.
numpydoc_validation_checks = {"all", "ES01", "EX01", "SA01", "RT02"}
# Methods inherited from scikit-learn follow scikit-learn's docstrings.
numpydoc_validation_exclude = {
    r"\.(get_params|set_params|set_output|fit_transform|get_feature_names_out"
    r"|get_metadata_routing)$",
}

# Offline, cross-references to other projects' names cannot be resolved and
# are rendered as plain literals: being nitpicky would only report those.
nitpicky = False

# -- Links to other projects (online builds only) ----------------------------
intersphinx_mapping = {}
if os.environ.get("SKDAE_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "scipy": ("https://docs.scipy.org/doc/scipy/", None),
        "sklearn": ("https://scikit-learn.org/stable/", None),
        "matplotlib": ("https://matplotlib.org/stable/", None),
    }


_XREF = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<([^`>]*)>)?`", re.S)


def _unlink_sklearn_xrefs(app, what, name, obj, options, lines):
    """Offline, print scikit-learn's own cross-references as plain text.

    Methods inherited from scikit-learn (``set_output``, ``get_params``, ...)
    refer to labels and glossary terms of scikit-learn's documentation,
    which only intersphinx can resolve.
    """
    if intersphinx_mapping or not getattr(obj, "__module__", "").startswith("sklearn"):
        return
    text = "\n".join(lines)
    text = _XREF.sub(lambda m: m.group(1) or f"``{m.group(2)}``", text)
    lines[:] = text.split("\n")


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_sklearn_xrefs, priority=400)


# -- Gallery ------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Every examples/plot_*.py is executed; other scripts in examples/ are
    # not part of the gallery.
    "filename_pattern": re.escape(os.sep) + "plot_",
    "ignore_pattern": r"(^|[/\\])(?!plot_)[^/\\]*\.py$",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skdae",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skdae": None},
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "plot_gallery": "True",
    "matplotlib_animations": False,
}

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skdae {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "user_guide": [], "architecture": []}
html_show_sourcelink = False

# -- MyST (docs/architecture.md) ---------------------------------------------
myst_heading_anchors = 3
