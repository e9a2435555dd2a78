"""Peer implementations and the subprocess worker for ``bench_training.py``
and ``bench_contention.py``.

Private helper module: every peer runs in its own subprocess (see
``bench_training.py``), so this module only imports numpy at top level; torch,
scikit-learn and skdae are imported lazily inside the peer that needs them so
that a worker process loads exactly one "foreign" BLAS besides numpy's.
"""

import contextlib
import gc
import gzip
import json
import math
import os
import resource
import sys
import time
import tracemalloc
import warnings

import numpy as np

from _runner import print_result


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------
def _read_idx_images(path):
    with gzip.open(path, "rb") as f:
        buf = f.read()
    n, rows, cols = (int.from_bytes(buf[i:i + 4], "big") for i in (4, 8, 12))
    X = np.frombuffer(buf, dtype=np.uint8, offset=16).reshape(n, rows * cols)
    return X.astype(np.float32) / np.float32(255.0)


def _read_idx_labels(path):
    with gzip.open(path, "rb") as f:
        buf = f.read()
    return np.frombuffer(buf, dtype=np.uint8, offset=8).astype(np.int64)


def load_mnist(data_home, n_samples=None, dtype=np.float32, loader="private"):
    """Return (X, loader_used). ``loader`` is "skdae" or "private";
    ``data_home="digits"`` gives scikit-learn's digits / 16 instead (the
    runner's smoke test, no MNIST needed)."""
    X = None
    used = "private"
    if data_home == "digits":
        from sklearn.datasets import load_digits

        X, used = load_digits().data / 16.0, "sklearn.datasets.load_digits / 16"
    elif loader == "skdae":
        try:
            from skdae.datasets import fetch_mnist

            X, _ = fetch_mnist(data_home=data_home, subset="train", return_X_y=True)
            used = "skdae.datasets.fetch_mnist"
        except Exception as exc:  # fall back to the private reader
            used = "private (skdae.datasets failed: %s: %s)" % (type(exc).__name__, exc)
            X = None
    if X is None:
        X = _read_idx_images(os.path.join(data_home, "train-images-idx3-ubyte.gz"))
    if n_samples is not None:
        X = X[:n_samples]
    X = np.ascontiguousarray(X, dtype=dtype)
    return X, used


# --------------------------------------------------------------------------
# shared math
# --------------------------------------------------------------------------
def init_weights(seed, n_hidden, n_visible, dtype):
    """Glorot-uniform for sigmoid units (4*sqrt(6/(h+d))), zero biases."""
    rng = np.random.default_rng(seed)
    a = 4.0 * math.sqrt(6.0 / (n_hidden + n_visible))
    W = rng.uniform(-a, a, size=(n_hidden, n_visible)).astype(dtype)
    return W, np.zeros(n_hidden, dtype), np.zeros(n_visible, dtype)


def sigmoid_(A):
    """In-place logistic sigmoid."""
    with np.errstate(over="ignore"):
        np.negative(A, out=A)
        np.exp(A, out=A)
        np.add(A, 1.0, out=A)
        np.reciprocal(A, out=A)
    return A


def tied_ce_loss(X, W, b, c, chunk=10000):
    """Mean over rows of the clean reconstruction cross-entropy (summed over
    pixels) of the tied sigmoid autoencoder x_hat = sigmoid(c + sigmoid(xW^T+b) W).
    Evaluated stably from the logits: CE = softplus(z) - x*z."""
    W = np.asarray(W, dtype=X.dtype)
    b = np.asarray(b, dtype=X.dtype)
    c = np.asarray(c, dtype=X.dtype)
    total = 0.0
    for i in range(0, X.shape[0], chunk):
        x = X[i:i + chunk]
        H = sigmoid_(x @ W.T + b)
        Z = H @ W + c
        total += float(np.sum(np.logaddexp(0.0, Z) - x * Z, dtype=np.float64))
    return total / X.shape[0]


def recon_ce_loss(X, Xhat, eps=1e-7):
    """Cross-entropy of an arbitrary reconstruction (clipped to [eps, 1-eps])."""
    total = 0.0
    for i in range(0, X.shape[0], 10000):
        x = X[i:i + 10000].astype(np.float64)
        p = np.clip(np.asarray(Xhat[i:i + 10000], dtype=np.float64), eps, 1 - eps)
        total += float(-np.sum(x * np.log(p) + (1 - x) * np.log1p(-p)))
    return total / X.shape[0]


# --------------------------------------------------------------------------
# training peers: each has .epoch(X) and .final(X) -> dict(loss=..., ...)
# --------------------------------------------------------------------------
class SkdaePeer:
    def __init__(self, cfg, X):
        from skdae import DenoisingAutoencoder

        self.dae = DenoisingAutoencoder(
            n_components=cfg["n_hidden"], loss="cross_entropy", corruption="masking",
            corruption_level=cfg["noise"], solver="sgd", learning_rate=cfg["lr"],
            momentum=0.0, batch_size=cfg["batch_size"], max_iter=1, shuffle=True,
            random_state=cfg["seed"])

    def epoch(self, X):
        self.dae.partial_fit(X)

    def final(self, X):
        d = self.dae
        out = {"loss": -float(d.score(X)),
               "loss_check": tied_ce_loss(X, d.components_, d.intercept_hidden_,
                                          d.intercept_visible_),
               "weights_dtype": str(d.components_.dtype)}
        try:
            import skdae
            out["skdae_version"] = getattr(skdae, "__version__", "?")
        except Exception:
            pass
        return out


class FinetunePeer:
    """One fine-tuning epoch of ``sda_mnist.py --quick``: the same
    :class:`skdae.SdAClassifier` (3 x 1000 sigmoid units and a softmax layer;
    SGD, learning rate 0.05, momentum 0.9, batch 5), built by that script's
    ``make_sda``, with ``pretrain=False`` and ``early_stopping=False`` (so every
    row is trained on and no validation pass runs between epochs). The cost of
    an epoch does not depend on the weights it starts from, so skipping the
    pretraining changes no timing. ``SdAClassifier`` has no ``partial_fit``:
    one ``fit`` runs all the timed epochs, and an epoch's time is read from
    the clock at the verbose line that ends it (the line "Fine-tuning ..."
    starts the first). ``X`` is the first rows of the MNIST training file, as
    in the script; the labels are read from the same file."""

    def __init__(self, cfg, X):
        import sda_mnist

        self.y = _read_idx_labels(os.path.join(cfg["data_home"],
                                               "train-labels-idx1-ubyte.gz"))[:X.shape[0]]
        self.clf = sda_mnist.make_sda(sda_mnist.QUICK, cfg["seed"], pretrain=False, verbose=1)
        self.clf.set_params(early_stopping=False, n_iter_no_change=10**6)

    def timed_epochs(self, X, n_epochs):
        stamps = []

        class _Clock:
            def write(self, s):
                if s.startswith(("Fine-tuning", "Iteration")):
                    stamps.append((time.perf_counter(), time.process_time()))

            def flush(self):
                pass

        from sklearn.exceptions import ConvergenceWarning

        self.clf.set_params(max_iter=n_epochs)
        with warnings.catch_warnings(), contextlib.redirect_stdout(_Clock()):
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.clf.fit(X, self.y[:X.shape[0]])
        if len(stamps) != n_epochs + 1:
            raise RuntimeError("expected %d verbose lines from SdAClassifier.fit, got %d"
                               % (n_epochs + 1, len(stamps)))
        return ([b[0] - a[0] for a, b in zip(stamps, stamps[1:])],
                [b[1] - a[1] for a, b in zip(stamps, stamps[1:])])

    def epoch(self, X):
        self.timed_epochs(X, 1)

    def final(self, X):
        import skdae

        return {"loss": float(self.clf.loss_), "loss_what": "training loss of the last epoch",
                "weights_dtype": str(self.clf.coefs_[0].dtype),
                "skdae_version": getattr(skdae, "__version__", "?")}


class NumpyPeer:
    """Hand-written tied DAE in numpy, preallocated buffers, in-place updates.

    Per batch of m rows, with the learning rate folded into dZ:
      L = [H; dA] (2m x h)   R = [dZ; X_tilde] (2m x d)
      W -= L^T R            (one GEMM with k = 2m for the tied weight gradient)
    """

    def __init__(self, cfg, X):
        dt = X.dtype
        h, d, B = cfg["n_hidden"], X.shape[1], cfg["batch_size"]
        self.W, self.b, self.c = init_weights(cfg["seed"], h, d, dt)
        self.B, self.lr, self.noise = B, cfg["lr"], cfg["noise"]
        self.rng = np.random.default_rng(cfg["seed"] + 1)
        self.L = np.empty((2 * B, h), dt)
        self.R = np.empty((2 * B, d), dt)
        self.Xb = np.empty((B, d), dt)
        self.Z = np.empty((B, d), dt)
        self.U = np.empty((B, d), dt)
        self.M = np.empty((B, d), bool)
        self.T = np.empty((B, h), dt)
        self.gW = np.empty((h, d), dt)

    def epoch(self, X):
        W, b, c, L, R = self.W, self.b, self.c, self.L, self.R
        n, B, nu = X.shape[0], self.B, self.noise
        perm = self.rng.permutation(n)
        for i in range(0, n, B):
            idx = perm[i:i + B]
            m = idx.shape[0]
            xb = np.take(X, idx, axis=0, out=self.Xb[:m])
            Xt, H, dZ, dA = R[m:2 * m], L[:m], R[:m], L[m:2 * m]
            U, M, Z, T = self.U[:m], self.M[:m], self.Z[:m], self.T[:m]
            self.rng.random(out=U, dtype=U.dtype)           # masking noise
            np.greater_equal(U, nu, out=M)
            np.multiply(xb, M, out=Xt)
            np.matmul(Xt, W.T, out=H)                        # encode  2mdh
            H += b
            sigmoid_(H)
            np.matmul(H, W, out=Z)                           # decode  2mdh
            Z += c
            sigmoid_(Z)
            np.subtract(Z, xb, out=dZ)
            dZ *= self.lr / m                                # lr * dCE/dz
            np.matmul(dZ, W.T, out=dA)                       # backprop 2mdh
            np.subtract(1.0, H, out=T)
            T *= H
            dA *= T
            np.matmul(L[:2 * m].T, R[:2 * m], out=self.gW)   # tied grad 4mdh
            W -= self.gW
            b -= dA.sum(axis=0)
            c -= dZ.sum(axis=0)

    def final(self, X):
        return {"loss": tied_ce_loss(X, self.W, self.b, self.c)}


class TorchPeer:
    def __init__(self, cfg, X):
        import torch

        torch.set_num_threads(cfg["threads"])
        self.torch = torch
        self.F = torch.nn.functional
        W0, b0, c0 = init_weights(cfg["seed"], cfg["n_hidden"], X.shape[1], np.float32)
        self.W = torch.nn.Parameter(torch.from_numpy(W0))
        self.b = torch.nn.Parameter(torch.from_numpy(b0))
        self.c = torch.nn.Parameter(torch.from_numpy(c0))
        self.opt = torch.optim.SGD([self.W, self.b, self.c], lr=cfg["lr"], momentum=0.0)
        self.gen = torch.Generator().manual_seed(cfg["seed"] + 1)
        self.B, self.noise = cfg["batch_size"], cfg["noise"]
        self._Xt = None

    def epoch(self, X):
        torch, F = self.torch, self.F
        if self._Xt is None or self._Xt.shape[0] != X.shape[0]:
            self._Xt = torch.from_numpy(X)
        Xt, W, b, c, B = self._Xt, self.W, self.b, self.c, self.B
        perm = torch.randperm(Xt.shape[0], generator=self.gen)
        for i in range(0, Xt.shape[0], B):
            xb = Xt[perm[i:i + B]]
            keep = torch.rand(xb.shape, generator=self.gen) >= self.noise
            h = torch.sigmoid(F.linear(xb * keep, W, b))
            z = torch.addmm(c, h, W)
            loss = F.binary_cross_entropy_with_logits(z, xb, reduction="sum") / xb.shape[0]
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()

    def final(self, X):
        t = self.torch
        return {"loss": tied_ce_loss(X, self.W.detach().numpy(), self.b.detach().numpy(),
                                     self.c.detach().numpy()),
                "torch_version": t.__version__,
                "torch_threads": t.get_num_threads(),
                "torch_blas": "mkl" if t.backends.mkl.is_available() else "?"}


class MLPPeer:
    """sklearn MLPRegressor on (X_tilde, X): untied, identity output, squared loss.
    X_tilde is redrawn for the whole epoch before each partial_fit call."""

    def __init__(self, cfg, X):
        from sklearn.neural_network import MLPRegressor

        self.mlp = MLPRegressor(
            hidden_layer_sizes=(cfg["n_hidden"],), activation="logistic", solver="sgd",
            learning_rate_init=cfg["lr"], batch_size=cfg["batch_size"], momentum=0.0,
            alpha=0.0, max_iter=1, shuffle=True, random_state=cfg["seed"])
        self.rng = np.random.default_rng(cfg["seed"] + 1)
        self.noise = cfg["noise"]

    def epoch(self, X):
        Xn = X * (self.rng.random(X.shape, dtype=X.dtype) >= self.noise)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.mlp.partial_fit(Xn, X)

    def final(self, X):
        P = self.mlp.predict(X)
        return {"loss": recon_ce_loss(X, P),
                "native_loss_mse_half": float(np.mean((P - X) ** 2) / 2),
                "weights_dtype": str(self.mlp.coefs_[0].dtype)}


class RBMPeer:
    """sklearn BernoulliRBM (PCD-1). Initialised exactly as BernoulliRBM.fit does,
    then each epoch runs fit's inner loop (rbm._fit per even minibatch slice) over a
    freshly shuffled copy of X, so training continues across epochs (fit() would
    re-initialise, partial_fit() treats its whole input as one batch)."""

    def __init__(self, cfg, X):
        from sklearn.neural_network import BernoulliRBM
        from sklearn.utils import gen_even_slices

        self.gen_even_slices = gen_even_slices
        B, h = cfg["batch_size"], cfg["n_hidden"]
        rbm = BernoulliRBM(n_components=h, learning_rate=cfg["lr"], batch_size=B,
                           n_iter=1, random_state=cfg["seed"])
        rng = np.random.RandomState(cfg["seed"])
        rbm.components_ = np.asarray(rng.normal(0, 0.01, (h, X.shape[1])), order="F",
                                     dtype=X.dtype)
        rbm._n_features_out = h
        rbm.intercept_hidden_ = np.zeros(h, dtype=X.dtype)
        rbm.intercept_visible_ = np.zeros(X.shape[1], dtype=X.dtype)
        rbm.h_samples_ = np.zeros((B, h), dtype=X.dtype)
        rbm.n_features_in_ = X.shape[1]
        self.rbm, self.rng, self.B = rbm, rng, B

    def epoch(self, X):
        n = X.shape[0]
        Xs = X[self.rng.permutation(n)]
        nb = int(np.ceil(n / self.B))
        for sl in self.gen_even_slices(nb * self.B, nb, n_samples=n):
            self.rbm._fit(Xs[sl], self.rng)

    def final(self, X):
        r = self.rbm
        return {"loss": tied_ce_loss(X, r.components_, r.intercept_hidden_,
                                     r.intercept_visible_),
                "weights_dtype": str(r.components_.dtype)}


class FloorPeer:
    """Only the GEMMs of one epoch, numpy matmul with out= on preallocated
    arrays (contiguous slices, no gather/noise/sigmoid/update):
      X~ (m,d) @ W^T -> (m,h); H (m,h) @ W -> (m,d); G (m,d) @ W^T -> (m,h);
      [H;G_A]^T (h,2m) @ [G;X~] (2m,d) -> (h,d)."""

    def __init__(self, cfg, X):
        dt, h, d, B = X.dtype, cfg["n_hidden"], X.shape[1], cfg["batch_size"]
        rng = np.random.default_rng(cfg["seed"])
        self.W = init_weights(cfg["seed"], h, d, dt)[0]
        self.L = rng.random((2 * B, h)).astype(dt)
        self.R = rng.random((2 * B, d)).astype(dt)
        self.Z = np.empty((B, d), dt)
        self.gW = np.empty((h, d), dt)
        self.gW2 = np.empty((h, d), dt)
        self.B = B

    def epoch(self, X, split=False):
        W, L, R, Z, gW, B = self.W, self.L, self.R, self.Z, self.gW, self.B
        n = X.shape[0]
        for i in range(0, n, B):
            m = min(B, n - i)
            np.matmul(R[m:2 * m], W.T, out=L[:m])
            np.matmul(L[:m], W, out=Z[:m])
            np.matmul(R[:m], W.T, out=L[m:2 * m])
            if split:
                np.matmul(L[:m].T, R[:m], out=gW)
                np.matmul(L[m:2 * m].T, R[m:2 * m], out=self.gW2)
            else:
                np.matmul(L[:2 * m].T, R[:2 * m], out=gW)

    def final(self, X):
        t0 = time.perf_counter()
        self.epoch(X, split=True)
        return {"loss": None, "split_epoch_s": time.perf_counter() - t0}


TRAIN_PEERS = {"skdae": SkdaePeer, "numpy": NumpyPeer, "torch": TorchPeer,
               "mlp": MLPPeer, "rbm": RBMPeer, "floor": FloorPeer,
               "sda_finetune": FinetunePeer}


# --------------------------------------------------------------------------
# transform peers: callables X -> H
# --------------------------------------------------------------------------
def make_transform(peer, cfg, X):
    h = cfg["n_hidden"]
    W, b, _ = init_weights(cfg["seed"], h, X.shape[1], X.dtype)
    b = (np.arange(h, dtype=X.dtype) / h - 0.5).astype(X.dtype)  # non-zero bias
    if peer == "skdae":
        from skdae import DenoisingAutoencoder

        dae = DenoisingAutoencoder(n_components=h, batch_size=cfg["batch_size"],
                                   max_iter=1, random_state=cfg["seed"])
        dae.partial_fit(X[:1000])
        dae.components_ = W.astype(dae.components_.dtype)
        dae.intercept_hidden_ = b.astype(dae.intercept_hidden_.dtype)
        return dae.transform
    if peer == "numpy":
        return lambda X: 1.0 / (1.0 + np.exp(-(X @ W.T + b)))
    if peer == "numpy_inplace":
        out = np.empty((X.shape[0], h), X.dtype)

        def f(X):
            np.matmul(X, W.T, out=out)
            np.add(out, b, out=out)
            return sigmoid_(out)
        return f
    if peer == "torch":
        import torch

        torch.set_num_threads(cfg["threads"])
        Wt, bt = torch.from_numpy(W), torch.from_numpy(b)

        def f(X):
            with torch.inference_mode():
                A = torch.nn.functional.linear(torch.from_numpy(X), Wt, bt)
                return torch.sigmoid(A).numpy()
        return f
    if peer == "floor":
        out = np.empty((X.shape[0], h), X.dtype)
        return lambda X: np.matmul(X, W.T, out=out)
    raise ValueError(peer)


# --------------------------------------------------------------------------
# worker
# --------------------------------------------------------------------------
def _rss_mb():
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except Exception:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _reset_peak_rss():
    """Reset the kernel's peak-RSS mark (Linux >= 4.0); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_since_reset_mb():
    """VmHWM: the peak RSS since the last reset (or since the start)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def _threadpools():
    try:
        from threadpoolctl import threadpool_info

        keys = ("user_api", "internal_api", "prefix", "version", "architecture",
                "threading_layer", "num_threads")
        return [{k: i[k] for k in keys if k in i} for i in threadpool_info()]
    except Exception as exc:
        return [{"error": repr(exc)}]


#: A worker's configuration, with bench_training.py's defaults.
WORKER_DEFAULTS = {"mode": "train", "epochs": 2, "n_samples": None, "dtype": "float32",
                   "threads": 2, "n_hidden": 500, "lr": 0.1, "noise": 0.25, "seed": 0,
                   "warmup": 2000, "transform_calls": 5, "data_home": None, "loader": "auto"}


def worker_config(args, peer, batch_size, repeat, **overrides):
    """The configuration of one worker: ``WORKER_DEFAULTS`` updated from the
    attributes of ``args`` of the same names, then from ``overrides``; the
    seed is offset by the repeat."""
    cfg = {k: getattr(args, k, v) for k, v in WORKER_DEFAULTS.items()}
    cfg.update(peer=peer, batch_size=batch_size, repeat=repeat, seed=cfg["seed"] + repeat)
    cfg.update(overrides)
    return cfg


def run_worker(cfg):
    """Run one peer in this process; return a JSON-able dict."""
    out = {"peer": cfg["peer"], "mode": cfg["mode"], "batch_size": cfg["batch_size"],
           "repeat": cfg["repeat"], "pid": os.getpid(),
           "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                  "OMP_NUM_THREADS")}}
    dtype = np.dtype(cfg["dtype"])
    peer = cfg["peer"]
    loader = "skdae" if (cfg["loader"] == "skdae" or
                         (cfg["loader"] == "auto" and peer == "skdae")) else "private"
    X, out["loader"] = load_mnist(cfg["data_home"], cfg["n_samples"], dtype, loader)
    out["data"] = {"shape": list(X.shape), "dtype": str(X.dtype),
                   "sum": float(X.sum(dtype=np.float64))}
    rss0 = _rss_mb()
    try:
        if cfg["mode"] == "transform":
            _run_transform(cfg, X, out)
        else:
            _run_training(cfg, X, out)
    except ImportError as exc:
        out["error"] = "not importable (%s: %s)" % (type(exc).__name__, exc)
    except Exception as exc:
        import traceback

        out["error"] = "failed (%s: %s)" % (type(exc).__name__, exc)
        out["traceback"] = traceback.format_exc()[-3000:]
    out["rss_after_load_mb"] = rss0
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["threadpools"] = _threadpools()
    if "skdae" in sys.modules:  # which build this worker ran (A/B runs check it)
        out["skdae_file"] = sys.modules["skdae"].__file__
    return out


def _run_training(cfg, X, out):
    cls = TRAIN_PEERS[cfg["peer"]]
    # warm-up on a throwaway model (untimed), traced by tracemalloc
    nw = min(cfg["warmup"], X.shape[0])
    tracemalloc.start()
    warm = cls(cfg, X[:nw])
    warm.epoch(X[:nw])
    out["tracemalloc_warmup_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    del warm
    gc.collect()
    # peak RSS of the timed epochs alone, above the RSS before them (the data
    # loader's transient peak and final()'s evaluation are left out)
    rss_before = _rss_mb()
    reset = _reset_peak_rss()
    model = cls(cfg, X)
    if hasattr(model, "timed_epochs"):  # a peer that times its own epochs
        times, cpu = model.timed_epochs(X, cfg["epochs"])
    else:
        times, cpu = [], []
        for _ in range(cfg["epochs"]):
            c0, t0 = time.process_time(), time.perf_counter()
            model.epoch(X)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    if reset:
        out["train_rss_growth_mb"] = _peak_rss_since_reset_mb() - rss_before
    out["epoch_s"] = times
    out["epoch_cpu_s"] = cpu  # all threads of this process; robust to load at --threads 1
    out.update(model.final(X))


def _run_transform(cfg, X, out):
    f = make_transform(cfg["peer"], cfg, X)
    H = f(X)  # warm-up
    times = []
    for _ in range(cfg["transform_calls"]):
        t0 = time.perf_counter()
        H = f(X)
        times.append(time.perf_counter() - t0)
    out["call_s"] = times
    H = np.asarray(H)
    out["out_dtype"] = str(H.dtype)
    out["checksum"] = float(H.sum(dtype=np.float64))


def main_worker(cfg_json):
    print_result(run_worker(json.loads(cfg_json)))
