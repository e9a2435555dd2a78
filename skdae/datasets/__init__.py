"""Dataset loaders and generators for skdae."""

from ._mnist import fetch_mnist, get_data_home, load_mnist_paper_split
from ._variations import make_convex, make_mnist_variations, make_rectangles

__all__ = [
    "fetch_mnist",
    "get_data_home",
    "load_mnist_paper_split",
    "make_convex",
    "make_mnist_variations",
    "make_rectangles",
]
