# Cython training engine of the denoising autoencoder.
#
# Python (``_autoencoder.py``) owns policy: validation, parameter mapping,
# allocation of parameters and optimizer state, seeding, the epoch loop, early
# stopping, printing and warnings. This module owns the arithmetic: one call to
# ``_train_epoch`` runs every minibatch of an epoch with the GIL released.
#
# Notation (row-major, one minibatch of B rows):
#   X~ (B, d) corrupted input, W (h, d) encoder weights (``components_``),
#   V (h, d) decoder weights (V is W when tied), b (h,), c (d,)
#   A = X~ W^T + b, H = s(A)                      (B, h)
#   Z = H V + c, X^ = o(Z)                        (B, d)
#   G_Z = dL/dZ / B                               (B, d)   (mean over the batch)
#   G_A = (G_Z V^T) * s'(A)                       (B, h)
#   dL/dV = H^T G_Z, dL/dW = G_A^T X~, tied: dL/dW = [H; G_A]^T [G_Z; X~]
# The two halves of the tied gradient are one GEMM with K = 2B because the
# buffers are laid out as M1 = [H; G_A] (2B, h) and M2 = [G_Z; X~] (2B, d).

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.math cimport exp, expf, log, tanh, tanhf, sqrt, isfinite
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memcpy, memset
from libc.stdint cimport uint64_t

import numpy as np

cdef extern from "_fastmath.h":
    float skdae_expf(float x) noexcept nogil
    float skdae_log1p_unit(float e) noexcept nogil
    double skdae_exp(double x) noexcept nogil
    double skdae_log1p_unit64(double e) noexcept nogil
    void skdae_sigmoid_bias_f64(double *A, const double *bias, Py_ssize_t m) noexcept nogil
    double skdae_cross_entropy_row_f64(double *Zr, const double *Xr, const double *c,
                                       double *gc, Py_ssize_t k0, Py_ssize_t k1,
                                       double inv_b) noexcept nogil
    double skdae_squared_error_row_f64(double *Zr, const double *Xr, const double *c,
                                       double *gc, Py_ssize_t k0, Py_ssize_t k1,
                                       double inv_b, int sigmoid_out) noexcept nogil
    void skdae_sigmoid_bias_f32(float *A, const float *bias, Py_ssize_t m) noexcept nogil
    double skdae_cross_entropy_row_f32(float *Zr, const float *Xr, const float *c,
                                       float *gc, Py_ssize_t k0, Py_ssize_t k1,
                                       float inv_b) noexcept nogil
    double skdae_squared_error_row_f32(float *Zr, const float *Xr, const float *c,
                                       float *gc, Py_ssize_t k0, Py_ssize_t k1,
                                       float inv_b, int sigmoid_out) noexcept nogil
    int skdae_nonfinite_f32(const float *A, Py_ssize_t n) noexcept nogil
    int skdae_nonfinite_f64(const double *A, Py_ssize_t n) noexcept nogil
    void skdae_gaussian_row_f32(const float *x, float *xt, Py_ssize_t d, uint64_t key,
                                float level) noexcept nogil
    void skdae_gaussian_row_f64(const double *x, double *xt, Py_ssize_t d, uint64_t key,
                                double level) noexcept nogil
    void skdae_salt_pepper_row_f32(const float *x, float *xt, Py_ssize_t d, uint64_t key,
                                   uint64_t thr, const float *low,
                                   const float *high) noexcept nogil
    void skdae_salt_pepper_row_f64(const double *x, double *xt, Py_ssize_t d,
                                   uint64_t key, uint64_t thr, const double *low,
                                   const double *high) noexcept nogil
    void skdae_mask_row_f32(const float *x, float *xt, Py_ssize_t d, uint64_t key,
                            uint64_t thr) noexcept nogil
    void skdae_mask_row_f64(const double *x, double *xt, Py_ssize_t d, uint64_t key,
                            uint64_t thr) noexcept nogil

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int skdae_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int skdae_omp_max_threads(void) { return 1; }
    #endif
    """
    int skdae_omp_max_threads() noexcept nogil

cdef extern from *:
    """
    /* Flush-to-zero and denormals-are-zero for the calling thread (x86 MXCSR
       bits 15 and 6), so that subnormal optimizer state (e.g. the velocity
       of a weight whose input is always zero, decaying geometrically) costs
       nothing; the previous mode is restored afterwards. */
    #if defined(__SSE__) || defined(__x86_64__) || defined(_M_X64)
    #include <xmmintrin.h>
    static unsigned int skdae_enter_ftz(void) {
        unsigned int old = _mm_getcsr();
        _mm_setcsr(old | 0x8040u);
        return old;
    }
    static void skdae_leave_ftz(unsigned int old) { _mm_setcsr(old); }
    #else
    static unsigned int skdae_enter_ftz(void) { return 0; }
    static void skdae_leave_ftz(unsigned int old) { (void) old; }
    #endif
    """
    unsigned int skdae_enter_ftz() noexcept nogil
    void skdae_leave_ftz(unsigned int old) noexcept nogil

from ._blas cimport _gemm
from ._random cimport _next_u64, _randint, _masked

# Codes shared with _autoencoder.py (Python maps strings to these).
cdef enum:
    ACT_SIGMOID = 0
    ACT_TANH = 1
    ACT_RELU = 2
    ACT_IDENTITY = 3

cdef enum:
    LOSS_SQUARED = 0
    LOSS_CROSS_ENTROPY = 1

cdef enum:
    NOISE_NONE = 0
    NOISE_MASKING = 1
    NOISE_GAUSSIAN = 2
    NOISE_SALT_AND_PEPPER = 3

cdef enum:
    SOLVER_SGD = 0
    SOLVER_ADAM = 1


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating _tanh(floating x) noexcept nogil:
    if floating is float:
        return tanhf(x)
    else:
        return tanh(x)


cdef inline floating _sigmoid(floating z) noexcept nogil:
    """Logistic function without overflow for large |z|."""
    cdef floating e
    if z >= 0:
        return 1 / (1 + _exp(-z))
    e = _exp(z)
    return e / (1 + e)


cdef inline floating _activate(floating a, int act) noexcept nogil:
    if act == ACT_SIGMOID:
        return _sigmoid(a)
    elif act == ACT_TANH:
        return _tanh(a)
    elif act == ACT_RELU:
        return a if a > 0 else 0
    return a


cdef inline floating _derivative_from_output(floating h, int act) noexcept nogil:
    """s'(a) expressed through h = s(a)."""
    if act == ACT_SIGMOID:
        return h * (1 - h)
    elif act == ACT_TANH:
        return 1 - h * h
    elif act == ACT_RELU:
        return 1 if h > 0 else 0
    return 1


cdef inline void _jacobian_factors(
    floating h, int act, floating *a, floating *da
) noexcept nogil:
    """``a = s'(A)`` and ``da = s''(A)``, both expressed through ``h = s(A)``;
    the contractive penalty of a hidden unit is ``a**2 * ||W_j||**2``."""
    if act == ACT_SIGMOID:
        a[0] = h * (1 - h)
        da[0] = a[0] * (1 - 2 * h)
    elif act == ACT_TANH:
        a[0] = 1 - h * h
        da[0] = -2 * h * a[0]
    elif act == ACT_RELU:
        a[0] = 1 if h > 0 else 0
        da[0] = 0
    else:
        a[0] = 1
        da[0] = 0


cdef inline uint64_t _mask_threshold(double level) noexcept nogil:
    """Masking drops a value when its 32 random bits are below this."""
    return <uint64_t> (level * 4294967296.0)


cdef inline void _corrupt_row_keyed(
    const floating *x, floating *xt, Py_ssize_t d, int noise, double level,
    const floating *low, const floating *high, uint64_t key,
) noexcept nogil:
    """Write a corrupted copy of the row ``x`` into ``xt``, every random
    decision a hash of ``(key, feature)`` (vectorised C kernels): the row's
    noise is a function of its key alone, whichever thread computes it.
    Masking makes the same decisions as ``_masked(key, k, thr)``, which the
    sparse engine uses."""
    if noise == NOISE_MASKING:
        if floating is float:
            skdae_mask_row_f32(x, xt, d, key, _mask_threshold(level))
        else:
            skdae_mask_row_f64(x, xt, d, key, _mask_threshold(level))
    elif noise == NOISE_GAUSSIAN:
        if floating is float:
            skdae_gaussian_row_f32(x, xt, d, key, <float> level)
        else:
            skdae_gaussian_row_f64(x, xt, d, key, level)
    elif noise == NOISE_SALT_AND_PEPPER:
        if floating is float:
            skdae_salt_pepper_row_f32(x, xt, d, key, _mask_threshold(level), low, high)
        else:
            skdae_salt_pepper_row_f64(x, xt, d, key, _mask_threshold(level), low, high)
    else:
        memcpy(xt, x, d * sizeof(floating))


cdef void _corrupt_row(
    const floating *x, floating *xt, Py_ssize_t d, int noise, double level,
    const floating *low, const floating *high, uint64_t *state,
) noexcept nogil:
    """Write a corrupted copy of the row ``x`` into ``xt``: one draw of the
    sequential stream keys the row (none without noise)."""
    if noise == NOISE_NONE:
        memcpy(xt, x, d * sizeof(floating))
        return
    _corrupt_row_keyed(x, xt, d, noise, level, low, high, _next_u64(state))


cdef inline void _update(
    floating *p, const floating *g, floating *s1, floating *s2, Py_ssize_t n,
    int solver, floating lr, floating momentum, floating beta1, floating beta2,
    floating eps, floating decay,
) noexcept nogil:
    """One optimizer step on ``n`` parameters ``p`` with gradient ``g``
    (L2 ``decay * p`` added here). SGD: ``s1`` is the velocity. Adam: ``s1`` and
    ``s2`` are the first and second moments and ``lr`` is the bias-corrected
    step size."""
    cdef Py_ssize_t i
    cdef floating gi
    if solver == SOLVER_ADAM:
        for i in range(n):
            gi = g[i] + decay * p[i]
            s1[i] = beta1 * s1[i] + (1 - beta1) * gi
            s2[i] = beta2 * s2[i] + (1 - beta2) * gi * gi
            p[i] -= lr * s1[i] / (sqrt(s2[i]) + eps)
    elif momentum != 0:
        for i in range(n):
            s1[i] = momentum * s1[i] - lr * (g[i] + decay * p[i])
            p[i] += s1[i]
    else:
        for i in range(n):
            p[i] -= lr * (g[i] + decay * p[i])


cdef inline int _kernel_threads(Py_ssize_t n_elements) noexcept nogil:
    """Threads for an element-wise kernel: one below ~100k elements, where
    starting a parallel region costs more than it saves."""
    return 1 if n_elements < 131072 else skdae_omp_max_threads()


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


def _seed_rng(uint64_t[::1] state, uint64_t seed):
    """Fill the 4-word xoshiro256** ``state`` from ``seed`` with splitmix64."""
    cdef int i
    cdef uint64_t z
    for i in range(4):
        seed += 0x9E3779B97F4A7C15u
        z = seed
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu
        state[i] = z ^ (z >> 31)


def _corrupt(
    const floating[:, ::1] X,
    floating[:, ::1] out,
    int noise,
    double level,
    const floating[::1] low,
    const floating[::1] high,
    uint64_t[::1] rng_state,
):
    """Corrupt every row of ``X`` into ``out`` with the engine's noise process.

    The same routine the training loop applies to each minibatch; exposed for
    tests and for displays of corrupted examples.
    """
    cdef Py_ssize_t i, n = X.shape[0], d = X.shape[1]
    with nogil:
        for i in range(n):
            _corrupt_row(&X[i, 0], &out[i, 0], d, noise, level,
                         &low[0], &high[0], &rng_state[0])


def _bias_activation(floating[:, ::1] A, const floating[::1] bias, int act):
    """In place ``A = act(A + bias)`` (bias broadcast over rows), fused in one pass."""
    cdef Py_ssize_t i, j, n = A.shape[0], m = A.shape[1]
    cdef int n_threads = _kernel_threads(n * m)
    if n == 0 or m == 0:
        return
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        _activate_rows(&A[i, 0], &bias[0], m, act)


cdef inline int _nonfinite(const floating *A, Py_ssize_t n) noexcept nogil:
    """1 if any of ``n`` values is NaN or infinite, else 0 (the C kernels
    test the exponent bits, vectorised)."""
    if floating is float:
        return skdae_nonfinite_f32(A, n)
    else:
        return skdae_nonfinite_f64(A, n)


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

    With ``n_threads > 1`` the row blocks are shared between OpenMP threads,
    each running single-threaded BLAS (the caller limits BLAS to one thread).
    ``block_rows`` sets the block height (0: up to 2048 rows, about 1 MiB of
    output per block; tests use small blocks).

    Returns 0 if every pre-activation ``X W^T`` was finite, else 1. A NaN or
    infinite input value always yields a non-finite pre-activation (``inf *
    w`` is infinite and ``inf * 0`` is NaN), so this check on the output of
    the product replaces a separate pass over ``X``.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], h = W.shape[0]
    cdef Py_ssize_t rows = block_rows if block_rows > 0 else max(64, min(2048, 1048576 // max(h, 1)))
    cdef Py_ssize_t n_blocks = (n + rows - 1) // rows
    cdef Py_ssize_t blk, r0, r1, r
    cdef int bad = 0
    if n == 0 or h == 0:
        return 0
    if d == 0:
        out[:, :] = 0
    for blk in prange(n_blocks, nogil=True, schedule="static", num_threads=max(1, n_threads)):
        r0 = blk * rows
        r1 = min(n, r0 + rows)
        if d > 0:
            _gemm(False, True, <int> (r1 - r0), <int> h, <int> d, <floating> 1,
                  &X[r0, 0], <int> d, &W[0, 0], <int> d, <floating> 0, &out[r0, 0],
                  <int> h)
        for r in range(r0, r1):
            # each row is checked and activated while it is in L1
            bad += _nonfinite(&out[r, 0], h)
            _activate_rows(&out[r, 0], &b[0], h, act)
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
    kernels; their bias-gradient sums go to per-thread scratch).
    """
    cdef Py_ssize_t i, n = X.shape[0], d = X.shape[1]
    cdef int n_threads = _kernel_threads(n * d)
    cdef floating *scratch = <floating *> calloc(max(n_threads, 1) * max(d, 1),
                                                 sizeof(floating))
    if scratch == NULL:
        raise MemoryError("could not allocate the loss scratch buffer")
    for i in prange(n, nogil=True, schedule="static", num_threads=n_threads):
        row_loss[i] = _loss_row(&Z[i, 0], &X[i, 0], &c[0], scratch + threadid() * d,
                                0, d, 1, loss, out)
    free(scratch)


cdef inline floating *_offset(floating *p, Py_ssize_t o) noexcept nogil:
    """``p + o``, or NULL for an absent (unused) buffer."""
    return p + o if p != NULL else NULL


cdef inline void _activate_rows(floating *A, const floating *bias, Py_ssize_t m,
                                int act) noexcept nogil:
    """``A = act(A + bias)`` over ``m`` contiguous values (the sigmoid takes
    the vectorised C kernels)."""
    cdef Py_ssize_t j
    if act == ACT_SIGMOID:
        if floating is float:
            skdae_sigmoid_bias_f32(A, bias, m)
        else:
            skdae_sigmoid_bias_f64(A, bias, m)
        return
    for j in range(m):
        A[j] = _activate(A[j] + bias[j], act)


cdef double _forward_block(
    Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t bsz, Py_ssize_t h, Py_ssize_t d,
    floating *M1, const floating *M2, const floating *W, const floating *V,
    const floating *b, floating *Zt, int activation, floating lam, floating *w2,
) noexcept nogil:
    """Hidden units ``[j0, j1)``: ``H = s(X~ W^T + b)`` into the top of ``M1``
    and this block's share of the decoder pre-activation ``Zt = H V``.

    With a contractive penalty (``lam > 0``) also stores ``w2[j] =
    ||W_j||**2`` and returns ``lam * sum_rows sum_j s'(A_j)**2 w2[j]``, this
    block's share of the summed squared Frobenius norms of the Jacobians."""
    cdef Py_ssize_t r, j, i
    cdef int ib = <int> bsz, ihj = <int> (j1 - j0), ih = <int> h, id_ = <int> d
    cdef floating a, da, acc
    cdef double penalty = 0
    if j1 == j0:
        memset(Zt, 0, bsz * d * sizeof(floating))
        return 0
    _gemm(False, True, ib, ihj, id_, <floating> 1, M2 + bsz * d, id_,
          W + j0 * d, id_, <floating> 0, M1 + j0, ih)
    for r in range(bsz):
        _activate_rows(M1 + r * h + j0, b + j0, j1 - j0, activation)
    if lam > 0:
        for j in range(j0, j1):
            acc = 0
            for i in range(d):
                acc = acc + W[j * d + i] * W[j * d + i]
            w2[j] = acc
        for r in range(bsz):
            for j in range(j0, j1):
                _jacobian_factors(M1[r * h + j], activation, &a, &da)
                penalty += <double> (a * a * w2[j])
        penalty *= lam
    _gemm(False, False, ib, id_, ihj, <floating> 1, M1 + j0, ih, V + j0 * d, id_,
          <floating> 0, Zt, id_)
    return penalty


cdef inline double _loss_row(
    floating *Zr, const floating *Xr, const floating *c, floating *gc,
    Py_ssize_t k0, Py_ssize_t k1, floating inv_b, int loss, int output,
) noexcept nogil:
    """Loss of one row's columns ``[k0, k1)`` from the decoder
    pre-activations ``Zr`` (bias ``c`` not yet added) against the clean row
    ``Xr``; overwrites ``Zr`` with ``G_Z = dL/dZ * inv_b`` and adds it to
    ``gc`` (the vectorised C row kernels)."""
    if floating is float:
        if loss == LOSS_CROSS_ENTROPY:
            return skdae_cross_entropy_row_f32(Zr, Xr, c, gc, k0, k1, inv_b)
        return skdae_squared_error_row_f32(Zr, Xr, c, gc, k0, k1, inv_b,
                                           output == ACT_SIGMOID)
    else:
        if loss == LOSS_CROSS_ENTROPY:
            return skdae_cross_entropy_row_f64(Zr, Xr, c, gc, k0, k1, inv_b)
        return skdae_squared_error_row_f64(Zr, Xr, c, gc, k0, k1, inv_b,
                                           output == ACT_SIGMOID)


cdef double _loss_columns(
    Py_ssize_t k0, Py_ssize_t k1, Py_ssize_t bsz, Py_ssize_t d, Py_ssize_t n_parts,
    floating *M2, const floating *Zpart, const floating *X,
    const Py_ssize_t *rows, const floating *c, floating *gc, int loss, int output,
) noexcept nogil:
    """Columns ``[k0, k1)``: sum the partial pre-activations, take the loss
    against the clean rows, write ``G_Z = dL/dZ / bsz`` over ``Z`` (top of
    ``M2``) and ``gc = sum_rows G_Z``. Returns this block's loss."""
    cdef Py_ssize_t r, k, t
    cdef floating inv_b = <floating> 1.0 / <floating> bsz
    cdef double acc = 0
    for k in range(k0, k1):
        gc[k] = 0
    for r in range(bsz):
        for t in range(n_parts):
            for k in range(k0, k1):
                M2[r * d + k] += Zpart[(t * bsz + r) * d + k]
        acc += _loss_row(M2 + r * d, X + rows[r] * d, c, gc, k0, k1, inv_b, loss,
                         output)
    return acc


cdef inline void _add_row_scaled(
    floating *G, const floating *W, const floating *q, Py_ssize_t j0,
    Py_ssize_t j1, Py_ssize_t d, floating lam,
) noexcept nogil:
    """``G[j] += q[j] * W[j]`` for rows ``[j0, j1)`` when ``lam > 0``."""
    cdef Py_ssize_t j, i
    if lam <= 0:
        return
    for j in range(j0, j1):
        for i in range(d):
            G[j * d + i] += q[j] * W[j * d + i]


cdef void _backward_block(
    Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t k0, Py_ssize_t k1,
    Py_ssize_t bsz, Py_ssize_t h, Py_ssize_t d,
    floating *M1, const floating *M2, floating *W, floating *V, floating *b,
    floating *c, floating *gb, const floating *gc, floating *gW, floating *gV,
    floating *s1W, floating *s2W, floating *s1V, floating *s2V,
    floating *s1b, floating *s2b, floating *s1c, floating *s2c,
    bint tied, bint fused_sgd, int activation, int solver, floating step,
    floating lr, floating mom, floating b1, floating b2, floating eps, floating decay,
    floating lam, const floating *w2, floating *q,
) noexcept nogil:
    """Hidden units ``[j0, j1)``: back-propagate to the hidden layer and update
    this block's rows of ``W`` (and ``V``) and of ``b``; update the visible
    biases ``c[k0:k1]``. Blocks touch disjoint memory, so threads need no
    locks."""
    cdef Py_ssize_t r, j, i, o = j0 * d, hj = j1 - j0
    cdef int ib = <int> bsz, ihj = <int> hj, ih = <int> h, id_ = <int> d
    cdef floating g, a, da, scale, beta = 1 - lr * decay, enc_beta = beta
    cdef floating two_lam_b = 2 * lam / <floating> bsz
    # G_H = G_Z V^T for this block (bottom of M1), then G_A = G_H * s'(A)
    _gemm(False, True, ib, ihj, id_, <floating> 1, M2, id_, V + o, id_,
          <floating> 0, M1 + bsz * h + j0, ih)
    for j in range(j0, j1):
        gb[j] = 0
    if lam > 0:
        # Contractive penalty lam/B sum_r sum_j a_rj**2 w2_j with a = s'(A):
        # through A it adds 2 lam/B a da w2_j to G_A; directly it adds
        # q_j W_j to the gradient of row j, q_j = 2 lam/B sum_r a_rj**2.
        for j in range(j0, j1):
            q[j] = 0
        for r in range(bsz):
            for j in range(j0, j1):
                _jacobian_factors(M1[r * h + j], activation, &a, &da)
                g = M1[(bsz + r) * h + j] * a + two_lam_b * a * da * w2[j]
                M1[(bsz + r) * h + j] = g
                gb[j] += g
                q[j] += a * a
        for j in range(j0, j1):
            q[j] *= two_lam_b
        if fused_sgd:
            # fold q_j into the decay of row j; the GEMM then adds with beta 1
            for j in range(j0, j1):
                scale = 1 - lr * (decay + q[j])
                for i in range(d):
                    W[j * d + i] *= scale
            enc_beta = 1
    elif activation == ACT_SIGMOID:
        for r in range(bsz):  # the common case, written to vectorise
            for j in range(j0, j1):
                g = M1[(bsz + r) * h + j] * M1[r * h + j] * (1 - M1[r * h + j])
                M1[(bsz + r) * h + j] = g
                gb[j] += g
    else:
        for r in range(bsz):
            for j in range(j0, j1):
                g = M1[(bsz + r) * h + j] * _derivative_from_output(
                    M1[r * h + j], activation)
                M1[(bsz + r) * h + j] = g
                gb[j] += g
    if tied:
        # dL/dW = [H; G_A]^T [G_Z; X~]: one GEMM with K = 2 bsz
        if fused_sgd:
            _gemm(True, False, ihj, id_, 2 * ib, -lr, M1 + j0, ih, M2, id_, enc_beta,
                  W + o, id_)
        else:
            _gemm(True, False, ihj, id_, 2 * ib, <floating> 1, M1 + j0, ih, M2, id_,
                  <floating> 0, gW + o, id_)
            _add_row_scaled(gW, W, q, j0, j1, d, lam)
            _update(W + o, gW + o, _offset(s1W, o), _offset(s2W, o), hj * d, solver,
                    step, mom, b1, b2, eps, decay)
    else:
        if fused_sgd:
            _gemm(True, False, ihj, id_, ib, -lr, M1 + j0, ih, M2, id_, beta,
                  V + o, id_)
            _gemm(True, False, ihj, id_, ib, -lr, M1 + bsz * h + j0, ih,
                  M2 + bsz * d, id_, enc_beta, W + o, id_)
        else:
            _gemm(True, False, ihj, id_, ib, <floating> 1, M1 + j0, ih, M2, id_,
                  <floating> 0, gV + o, id_)
            _gemm(True, False, ihj, id_, ib, <floating> 1, M1 + bsz * h + j0, ih,
                  M2 + bsz * d, id_, <floating> 0, gW + o, id_)
            _add_row_scaled(gW, W, q, j0, j1, d, lam)
            _update(V + o, gV + o, _offset(s1V, o), _offset(s2V, o), hj * d, solver,
                    step, mom, b1, b2, eps, decay)
            _update(W + o, gW + o, _offset(s1W, o), _offset(s2W, o), hj * d, solver,
                    step, mom, b1, b2, eps, decay)
    _update(b + j0, gb + j0, _offset(s1b, j0), _offset(s2b, j0), hj, solver, step,
            mom, b1, b2, eps, 0)
    _update(c + k0, gc + k0, _offset(s1c, k0), _offset(s2c, k0), k1 - k0, solver,
            step, mom, b1, b2, eps, 0)


cdef inline Py_ssize_t _split(Py_ssize_t n, Py_ssize_t t, Py_ssize_t n_threads) noexcept nogil:
    """Start of block ``t`` of ``n`` items split in ``n_threads`` blocks whose
    inner boundaries are multiples of 16 (whole cache lines of floats)."""
    cdef Py_ssize_t edge
    if t >= n_threads:
        return n
    edge = ((n * t // n_threads) + 8) // 16 * 16
    return min(edge, n)


cdef void _corrupt_rows(
    const floating *X, const Py_ssize_t *rows, Py_ssize_t r0, Py_ssize_t r1,
    Py_ssize_t d, floating *out, const uint64_t *keys, int noise, double level,
    const floating *low, const floating *high,
) noexcept nogil:
    """Corrupted copies of rows ``rows[r0:r1]`` of ``X`` into rows ``r0:r1``
    of ``out``, row ``r`` keyed by ``keys[r]``."""
    cdef Py_ssize_t r
    for r in range(r0, r1):
        _corrupt_row_keyed(X + rows[r] * d, out + r * d, d, noise, level, low, high,
                           keys[r])


def _openmp_max_threads():
    """``omp_get_max_threads()`` when built with OpenMP (it follows
    ``OMP_NUM_THREADS`` and threadpoolctl), else 1."""
    return skdae_omp_max_threads()


def _train_epoch(
    const floating[:, ::1] X,
    Py_ssize_t[::1] order,
    floating[:, ::1] W,
    floating[:, ::1] V,
    floating[::1] b,
    floating[::1] c,
    list state1,
    list state2,
    const floating[::1] noise_low,
    const floating[::1] noise_high,
    uint64_t[::1] rng_state,
    *,
    Py_ssize_t batch_size,
    bint tied,
    int activation,
    int output,
    int loss,
    int noise,
    double noise_level,
    int solver,
    double learning_rate,
    double momentum,
    double beta1,
    double beta2,
    double epsilon,
    double alpha,
    long adam_t,
    bint shuffle,
    double contraction=0.0,
    int n_threads=1,
):
    """Run one epoch of minibatch training in place.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), C-contiguous, read-only OK
        Clean training data; the loss always compares with these rows.
    order : ndarray of shape (n_samples,), dtype intp
        Row order; shuffled in place (Fisher-Yates) when ``shuffle``.
    W, V : ndarray of shape (n_hidden, n_features)
        Encoder and decoder weights, updated in place. ``V`` is ignored (pass
        ``W``) when ``tied``.
    b, c : ndarray of shape (n_hidden,) and (n_features,)
        Hidden and visible biases, updated in place.
    state1, state2 : list of ndarray
        Optimizer state shaped like ``[W, V, b, c]`` (``V`` entry present even
        when tied, then unused): SGD velocity in ``state1`` (only read when
        ``momentum > 0``), Adam first and second moments.
    noise_low, noise_high : ndarray of shape (n_features,)
        Values salt-and-pepper noise writes (per-feature minimum and maximum).
    rng_state : ndarray of shape (4,), dtype uint64
        Engine random state, advanced in place.
    batch_size, tied, activation, output, loss, noise, noise_level, solver, \
learning_rate, momentum, beta1, beta2, epsilon, alpha, adam_t, shuffle
        Hyperparameters already validated and mapped to codes by Python.
    contraction : float, default=0.0
        Weight ``lam`` of the contractive penalty ``lam * ||dh/dx~||_F**2``
        (per example, averaged over the minibatch), evaluated at the encoder
        input; its gradient is computed in closed form.
    n_threads : int, default=1
        Threads of the engine. With 1, each product is one (possibly
        multi-threaded) BLAS call. With more, the hidden units are split into
        ``n_threads`` blocks and each OpenMP thread runs single-threaded BLAS
        on its block (the caller must limit BLAS to one thread); the decoder
        sum and the loss are split by columns. Three parallel phases per
        minibatch: forward, loss, backward + update. With noise the
        threads also corrupt the next minibatch at the end of the backward
        phase (each row's noise is keyed by one draw of the sequential
        stream, drawn in the same order as with one thread). Results depend
        on ``n_threads`` only through the order of floating-point sums.

    Returns
    -------
    loss_sum : float
        Sum over the rows of the epoch of each row's reconstruction loss,
        computed with the weights as they were for that row's minibatch.
    adam_t : int
        Adam step counter after the epoch.
    n_seen : int
        Rows processed; smaller than ``n_samples`` only if the loss became
        non-finite, in which case training stopped at that minibatch.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], h = W.shape[0]
    cdef Py_ssize_t start, bsz, r, i, j, tmp, t, T
    cdef Py_ssize_t n_seen = 0
    cdef double loss_sum = 0, batch_loss
    cdef floating step
    cdef floating lr = <floating> learning_rate
    cdef floating mom = <floating> momentum
    cdef floating b1 = <floating> beta1, b2 = <floating> beta2
    cdef floating eps = <floating> epsilon, decay = <floating> alpha
    cdef floating *M1
    cdef floating *M2
    cdef floating *M2_next
    cdef floating *M2_alloc
    cdef floating *Zpart
    cdef uint64_t *keys
    cdef Py_ssize_t next_bsz
    cdef bint prepared = False
    cdef floating *gW
    cdef floating *gV
    cdef floating *gb
    cdef floating *gc
    cdef double *part_loss
    cdef double *part_pen
    cdef floating *w2
    cdef floating *q
    cdef floating lam = <floating> contraction
    cdef floating *Wp = &W[0, 0]
    cdef floating *Vp = &V[0, 0] if not tied else &W[0, 0]
    cdef floating[:, ::1] s1W = state1[0], s1V = state1[1], s2W = state2[0], s2V = state2[1]
    cdef floating[::1] s1b = state1[2], s1c = state1[3], s2b = state2[2], s2c = state2[3]
    cdef floating *p_s1W = &s1W[0, 0] if s1W.shape[0] > 0 else NULL
    cdef floating *p_s1V = &s1V[0, 0] if s1V.shape[0] > 0 else NULL
    cdef floating *p_s2W = &s2W[0, 0] if s2W.shape[0] > 0 else NULL
    cdef floating *p_s2V = &s2V[0, 0] if s2V.shape[0] > 0 else NULL
    cdef floating *p_s1b = &s1b[0] if s1b.shape[0] > 0 else NULL
    cdef floating *p_s1c = &s1c[0] if s1c.shape[0] > 0 else NULL
    cdef floating *p_s2b = &s2b[0] if s2b.shape[0] > 0 else NULL
    cdef floating *p_s2c = &s2c[0] if s2c.shape[0] > 0 else NULL
    cdef bint fused_sgd = solver == SOLVER_SGD and momentum == 0
    cdef uint64_t *rs = &rng_state[0]
    cdef Py_ssize_t *rows
    cdef const floating *Xp

    if n == 0:
        return 0.0, adam_t, 0
    Xp = &X[0, 0]
    batch_size = min(batch_size, n)
    # at least 16 hidden units per block: smaller blocks cost more than they give
    T = max(1, min(<Py_ssize_t> n_threads, h // 16))
    M1 = <floating *> malloc(2 * batch_size * h * sizeof(floating))
    # two [G_Z; X~] buffers: with noise and threads, the next minibatch is
    # corrupted into the second while the first is still in use
    M2 = <floating *> malloc(4 * batch_size * d * sizeof(floating))
    M2_next = M2 + 2 * batch_size * d if M2 != NULL else NULL
    keys = <uint64_t *> malloc(batch_size * sizeof(uint64_t))
    Zpart = <floating *> malloc(max(T - 1, 1) * batch_size * d * sizeof(floating))
    gb = <floating *> malloc(h * sizeof(floating))
    gc = <floating *> malloc(d * sizeof(floating))
    part_loss = <double *> malloc(2 * T * sizeof(double))
    part_pen = part_loss + T if part_loss != NULL else NULL
    w2 = <floating *> malloc(2 * h * sizeof(floating))
    q = w2 + h if w2 != NULL else NULL
    # Weight-gradient buffers are needed unless plain SGD fuses the update
    # into the GEMM (beta = 1 - lr * alpha accumulates straight into W).
    gW = NULL
    gV = NULL
    if not fused_sgd:
        gW = <floating *> malloc(h * d * sizeof(floating))
        if not tied:
            gV = <floating *> malloc(h * d * sizeof(floating))
    if (M1 == NULL or M2 == NULL or Zpart == NULL or gb == NULL or gc == NULL
            or part_loss == NULL or w2 == NULL or keys == NULL
            or (not fused_sgd and (gW == NULL or (not tied and gV == NULL)))):
        free(M1); free(M2); free(Zpart); free(gb); free(gc); free(part_loss); free(w2)
        free(gW); free(gV); free(keys)
        raise MemoryError("could not allocate the training work buffers")
    M2_alloc = M2  # the allocation, freed at the end whatever the swaps did

    with nogil:
        if shuffle:
            for i in range(n - 1, 0, -1):
                j = _randint(rs, i + 1)
                tmp = order[i]
                order[i] = order[j]
                order[j] = tmp

        start = 0
        while start < n:
            bsz = min(batch_size, n - start)
            rows = &order[start]
            # M1 = [H; G_A] (2 bsz, h), M2 = [G_Z; X~] (2 bsz, d): the second
            # halves start right after the first bsz rows.
            # Gather and corrupt the encoder input into the bottom of M2 (one
            # thread: the noise stream is sequential), unless the threads
            # already did it at the end of the previous minibatch.
            if not prepared:
                for r in range(bsz):
                    _corrupt_row(&X[rows[r], 0], M2 + (bsz + r) * d, d,
                                 noise, noise_level, &noise_low[0], &noise_high[0], rs)
            prepared = False
            if solver == SOLVER_ADAM:
                adam_t += 1
                step = <floating> (learning_rate * sqrt(1 - beta2 ** adam_t)
                                   / (1 - beta1 ** adam_t))
            else:
                step = lr
            if T == 1:
                batch_loss = _forward_block(0, h, bsz, h, d, M1, M2, Wp, Vp, &b[0],
                                            M2, activation, lam, w2)
                batch_loss += _loss_columns(0, d, bsz, d, 0, M2, Zpart, Xp, rows,
                                           &c[0], gc, loss, output)
                if not isfinite(batch_loss):
                    break
                _backward_block(0, h, 0, d, bsz, h, d, M1, M2, Wp, Vp, &b[0], &c[0],
                                gb, gc, gW, gV, p_s1W, p_s2W, p_s1V, p_s2V, p_s1b,
                                p_s2b, p_s1c, p_s2c, tied, fused_sgd, activation,
                                solver, step, lr, mom, b1, b2, eps, decay,
                                lam, w2, q)
            else:
                # thread 0 writes its share of Z into M2, the others into Zpart
                for t in prange(T, num_threads=T, schedule="static", chunksize=1):
                    part_pen[t] = _forward_block(
                        _split(h, t, T), _split(h, t + 1, T), bsz, h, d, M1, M2, Wp,
                        Vp, &b[0], M2 if t == 0 else Zpart + (t - 1) * bsz * d,
                        activation, lam, w2)
                for t in prange(T, num_threads=T, schedule="static", chunksize=1):
                    part_loss[t] = _loss_columns(
                        _split(d, t, T), _split(d, t + 1, T), bsz, d, T - 1, M2,
                        Zpart, Xp, rows, &c[0], gc, loss, output)
                batch_loss = 0
                for t in range(T):
                    batch_loss += part_loss[t] + part_pen[t]
                if not isfinite(batch_loss):
                    break
                # Noise: key the next minibatch's rows now (the draws the
                # serial path would make next) and let each thread corrupt
                # its share of them into M2_next after its backward block.
                next_bsz = 0
                if noise != NOISE_NONE and start + bsz < n:
                    next_bsz = min(batch_size, n - start - bsz)
                    for r in range(next_bsz):
                        keys[r] = _next_u64(rs)
                for t in prange(T, num_threads=T, schedule="static", chunksize=1):
                    _backward_block(_split(h, t, T), _split(h, t + 1, T),
                                    _split(d, t, T), _split(d, t + 1, T), bsz, h, d,
                                    M1, M2, Wp, Vp, &b[0], &c[0], gb, gc, gW, gV,
                                    p_s1W, p_s2W, p_s1V, p_s2V, p_s1b, p_s2b, p_s1c,
                                    p_s2c, tied, fused_sgd, activation, solver, step,
                                    lr, mom, b1, b2, eps, decay, lam, w2, q)
                    if next_bsz > 0:
                        _corrupt_rows(Xp, rows + bsz, next_bsz * t // T,
                                      next_bsz * (t + 1) // T, d,
                                      M2_next + next_bsz * d, keys, noise,
                                      noise_level, &noise_low[0], &noise_high[0])
                if next_bsz > 0:
                    M2, M2_next = M2_next, M2
                    prepared = True
            loss_sum += batch_loss
            start += bsz
            n_seen = start

    free(M1)
    free(M2_alloc)
    free(Zpart)
    free(gb)
    free(gc)
    free(part_loss)
    free(w2)
    free(gW)
    free(gV)
    free(keys)
    return loss_sum, adam_t, n_seen


cdef void _transpose(const floating *src, Py_ssize_t rows, Py_ssize_t cols,
                     floating *dst) noexcept nogil:
    """``dst (cols, rows) = src (rows, cols)^T``, in 32 x 32 tiles."""
    cdef Py_ssize_t i0, j0, i, j
    for i0 in range(0, rows, 32):
        for j0 in range(0, cols, 32):
            for i in range(i0, min(i0 + 32, rows)):
                for j in range(j0, min(j0 + 32, cols)):
                    dst[j * rows + i] = src[i * cols + j]


def _train_epoch_sparse(
    const floating[::1] data,
    const Py_ssize_t[::1] indices,
    const Py_ssize_t[::1] indptr,
    Py_ssize_t[::1] order,
    floating[:, ::1] W,
    floating[:, ::1] V,
    floating[::1] b,
    floating[::1] c,
    list state1,
    list state2,
    uint64_t[::1] rng_state,
    *,
    Py_ssize_t batch_size,
    Py_ssize_t max_batch_nnz,
    bint tied,
    int activation,
    int output,
    int loss,
    int noise,
    double noise_level,
    int solver,
    double learning_rate,
    double momentum,
    double beta1,
    double beta2,
    double epsilon,
    double alpha,
    long adam_t,
    bint shuffle,
    double contraction=0.0,
):
    """One epoch of minibatch training on CSR input, in place.

    The sparse counterpart of :func:`_train_epoch`, with the same
    parameters, except that ``X`` comes as the CSR arrays ``data``,
    ``indices`` and ``indptr`` (indices as intp), ``max_batch_nnz`` bounds the
    stored entries of any minibatch, and ``noise`` is ``NOISE_NONE`` or
    ``NOISE_MASKING`` (masking drops stored entries with the same
    counter-based decisions as the dense engine, so dense and CSR inputs with
    the same values give the same fit up to rounding).

    The whole matrix is never densified. The encoder product ``X~ W^T`` and
    the encoder half of the weight gradient ``G_A^T X~`` run over the stored
    entries only; for that the encoder weights are held transposed
    (``W^T``, shape (n_features, n_hidden), so each stored entry touches one
    contiguous row) for the duration of the epoch, together with their
    optimizer state. The decoder side is dense per minibatch (BLAS GEMMs).
    Runs on one thread (plus the BLAS library's threads).
    """
    cdef Py_ssize_t n = indptr.shape[0] - 1, d = W.shape[1], h = W.shape[0]
    cdef Py_ssize_t start, bsz, r, i, j, k, p, tmp, row, cnt
    cdef Py_ssize_t n_seen = 0
    cdef double loss_sum = 0, batch_loss, penalty
    cdef floating lr = <floating> learning_rate
    cdef floating mom = <floating> momentum
    cdef floating b1 = <floating> beta1, b2 = <floating> beta2
    cdef floating eps = <floating> epsilon, decay = <floating> alpha
    cdef floating lam = <floating> contraction
    cdef floating step, v, g, a, da, coef, two_lam_b, scale
    cdef bint fused_sgd = solver == SOLVER_SGD and momentum == 0
    cdef bint masking = noise == NOISE_MASKING
    cdef uint64_t key = 0
    cdef uint64_t thr = _mask_threshold(noise_level)
    cdef uint64_t *rs = &rng_state[0]
    cdef floating *Wp = &W[0, 0]
    cdef floating *Vp = &V[0, 0]
    cdef floating[:, ::1] s1W = state1[0], s1V = state1[1], s2W = state2[0], s2V = state2[1]
    cdef floating[::1] s1b = state1[2], s1c = state1[3], s2b = state2[2], s2c = state2[3]
    cdef floating *p_s1W = &s1W[0, 0] if s1W.shape[0] > 0 else NULL
    cdef floating *p_s1V = &s1V[0, 0] if s1V.shape[0] > 0 else NULL
    cdef floating *p_s2W = &s2W[0, 0] if s2W.shape[0] > 0 else NULL
    cdef floating *p_s2V = &s2V[0, 0] if s2V.shape[0] > 0 else NULL
    cdef floating *p_s1b = &s1b[0] if s1b.shape[0] > 0 else NULL
    cdef floating *p_s1c = &s1c[0] if s1c.shape[0] > 0 else NULL
    cdef floating *p_s2b = &s2b[0] if s2b.shape[0] > 0 else NULL
    cdef floating *p_s2c = &s2c[0] if s2c.shape[0] > 0 else NULL
    cdef floating *WT
    cdef floating *gWT = NULL
    cdef floating *gV = NULL
    cdef floating *s1WT = NULL
    cdef floating *s2WT = NULL
    cdef floating *M1
    cdef floating *Z
    cdef floating *Xd
    cdef floating *gb
    cdef floating *gc
    cdef floating *w2
    cdef floating *q
    cdef floating *bval
    cdef Py_ssize_t *bidx
    cdef Py_ssize_t *bptr
    cdef Py_ssize_t *ident
    cdef int ib, ih = <int> h, id_ = <int> d
    cdef bint ok

    if n == 0:
        return 0.0, adam_t, 0
    batch_size = min(batch_size, n)
    max_batch_nnz = max(max_batch_nnz, 1)
    WT = <floating *> malloc(h * d * sizeof(floating))
    M1 = <floating *> malloc(2 * batch_size * h * sizeof(floating))
    Z = <floating *> malloc(batch_size * d * sizeof(floating))
    Xd = <floating *> calloc(batch_size * d, sizeof(floating))
    gb = <floating *> malloc(h * sizeof(floating))
    gc = <floating *> malloc(d * sizeof(floating))
    w2 = <floating *> malloc(2 * h * sizeof(floating))
    bval = <floating *> malloc(max_batch_nnz * sizeof(floating))
    bidx = <Py_ssize_t *> malloc(max_batch_nnz * sizeof(Py_ssize_t))
    bptr = <Py_ssize_t *> malloc((batch_size + 1) * sizeof(Py_ssize_t))
    ident = <Py_ssize_t *> malloc(batch_size * sizeof(Py_ssize_t))
    ok = not (WT == NULL or M1 == NULL or Z == NULL or Xd == NULL or gb == NULL
              or gc == NULL or w2 == NULL or bval == NULL or bidx == NULL
              or bptr == NULL or ident == NULL)
    if ok and not fused_sgd:
        gWT = <floating *> malloc(h * d * sizeof(floating))
        ok = gWT != NULL
        if ok and not tied:
            gV = <floating *> malloc(h * d * sizeof(floating))
            ok = gV != NULL
    if ok and p_s1W != NULL:
        s1WT = <floating *> malloc(h * d * sizeof(floating))
        ok = s1WT != NULL
    if ok and p_s2W != NULL:
        s2WT = <floating *> malloc(h * d * sizeof(floating))
        ok = s2WT != NULL
    if not ok:
        free(WT); free(M1); free(Z); free(Xd); free(gb); free(gc); free(w2)
        free(bval); free(bidx); free(bptr); free(ident); free(gWT); free(gV)
        free(s1WT); free(s2WT)
        raise MemoryError("could not allocate the training work buffers")
    q = w2 + h
    two_lam_b = 0

    with nogil:
        for r in range(batch_size):
            ident[r] = r
        _transpose(Wp, h, d, WT)
        if s1WT != NULL:
            _transpose(p_s1W, h, d, s1WT)
        if s2WT != NULL:
            _transpose(p_s2W, h, d, s2WT)
        if shuffle:
            for i in range(n - 1, 0, -1):
                j = _randint(rs, i + 1)
                tmp = order[i]
                order[i] = order[j]
                order[j] = tmp

        start = 0
        while start < n:
            bsz = min(batch_size, n - start)
            ib = <int> bsz
            two_lam_b = 2 * lam / <floating> bsz
            if solver == SOLVER_ADAM:
                adam_t += 1
                step = <floating> (learning_rate * sqrt(1 - beta2 ** adam_t)
                                   / (1 - beta1 ** adam_t))
            else:
                step = lr
            # 1. clean rows into Xd (dense loss targets), kept entries of the
            #    corrupted rows into the batch CSR (bval, bidx, bptr)
            cnt = 0
            for r in range(bsz):
                row = order[start + r]
                if masking:
                    key = _next_u64(rs)
                bptr[r] = cnt
                for p in range(indptr[row], indptr[row + 1]):
                    k = indices[p]
                    Xd[r * d + k] += data[p]
                    if masking and _masked(key, k, thr):
                        continue
                    bidx[cnt] = k
                    bval[cnt] = data[p]
                    cnt += 1
            bptr[bsz] = cnt
            # 2. A = X~ W^T over stored entries, H = s(A + b)
            for r in range(bsz):
                for j in range(h):
                    M1[r * h + j] = 0
                for p in range(bptr[r], bptr[r + 1]):
                    v = bval[p]
                    k = bidx[p]
                    for j in range(h):
                        M1[r * h + j] += v * WT[k * h + j]
                for j in range(h):
                    M1[r * h + j] = _activate(M1[r * h + j] + b[j], activation)
            penalty = 0
            if lam > 0:
                for j in range(h):
                    w2[j] = 0
                for k in range(d):
                    for j in range(h):
                        w2[j] += WT[k * h + j] * WT[k * h + j]
                for r in range(bsz):
                    for j in range(h):
                        _jacobian_factors(M1[r * h + j], activation, &a, &da)
                        penalty += <double> (a * a * w2[j])
                penalty *= lam
            # 3. Z = H V (tied: V = W, held as W^T)
            if tied:
                _gemm(False, True, ib, id_, ih, <floating> 1, M1, ih, WT, ih,
                      <floating> 0, Z, id_)
            else:
                _gemm(False, False, ib, id_, ih, <floating> 1, M1, ih, Vp, id_,
                      <floating> 0, Z, id_)
            # 4. loss against the clean rows; G_Z over Z, gc
            batch_loss = penalty + _loss_columns(0, d, bsz, d, 0, Z, Z, Xd, ident,
                                                 &c[0], gc, loss, output)
            memset(Xd, 0, bsz * d * sizeof(floating))
            if not isfinite(batch_loss):
                break
            # 5. G_H = G_Z V^T (bottom of M1); G_A = G_H * s'(A) (+ penalty)
            if tied:
                _gemm(False, False, ib, ih, id_, <floating> 1, Z, id_, WT, ih,
                      <floating> 0, M1 + bsz * h, ih)
            else:
                _gemm(False, True, ib, ih, id_, <floating> 1, Z, id_, Vp, id_,
                      <floating> 0, M1 + bsz * h, ih)
            for j in range(h):
                gb[j] = 0
                q[j] = 0
            for r in range(bsz):
                for j in range(h):
                    _jacobian_factors(M1[r * h + j], activation, &a, &da)
                    g = M1[(bsz + r) * h + j] * a
                    if lam > 0:
                        g = g + two_lam_b * a * da * w2[j]
                        q[j] += a * a
                    M1[(bsz + r) * h + j] = g
                    gb[j] += g
            for j in range(h):
                q[j] *= two_lam_b
            # 6. updates. Encoder weights (held as W^T): decoder half of the
            #    tied gradient by GEMM, encoder half scattered over stored
            #    entries; row decay and contraction term per hidden unit.
            if fused_sgd:
                if decay != 0 or lam > 0:
                    for k in range(d):
                        for j in range(h):
                            WT[k * h + j] *= 1 - lr * (decay + q[j])
                if tied:
                    _gemm(True, False, id_, ih, ib, -lr, Z, id_, M1, ih,
                          <floating> 1, WT, ih)
                else:
                    _gemm(True, False, ih, id_, ib, -lr, M1, ih, Z, id_,
                          1 - lr * decay, Vp, id_)
                coef = -lr
                for r in range(bsz):
                    for p in range(bptr[r], bptr[r + 1]):
                        v = coef * bval[p]
                        k = bidx[p]
                        for j in range(h):
                            WT[k * h + j] += v * M1[(bsz + r) * h + j]
            else:
                if tied:
                    _gemm(True, False, id_, ih, ib, <floating> 1, Z, id_, M1, ih,
                          <floating> 0, gWT, ih)
                else:
                    memset(gWT, 0, h * d * sizeof(floating))
                    _gemm(True, False, ih, id_, ib, <floating> 1, M1, ih, Z, id_,
                          <floating> 0, gV, id_)
                    _update(Vp, gV, p_s1V, p_s2V, h * d, solver, step, mom, b1, b2,
                            eps, decay)
                for r in range(bsz):
                    for p in range(bptr[r], bptr[r + 1]):
                        v = bval[p]
                        k = bidx[p]
                        for j in range(h):
                            gWT[k * h + j] += v * M1[(bsz + r) * h + j]
                if lam > 0:
                    for k in range(d):
                        for j in range(h):
                            gWT[k * h + j] += q[j] * WT[k * h + j]
                _update(WT, gWT, s1WT, s2WT, h * d, solver, step, mom, b1, b2, eps,
                        decay)
            _update(&b[0], gb, p_s1b, p_s2b, h, solver, step, mom, b1, b2, eps, 0)
            _update(&c[0], gc, p_s1c, p_s2c, d, solver, step, mom, b1, b2, eps, 0)
            loss_sum += batch_loss
            start += bsz
            n_seen = start

        _transpose(WT, d, h, Wp)
        if s1WT != NULL:
            _transpose(s1WT, d, h, p_s1W)
        if s2WT != NULL:
            _transpose(s2WT, d, h, p_s2W)

    free(WT); free(M1); free(Z); free(Xd); free(gb); free(gc); free(w2)
    free(bval); free(bidx); free(bptr); free(ident); free(gWT); free(gV)
    free(s1WT); free(s2WT)
    return loss_sum, adam_t, n_seen


# ---------------------------------------------------------------------- #
# Supervised fine-tuning of a stack of encoders with a softmax output layer
# ---------------------------------------------------------------------- #
# Notation (row-major, one minibatch of B rows, layers l = 0 .. L-1, the
# last one the softmax output):
#   H_0 = X[rows] (B, s_0), coefs[l] (s_l, s_{l+1}) as in MLPClassifier
#   A_{l+1} = H_l coefs[l] + intercepts[l], H_{l+1} = s(A_{l+1}) (l < L-1)
#   P = softmax(A_L), loss = -mean_rows log P[y]
#   G_L = (P - Y) / B; G_l = (G_{l+1} coefs[l]^T) * s'(A_l)
#   dL/dcoefs[l] = H_l^T G_{l+1}, dL/dintercepts[l] = sum_rows G_{l+1}
# Each H_l buffer is overwritten by G_l once layer l's weight gradient has
# used it, so the backward pass needs a single scratch buffer.

cdef inline floating _flush_tiny(floating x) noexcept nogil:
    """``x``, or 0 when ``|x|`` is below 1e-30 (float32) or 1e-290 (float64).

    Keeps subnormal numbers, which cost the CPU up to a hundred cycles each,
    out of the gradients that go into BLAS (whose worker threads do not
    see the caller's flush-to-zero mode, see ``skdae_enter_ftz``). They
    appear once a network fits its training set: the softmax puts
    probabilities of 1e-40 on wrong classes and the gradients of saturated
    units follow. Values that small are zero for any purpose."""
    # no short-circuit on the sign: a data-dependent branch per value is
    # mispredicted half the time and blocks vectorisation
    cdef floating tiny = <floating> (1e-30 if floating is float else 1e-290)
    cdef floating ax = x if x >= 0 else -x
    return x if ax >= tiny else 0


cdef double _softmax_rows(
    floating *A, const floating *bias, const Py_ssize_t *labels, Py_ssize_t bsz,
    Py_ssize_t k,
) noexcept nogil:
    """Add ``bias``, take the softmax of each row of ``A`` (bsz, k) and
    overwrite ``A`` with ``(P - Y) / bsz``. Returns the summed negative
    log-likelihood ``sum_rows log(sum exp(a - m)) - (a_y - m)``."""
    cdef Py_ssize_t r, j
    cdef floating m, s, inv_s, zy
    cdef floating inv_b = <floating> 1.0 / <floating> bsz
    cdef floating *a
    cdef double acc = 0
    for r in range(bsz):
        a = A + r * k
        m = a[0] + bias[0]
        for j in range(k):
            a[j] = a[j] + bias[j]
            if a[j] > m:
                m = a[j]
        zy = a[labels[r]] - m
        s = 0
        for j in range(k):
            a[j] = _exp(a[j] - m)
            s = s + a[j]
        acc += log(<double> s) - <double> zy
        inv_s = inv_b / s
        for j in range(k):
            a[j] = _flush_tiny(a[j] * inv_s)
        a[labels[r]] -= inv_b
    return acc


cdef inline void _times_derivative(floating *G, const floating *S, const floating *H,
                                   Py_ssize_t n, int act) noexcept nogil:
    """``G = S * s'(A)`` over ``n`` values, ``s'`` expressed through ``H = s(A)``
    (``G`` may alias ``H``)."""
    cdef Py_ssize_t i
    cdef floating hv
    if act == ACT_SIGMOID:
        for i in range(n):
            hv = H[i]
            G[i] = _flush_tiny(S[i] * hv * (1 - hv))
    else:
        for i in range(n):
            G[i] = _flush_tiny(S[i] * _derivative_from_output(H[i], act))


cdef void _ft_forward_block(
    Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t bsz, Py_ssize_t n_in, Py_ssize_t n_out,
    const floating *H, const floating *W, const floating *b, floating *out,
    bint activate, int activation,
) noexcept nogil:
    """Columns ``[c0, c1)`` of one layer's output: ``out = H W`` (a GEMM on the
    column block of ``W``), then ``act(out + b)`` in place when ``activate``."""
    cdef Py_ssize_t r
    cdef unsigned int csr = skdae_enter_ftz()
    if c1 > c0:
        _gemm(False, False, <int> bsz, <int> (c1 - c0), <int> n_in, <floating> 1, H,
              <int> n_in, W + c0, <int> n_out, <floating> 0, out + c0, <int> n_out)
        if activate:
            for r in range(bsz):
                _activate_rows(out + r * n_out + c0, b + c0, c1 - c0, activation)
    skdae_leave_ftz(csr)


cdef void _ft_backward_block(
    Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t bsz,
    Py_ssize_t n_in, Py_ssize_t width, floating *H, const floating *G, floating *W,
    floating *b, floating *scratch, floating *gW, floating *gb,
    floating *s1W, floating *s2W, floating *s1b, floating *s2b, bint below,
    bint fused_sgd, int activation, int solver, floating step, floating lr,
    floating mom, floating b1, floating b2, floating eps, floating decay,
) noexcept nogil:
    """Back-propagate through one layer for its input units ``[r0, r1)`` (rows
    of ``W``, columns of ``H``) and update its biases ``[c0, c1)``.

    ``G`` (bsz, width) is dL/dA of the layer's output, ``H`` (bsz, n_in) its
    input. In order: ``dL/dH[:, r0:r1] = G W[r0:r1]^T`` into ``scratch``
    (with the weights before their update), the update of ``W[r0:r1]``
    from ``H[:, r0:r1]^T G``, then ``H[:, r0:r1] = dL/dH * s'(H)`` -- the
    layer below's ``G``. A block touches only its own rows of ``W`` and
    columns of ``H`` and ``scratch``, so blocks run in parallel without
    locks."""
    cdef Py_ssize_t r, j, hr = r1 - r0, o = r0 * width
    cdef unsigned int csr = skdae_enter_ftz()
    if hr > 0:
        if below:
            _gemm(False, True, <int> bsz, <int> hr, <int> width, <floating> 1, G,
                  <int> width, W + o, <int> width, <floating> 0, scratch + r0, <int> n_in)
        if fused_sgd:
            _gemm(True, False, <int> hr, <int> width, <int> bsz, -lr, H + r0, <int> n_in,
                  G, <int> width, 1 - lr * decay, W + o, <int> width)
        else:
            _gemm(True, False, <int> hr, <int> width, <int> bsz, <floating> 1, H + r0,
                  <int> n_in, G, <int> width, <floating> 0, gW + o, <int> width)
            _update(W + o, gW + o, _offset(s1W, o), _offset(s2W, o), hr * width, solver,
                    step, mom, b1, b2, eps, decay)
        if below:
            for r in range(bsz):
                _times_derivative(H + r * n_in + r0, scratch + r * n_in + r0,
                                  H + r * n_in + r0, hr, activation)
    if c1 > c0:
        for j in range(c0, c1):
            gb[j] = 0
        for r in range(bsz):
            for j in range(c0, c1):
                gb[j] += G[r * width + j]
        _update(b + c0, gb + c0, _offset(s1b, c0), _offset(s2b, c0), c1 - c0, solver,
                step, mom, b1, b2, eps, 0)
    skdae_leave_ftz(csr)


def _finetune_epoch(
    const floating[:, ::1] X,
    const Py_ssize_t[::1] y,
    Py_ssize_t[::1] order,
    list coefs,
    list intercepts,
    list state1,
    list state2,
    uint64_t[::1] rng_state,
    *,
    Py_ssize_t batch_size,
    int activation,
    int solver,
    double learning_rate,
    double momentum,
    double beta1,
    double beta2,
    double epsilon,
    double alpha,
    long adam_t,
    bint shuffle,
    int n_threads=1,
):
    """Run one epoch of supervised fine-tuning of a feed-forward stack in place.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), C-contiguous
        Clean training inputs (fine-tuning applies no corruption).
    y : ndarray of shape (n_samples,), dtype intp
        Class index of each row, in ``[0, n_classes)``.
    order : ndarray of shape (n_samples,), dtype intp
        Row order; shuffled in place (Fisher-Yates) when ``shuffle``.
    coefs, intercepts : list of ndarray
        ``coefs[l]`` of shape (s_l, s_{l+1}), C-contiguous, and
        ``intercepts[l]`` of shape (s_{l+1},), updated in place; the last
        layer is the softmax output layer (``s_L = n_classes``), the others
        use ``activation``.
    state1, state2 : list of ndarray
        Optimizer state, ``2 L`` arrays shaped like ``coefs + intercepts``
        (empty arrays when unused): SGD velocity in ``state1`` (read only when
        ``momentum > 0``), Adam first and second moments.
    rng_state : ndarray of shape (4,), dtype uint64
        Engine random state (the shuffle), advanced in place.
    batch_size, activation, solver, learning_rate, momentum, beta1, beta2, \
epsilon, alpha, adam_t, shuffle
        Hyperparameters already validated and mapped to codes by Python;
        ``alpha`` is the L2 penalty on the weights (not the intercepts).
    n_threads : int, default=1
        Threads of the engine. With 1, each product is one (possibly
        multi-threaded) BLAS call. With more, every layer's units are split
        into ``n_threads`` blocks and each OpenMP thread runs single-threaded
        BLAS on its block (the caller must limit BLAS to one thread): the
        forward pass by output columns, the backward pass and the update by
        input units (rows of ``coefs[l]``), one parallel phase per layer and
        direction. Every thread works in flush-to-zero mode.

    Returns
    -------
    loss_sum : float
        Sum over the rows of the epoch of each row's cross-entropy, computed
        with the weights as they were for that row's minibatch.
    adam_t : int
        Adam step counter after the epoch.
    n_seen : int
        Rows processed; smaller than ``n_samples`` only if the loss became
        non-finite, in which case training stopped at that minibatch.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    cdef Py_ssize_t L = len(coefs)
    cdef Py_ssize_t l, r, i, j, tmp, start, bsz, width, max_width = d, total = 0
    cdef Py_ssize_t max_coef = 0, n_seen = 0, t, T = max(1, n_threads)
    cdef unsigned int csr
    cdef double loss_sum = 0, batch_loss
    cdef floating lr = <floating> learning_rate, step
    cdef floating mom = <floating> momentum
    cdef floating b1 = <floating> beta1, b2 = <floating> beta2
    cdef floating eps = <floating> epsilon, decay = <floating> alpha
    cdef bint fused_sgd = solver == SOLVER_SGD and momentum == 0
    cdef uint64_t *rs = &rng_state[0]
    cdef floating[:, ::1] coef_view
    cdef floating[::1] vec_view
    cdef Py_ssize_t *sizes = <Py_ssize_t *> malloc((L + 1) * sizeof(Py_ssize_t))
    cdef Py_ssize_t *labels = <Py_ssize_t *> malloc(max(batch_size, 1) * sizeof(Py_ssize_t))
    cdef floating **Wl = <floating **> malloc(6 * L * sizeof(floating *))
    cdef floating **bl = Wl + L if Wl != NULL else NULL
    cdef floating **s1 = Wl + 2 * L if Wl != NULL else NULL
    cdef floating **s2 = Wl + 4 * L if Wl != NULL else NULL
    cdef floating **Hl = NULL
    cdef floating *buf = NULL
    cdef floating *scratch = NULL
    cdef floating *gW = NULL
    cdef floating *gb = NULL

    if sizes == NULL or labels == NULL or Wl == NULL:
        free(sizes); free(labels); free(Wl)
        raise MemoryError("could not allocate the fine-tuning work buffers")
    sizes[0] = d
    for l in range(L):
        coef_view = coefs[l]
        vec_view = intercepts[l]
        Wl[l] = &coef_view[0, 0]
        bl[l] = &vec_view[0]
        sizes[l + 1] = coef_view.shape[1]
        max_width = max(max_width, sizes[l + 1])
        max_coef = max(max_coef, sizes[l] * sizes[l + 1])
        total += sizes[l + 1]
        for i, state in ((l, state1[l]), (L + l, state1[L + l])):
            vec_view = state.reshape(-1)
            s1[i] = &vec_view[0] if vec_view.shape[0] > 0 else NULL
        for i, state in ((l, state2[l]), (L + l, state2[L + l])):
            vec_view = state.reshape(-1)
            s2[i] = &vec_view[0] if vec_view.shape[0] > 0 else NULL
    if n == 0:
        free(sizes); free(labels); free(Wl)
        return 0.0, adam_t, 0
    batch_size = min(batch_size, n)
    Hl = <floating **> malloc((L + 1) * sizeof(floating *))
    buf = <floating *> malloc(batch_size * (d + total) * sizeof(floating))
    scratch = <floating *> malloc(batch_size * max_width * sizeof(floating))
    gb = <floating *> malloc(max_width * sizeof(floating))
    if not fused_sgd:
        gW = <floating *> malloc(max_coef * sizeof(floating))
    if (Hl == NULL or buf == NULL or scratch == NULL or gb == NULL
            or (not fused_sgd and gW == NULL)):
        free(sizes); free(labels); free(Wl); free(Hl); free(buf); free(scratch)
        free(gb); free(gW)
        raise MemoryError("could not allocate the fine-tuning work buffers")

    with nogil:
        csr = skdae_enter_ftz()
        if shuffle:
            for i in range(n - 1, 0, -1):
                j = _randint(rs, i + 1)
                tmp = order[i]
                order[i] = order[j]
                order[j] = tmp
        start = 0
        while start < n:
            bsz = min(batch_size, n - start)
            # H_l buffers packed for this batch size
            Hl[0] = buf
            for l in range(L):
                Hl[l + 1] = Hl[l] + bsz * sizes[l]
            for r in range(bsz):
                memcpy(Hl[0] + r * d, &X[order[start + r], 0], d * sizeof(floating))
                labels[r] = y[order[start + r]]
            # forward: hidden layers split by output columns, then the
            # (narrow) softmax layer on one thread
            for l in range(L):
                if l < L - 1 and T > 1:
                    for t in prange(T, num_threads=T, schedule="static", chunksize=1):
                        _ft_forward_block(_split(sizes[l + 1], t, T),
                                          _split(sizes[l + 1], t + 1, T), bsz, sizes[l],
                                          sizes[l + 1], Hl[l], Wl[l], bl[l], Hl[l + 1],
                                          True, activation)
                else:
                    _ft_forward_block(0, sizes[l + 1], bsz, sizes[l], sizes[l + 1], Hl[l],
                                      Wl[l], bl[l], Hl[l + 1], l < L - 1, activation)
            batch_loss = _softmax_rows(Hl[L], bl[L - 1], labels, bsz, sizes[L])
            if not isfinite(batch_loss):
                break
            if solver == SOLVER_ADAM:
                adam_t += 1
                step = <floating> (learning_rate * sqrt(1 - beta2 ** adam_t)
                                   / (1 - beta1 ** adam_t))
            else:
                step = lr
            # backward: Hl[l + 1] holds G_{l+1} when layer l is reached
            for l in range(L - 1, -1, -1):
                width = sizes[l + 1]
                if T > 1:
                    for t in prange(T, num_threads=T, schedule="static", chunksize=1):
                        _ft_backward_block(
                            _split(sizes[l], t, T), _split(sizes[l], t + 1, T),
                            _split(width, t, T), _split(width, t + 1, T), bsz, sizes[l],
                            width, Hl[l], Hl[l + 1], Wl[l], bl[l], scratch, gW, gb,
                            s1[l], s2[l], s1[L + l], s2[L + l], l > 0, fused_sgd,
                            activation, solver, step, lr, mom, b1, b2, eps, decay)
                else:
                    _ft_backward_block(
                        0, sizes[l], 0, width, bsz, sizes[l], width, Hl[l], Hl[l + 1],
                        Wl[l], bl[l], scratch, gW, gb, s1[l], s2[l], s1[L + l],
                        s2[L + l], l > 0, fused_sgd, activation, solver, step, lr, mom,
                        b1, b2, eps, decay)
            loss_sum += batch_loss
            start += bsz
            n_seen = start
        skdae_leave_ftz(csr)

    free(sizes); free(labels); free(Wl); free(Hl); free(buf); free(scratch)
    free(gb); free(gW)
    return loss_sum, adam_t, n_seen
