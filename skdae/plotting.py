"""Displays of fitted autoencoders: filters, reconstructions, loss curves.

The displays follow scikit-learn's visualisation API: a ``from_estimator``
class method computes what to show from a fitted estimator and plots it;
the constructor takes the computed arrays, and ``plot`` draws them and
returns the display, which keeps the matplotlib objects as ``figure_``,
``ax_`` and ``im_`` (or ``line_``). ``from_estimator`` reads an autoencoder,
a stack, an :class:`~skdae.SdAClassifier` or a fitted Pipeline ending in
one. A display that makes its own figure gives it the constrained layout,
so that a plain ``figure_.savefig(path)`` keeps every label.

matplotlib is an optional dependency: ``pip install skdae[plot]``. Importing
this module does not need it; plotting does.
"""

import warnings
from math import isqrt
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier, is_regressor
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["FilterDisplay", "LossCurveDisplay", "ReconstructionDisplay"]


def _check_matplotlib_support(caller_name):
    """Import matplotlib's pyplot, or raise an ImportError naming the extra."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller_name} requires matplotlib, an optional dependency of "
            "skdae. Install it with: pip install skdae[plot]"
        ) from exc
    return plt


def _axes(plt, ax, figsize=None):
    """The axes to draw on and its figure.

    With ``ax=None`` a new figure (of ``figsize`` inches, None for
    matplotlib's default) is made with the constrained layout, which keeps
    room for the tick labels, axis labels and legend, so that a plain
    ``figure_.savefig(path)`` shows them whole. Given axes keep the layout
    of their figure.
    """
    if ax is None:
        _, ax = plt.subplots(layout="constrained", figsize=figsize)
    return ax, ax.figure


def _image_shape(n_features, image_shape):
    """Validate ``image_shape`` or infer a square one from ``n_features``."""
    if image_shape is None:
        side = isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"Cannot infer a square image from {n_features} features; pass "
                "image_shape=(height, width)."
            )
        return side, side
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) != 2 or image_shape[0] * image_shape[1] != n_features:
        raise ValueError(
            f"image_shape={image_shape} does not match {n_features} features: "
            "height * width must equal the number of features."
        )
    return image_shape


def _as_images(rows, image_shape, name):
    """``rows`` of shape (n, h * w) as float64 images of shape (n, h, w)."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(
            f"{name} must be a 2D array of shape (n_images, n_features); got "
            f"shape {rows.shape}."
        )
    return rows.reshape(rows.shape[0], *_image_shape(rows.shape[1], image_shape))


def _tile(images, n_cols, padding):
    """Tile images of shape (n, h, w) into one array, row by row.

    Tiles are separated by ``padding`` pixels of NaN, and the unused cells of
    the last row are NaN too, so that they are drawn in the colour map's
    "bad" colour.
    """
    n_images, height, width = images.shape
    n_rows = -(-n_images // n_cols)
    step_h, step_w = height + padding, width + padding
    out = np.full((n_rows * step_h - padding, n_cols * step_w - padding), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, n_cols)
        out[r * step_h : r * step_h + height, c * step_w : c * step_w + width] = image
    return out


def _cmap_with_background(cmap, background):
    """A colour map whose "bad" colour (the NaN gaps) is ``background``."""
    import matplotlib as mpl

    cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    return cmap.with_extremes(bad=background)


def _final_step(estimator):
    """The estimator a display reads, and the fitted steps in front of it.

    A :class:`~sklearn.pipeline.Pipeline` (checked fitted) is unwrapped to
    its last step, nested pipelines too; the steps before it are returned,
    in order, so that data can be brought to the last step's input. Anything
    else is returned as it is, with no steps, and checked fitted when it is
    an estimator.
    """
    steps = []
    while isinstance(estimator, Pipeline):
        check_is_fitted(estimator)
        if len(estimator) > 1:
            steps.append(estimator[:-1])
        estimator = estimator[-1]
    if hasattr(estimator, "fit"):
        check_is_fitted(estimator)
    return estimator, steps


def _pick_layer(layers, layer, owner):
    """``layers[layer]``, or a ValueError that says which indices exist.

    ``owner`` names where the layers are, e.g. ``"SdAClassifier.coefs_"``.
    """
    n = len(layers)
    if isinstance(layer, bool) or not isinstance(layer, Integral) or not -n <= layer < n:
        valid = f"an index from {-n} to {n - 1}" if n else "no index"
        raise ValueError(
            f"layer={layer!r} is out of range: {owner} holds {n} layer"
            f"{'' if n == 1 else 's'}, so layer takes {valid}."
        )
    return layers[layer]


def _filters(estimator, layer):
    """The filters of layer ``layer``: one row of input weights per unit.

    ``coefs_[layer].T`` for a network (an :class:`~skdae.SdAClassifier`
    or scikit-learn's MLP), ``autoencoders_[layer].components_`` for a
    stack and ``components_`` (layer 0, the only one) otherwise.
    """
    name = type(estimator).__name__
    if hasattr(estimator, "coefs_"):
        return _pick_layer([W.T for W in estimator.coefs_], layer, f"{name}.coefs_")
    if hasattr(estimator, "autoencoders_"):
        stack = estimator.autoencoders_
        return _pick_layer(stack, layer, f"{name}.autoencoders_").components_
    if hasattr(estimator, "components_"):
        return _pick_layer([estimator.components_], layer, name)
    raise TypeError(
        "Expected a fitted autoencoder or another object with a components_ "
        "array (e.g. a PCA), a stack with autoencoders_, a network with "
        f"coefs_, or a Pipeline ending in one of them; got {name}."
    )


class FilterDisplay:
    """Filters (encoder weights) of an autoencoder shown as a grid of images.

    Each filter, a row of ``components_``, is reshaped to an image and the
    images are tiled into one array drawn with ``imshow``. The grey scale is
    symmetric about zero: a weight of 0 is mid-grey, positive weights are
    light and negative weights dark.

    It is recommended to use :meth:`FilterDisplay.from_estimator` to create
    a display. All parameters are stored as attributes.

    Parameters
    ----------
    filters : array-like of shape (n_filters, n_features)
        Filters to show, one per row (e.g. ``components_[:100]``).

    image_shape : tuple of int (height, width), default=None
        Shape of one image, with ``height * width == n_features``. None
        infers a square image.

    Attributes
    ----------
    im_ : matplotlib AxesImage
        The tiled filters. ``im_.get_array()`` holds the images separated by
        masked (NaN) pixels.

    ax_ : matplotlib Axes
        Axes with the filters.

    figure_ : matplotlib Figure
        Figure containing the filters.

    colorbar_ : matplotlib Colorbar or None
        The colour bar, if one was drawn.

    See Also
    --------
    ReconstructionDisplay : Clean, corrupted and reconstructed inputs.
    LossCurveDisplay : Training loss per epoch.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from skdae import DenoisingAutoencoder
    >>> from skdae.plotting import FilterDisplay
    >>> X = load_digits().data / 16.0
    >>> dae = DenoisingAutoencoder(n_components=16, loss="cross_entropy",
    ...                            max_iter=3, random_state=0).fit(X)
    >>> display = FilterDisplay(dae.components_, image_shape=(8, 8)).plot()
    >>> display.im_.get_array().shape  # a 4 x 4 grid of 8 x 8 images
    (35, 35)
    >>> plt.close("all")
    """

    def __init__(self, filters, *, image_shape=None):
        self.filters = filters
        self.image_shape = image_shape

    def plot(
        self,
        *,
        n_cols=None,
        scale="global",
        cmap="gray",
        padding=1,
        background="white",
        colorbar=False,
        ax=None,
        im_kw=None,
    ):
        """Plot the filters.

        Parameters
        ----------
        n_cols : int, default=None
            Number of filters per row of the grid. None makes the grid as
            square as possible: ``ceil(sqrt(n_filters))`` columns.

        scale : {"global", "per_filter"}, default="global"
            ``"global"`` draws every filter on the colour scale
            ``[-m, m]``, with ``m`` the largest absolute weight among the
            shown filters, so that filters can be compared.
            ``"per_filter"`` first divides each filter by its own largest
            absolute weight (the scale is then ``[-1, 1]``), which shows the
            pattern of weak filters too.

        cmap : str or matplotlib Colormap, default="gray"
            Colour map.

        padding : int, default=1
            Pixels between neighbouring filters.

        background : color, default="white"
            Colour of the padding and of the empty cells of the last row.

        colorbar : bool, default=False
            Whether to add a colour bar.

        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.

        im_kw : dict, default=None
            Keywords passed to :meth:`matplotlib.axes.Axes.imshow`; they
            override the defaults (e.g. ``vmin`` and ``vmax``).

        Returns
        -------
        display : FilterDisplay
            The display, with ``im_``, ``ax_`` and ``figure_`` set.
        """
        plt = _check_matplotlib_support(f"{type(self).__name__}.plot")
        images = _as_images(self.filters, self.image_shape, "filters")
        if images.shape[0] == 0:
            raise ValueError("filters is empty: there is nothing to plot.")
        if scale == "per_filter":
            peaks = np.abs(images).max(axis=(1, 2), keepdims=True)
            images = images / np.where(peaks > 0, peaks, 1.0)
        elif scale != "global":
            raise ValueError(
                f"scale must be 'global' or 'per_filter'; got {scale!r}."
            )
        m = float(np.abs(images).max()) or 1.0
        if n_cols is None:
            n_cols = isqrt(images.shape[0] - 1) + 1
        n_cols = min(int(n_cols), images.shape[0])
        if n_cols < 1:
            raise ValueError(f"n_cols must be a positive integer; got {n_cols}.")

        ax, fig = _axes(plt, ax)
        im_kw = {
            "cmap": _cmap_with_background(cmap, background),
            "vmin": -m,
            "vmax": m,
            "interpolation": "nearest",
            **(im_kw or {}),
        }
        self.im_ = ax.imshow(_tile(images, n_cols, int(padding)), **im_kw)
        ax.set_xticks([])
        ax.set_yticks([])
        self.colorbar_ = fig.colorbar(self.im_, ax=ax) if colorbar else None
        self.ax_ = ax
        self.figure_ = fig
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        layer=0,
        n_filters=100,
        image_shape=None,
        n_cols=None,
        scale="global",
        cmap="gray",
        padding=1,
        background="white",
        colorbar=False,
        ax=None,
        im_kw=None,
    ):
        """Plot the first filters of a fitted autoencoder.

        Parameters
        ----------
        estimator : estimator instance
            The fitted estimator whose filters are drawn, or a fitted
            :class:`~sklearn.pipeline.Pipeline` ending in one (its last step
            is drawn; the filters are in the space of that step's input):

            - :class:`~skdae.DenoisingAutoencoder`, or any object with a
              ``components_`` array of shape (n_components, n_features),
              such as a :class:`~sklearn.decomposition.PCA`: its
              ``components_``;
            - :class:`~skdae.StackedDenoisingAutoencoder`: the
              ``components_`` of its layer ``autoencoders_[layer]``;
            - :class:`~skdae.SdAClassifier` (or scikit-learn's MLP): the
              fine-tuned weights ``coefs_[layer].T``, one row per unit of
              the layer they feed (the last index is the output layer). Its
              pretrained filters, as they were before fine-tuning, are
              those of ``autoencoders_[layer]``: pass that layer instead.

        layer : int, default=0
            Which layer of a stack or network to draw: 0 is the first layer,
            the one that reads the input and whose filters are images;
            negative indices count from the top. An estimator with one
            layer (``components_``) takes 0 or -1.

        n_filters : int or None, default=100
            Number of filters to show: the first ``n_filters`` rows of
            ``components_``. None shows them all.

        image_shape : tuple of int (height, width), default=None
            Shape of one image, with ``height * width == n_features``. None
            infers a square image.

        n_cols : int, default=None
            Number of filters per row of the grid. None makes the grid as
            square as possible.

        scale : {"global", "per_filter"}, default="global"
            ``"global"``: one symmetric colour scale ``[-m, m]``, with ``m``
            the largest absolute weight among the shown filters.
            ``"per_filter"``: each filter divided by its own largest absolute
            weight first.

        cmap : str or matplotlib Colormap, default="gray"
            Colour map.

        padding : int, default=1
            Pixels between neighbouring filters.

        background : color, default="white"
            Colour of the padding and of the empty cells of the last row.

        colorbar : bool, default=False
            Whether to add a colour bar.

        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.

        im_kw : dict, default=None
            Keywords passed to :meth:`matplotlib.axes.Axes.imshow`.

        Returns
        -------
        display : FilterDisplay
            The display, with ``im_``, ``ax_`` and ``figure_`` set.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> from sklearn.datasets import load_digits
        >>> from skdae import DenoisingAutoencoder
        >>> from skdae.plotting import FilterDisplay
        >>> X = load_digits().data / 16.0
        >>> dae = DenoisingAutoencoder(n_components=36, loss="cross_entropy",
        ...                            max_iter=3, random_state=0).fit(X)
        >>> display = FilterDisplay.from_estimator(dae)
        >>> vmin, vmax = display.im_.get_clim()
        >>> bool(vmin == -vmax)
        True
        >>> plt.close("all")
        """
        _check_matplotlib_support(f"{cls.__name__}.from_estimator")
        estimator, _ = _final_step(estimator)
        filters = np.asarray(_filters(estimator, layer))
        if n_filters is not None:
            filters = filters[: int(n_filters)]
        display = cls(filters, image_shape=image_shape)
        return display.plot(
            n_cols=n_cols,
            scale=scale,
            cmap=cmap,
            padding=padding,
            background=background,
            colorbar=colorbar,
            ax=ax,
            im_kw=im_kw,
        )


class ReconstructionDisplay:
    """Clean, corrupted and reconstructed inputs, one row each.

    The images are tiled into one array drawn with ``imshow``: the first
    row holds the clean examples, the second their corrupted copies (when
    given) and the last the autoencoder's reconstructions. The rows are
    labelled on the y axis.

    It is recommended to use :meth:`ReconstructionDisplay.from_estimator` to
    create a display. All parameters are stored as attributes.

    Parameters
    ----------
    clean : array-like of shape (n_examples, n_features)
        The clean examples.

    corrupted : array-like of shape (n_examples, n_features) or None
        The corrupted examples fed to the encoder; None leaves the row out.

    reconstructed : array-like of shape (n_examples, n_features)
        The reconstructions.

    image_shape : tuple of int (height, width), default=None
        Shape of one image, with ``height * width == n_features``. None
        infers a square image.

    Attributes
    ----------
    im_ : matplotlib AxesImage
        The tiled images. ``im_.get_array()`` holds them separated by masked
        (NaN) pixels.

    ax_ : matplotlib Axes
        Axes with the images.

    figure_ : matplotlib Figure
        Figure containing the images.

    See Also
    --------
    FilterDisplay : The filters of an autoencoder.
    LossCurveDisplay : Training loss per epoch.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from skdae.plotting import ReconstructionDisplay
    >>> X = load_digits().data[:5] / 16.0
    >>> display = ReconstructionDisplay(X, None, X.round()).plot()
    >>> [t.get_text() for t in display.ax_.get_yticklabels()]
    ['clean', 'reconstructed']
    >>> plt.close("all")
    """

    def __init__(self, clean, corrupted, reconstructed, *, image_shape=None):
        self.clean = clean
        self.corrupted = corrupted
        self.reconstructed = reconstructed
        self.image_shape = image_shape

    def plot(
        self,
        *,
        cmap="gray",
        padding=1,
        background="white",
        ax=None,
        im_kw=None,
    ):
        """Plot the clean, corrupted and reconstructed rows.

        Parameters
        ----------
        cmap : str or matplotlib Colormap, default="gray"
            Colour map.

        padding : int, default=1
            Pixels between neighbouring images.

        background : color, default="white"
            Colour of the padding.

        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.

        im_kw : dict, default=None
            Keywords passed to :meth:`matplotlib.axes.Axes.imshow`. The
            default colour limits are the range of the clean examples, so
            that noise outside it does not wash out the contrast.

        Returns
        -------
        display : ReconstructionDisplay
            The display, with ``im_``, ``ax_`` and ``figure_`` set.
        """
        plt = _check_matplotlib_support(f"{type(self).__name__}.plot")
        rows = [("clean", self.clean), ("corrupted", self.corrupted),
                ("reconstructed", self.reconstructed)]
        rows = [(label, _as_images(data, self.image_shape, label))
                for label, data in rows if data is not None]
        n_examples = rows[0][1].shape[0]
        for label, images in rows:
            if images.shape != rows[0][1].shape:
                raise ValueError(
                    f"{label} holds {images.shape[0]} images of shape "
                    f"{images.shape[1:]}, but clean holds {n_examples} of shape "
                    f"{rows[0][1].shape[1:]}; the rows must match."
                )
        if n_examples == 0:
            raise ValueError("clean is empty: there is nothing to plot.")
        clean = rows[0][1]
        padding = int(padding)
        tiled = _tile(np.concatenate([images for _, images in rows]), n_examples, padding)
        # A new figure as wide as matplotlib's default and about as high as
        # the tiled images drawn across it after an inch for the row labels,
        # at most as high as the default.
        width, max_height = plt.rcParams["figure.figsize"]
        height = (width - 1.0) * tiled.shape[0] / tiled.shape[1] + 0.3
        height = min(max(height, 1.5), max_height)
        ax, fig = _axes(plt, ax, figsize=(width, height))
        im_kw = {
            "cmap": _cmap_with_background(cmap, background),
            "vmin": float(clean.min()),
            "vmax": float(clean.max()),
            "interpolation": "nearest",
            **(im_kw or {}),
        }
        self.im_ = ax.imshow(tiled, **im_kw)
        height = clean.shape[1]
        ax.set_xticks([])
        ax.set_yticks(
            [i * (height + padding) + (height - 1) / 2 for i in range(len(rows))],
            [label for label, _ in rows],
        )
        ax.tick_params(axis="y", length=0)
        self.ax_ = ax
        self.figure_ = fig
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        *,
        n_examples=8,
        image_shape=None,
        corrupt=True,
        random_state=None,
        cmap="gray",
        padding=1,
        background="white",
        ax=None,
        im_kw=None,
    ):
        """Corrupt the first examples of ``X``, reconstruct them and plot.

        The corrupted row is drawn with the autoencoder's own training noise
        process (its ``corruption`` and ``corruption_level``); the
        reconstruction is ``inverse_transform(transform(corrupted))``.

        Parameters
        ----------
        estimator : estimator instance
            Fitted :class:`~skdae.DenoisingAutoencoder` or
            :class:`~skdae.StackedDenoisingAutoencoder`, or a fitted
            :class:`~sklearn.pipeline.Pipeline` ending in one. A stack's
            corrupted row is drawn with the noise of its first layer (the
            noise its pretraining applied to the data) and reconstructed
            through every layer; to see one layer alone, pass
            ``autoencoders_[0]``. A pipeline's leading steps transform ``X``
            first, and the images show what its last step reads and returns.
            With ``corrupt=False`` any fitted transformer with
            ``inverse_transform`` works (e.g. a
            :class:`~sklearn.decomposition.PCA`). An
            :class:`~skdae.SdAClassifier` has no decoder: pass one of its
            pretrained layers, ``autoencoders_[0]``.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Examples; the first ``n_examples`` rows are shown (densified).

        n_examples : int, default=8
            Number of examples (columns).

        image_shape : tuple of int (height, width), default=None
            Shape of one image, with ``height * width == n_features``. None
            infers a square image.

        corrupt : bool, default=True
            Whether to corrupt the examples before reconstructing them. With
            False the corrupted row is left out and the clean examples are
            reconstructed.

        random_state : int, RandomState instance or None, default=None
            Seeds the corruption noise. Pass an int for the same picture
            every time.

        cmap : str or matplotlib Colormap, default="gray"
            Colour map.

        padding : int, default=1
            Pixels between neighbouring images.

        background : color, default="white"
            Colour of the padding.

        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.

        im_kw : dict, default=None
            Keywords passed to :meth:`matplotlib.axes.Axes.imshow`.

        Returns
        -------
        display : ReconstructionDisplay
            The display, with ``im_``, ``ax_`` and ``figure_`` set.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> from sklearn.datasets import load_digits
        >>> from skdae import DenoisingAutoencoder
        >>> from skdae.plotting import ReconstructionDisplay
        >>> X = load_digits().data / 16.0
        >>> dae = DenoisingAutoencoder(n_components=32, loss="cross_entropy",
        ...                            corruption_level=0.5, max_iter=3,
        ...                            random_state=0).fit(X)
        >>> display = ReconstructionDisplay.from_estimator(
        ...     dae, X, n_examples=6, random_state=0)
        >>> display.corrupted.shape
        (6, 64)
        >>> [t.get_text() for t in display.ax_.get_yticklabels()]
        ['clean', 'corrupted', 'reconstructed']
        >>> plt.close("all")
        """
        _check_matplotlib_support(f"{cls.__name__}.from_estimator")
        estimator, steps = _final_step(estimator)
        name = type(estimator).__name__
        if not hasattr(estimator, "inverse_transform"):
            hint = ""
            if getattr(estimator, "autoencoders_", None):
                hint = (
                    f" Its pretrained layers can: pass {name}.autoencoders_[0] to "
                    "show the first layer's reconstructions."
                )
            raise TypeError(
                f"{name} has no inverse_transform: it cannot reconstruct its "
                f"input.{hint}"
            )
        # A stack's data meets the noise of its first layer only.
        noisy = estimator.autoencoders_[0] if hasattr(estimator, "autoencoders_") else estimator
        if corrupt and not hasattr(noisy, "_corrupt"):
            raise TypeError(
                f"corrupt=True draws the training noise of a DenoisingAutoencoder; "
                f"{name} has none. Pass corrupt=False to show "
                "clean examples and their reconstructions."
            )
        for step in steps:
            X = step.transform(X)
        X = validate_data(
            estimator, X, reset=False, accept_sparse="csr",
            dtype=(np.float64, np.float32), order="C",
        )
        components = getattr(noisy, "components_", None)
        dtype = X.dtype if components is None else components.dtype
        clean = X[: int(n_examples)]
        clean = np.ascontiguousarray(clean.toarray() if sp.issparse(clean) else clean, dtype=dtype)
        corrupted = noisy._corrupt(clean, random_state=random_state) if corrupt else None
        with warnings.catch_warnings():
            # The noisy copy is an ndarray even when X was a DataFrame.
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            codes = estimator.transform(corrupted if corrupt else clean)
        reconstructed = estimator.inverse_transform(codes)
        display = cls(clean, corrupted, reconstructed, image_shape=image_shape)
        return display.plot(
            cmap=cmap, padding=padding, background=background, ax=ax, im_kw=im_kw
        )


class LossCurveDisplay:
    """Training loss, and the validation loss or score if any, per epoch.

    It is recommended to use :meth:`LossCurveDisplay.from_estimator` to
    create a display. All parameters are stored as attributes.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training loss after each epoch (``loss_curve_``). For a denoising
        autoencoder it is measured on corrupted inputs and includes the L2
        penalty, so it usually lies above the validation loss.

    validation_scores : array-like of shape (n_epochs,), default=None
        Validation score after each epoch (``validation_scores_``). None
        draws the training loss only.

    loss_name : str, default=None
        Name of the loss for the y-axis label, e.g. ``"cross_entropy"``.

    score_name : str, default=None
        What ``validation_scores`` are. None: a negative loss (an
        autoencoder's ``score``), which is negated and drawn as the
        validation loss on the axes of the training loss. A name, such as
        ``"accuracy"`` (a classifier's ``score``): a score of its own kind,
        drawn as it is on a second y axis on the right, labelled
        ``"validation <score_name>"``.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The training loss.

    validation_line_ : matplotlib Line2D or None
        The validation loss or score; None without validation scores.

    ax_ : matplotlib Axes
        Axes with the training loss (and the validation loss) and the legend.

    validation_ax_ : matplotlib Axes or None
        The second y axis, sharing the x axis of ``ax_``, that holds a
        validation score with a ``score_name``; None otherwise.

    figure_ : matplotlib Figure
        Figure containing the curves.

    See Also
    --------
    FilterDisplay : The filters of an autoencoder.
    ReconstructionDisplay : Clean, corrupted and reconstructed inputs.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from skdae.plotting import LossCurveDisplay
    >>> display = LossCurveDisplay([3.0, 2.0, 1.5], validation_scores=[-2.5, -1.8, -1.6],
    ...                            loss_name="squared_error").plot()
    >>> display.validation_line_.get_ydata().tolist()
    [2.5, 1.8, 1.6]
    >>> display.ax_.get_ylabel()
    'loss (squared_error)'
    >>> display = LossCurveDisplay([2.3, 0.9, 0.4], validation_scores=[0.5, 0.8, 0.9],
    ...                            loss_name="log_loss", score_name="accuracy").plot()
    >>> display.validation_ax_.get_ylabel()
    'validation accuracy'
    >>> plt.close("all")
    """

    def __init__(self, loss_curve, *, validation_scores=None, loss_name=None,
                 score_name=None):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.loss_name = loss_name
        self.score_name = score_name

    def plot(self, *, log_scale=False, ax=None, line_kw=None, validation_line_kw=None):
        """Plot the loss curves.

        Parameters
        ----------
        log_scale : bool, default=False
            Whether to draw the loss on a logarithmic axis (a validation
            score on its own axis stays linear).

        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.

        line_kw : dict, default=None
            Keywords passed to :meth:`matplotlib.axes.Axes.plot` for the
            training loss.

        validation_line_kw : dict, default=None
            Keywords passed to :meth:`matplotlib.axes.Axes.plot` for the
            validation loss or score.

        Returns
        -------
        display : LossCurveDisplay
            The display, with ``line_``, ``ax_`` and ``figure_`` set.
        """
        plt = _check_matplotlib_support(f"{type(self).__name__}.plot")
        from matplotlib.ticker import MaxNLocator

        loss = np.asarray(self.loss_curve, dtype=np.float64).ravel()
        epochs = np.arange(1, loss.size + 1)
        ax, fig = _axes(plt, ax)
        (self.line_,) = ax.plot(epochs, loss, **{"label": "training loss", **(line_kw or {})})
        self.validation_line_ = None
        self.validation_ax_ = None
        if self.validation_scores is not None:
            scores = np.asarray(self.validation_scores, dtype=np.float64).ravel()
            val_epochs = np.arange(1, scores.size + 1)
            if self.score_name is None:
                (self.validation_line_,) = ax.plot(
                    val_epochs, -scores,
                    **{"label": "validation loss", **(validation_line_kw or {})},
                )
            else:
                label = f"validation {self.score_name}"
                self.validation_ax_ = ax.twinx()
                # The twin has a colour cycle of its own; take the next colour.
                (self.validation_line_,) = self.validation_ax_.plot(
                    val_epochs, scores,
                    **{"label": label, "color": f"C{len(ax.get_lines())}",
                       **(validation_line_kw or {})},
                )
                self.validation_ax_.set_ylabel(label)
                # Draw the loss axes (and its legend) over the twin.
                ax.set_zorder(self.validation_ax_.get_zorder() + 1)
                ax.patch.set_visible(False)
        if log_scale:
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if self.loss_name is None else f"loss ({self.loss_name})")
        handles, labels = ax.get_legend_handles_labels()
        if self.validation_ax_ is not None:
            more_handles, more_labels = self.validation_ax_.get_legend_handles_labels()
            handles, labels = handles + more_handles, labels + more_labels
        # A score on its own axis rises where the loss falls: the legend
        # goes between them.
        ax.legend(handles, labels, loc="best" if self.validation_ax_ is None else "center right")
        self.ax_ = ax
        self.figure_ = fig
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        layer=None,
        log_scale=False,
        ax=None,
        line_kw=None,
        validation_line_kw=None,
    ):
        """Plot ``loss_curve_`` and ``validation_scores_`` of a fitted estimator.

        Parameters
        ----------
        estimator : estimator instance
            The fitted estimator whose curves are drawn, or a fitted
            :class:`~sklearn.pipeline.Pipeline` ending in one (its last step
            is drawn):

            - :class:`~skdae.DenoisingAutoencoder` (or another estimator
              with ``loss_curve_`` and ``validation_scores_``): its
              training loss and, with early stopping, its validation loss
              (``validation_scores_`` is a negative loss);
            - :class:`~skdae.StackedDenoisingAutoencoder`: the pretraining
              curve of its layer ``autoencoders_[layer]``;
            - :class:`~skdae.SdAClassifier` (or scikit-learn's
              ``MLPClassifier``): the fine-tuning loss and, with early
              stopping, the validation accuracy on a second y axis
              (``validation_scores_`` of a classifier is its accuracy, of
              a regressor its R2).

        layer : int, default=None
            Which pretrained layer's curve to draw, for an estimator made of
            pretrained layers (``autoencoders_``): 0 is the first layer,
            negative indices count from the top. None draws the estimator's
            own curve: the fine-tuning of an ``SdAClassifier``, the first
            layer of a ``StackedDenoisingAutoencoder`` (which has no curve
            of its own).

        log_scale : bool, default=False
            Whether to draw the loss on a logarithmic axis.

        ax : matplotlib Axes, default=None
            Axes to plot on. None creates a new figure and axes.

        line_kw : dict, default=None
            Keywords passed to :meth:`matplotlib.axes.Axes.plot` for the
            training loss.

        validation_line_kw : dict, default=None
            Keywords passed to :meth:`matplotlib.axes.Axes.plot` for the
            validation loss or score.

        Returns
        -------
        display : LossCurveDisplay
            The display, with ``line_``, ``ax_`` and ``figure_`` set.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> from sklearn.datasets import load_digits
        >>> from skdae import DenoisingAutoencoder
        >>> from skdae.plotting import LossCurveDisplay
        >>> X = load_digits().data / 16.0
        >>> dae = DenoisingAutoencoder(n_components=16, loss="cross_entropy",
        ...                            early_stopping=True, max_iter=4,
        ...                            random_state=0).fit(X)
        >>> display = LossCurveDisplay.from_estimator(dae)
        >>> [t.get_text() for t in display.ax_.get_legend().get_texts()]
        ['training loss', 'validation loss']
        >>> plt.close("all")
        """
        _check_matplotlib_support(f"{cls.__name__}.from_estimator")
        estimator, _ = _final_step(estimator)
        layers = getattr(estimator, "autoencoders_", None)
        if layer is not None:
            name = type(estimator).__name__
            if layers is None:  # a single autoencoder: layer 0 is itself
                estimator = _pick_layer([estimator], layer, name)
            else:
                estimator = _pick_layer(layers, layer, f"{name}.autoencoders_")
        elif layers and not hasattr(estimator, "loss_curve_"):
            estimator = layers[0]
        check_is_fitted(estimator, "loss_curve_")
        loss_name = getattr(estimator, "loss", None)
        if not isinstance(loss_name, str):
            loss_name = "log_loss" if is_classifier(estimator) else None
        score_name = None
        if is_classifier(estimator):
            score_name = "accuracy"
        elif is_regressor(estimator):
            score_name = "R2"
        display = cls(
            estimator.loss_curve_,
            validation_scores=getattr(estimator, "validation_scores_", None),
            loss_name=loss_name,
            score_name=score_name,
        )
        return display.plot(
            log_scale=log_scale, ax=ax, line_kw=line_kw, validation_line_kw=validation_line_kw
        )
