"""Build script for skdae's Cython extensions.

Metadata lives in ``pyproject.toml``; this file only declares the compiled
modules. Environment switches:

``SKDAE_OPENMP=0`` / ``SKDAE_OPENMP=1``
    build without / with OpenMP. The default is on for Linux (GCC or Clang
    with libgomp/libomp) and off elsewhere. Without OpenMP the engine runs
    one thread and leaves the parallelism to the BLAS library.
``SKDAE_CYTHON_DEBUG=1``
    turn bounds checking and wraparound back on, for a debugging test run.
"""

import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

OPENMP = os.environ.get("SKDAE_OPENMP", "1" if sys.platform.startswith("linux") else "0") == "1"
DEBUG = os.environ.get("SKDAE_CYTHON_DEBUG", "0") == "1"

# -fno-trapping-math lets GCC if-convert and vectorise the float32 loops
# (selects instead of branches); -fno-math-errno lets it vectorise sqrt
# (nothing reads errno). Neither changes a result and, unlike -ffast-math,
# both keep NaN/inf semantics (the engine's isfinite checks).
compile_args = (["-O3", "-fno-trapping-math", "-fno-math-errno"]
                if sys.platform != "win32" else ["/O2"])
link_args = []
if OPENMP:
    compile_args.append("-fopenmp" if sys.platform != "win32" else "/openmp")
    if sys.platform != "win32":
        link_args.append("-fopenmp")

MODULES = ["skdae._engine", "skdae._autoencoder_fast"]

extensions = [
    Extension(
        name,
        [name.replace(".", "/") + ".pyx"],
        include_dirs=[np.get_include(), "skdae"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
    for name in MODULES
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "boundscheck": DEBUG,
            "wraparound": DEBUG,
            "initializedcheck": DEBUG,
            "cdivision": True,
            "embedsignature": True,
        },
    ),
)
