"""Build script for skdae's Cython extensions.

Metadata lives in ``pyproject.toml``; this file only declares the compiled
modules: every ``skdae/**/*.pyx`` is an extension module of the same dotted
name (``skdae/_autoencoder_fast.pyx`` -> ``skdae._autoencoder_fast``), so a
new Cython module needs no edit here (nor in ``MANIFEST.in``). Environment
switches:

``SKDAE_OPENMP=0`` / ``SKDAE_OPENMP=1``
    build without / with OpenMP. The default uses OpenMP when a tiny OpenMP
    program compiles and links with the compiler at hand (GCC and LLVM clang
    with ``-fopenmp``, Apple clang with ``-Xpreprocessor -fopenmp -lomp`` when
    libomp's headers and library are on ``CPPFLAGS`` / ``LDFLAGS``, MSVC with
    ``/openmp``) and builds without it otherwise; ``SKDAE_OPENMP=1`` makes a
    failed probe an error. Without OpenMP the engine runs one thread and
    leaves the parallelism to the BLAS library.
``SKDAE_CYTHON_DEBUG=1``
    turn bounds checking and wraparound back on, for a debugging test run.
"""

import os
import shlex
import sys
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext as _build_ext
from setuptools.errors import CompileError, LinkError

PACKAGE = "skdae"

# The probe: OpenMP's header, a parallel region and a runtime call, so that
# compiling checks the flag and the header, and linking checks the runtime
# library (libgomp, libomp or vcomp).
OPENMP_PROBE = r"""
#include <omp.h>
int main(void)
{
    int n = 0;
    #pragma omp parallel reduction(+: n)
    n += 1;
    return n > 0 && omp_get_max_threads() > 0 ? 0 : 1;
}
"""


def find_extensions(root="."):
    """One Extension per ``skdae/**/*.pyx`` under ``root``, sorted by name.

    Each is compiled with the headers of its own folder and of the package
    on the include path (NumPy's is added at build time), and lists every
    ``.h`` and ``.pxd`` of the package as a dependency, so that editing one
    rebuilds the modules.
    """
    root = Path(root)
    package = root / PACKAGE
    depends = sorted(str(p.relative_to(root).as_posix())
                     for pattern in ("*.h", "*.pxd") for p in package.rglob(pattern))
    extensions = []
    for pyx in sorted(package.rglob("*.pyx")):
        source = pyx.relative_to(root)
        include_dirs = [PACKAGE]
        if str(source.parent.as_posix()) != PACKAGE:
            include_dirs.append(source.parent.as_posix())
        extensions.append(Extension(
            ".".join(source.with_suffix("").parts),
            [source.as_posix()],
            include_dirs=include_dirs,
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
            depends=depends,
        ))
    return extensions


def optimization_flags(compiler):
    """Compile flags for speed with ``compiler`` (a distutils CCompiler)."""
    if compiler.compiler_type == "msvc":
        return ["/O2"]
    # -fno-trapping-math lets GCC if-convert and vectorise the float32 loops
    # (selects instead of branches); -fno-math-errno lets it vectorise sqrt
    # (nothing reads errno). Neither changes a result and, unlike
    # -ffast-math, both keep NaN/inf semantics (the engine's isfinite checks).
    return ["-O3", "-fno-trapping-math", "-fno-math-errno"]


def openmp_candidates(compiler, platform=sys.platform):
    """The (compile flags, link flags) pairs to try, in order of preference."""
    if compiler.compiler_type == "msvc":
        return [(["/openmp"], [])]
    candidates = [(["-fopenmp"], ["-fopenmp"])]
    if platform == "darwin":
        # Apple clang has no -fopenmp driver flag but compiles OpenMP given
        # libomp (e.g. Homebrew's, with its include and lib folders on
        # CPPFLAGS and LDFLAGS).
        candidates.append((["-Xpreprocessor", "-fopenmp"], ["-lomp"]))
    return candidates


def openmp_flags(compiler, platform=sys.platform):
    """(compile flags, link flags) under which an OpenMP program compiles
    and links with ``compiler``, or None when no candidate does.

    The probe program is compiled with the compiler's own command line (so
    ``CC``, ``CFLAGS`` and ``CPPFLAGS`` apply) and linked as an executable
    with ``LDFLAGS`` in front, as the extension will be; it is not run, so
    the probe also holds when cross-compiling.
    """
    ldflags = shlex.split(os.environ.get("LDFLAGS", ""))
    with tempfile.TemporaryDirectory(prefix="skdae-openmp-") as tmp:
        source = os.path.join(tmp, "probe.c")
        with open(source, "w") as f:
            f.write(OPENMP_PROBE)
        for compile_flags, link_flags in openmp_candidates(compiler, platform):
            try:
                objects = compiler.compile([source], output_dir=tmp,
                                           extra_postargs=compile_flags)
                compiler.link_executable(objects, "probe", output_dir=tmp,
                                         extra_preargs=ldflags,
                                         extra_postargs=link_flags)
            except (CompileError, LinkError):
                continue
            return compile_flags, link_flags
    return None


class build_ext(_build_ext):
    """setuptools' build_ext that cythonizes when it runs (so building the
    sdist needs no Cython and ships no generated C) and picks the compiler
    flags, OpenMP included, for the compiler it is about to use."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        import numpy as np

        self.cythonize()
        compile_args = optimization_flags(self.compiler)
        link_args = []
        setting = os.environ.get("SKDAE_OPENMP", "")
        if setting not in ("", "0", "1"):
            raise SystemExit(f"SKDAE_OPENMP must be 0, 1 or unset, got {setting!r}.")
        if setting == "0":
            print("skdae: building without OpenMP (SKDAE_OPENMP=0)")
        else:
            flags = openmp_flags(self.compiler)
            if flags is not None:
                compile_args += flags[0]
                link_args += flags[1]
                print(f"skdae: building with OpenMP ({' '.join(flags[0])})")
            elif setting == "1":
                raise SystemExit(
                    "SKDAE_OPENMP=1 but no OpenMP program compiles and links with this "
                    f"compiler ({self.compiler.compiler_type}); tried "
                    f"{[' '.join(c) for c, _ in openmp_candidates(self.compiler)]}. "
                    "Install the compiler's OpenMP runtime (libgomp, or libomp on macOS "
                    "with its folders on CPPFLAGS/LDFLAGS), or build with SKDAE_OPENMP=0."
                )
            else:
                print("skdae: OpenMP not available with this compiler; building without "
                      "it (the engine runs one thread, BLAS keeps its own threads)")
        for ext in self.extensions:
            ext.include_dirs.append(np.get_include())
            ext.extra_compile_args = compile_args + list(ext.extra_compile_args)
            ext.extra_link_args = link_args + list(ext.extra_link_args)
        super().build_extensions()

    def cythonize(self):
        """Translate each extension's .pyx sources to C (when out of date)."""
        from Cython.Build import cythonize

        debug = os.environ.get("SKDAE_CYTHON_DEBUG", "0") == "1"
        translated = cythonize(
            self.extensions,
            force=self.force,
            compiler_directives={
                "language_level": 3,
                "boundscheck": debug,
                "wraparound": debug,
                "initializedcheck": debug,
                "cdivision": True,
                "embedsignature": True,
            },
        )
        # cythonize returns new Extension objects; setuptools keeps state on
        # the ones it finalized, so only their sources change.
        by_name = {ext.name: ext for ext in translated}
        for ext in self.extensions:
            ext.sources = by_name[ext.name].sources


if __name__ == "__main__":
    setup(ext_modules=find_extensions(), cmdclass={"build_ext": build_ext})
