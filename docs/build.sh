#!/usr/bin/env bash
# Build the HTML documentation offline, with warnings as errors:
#
#     python -m pip install ".[docs]" && docs/build.sh
#
# The gallery examples (examples/plot_*.py) are executed during the build.
# Extra arguments go to sphinx-build (e.g. -j auto, or -D plot_gallery=0 to
# skip running the examples). The result is docs/_build/html/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg
# One thread for BLAS and the training engine unless told otherwise: the
# figures are then reproducible bit for bit (a fit is deterministic for a
# fixed thread count), and the small fits of the gallery do not oversubscribe
# a shared machine.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
export MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
exec sphinx-build -W --keep-going -b html docs docs/_build/html "$@"
