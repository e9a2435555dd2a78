# Inference kernels of the autoencoders: the encoder by row blocks, the
# fused bias + activation, the per-row reconstruction loss, the noise process
# for displays. They use the training engine's inline arithmetic
# (``_engine.pxd``), so training and inference compute the same values.

from cython cimport floating
from cython.parallel cimport prange, parallel, threadid
from libc.stdlib cimport calloc, free
from libc.stdint cimport uint64_t

from ._blas cimport _gemm
from ._engine cimport (
    Corruption, NOISE_NONE, NOISE_MASKING, NOISE_SALT_AND_PEPPER, NOISE_SWAP,
    skdae_team, skdae_team_init,
    skdae_team_destroy, skdae_team_claim, skdae_team_finish, skdae_team_end,
    skdae_omp_max_threads, skdae_expf, skdae_log1p_unit, skdae_exp, skdae_log1p_unit64,
    _activate_rows, _loss_row, _nonfinite, _corrupt_row, _fraction_threshold,
)
from ._random cimport _next_u64


cdef inline int _kernel_threads(Py_ssize_t n_elements) noexcept nogil:
    """Threads for an element-wise kernel: one below ~100k elements, where
    starting a parallel region costs more than it saves."""
    return 1 if n_elements < 131072 else skdae_omp_max_threads()


def _bias_activation(floating[:, ::1] A, const floating[::1] bias, int act):
    """In place ``A = act(A + bias)`` (bias broadcast over rows), fused in one pass."""
    cdef Py_ssize_t i, n = A.shape[0], m = A.shape[1]
    cdef int n_threads = _kernel_threads(n * m)
    if bias.shape[0] != m:
        raise ValueError(f"bias has {bias.shape[0]} values for {m} columns")
    if n == 0 or m == 0:
        return
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        _activate_rows(&A[i, 0], &bias[0], m, act)


cdef int _encode_block(const floating *X, const floating *W, const floating *b,
                       floating *out, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t d,
                       Py_ssize_t h, int act) noexcept nogil:
    """Rows ``[r0, r1)``: ``out = act(X W^T + b)``, each row checked and
    activated while it is in cache; returns 1 if a pre-activation was not
    finite."""
    cdef Py_ssize_t r
    cdef int bad = 0
    if d > 0:
        _gemm(False, True, <int> (r1 - r0), <int> h, <int> d, <floating> 1, X + r0 * d,
              <int> d, W, <int> d, <floating> 0, out + r0 * h, <int> h)
    for r in range(r0, r1):
        bad |= _nonfinite(out + r * h, h)
        _activate_rows(out + r * h, b, h, act)
    return bad


def _encode_dense(
    const floating[:, ::1] X,
    const floating[:, ::1] W,
    const floating[::1] b,
    int act,
    floating[:, ::1] out,
    int n_threads=1,
    Py_ssize_t block_rows=0,
):
    """``out = act(X W^T + b)`` by blocks of rows, each block's bias and
    activation applied while the block is still in cache.

    With ``n_threads > 1`` the row blocks are handed out to OpenMP threads as
    they come free (a thread the operating system deschedules holds up only
    the block it is on), each running single-threaded BLAS (the caller limits
    BLAS to one thread). ``block_rows`` sets the block height (0: up to 2048
    rows, about 1 MiB of output per block; tests use small blocks).

    Returns 0 if every pre-activation ``X W^T`` was finite, else 1. A NaN or
    infinite input value always yields a non-finite pre-activation (``inf *
    w`` is infinite and ``inf * 0`` is NaN), so this check on the output of
    the product replaces a separate pass over ``X``.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], h = W.shape[0]
    cdef Py_ssize_t rows = (block_rows if block_rows > 0
                            else max(64, min(2048, 1048576 // max(h, 1))))
    cdef int n_blocks = <int> ((n + rows - 1) // rows)
    cdef int blk, phase, bad = 0, mine, t, T = max(1, min(n_threads, n_blocks))
    cdef int flags[256]
    cdef skdae_team team
    if W.shape[1] != d or b.shape[0] != h or out.shape[0] != n or out.shape[1] != h:
        raise ValueError(f"encoder shapes do not match: X ({n}, {d}), W ({W.shape[0]}, "
                         f"{W.shape[1]}), b ({b.shape[0]},), out ({out.shape[0]}, "
                         f"{out.shape[1]})")
    T = min(T, 256)
    if n == 0 or h == 0:
        return 0
    if d == 0:
        out[:, :] = 0
    skdae_team_init(&team, n_blocks)
    with nogil, parallel(num_threads=T):
        t = threadid()
        mine = 0
        while True:
            blk = skdae_team_claim(&team, &phase)
            if blk < 0:
                break
            mine = mine | _encode_block(&X[0, 0], &W[0, 0], &b[0], &out[0, 0], blk * rows,
                                        min(n, (blk + 1) * rows), d, h, act)
            if skdae_team_finish(&team):
                skdae_team_end(&team)
        flags[t] = mine
    skdae_team_destroy(&team)
    for t in range(T):
        bad |= flags[t]
    return 1 if bad else 0


def _reconstruction_loss_rows(
    const floating[:, ::1] X,
    floating[:, ::1] Z,
    const floating[::1] c,
    int loss,
    int out,
    double[::1] row_loss,
):
    """Per-row reconstruction loss of ``X`` from decoder pre-activations
    ``Z + c`` (``Z`` is overwritten with scratch values).

    ``row_loss[i] = sum_k loss(Z[i, k] + c[k], X[i, k])``, with the same
    numerically stable formulas the training loop uses (its vectorised row
    kernels, unweighted; their bias-gradient sums go to per-thread scratch).
    """
    cdef Py_ssize_t i, n = X.shape[0], d = X.shape[1]
    cdef int n_threads = _kernel_threads(n * d)
    cdef floating *scratch
    if Z.shape[0] != n or Z.shape[1] != d or c.shape[0] != d or row_loss.shape[0] != n:
        raise ValueError("loss shapes do not match")
    scratch = <floating *> calloc(max(n_threads, 1) * max(d, 1), sizeof(floating))
    if scratch == NULL:
        raise MemoryError("could not allocate the loss scratch buffer")
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        row_loss[i] = _loss_row(&Z[i, 0], &X[i, 0], &c[0], scratch + threadid() * d,
                                <floating *> NULL, 0, d, 1, loss, out)
    free(scratch)


def _corrupt(
    const floating[:, ::1] X,
    floating[:, ::1] out,
    int noise,
    double level,
    const floating[::1] low,
    const floating[::1] high,
    uint64_t[::1] rng_state,
    floating[:, ::1] weights=None,
    tuple emphasis=(1.0, 1.0),
):
    """Corrupt every row of ``X`` into ``out`` with the engine's noise process
    (one key per row from ``rng_state``, as in training; swap noise draws
    from the rows of ``X``), and write the emphasis weights (``alpha`` where
    a value was corrupted, ``beta`` elsewhere) into ``weights`` when given.
    The routine the training loop applies to each minibatch; exposed for
    tests and for displays of corrupted examples.
    """
    cdef Py_ssize_t i, n = X.shape[0], d = X.shape[1]
    cdef Corruption nz
    cdef uint64_t key
    cdef floating *wt = NULL
    if weights is not None:
        if weights.shape[0] != n or weights.shape[1] != d:
            raise ValueError("weights must have the shape of X")
        if noise not in (NOISE_MASKING, NOISE_SALT_AND_PEPPER, NOISE_SWAP):
            raise ValueError("emphasis weights need a noise that corrupts some values")
    if out.shape[0] != n or out.shape[1] != d or low.shape[0] != d or high.shape[0] != d:
        raise ValueError("corruption shapes do not match")
    if rng_state.shape[0] != 4:
        raise ValueError("rng_state must have 4 words")
    nz.noise = noise
    nz.level = level
    nz.threshold = _fraction_threshold(min(max(level, 0.0), 1.0))
    nz.low = &low[0] if d else NULL
    nz.high = &high[0] if d else NULL
    nz.emphasis = weights is not None
    nz.alpha, nz.beta = emphasis
    if n == 0 or d == 0:
        return
    with nogil:
        for i in range(n):
            key = _next_u64(&rng_state[0]) if noise != NOISE_NONE else 0
            if nz.emphasis:
                wt = &weights[i, 0]
            _corrupt_row(&X[i, 0], &out[i, 0], d, &nz, key, &X[0, 0], n, i, wt)


def _fast_exp_log1p(const floating[::1] x, floating[::1] exp_out,
                    floating[::1] log1p_out):
    """Test hook: the vectorised ``exp(x)`` and ``log(1 + x)`` (float32 or
    float64 kernels by the arrays' dtype)."""
    cdef Py_ssize_t i
    for i in range(x.shape[0]):
        if floating is float:
            exp_out[i] = skdae_expf(x[i])
            log1p_out[i] = skdae_log1p_unit(x[i])
        else:
            exp_out[i] = skdae_exp(x[i])
            log1p_out[i] = skdae_log1p_unit64(x[i])
