"""Dataset loaders for skdae."""

from ._mnist import fetch_mnist, get_data_home, load_mnist_paper_split

__all__ = ["fetch_mnist", "get_data_home", "load_mnist_paper_split"]
