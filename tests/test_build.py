"""The build (setup.py, MANIFEST.in): every Cython module is found, OpenMP is
used where the compiler has it and left out cleanly where it has not, and
the sdist ships every source and nothing generated.

These test the source tree's build machinery, not an installed package.
"""

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "setup.py"

pytestmark = pytest.mark.skipif(not SETUP.exists(), reason="setup.py not found")


@pytest.fixture(scope="module")
def setup_module():
    pytest.importorskip("setuptools")
    spec = importlib.util.spec_from_file_location("skdae_setup", SETUP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # setup() runs only as __main__
    return module


def test_every_pyx_under_the_package_is_an_extension_module(setup_module, tmp_path):
    for name in ["skdae/_a.pyx", "skdae/_a.pxd", "skdae/_kernels.h",
                 "skdae/_engine/_b.pyx", "skdae/_engine/_shared.pxd"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    extensions = setup_module.find_extensions(tmp_path)
    assert [ext.name for ext in extensions] == ["skdae._a", "skdae._engine._b"]
    assert [ext.sources for ext in extensions] == [["skdae/_a.pyx"], ["skdae/_engine/_b.pyx"]]
    # headers are found next to the module and at the package's top level
    assert extensions[0].include_dirs == ["skdae"]
    assert extensions[1].include_dirs == ["skdae", "skdae/_engine"]
    # editing any header or .pxd rebuilds every module
    deps = ["skdae/_a.pxd", "skdae/_engine/_shared.pxd", "skdae/_kernels.h"]
    assert all(sorted(ext.depends) == deps for ext in extensions)


def _c_compiler():
    """The C compiler setuptools would build with, or skip."""
    pytest.importorskip("setuptools")
    from distutils.ccompiler import new_compiler  # setuptools' copy
    from distutils.sysconfig import customize_compiler

    compiler = new_compiler()
    customize_compiler(compiler)
    if compiler.compiler_type != "unix" or shutil.which(compiler.compiler_so[0]) is None:
        pytest.skip("needs a Unix C compiler")
    return compiler


def _wrap(compiler, tmp_path, script):
    """``compiler`` with its compile and link commands run through a shell
    ``script`` that sees the real compiler as "$CC" and its arguments as "$@"."""
    wrapper = tmp_path / "cc-wrapper"
    cc = compiler.compiler_so[0]
    wrapper.write_text(f'#!/bin/sh\nCC={cc}\n{script}\nexec "$CC" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    compiler.set_executables(compiler_so=[str(wrapper), *compiler.compiler_so[1:]],
                             linker_exe=[str(wrapper), *compiler.linker_exe[1:]])
    return compiler


def test_openmp_probe_finds_gcc_openmp(setup_module):
    compiler = _c_compiler()
    version = subprocess.run([compiler.compiler_so[0], "--version"],
                             capture_output=True, text=True).stdout
    if sys.platform != "linux" or "Free Software Foundation" not in version:
        pytest.skip("GCC on Linux ships OpenMP (libgomp); other compilers may not")
    assert setup_module.openmp_flags(compiler) == (["-fopenmp"], ["-fopenmp"])


# Compilers seen through a wrapper (the real compiler underneath):
REFUSES_THE_FLAG = 'for a; do case "$a" in *openmp*|-lomp) exit 1;; esac; done'
# compiles OpenMP code but has no runtime library to link (no libgomp/libomp)
CANNOT_LINK = ('case " $* " in *" -c "*) ;; *) for a; do case "$a" in *openmp*|-lomp) '
               'exit 1;; esac; done;; esac')
# Apple clang with libomp: no -fopenmp driver flag, but -Xpreprocessor
# -fopenmp and -lomp (played by GCC's -fopenmp and libgomp)
APPLE_CLANG = ('for a; do [ "$a" = -Xpreprocessor ] && xp=1; done\n'
               'args=""; for a; do case "$a" in -fopenmp) [ -n "$xp" ] || exit 1;; '
               '-Xpreprocessor) continue;; -lomp) a=-fopenmp;; esac; '
               'args="$args $a"; done\nset -- $args')


@pytest.mark.parametrize("script, platform, expected", [
    (REFUSES_THE_FLAG, "linux", None),
    (REFUSES_THE_FLAG, "darwin", None),
    (CANNOT_LINK, "linux", None),
    (APPLE_CLANG, "linux", None),
    (APPLE_CLANG, "darwin", (["-Xpreprocessor", "-fopenmp"], ["-lomp"])),
], ids=["refuses-flag", "refuses-flag-macos", "cannot-link", "apple-clang-off-macos",
        "apple-clang-libomp"])
def test_openmp_probe_falls_back_cleanly(setup_module, tmp_path, script, platform, expected):
    if setup_module.openmp_flags(_c_compiler()) is None:
        pytest.skip("this compiler has no OpenMP to play the others with")
    compiler = _wrap(_c_compiler(), tmp_path, script)
    assert setup_module.openmp_flags(compiler, platform=platform) == expected


def test_msvc_is_probed_with_its_own_flag(setup_module):
    class MSVC:
        compiler_type = "msvc"

    assert setup_module.openmp_candidates(MSVC()) == [(["/openmp"], [])]
    assert setup_module.optimization_flags(MSVC()) == ["/O2"]


def _sdist_names(tmp_path):
    """Member names (without the top folder) of the sdist in $SKDAE_SDIST
    (the CI's `python -m build` output), else of one built from ROOT."""
    path = os.environ.get("SKDAE_SDIST")
    if not path:
        pytest.importorskip("setuptools", minversion="77")
        code = ("import sys; from setuptools import build_meta; "
                "print(build_meta.build_sdist(sys.argv[1]))")
        result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        path = tmp_path / result.stdout.strip().splitlines()[-1]
    with tarfile.open(path) as sdist:
        names = [m.name for m in sdist.getmembers() if m.isfile()]
    return {name.split("/", 1)[1] for name in names}


def test_sdist_ships_every_source_and_nothing_generated(tmp_path):
    names = _sdist_names(tmp_path)
    package = ROOT / "skdae"
    sources = {p.relative_to(ROOT).as_posix()
               for pattern in ("*.py", "*.pyx", "*.pxd", "*.h") for p in package.rglob(pattern)}
    sources |= {p.relative_to(ROOT).as_posix() for folder in ("tests", "benchmarks")
                for p in (ROOT / folder).glob("*.py")}
    sources.add("benchmarks/README.md")  # the page benchmarks/run.py rewrites
    sources |= {"README.md", "LICENSE", "pyproject.toml", "setup.py", "MANIFEST.in",
                "docs/conf.py"}
    assert any(name.endswith(".pyx") for name in sources)
    assert sorted(sources - names) == []
    generated = (".c", ".so", ".pyd", ".dll", ".dylib", ".pyc", ".o", ".html", ".gz")
    left_out = (".ci/", "build/", "dist/", "docs/_build/",
                "docs/auto_examples/", "docs/generated/", "data/")
    assert sorted(n for n in names if n.endswith(generated) or "__pycache__" in n
                  or n.startswith(left_out)) == []


def test_import_from_an_unbuilt_source_tree_says_to_build_or_install(tmp_path):
    # The package's Python files without the compiled extensions, imported
    # from the folder that holds them (as `python -c "import skdae"` run at
    # the root of a fresh clone does: the folder comes first on sys.path).
    # `-S` and the site-packages on PYTHONPATH: the dependencies, without the
    # .pth files, through which an editable install of this tree would supply
    # the extensions. (CI's first run of this file is in the build tools'
    # environment, without skdae's dependencies: the check needs them.)
    for dependency in ("numpy", "scipy", "sklearn"):
        pytest.importorskip(dependency)
    shutil.copytree(ROOT / "skdae", tmp_path / "skdae",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    paths = sysconfig.get_paths()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join({paths["purelib"], paths["platlib"]}))
    result = subprocess.run([sys.executable, "-S", "-c", "import skdae"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: skdae was imported from ")
    assert "a source tree without its compiled engine" in last
    assert "No module named 'skdae._" in last
    assert "python -m pip install -e ." in last
    assert "python -m pip install ." in last
