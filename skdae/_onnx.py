"""ONNX export of :class:`~skdae.DenoisingAutoencoder` and
:class:`~skdae.StackedDenoisingAutoencoder` through skl2onnx.

skl2onnx converts a scikit-learn model by looking its class up in a registry of
*shape calculators* (which declare the type and shape of each output) and
*converters* (which emit the ONNX nodes). :func:`register_onnx_converter` adds
both autoencoders to that registry, so that ``skl2onnx.to_onnx`` converts them
on their own or inside a :class:`~sklearn.pipeline.Pipeline`.

Registration is an explicit call rather than a side effect of importing
skdae: skl2onnx and onnx are optional dependencies (the ``onnx`` extra) and
take seconds to import, and skl2onnx documents ``update_registered_converter``
as something the user's code calls for third-party models.

The graph of one encoder layer is built by :func:`_encoder_layer`, which takes
and returns skl2onnx algebra nodes; one shape calculator and one converter
serve both models, the converter chaining that layer over the fitted layers
of a stack (a single autoencoder being a stack of one).
"""

import numpy as np

#: Alias under which DenoisingAutoencoder is registered in skl2onnx.
_ALIAS = "SkdaeDenoisingAutoencoder"

#: Alias under which StackedDenoisingAutoencoder is registered in skl2onnx.
_STACKED_ALIAS = "SkdaeStackedDenoisingAutoencoder"


def _onnx_activation(name):
    """The skl2onnx algebra operator class of a hidden activation, or None."""
    from skl2onnx.algebra.onnx_ops import OnnxRelu, OnnxSigmoid, OnnxTanh

    ops = {"sigmoid": OnnxSigmoid, "tanh": OnnxTanh, "relu": OnnxRelu, "identity": None}
    if name not in ops:
        raise ValueError(f"Cannot export the activation {name!r} to ONNX.")
    return ops[name]


def _encoder_layer(X, estimator, dtype, op_version, output_names=None):
    """ONNX graph of one encoder layer, ``act(X @ W.T + b)``.

    Parameters
    ----------
    X : skl2onnx Variable or OnnxOperator
        Input of the layer, of shape (N, n_features) and type ``dtype``.

    estimator : DenoisingAutoencoder
        A fitted autoencoder; its ``components_`` and ``intercept_hidden_``
        become initializers of type ``dtype``.

    dtype : {numpy.float32, numpy.float64}
        Element type of the graph.

    op_version : int
        Target opset.

    output_names : list of str or Variable, default=None
        Names of the layer's output (the last layer of a graph gets the
        operator's output variable); None lets skl2onnx name it.

    Returns
    -------
    H : OnnxOperator
        The code ``H`` of shape (N, n_components). Pass it as ``X`` to the
        next layer of a stack, or call ``H.add_to(scope, container)``.
    """
    from skl2onnx.algebra.onnx_ops import OnnxAdd, OnnxIdentity, OnnxMatMul

    W_t = np.ascontiguousarray(estimator.components_.T, dtype=dtype)
    b = np.asarray(estimator.intercept_hidden_, dtype=dtype)
    activation = _onnx_activation(estimator.activation)
    A = OnnxAdd(OnnxMatMul(X, W_t, op_version=op_version), b, op_version=op_version)
    if activation is None:
        return OnnxIdentity(A, op_version=op_version, output_names=output_names)
    return activation(A, op_version=op_version, output_names=output_names)


def _layers(model):
    """The fitted :class:`~skdae.DenoisingAutoencoder` layers of ``model``,
    from the bottom up: the ``autoencoders_`` of a stack, or the model itself."""
    from ._stacked import StackedDenoisingAutoencoder

    if isinstance(model, StackedDenoisingAutoencoder):
        return list(model.autoencoders_)
    return [model]


def _input_dtype(variable):
    """Element type of the graph for an input variable: float64 stays float64,
    everything else (float32, integers) computes in float32 like skl2onnx's
    own decompositions."""
    from skl2onnx.common.data_types import DoubleTensorType

    return np.float64 if isinstance(variable.type, DoubleTensorType) else np.float32


def _calculate_output_shapes(operator):
    """skl2onnx shape calculator: ``[N, n_features] -> [N, n_components]``,
    with ``n_components`` that of the top layer for a stack."""
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
    )
    from skl2onnx.common.utils import (
        check_input_and_output_numbers,
        check_input_and_output_types,
    )

    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    check_input_and_output_types(
        operator,
        good_input_types=[FloatTensorType, DoubleTensorType, Int64TensorType],
        good_output_types=[FloatTensorType, DoubleTensorType],
    )
    X = operator.inputs[0]
    if len(X.type.shape) != 2:
        raise RuntimeError(
            f"{type(operator.raw_operator).__name__} expects a 2-D input, got "
            f"shape {X.type.shape}."
        )
    cls = DoubleTensorType if _input_dtype(X) is np.float64 else FloatTensorType
    # the parameters the converter reads must be those the model was fitted with
    operator.raw_operator._check_structure(training=False)
    n_components = _layers(operator.raw_operator)[-1].components_.shape[0]
    operator.outputs[0].type = cls([X.get_first_dimension(), n_components])


def _convert(scope, operator, container):
    """skl2onnx converter: the transform ``act(X @ W.T + b)``, chained over
    the layers of a stack."""
    from skl2onnx.algebra.onnx_ops import OnnxCast
    from skl2onnx.common.data_types import guess_numpy_type, guess_proto_type

    X = operator.inputs[0]
    dtype = _input_dtype(X)
    opv = container.target_opset
    if guess_numpy_type(X.type) != dtype:
        X = OnnxCast(X, to=guess_proto_type(operator.outputs[0].type), op_version=opv)
    layers = _layers(operator.raw_operator)
    H = X
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        H = _encoder_layer(H, layer, dtype, opv,
                           output_names=operator.outputs[:1] if last else None)
    H.add_to(scope, container)


def register_onnx_converter():
    """Register the ONNX converters of the autoencoders with skl2onnx.

    After this call, ``skl2onnx.to_onnx`` (and ``convert_sklearn``) convert a
    fitted :class:`~skdae.DenoisingAutoencoder` or
    :class:`~skdae.StackedDenoisingAutoencoder`, alone or inside a
    :class:`~sklearn.pipeline.Pipeline`, to an ONNX graph of its
    ``transform``: ``act(X @ W.T + b)`` as ``MatMul``, ``Add`` and
    ``Sigmoid``, ``Tanh`` or ``Relu``, once per layer of a stack, from the
    bottom up. Calling it again is harmless. Requires ``skl2onnx``
    (``pip install skdae[onnx]``).

    The graph computes in float64 when the input is declared float64 and in
    float32 otherwise (weights are cast to that type); integer inputs are cast
    to float32 first.

    Returns
    -------
    aliases : tuple of str
        The names under which the models are registered in skl2onnx:
        ``DenoisingAutoencoder``'s, then ``StackedDenoisingAutoencoder``'s.

    Examples
    --------
    >>> import numpy as np
    >>> from skl2onnx import to_onnx
    >>> from skdae import DenoisingAutoencoder, register_onnx_converter
    >>> X = np.random.RandomState(0).rand(50, 8).astype(np.float32)
    >>> dae = DenoisingAutoencoder(n_components=4, max_iter=2, random_state=0).fit(X)
    >>> register_onnx_converter()
    ('SkdaeDenoisingAutoencoder', 'SkdaeStackedDenoisingAutoencoder')
    >>> onx = to_onnx(dae, X[:1])
    >>> [node.op_type for node in onx.graph.node]
    ['MatMul', 'Add', 'Sigmoid']

    A stack exports one such layer per autoencoder:

    >>> from skdae import StackedDenoisingAutoencoder
    >>> sda = StackedDenoisingAutoencoder(
    ...     hidden_layer_sizes=(6, 4), corruption_levels=0.1, activation="relu",
    ...     max_iter=2, random_state=0).fit(X)
    >>> onx = to_onnx(sda, X[:1])
    >>> [node.op_type for node in onx.graph.node]
    ['MatMul', 'Add', 'Relu', 'MatMul', 'Add', 'Relu']
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ImportError(
            "ONNX export needs skl2onnx (and onnxruntime to run the model): "
            "pip install 'skdae[onnx]'."
        ) from exc

    from ._autoencoder import DenoisingAutoencoder
    from ._stacked import StackedDenoisingAutoencoder

    for model, alias in [
        (DenoisingAutoencoder, _ALIAS),
        (StackedDenoisingAutoencoder, _STACKED_ALIAS),
    ]:
        update_registered_converter(model, alias, _calculate_output_shapes, _convert)
    return _ALIAS, _STACKED_ALIAS
