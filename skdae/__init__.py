"""Denoising autoencoders as scikit-learn estimators, with a compiled engine."""

try:
    from ._autoencoder import DenoisingAutoencoder
except ModuleNotFoundError as _exc:  # a source tree whose extensions were never built
    if not (_exc.name or "").startswith(__name__ + "."):
        raise
    raise ImportError(
        f"skdae was imported from {__path__[0]}, a source tree without its "
        f"compiled engine ({_exc}). Build it in place with `python -m pip "
        "install -e .` (or `python setup.py build_ext --inplace`), or install "
        "the package with `python -m pip install .` and import it from outside "
        "the source tree (Python puts the current folder ahead of the installed "
        "package)."
    ) from None
from ._incremental import partial_fit_chunks
from ._onnx import register_onnx_converter
from ._outlier import DAEOutlierDetector
from ._stacked import SdAClassifier, SdARegressor, StackedDenoisingAutoencoder
from ._version import __version__

__all__ = [
    "DAEOutlierDetector",
    "DenoisingAutoencoder",
    "partial_fit_chunks",
    "register_onnx_converter",
    "SdAClassifier",
    "SdARegressor",
    "StackedDenoisingAutoencoder",
    "__version__",
]
