"""ONNX export through skl2onnx, checked against scikit-learn with onnxruntime."""

import doctest

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

skl2onnx = pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

from skdae import DenoisingAutoencoder, StackedDenoisingAutoencoder  # noqa: E402
from skdae._onnx import _encoder_layer, register_onnx_converter  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module", autouse=True)
def _registered():
    register_onnx_converter()


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32)[:600], y[:600]


def _run(onx, X):
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: X})


def _dae(**params):
    return DenoisingAutoencoder(n_components=16, max_iter=3, random_state=0, **params)


def _sda(hidden_layer_sizes=(16, 8), **params):
    return StackedDenoisingAutoencoder(
        hidden_layer_sizes=hidden_layer_sizes, corruption_levels=0.1, max_iter=3,
        random_state=0, **params,
    )


@pytest.mark.parametrize("tied_weights", [True, False])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_transform_matches_sklearn(digits, activation, tied_weights):
    X, _ = digits
    dae = _dae(activation=activation, tied_weights=tied_weights).fit(X)
    onx = skl2onnx.to_onnx(dae, X[:1])
    (H,) = _run(onx, X)
    expected = dae.transform(X)
    assert H.dtype == np.float32
    assert H.shape == expected.shape == (X.shape[0], 16)
    assert_allclose(H, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("tied_weights", [True, False])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_pipeline_with_logistic_regression(digits, activation, tied_weights):
    X, y = digits
    pipe = make_pipeline(
        _dae(activation=activation, tied_weights=tied_weights),
        LogisticRegression(max_iter=300),
    ).fit(X, y)
    onx = skl2onnx.to_onnx(pipe, X[:1], options={LogisticRegression: {"zipmap": False}})
    labels, proba = _run(onx, X)
    assert_allclose(proba, pipe.predict_proba(X), atol=1e-5)
    assert_array_equal(labels, pipe.predict(X))


def test_float64_graph(digits):
    X, _ = digits
    X64 = X.astype(np.float64)
    dae = _dae(activation="tanh").fit(X64)
    onx = skl2onnx.to_onnx(dae, X64[:1])
    (H,) = _run(onx, X64)
    assert H.dtype == np.float64
    assert_allclose(H, dae.transform(X64), rtol=1e-12, atol=1e-12)


def test_integer_input_is_cast_to_float32():
    X = np.random.RandomState(0).randint(0, 4, size=(50, 6)).astype(np.int64)
    dae = _dae().fit(X.astype(np.float32))
    onx = skl2onnx.to_onnx(dae, X[:1])
    (H,) = _run(onx, X)
    assert H.dtype == np.float32
    assert_allclose(H, dae.transform(X.astype(np.float32)), rtol=1e-5, atol=1e-5)


def test_output_shape_is_declared(digits):
    X, _ = digits
    onx = skl2onnx.to_onnx(_dae().fit(X), X[:1])
    (out,) = onx.graph.output
    dims = out.type.tensor_type.shape.dim
    assert dims[1].dim_value == 16
    assert out.type.tensor_type.elem_type == 1  # FLOAT


def test_encoder_layers_chain(digits):
    """The one-layer graph composes: two layers in one graph equal two
    transforms (the building block of a stacked autoencoder's converter)."""
    from skl2onnx.algebra.onnx_ops import OnnxIdentity

    X, _ = digits
    first = _dae(activation="relu").fit(X)
    second = DenoisingAutoencoder(n_components=8, max_iter=3, random_state=0)
    second.fit(first.transform(X))
    opv = skl2onnx.get_latest_tested_opset_version()
    H1 = _encoder_layer("X", first, np.float32, opv)
    H2 = _encoder_layer(H1, second, np.float32, opv)
    graph = OnnxIdentity(H2, op_version=opv, output_names=["H"])
    onx = graph.to_onnx({"X": X[:1]}, target_opset=opv)
    (H,) = _run(onx, X)
    assert_allclose(H, second.transform(first.transform(X)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("hidden_layer_sizes", [(16, 8), (24, 16, 8)])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_stacked_transform_matches_sklearn(digits, activation, hidden_layer_sizes):
    X, _ = digits
    sda = _sda(hidden_layer_sizes, activation=activation).fit(X)
    onx = skl2onnx.to_onnx(sda, X[:1])
    (H,) = _run(onx, X)
    expected = sda.transform(X)
    assert H.dtype == np.float32
    assert H.shape == expected.shape == (X.shape[0], 8)
    assert_allclose(H, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_stacked_pipeline_with_logistic_regression(digits, activation):
    X, y = digits
    pipe = make_pipeline(
        _sda(activation=activation), LogisticRegression(max_iter=300)
    ).fit(X, y)
    onx = skl2onnx.to_onnx(pipe, X[:1], options={LogisticRegression: {"zipmap": False}})
    labels, proba = _run(onx, X)
    assert_allclose(proba, pipe.predict_proba(X), atol=1e-5)
    assert_array_equal(labels, pipe.predict(X))


def test_stacked_float64_graph(digits):
    X, _ = digits
    X64 = X.astype(np.float64)
    sda = _sda(activation="tanh").fit(X64)
    onx = skl2onnx.to_onnx(sda, X64[:1])
    (H,) = _run(onx, X64)
    assert H.dtype == np.float64
    assert_allclose(H, sda.transform(X64), rtol=1e-12, atol=1e-12)


def test_stacked_graph_has_one_layer_per_autoencoder(digits):
    X, _ = digits
    onx = skl2onnx.to_onnx(_sda().fit(X), X[:1])
    assert [node.op_type for node in onx.graph.node] == [
        "MatMul", "Add", "Sigmoid", "MatMul", "Add", "Sigmoid"
    ]


def test_stacked_output_shape_is_top_layer_width(digits):
    X, _ = digits
    onx = skl2onnx.to_onnx(_sda((16, 12, 5)).fit(X), X[:1])
    (out,) = onx.graph.output
    assert out.type.tensor_type.shape.dim[1].dim_value == 5
    assert out.type.tensor_type.elem_type == 1  # FLOAT


def test_register_is_idempotent():
    assert register_onnx_converter() == register_onnx_converter()


def test_register_returns_an_alias_per_registered_model():
    from skl2onnx._supported_operators import sklearn_operator_name_map

    aliases = register_onnx_converter()
    assert aliases == (
        sklearn_operator_name_map[DenoisingAutoencoder],
        sklearn_operator_name_map[StackedDenoisingAutoencoder],
    )
    assert len(set(aliases)) == 2


def test_docstring_example_runs():
    import skdae._onnx as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_converter_refuses_a_model_whose_structure_changed_after_fit():
    X = np.random.RandomState(0).rand(20, 5).astype(np.float32)
    dae = DenoisingAutoencoder(n_components=3, max_iter=2, random_state=0).fit(X)
    dae.set_params(activation="relu")
    with pytest.raises(ValueError, match="activation changed"):
        skl2onnx.to_onnx(dae, X[:1])
