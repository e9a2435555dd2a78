"""Denoising autoencoders as scikit-learn estimators, with a compiled engine."""

from ._autoencoder import DenoisingAutoencoder
from ._incremental import partial_fit_chunks
from ._onnx import register_onnx_converter
from ._stacked import SdAClassifier, SdARegressor, StackedDenoisingAutoencoder
from ._version import __version__

__all__ = [
    "DenoisingAutoencoder",
    "partial_fit_chunks",
    "register_onnx_converter",
    "SdAClassifier",
    "SdARegressor",
    "StackedDenoisingAutoencoder",
    "__version__",
]
