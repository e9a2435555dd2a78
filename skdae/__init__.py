"""Denoising autoencoders as scikit-learn estimators, with a compiled engine."""

from ._autoencoder import DenoisingAutoencoder
from ._incremental import partial_fit_chunks
from ._onnx import register_onnx_converter
from ._outlier import DAEOutlierDetector
from ._stacked import SdAClassifier, StackedDenoisingAutoencoder
from ._version import __version__

__all__ = [
    "DAEOutlierDetector",
    "DenoisingAutoencoder",
    "partial_fit_chunks",
    "register_onnx_converter",
    "SdAClassifier",
    "StackedDenoisingAutoencoder",
    "__version__",
]
