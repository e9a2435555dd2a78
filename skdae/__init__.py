"""Denoising autoencoders as scikit-learn estimators, with a compiled engine."""

from ._autoencoder import DenoisingAutoencoder
from ._version import __version__

__all__ = ["DenoisingAutoencoder", "__version__"]
