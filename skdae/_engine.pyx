# skdae's training engine: one epoch of minibatch training, for every model.
#
# Python (``skdae/_training.py`` and the estimators) owns policy: validation,
# parameter mapping, allocation of parameters and optimizer state, seeding,
# the epoch loop, early stopping, printing and warnings. This module owns the
# arithmetic of one epoch, run with the GIL released.
#
# Two models share one epoch skeleton (``_run_epoch``):
#
# - the denoising autoencoder: encoder layer ``enc`` (d -> h) and decoder
#   layer ``dec`` (h -> d), tied (one weight array) or not; per minibatch of B
#   rows, with X~ the corrupted rows and X the clean ones,
#       H = s(X~ Lenc + b)                  (B, h)   encode
#       Z = H Ldec + c,  G_Z = dL/dZ / B    (B, d)   decode, loss against X
#       G_A = (G_Z Ldec^T) * s'(H)          (B, h)   back-propagate
#       dLdec = H^T G_Z,  dLenc = X~^T G_A           update
# - the stack fine-tuned with an output layer (``SdAClassifier``,
#   ``SdARegressor``): layers 0 .. L-1, forward through every layer, the
#   head (softmax and log-loss against class labels, or the identity and the
#   squared error against real targets), then back down, every layer updated.
#   Both heads' gradient at the top pre-activation is (output - target) / B:
#   only the forward output and the loss value depend on the head.
#
# Each layer is a ``Layer`` (weights of logical shape (n_in, n_out), stored
# as is or transposed, its biases, their optimizer state) and every piece of
# arithmetic below takes layers, so the autoencoder's decoder and a
# fine-tuned layer run the same code. The data (dense or CSR) is touched in
# three places only: gathering and corrupting a minibatch (``_prepare_rows``),
# the first layer's product (``_data_forward``) and that layer's weight
# gradient (``_data_gradient``).
#
# Threads: an epoch is a sequence of phases of work items (``_sched.h``):
# blocks of hidden units, of columns or of rows, which touch disjoint memory
# and are handed out to the threads as they come free. Per autoencoder
# minibatch there are two phases -- decode (blocks of columns, plus the next
# minibatch's rows, corrupted ahead) and backward (blocks of hidden units:
# back-propagation, the update, and the next minibatch's forward pass on the
# same units) -- and per fine-tuning minibatch one per layer and direction.
# What an item computes does not depend on which thread runs it, so a fit is
# the same bit for bit for a given thread count however the threads are
# scheduled; with one thread every phase is one item and each product one
# (possibly multi-threaded) BLAS call.

from cpython.ref cimport PyObject, Py_XINCREF, Py_XDECREF
from libc.math cimport sqrt, log, isfinite
from libc.stdint cimport uint64_t, int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset
cimport numpy as cnp
from cython.parallel cimport parallel, threadid

from ._blas cimport _gemm
from ._random cimport _next_u64, _randint, _masked

import numpy as np

cnp.import_array()

cdef extern from "Python.h":
    int PyErr_CheckSignals() except -1


# ---------------------------------------------------------------------- #
# The epoch
# ---------------------------------------------------------------------- #
cdef enum:
    MODEL_AUTOENCODER = 0
    MODEL_STACK = 1

cdef enum:
    # phases of an autoencoder epoch
    AE_PREPARE = 0      # first minibatch's rows (gathered and corrupted)
    AE_ENCODE = 1       # first minibatch's forward pass, by hidden blocks
    AE_DECODE = 2       # decoder and loss by column blocks; next minibatch's rows
    AE_BACKWARD = 3     # backward, update and next forward, by hidden blocks
    # phases of a fine-tuning epoch
    ST_PREPARE = 4      # first minibatch's rows
    ST_FORWARD = 5      # a hidden layer's forward pass, by output blocks
    ST_OUTPUT = 6       # the output layer (one item); next minibatch's rows
    ST_BACKWARD = 7     # a layer's backward pass and update

# at least this many units per block of a multi-threaded phase
DEF MIN_BLOCK = 16
# blocks per thread: enough for a thread that runs late to be made up for;
# one from minibatches of LARGE_BATCH rows on. There every GEMM of a block
# packs the whole minibatch operand (B x d) again, a cost that grows with the
# block count while the block's flops shrink: at batch 256, h 500, 2 blocks
# per thread were 6-10 % slower than 1 (same-run pairs, bench_ab.py).
DEF BLOCKS_PER_THREAD = 4
DEF LARGE_BATCH = 128
# values of a gradient chunk computed and stepped while in cache (_update_block)
DEF STEP_CHUNK = 16384
# thread 0 checks for pending signals (Ctrl-C) this often
DEF POLL_NS = 50000000
# deepest stack the engine takes
DEF MAX_LAYERS = 64


cdef struct Model:
    int kind
    Layer *layers           # autoencoder: [enc, dec]; stack: every layer, the output last
    int n_layers
    bint tied               # autoencoder: dec's weights are enc's
    # autoencoder: reconstruction loss and output activation; stack: the head,
    # LOSS_CROSS_ENTROPY (softmax outputs against ``labels``) or
    # LOSS_SQUARED_ERROR (identity outputs against ``targets``)
    int loss, output
    double contraction      # autoencoder: weight of the contractive penalty
    const Py_ssize_t *labels  # stack, softmax head: class of each row
    const void *targets     # stack, identity head: target rows, (n, n_outputs)


cdef struct Epoch:
    Model *model
    Data data
    Corruption noise
    Optimizer opt
    Py_ssize_t *order
    uint64_t *rng
    Py_ssize_t batch_size
    Py_ssize_t max_batch_nnz  # CSR: stored entries of the largest minibatch
    bint shuffle
    int n_threads
    # the two minibatch slots, the current one ``cur``
    Batch batch[2]
    int cur
    # phase in progress: kind, layer (stack), and its item layout
    int kind
    int layer
    int n_main              # items of the phase's main work (before row chunks)
    int n_rows              # row chunks of the next minibatch (prepared ahead)
    # autoencoder buffers
    void *M1                # [H; G_A], 2B x h
    # per slot [G_Z; X~], 2B x d: the decoder's output gradient on top,
    # the corrupted rows below
    void *M2[2]
    void *w2                # contractive penalty: ||unit j||^2 per hidden unit
    void *q                 # and its row-gradient weights
    # stack buffers
    void *H[MAX_LAYERS + 1]  # H[k]: input of layer k >= 1; H[L]: the output's
    void *S                 # back-propagated dL/dH of the layer below
    # per item results
    double *item_loss
    double *item_penalty
    # progress
    Py_ssize_t n_seen
    double loss_sum
    int status
    bint interrupt
    PyObject *exception     # raised by a signal handler, re-raised after the epoch
    Pace *pace
    skdae_team team


cdef inline Py_ssize_t _bound(Py_ssize_t n, Py_ssize_t n_blocks, Py_ssize_t i) noexcept nogil:
    """Start of block ``i`` of ``n`` units cut into ``n_blocks`` blocks whose
    inner boundaries are multiples of 16 (whole cache lines of floats)."""
    if i >= n_blocks:
        return n
    return min(((n * i // n_blocks) + 8) // 16 * 16, n)


cdef inline int _n_blocks(const Epoch *ep, Py_ssize_t n) noexcept nogil:
    """Blocks of a phase over ``n`` units: one for one thread (each product a
    single BLAS call), else a few per thread (one from LARGE_BATCH rows on)
    of at least 16 units. Fixed for a fit (thread count, batch size), as the
    arithmetic depends on it."""
    cdef int per_thread = BLOCKS_PER_THREAD
    if ep.n_threads <= 1:
        return 1
    if ep.batch_size >= LARGE_BATCH:
        per_thread = 1
    return <int> max(1, min((n + MIN_BLOCK - 1) // MIN_BLOCK, per_thread * ep.n_threads))


cdef inline int _n_chunks(Py_ssize_t rows, int n_threads) noexcept nogil:
    """Chunks of rows for preparing a minibatch."""
    return <int> max(1, min(rows, n_threads))


# ---------------------------------------------------------------------- #
# Optimizer
# ---------------------------------------------------------------------- #
cdef inline void _update(
    floating *p, const floating *g, floating *s1, floating *s2, Py_ssize_t n,
    const Optimizer *opt, floating decay,
) noexcept nogil:
    """One optimizer step on ``n`` parameters ``p`` with gradient ``g`` (L2
    ``decay * p`` added here). SGD: ``s1`` is the velocity. Adam: ``s1`` and
    ``s2`` are the moments and ``opt.step`` the bias-corrected step size."""
    cdef Py_ssize_t i
    cdef floating gi, step = <floating> opt.step, mom = <floating> opt.momentum
    cdef floating b1 = <floating> opt.beta1, b2 = <floating> opt.beta2
    cdef floating eps = <floating> opt.epsilon
    if opt.solver == SOLVER_ADAM:
        for i in range(n):
            gi = g[i] + decay * p[i]
            s1[i] = b1 * s1[i] + (1 - b1) * gi
            s2[i] = b2 * s2[i] + (1 - b2) * gi * gi
            p[i] -= step * s1[i] / (sqrt(s2[i]) + eps)
    elif mom != 0:
        for i in range(n):
            s1[i] = mom * s1[i] - step * (g[i] + decay * p[i])
            p[i] += s1[i]
    else:
        for i in range(n):
            p[i] -= step * (g[i] + decay * p[i])


cdef void _step(const Optimizer *opt, Param *P, Py_ssize_t r0, Py_ssize_t r1,
                Py_ssize_t c0, Py_ssize_t c1, floating tag) noexcept nogil:
    """Apply the gradient ``P.g`` to the block ``[r0:r1, c0:c1]`` of ``P``."""
    cdef floating *w = <floating *> P.w
    cdef floating *g = <floating *> P.g
    cdef floating *m = <floating *> P.m
    cdef floating *v = <floating *> P.v
    cdef Py_ssize_t r, o, n = c1 - c0
    cdef floating decay = <floating> P.decay
    if c0 == 0 and c1 == P.cols:  # one contiguous run
        n *= r1 - r0
        r1 = r0 + 1
    for r in range(r0, r1):
        o = r * P.cols + c0
        _update(w + o, g + o, m + o if m != NULL else NULL, v + o if v != NULL else NULL,
                n, opt, decay)


cdef inline void _begin_step(Optimizer *opt) noexcept nogil:
    """The step size of the next minibatch (Adam: bias-corrected)."""
    if opt.solver == SOLVER_ADAM:
        opt.t += 1
        opt.step = (opt.learning_rate * sqrt(1 - opt.beta2 ** opt.t)
                    / (1 - opt.beta1 ** opt.t))
    else:
        opt.step = opt.learning_rate


# ---------------------------------------------------------------------- #
# Layers: products, gradients and updates on blocks of a layer
# ---------------------------------------------------------------------- #
cdef inline Py_ssize_t _idx(const Layer *L, Py_ssize_t i, Py_ssize_t o) noexcept nogil:
    """Offset of the logical element ``L[i, o]`` in an array laid out like
    ``L``'s weights (the weights, their gradient, their optimizer state)."""
    if L.transposed:
        return o * L.W.cols + i
    return i * L.W.cols + o


cdef void _forward_cols(
    const Layer *L, Py_ssize_t o0, Py_ssize_t o1, Py_ssize_t rows,
    const floating *In, Py_ssize_t ld_in, floating *Out, Py_ssize_t ld_out,
) noexcept nogil:
    """``Out[:, o0:o1] = In L[:, o0:o1]`` (``Out`` points at column ``o0``)."""
    _gemm(False, L.transposed, <int> rows, <int> (o1 - o0), <int> L.n_in, <floating> 1,
          In, <int> ld_in, (<floating *> L.W.w) + _idx(L, 0, o0), <int> L.W.cols, <floating> 0, Out,
          <int> ld_out)


cdef void _backprop_rows(
    const Layer *L, Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t rows,
    const floating *G, Py_ssize_t ld_g, floating *S, Py_ssize_t ld_s,
) noexcept nogil:
    """``S[:, i0:i1] = G L[i0:i1, :]^T``: the output gradient ``G`` sent back
    to the layer's inputs ``[i0, i1)`` (``S`` points at column ``i0``)."""
    _gemm(False, not L.transposed, <int> rows, <int> (i1 - i0), <int> L.n_out,
          <floating> 1, G, <int> ld_g, (<floating *> L.W.w) + _idx(L, i0, 0), <int> L.W.cols,
          <floating> 0, S, <int> ld_s)


cdef struct Block:
    # the logical block L[i0:i1, o0:o1] of a layer's weights
    Py_ssize_t i0, i1, o0, o1


cdef inline Block _block(Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t o0,
                         Py_ssize_t o1) noexcept nogil:
    cdef Block blk
    blk.i0, blk.i1, blk.o0, blk.o1 = i0, i1, o0, o1
    return blk


cdef void _outer(
    const Layer *L, void *dst, Block blk, Py_ssize_t rows, const floating *P,
    Py_ssize_t ld_p, const floating *Q, Py_ssize_t ld_q, floating alpha, floating beta,
) noexcept nogil:
    """``D[blk] = alpha P^T Q + beta D[blk]`` for ``D`` laid out like
    ``L``'s weights at ``dst`` (the weights themselves on the fused SGD path,
    else the gradient buffer); ``P`` (rows, i1 - i0) and ``Q`` (rows, o1 -
    o0)."""
    cdef Py_ssize_t i0 = blk.i0, i1 = blk.i1, o0 = blk.o0, o1 = blk.o1
    cdef floating *C = (<floating *> dst) + _idx(L, i0, o0)
    if L.transposed:
        _gemm(True, False, <int> (o1 - o0), <int> (i1 - i0), <int> rows, alpha, Q,
              <int> ld_q, P, <int> ld_p, beta, C, <int> L.W.cols)
    else:
        _gemm(True, False, <int> (i1 - i0), <int> (o1 - o0), <int> rows, alpha, P,
              <int> ld_p, Q, <int> ld_q, beta, C, <int> L.W.cols)


cdef void _update_block(const Optimizer *opt, Layer *L, Block blk, Py_ssize_t rows,
                        const floating *P, Py_ssize_t ld_p, const floating *Q,
                        Py_ssize_t ld_q, floating tag) noexcept nogil:
    """The update of ``L[blk]`` from its gradient ``P^T Q`` (``P`` (rows, i1
    - i0), ``Q`` (rows, o1 - o0)) and the L2 term. Plain SGD: one product
    into the weights. Other solvers: the gradient is computed a few storage
    rows at a time into the gradient buffer and stepped while still in cache
    (with small minibatches the update is bound by memory traffic)."""
    cdef floating lr = <floating> opt.step
    cdef Block sub = blk
    cdef Py_ssize_t c, n, end
    if opt.fused:
        _outer(L, L.W.w, blk, rows, P, ld_p, Q, ld_q, -lr, 1 - lr * <floating> L.W.decay)
        return
    # storage rows: output units of a transposed layer, else input units
    n = max(1, STEP_CHUNK // max(1, blk.i1 - blk.i0 if L.transposed else blk.o1 - blk.o0))
    c = blk.o0 if L.transposed else blk.i0
    end = blk.o1 if L.transposed else blk.i1
    while c < end:
        if L.transposed:
            sub.o0, sub.o1 = c, min(c + n, end)
            _outer(L, L.W.g, sub, rows, P, ld_p, Q + (c - blk.o0), ld_q, 1, 0)
            _step(opt, &L.W, sub.o0, sub.o1, blk.i0, blk.i1, tag)
        else:
            sub.i0, sub.i1 = c, min(c + n, end)
            _outer(L, L.W.g, sub, rows, P + (c - blk.i0), ld_p, Q, ld_q, 1, 0)
            _step(opt, &L.W, sub.i0, sub.i1, blk.o0, blk.o1, tag)
        c += n


cdef void _scale_block(const Layer *L, void *dst, Py_ssize_t j0, Py_ssize_t j1,
                       floating s) noexcept nogil:
    """``D[:, j0:j1] *= s`` for ``D`` laid out like ``L``'s weights; ``s``
    0 sets the block to zero (as a GEMM's beta 0: never reading it, which may
    hold anything, e.g. a fresh gradient buffer)."""
    cdef Py_ssize_t i, j
    cdef floating *w
    if L.transposed:
        for j in range(j0, j1):
            w = (<floating *> dst) + _idx(L, 0, j)
            for i in range(L.n_in):
                w[i] = w[i] * s if s != 0 else 0
    else:
        for i in range(L.n_in):
            w = (<floating *> dst) + _idx(L, i, 0)
            for j in range(j0, j1):
                w[j] = w[j] * s if s != 0 else 0


cdef void _scale_units(const Layer *L, Py_ssize_t j0, Py_ssize_t j1,
                       const floating *q, floating lr, floating decay) noexcept nogil:
    """Weights of output unit ``j`` in ``[j0, j1)`` times ``1 - lr (decay +
    q_j)``: the fused SGD path's decay and contractive row term."""
    cdef Py_ssize_t i, j
    cdef floating *w
    if L.transposed:
        for j in range(j0, j1):
            w = (<floating *> L.W.w) + _idx(L, 0, j)
            for i in range(L.n_in):
                w[i] *= 1 - lr * (decay + q[j])
    else:
        for i in range(L.n_in):
            w = (<floating *> L.W.w) + _idx(L, i, 0)
            for j in range(j0, j1):
                w[j] *= 1 - lr * (decay + q[j])


cdef void _unit_norms(const Layer *L, Py_ssize_t j0, Py_ssize_t j1,
                      floating *out) noexcept nogil:
    """``out[j] = ||L[:, j]||^2`` for output units ``[j0, j1)``."""
    cdef Py_ssize_t i, j
    cdef floating acc
    cdef const floating *w
    if L.transposed:
        for j in range(j0, j1):
            w = (<floating *> L.W.w) + _idx(L, 0, j)
            acc = 0
            for i in range(L.n_in):
                acc = acc + w[i] * w[i]
            out[j] = acc
        return
    for j in range(j0, j1):
        out[j] = 0
    for i in range(L.n_in):
        w = (<floating *> L.W.w) + _idx(L, i, 0)
        for j in range(j0, j1):
            out[j] += w[j] * w[j]


cdef void _add_unit_terms(const Layer *L, Py_ssize_t j0, Py_ssize_t j1,
                          const floating *q) noexcept nogil:
    """The gradient of output unit ``j``'s weights += ``q_j`` times them."""
    cdef Py_ssize_t i, j
    cdef floating *g
    cdef const floating *w
    if L.transposed:
        for j in range(j0, j1):
            g = (<floating *> L.W.g) + _idx(L, 0, j)
            w = (<floating *> L.W.w) + _idx(L, 0, j)
            for i in range(L.n_in):
                g[i] += q[j] * w[i]
    else:
        for i in range(L.n_in):
            g = (<floating *> L.W.g) + _idx(L, i, 0)
            w = (<floating *> L.W.w) + _idx(L, i, 0)
            for j in range(j0, j1):
                g[j] += q[j] * w[j]


cdef void _step_units(const Optimizer *opt, Layer *L, Py_ssize_t j0, Py_ssize_t j1,
                      floating tag) noexcept nogil:
    """Optimizer step on the weights of output units ``[j0, j1)``."""
    if L.transposed:
        _step(opt, &L.W, j0, j1, 0, L.n_in, tag)
    else:
        _step(opt, &L.W, 0, L.n_in, j0, j1, tag)


cdef void _step_inputs(const Optimizer *opt, Layer *L, Py_ssize_t i0, Py_ssize_t i1,
                       floating tag) noexcept nogil:
    """Optimizer step on the weights of input units ``[i0, i1)``."""
    if L.transposed:
        _step(opt, &L.W, 0, L.n_out, i0, i1, tag)
    else:
        _step(opt, &L.W, i0, i1, 0, L.n_out, tag)


cdef void _activate_cols(floating *A, Py_ssize_t ld, Py_ssize_t rows, Py_ssize_t c0,
                         Py_ssize_t c1, const floating *bias, int act) noexcept nogil:
    """``A[:, c0:c1] = act(A[:, c0:c1] + bias[c0:c1])``, row by row."""
    cdef Py_ssize_t r
    for r in range(rows):
        _activate_rows(A + r * ld + c0, bias + c0, c1 - c0, act)


cdef void _hidden_delta(floating *G, Py_ssize_t ld, Py_ssize_t rows, Py_ssize_t c0,
                        Py_ssize_t c1, const floating *S, const floating *H, int act,
                        floating *gb) noexcept nogil:
    """``G = S * s'(H)`` on columns ``[c0, c1)`` (``s'`` through ``H =
    s(A)``; ``G`` may alias ``S`` or ``H``; tiny values flushed) and ``gb[c]
    = sum_rows G[:, c]``: the gradient at a layer's pre-activations and at
    its biases."""
    cdef Py_ssize_t r, c, o
    cdef floating g, hv
    for c in range(c0, c1):
        gb[c] = 0
    for r in range(rows):
        o = r * ld
        if act == ACT_SIGMOID:  # the common case, written to vectorise
            for c in range(c0, c1):
                hv = H[o + c]
                g = _flush_tiny(S[o + c] * hv * (1 - hv))
                G[o + c] = g
                gb[c] += g
        else:
            for c in range(c0, c1):
                g = _flush_tiny(S[o + c] * _derivative(H[o + c], act))
                G[o + c] = g
                gb[c] += g


cdef void _step_bias(const Optimizer *opt, Param *b, Py_ssize_t c0, Py_ssize_t c1,
                     floating tag) noexcept nogil:
    """Optimizer step on biases ``[c0, c1)`` from their gradient ``b.g``."""
    _step(opt, b, 0, 1, c0, c1, tag)


# ---------------------------------------------------------------------- #
# The data: where dense and CSR input differ
# ---------------------------------------------------------------------- #
cdef void _prepare_rows(Epoch *ep, Batch *bt, Py_ssize_t r0, Py_ssize_t r1,
                        floating tag) noexcept nogil:
    """Gather rows ``[r0, r1)`` of a minibatch and corrupt them with the
    epoch's noise, each row keyed by its own ``bt.keys[r]``. Dense: into
    ``bt.inputs``. CSR: the kept entries into the minibatch's index and value
    arrays (masking drops entries with the same decisions the dense kernel
    makes), the clean rows into ``bt.targets`` when the loss needs them."""
    cdef const Data *D = &ep.data
    cdef const Corruption *nz = &ep.noise
    cdef Py_ssize_t r, row, p, k, cnt, d = D.d
    cdef const floating *X = <const floating *> D.X
    cdef const floating *values = <const floating *> D.values
    cdef floating *inputs = <floating *> bt.inputs
    cdef floating *targets = <floating *> bt.targets
    cdef floating *weights = <floating *> bt.weights
    cdef floating *val = <floating *> bt.val
    cdef floating *t
    cdef uint64_t key = 0
    cdef bint masking = nz.noise == NOISE_MASKING
    for r in range(r0, r1):
        row = ep.order[bt.start + r]
        if nz.noise != NOISE_NONE:
            key = bt.keys[r]
        if not D.sparse:
            _corrupt_row(X + row * d, inputs + r * d, d, nz, key, X, D.n, row,
                         weights + r * d if weights != NULL else NULL)
            continue
        if targets != NULL:
            t = targets + r * d
            memset(t, 0, d * sizeof(floating))
            for p in range(D.indptr[row], D.indptr[row + 1]):
                t[D.indices[p]] += values[p]
        cnt = bt.first[r]
        for p in range(D.indptr[row], D.indptr[row + 1]):
            k = D.indices[p]
            if masking and _masked(key, k, nz.threshold):
                continue
            bt.idx[cnt] = k
            val[cnt] = values[p]
            cnt += 1
        bt.kept[r] = cnt - bt.first[r]
        if weights != NULL:  # the masking decisions of every feature, zeros included
            _corrupt_row(<floating *> NULL, <floating *> NULL, d, nz, key, X, D.n, row,
                         weights + r * d)


cdef void _data_forward(Epoch *ep, const Batch *bt, const Layer *L, Py_ssize_t o0,
                        Py_ssize_t o1, floating *Out, Py_ssize_t ld_out) noexcept nogil:
    """``Out[:, o0:o1] = X~ L[:, o0:o1]`` for the first layer (``Out`` points
    at column ``o0``). CSR: over the stored entries (``L`` untransposed, so
    that each entry reads one contiguous run of weights)."""
    cdef Py_ssize_t r, p, j, no = o1 - o0
    cdef floating v
    cdef floating *o
    cdef const floating *w
    cdef const floating *val = <const floating *> bt.val
    if not ep.data.sparse:
        _forward_cols(L, o0, o1, bt.size, <const floating *> bt.inputs, ep.data.d, Out,
                      ld_out)
        return
    for r in range(bt.size):
        o = Out + r * ld_out
        for j in range(no):
            o[j] = 0
        for p in range(bt.first[r], bt.first[r] + bt.kept[r]):
            v = val[p]
            w = (<floating *> L.W.w) + _idx(L, bt.idx[p], o0)
            for j in range(no):
                o[j] += v * w[j]


cdef void _data_gradient(Epoch *ep, const Batch *bt, const Layer *L, void *dst,
                         Py_ssize_t o0, Py_ssize_t o1, const floating *G,
                         Py_ssize_t ld_g, floating alpha, floating beta) noexcept nogil:
    """``D[:, o0:o1] = alpha X~^T G + beta D`` for the first layer, ``D``
    laid out like ``L``'s weights at ``dst`` (``G`` points at column
    ``o0``). CSR: ``D``'s block scaled by ``beta`` (unless 1), then the
    products scattered over the stored entries."""
    cdef Py_ssize_t r, p, j, no = o1 - o0
    cdef floating v
    cdef floating *row
    cdef const floating *g
    cdef const floating *val = <const floating *> bt.val
    if not ep.data.sparse:
        _outer(L, dst, _block(0, L.n_in, o0, o1), bt.size, <const floating *> bt.inputs,
               ep.data.d, G, ld_g, alpha, beta)
        return
    if beta != 1:
        _scale_block(L, dst, o0, o1, beta)
    for r in range(bt.size):
        g = G + r * ld_g
        for p in range(bt.first[r], bt.first[r] + bt.kept[r]):
            v = alpha * val[p]
            row = (<floating *> dst) + _idx(L, bt.idx[p], o0)
            for j in range(no):
                row[j] += v * g[j]


cdef void _data_update(Epoch *ep, const Batch *bt, Layer *L, Py_ssize_t o0,
                       Py_ssize_t o1, const floating *G, Py_ssize_t ld_g,
                       floating tag) noexcept nogil:
    """The first layer's update of output units ``[o0, o1)`` from ``X~^T G``
    (``G`` points at column ``o0``). Dense: as any layer's block
    (``_update_block``); CSR: the products scattered over the stored entries
    (``_data_gradient``), then the step."""
    cdef bint fused = ep.opt.fused
    cdef floating lr = <floating> ep.opt.step
    if not ep.data.sparse:
        _update_block(&ep.opt, L, _block(0, L.n_in, o0, o1), bt.size,
                      <const floating *> bt.inputs, ep.data.d, G, ld_g, tag)
        return
    _data_gradient(ep, bt, L, L.W.w if fused else L.W.g, o0, o1, G, ld_g,
                   -lr if fused else 1, 1 - lr * <floating> L.W.decay if fused else 0)
    if not fused:
        _step_units(&ep.opt, L, o0, o1, tag)


cdef void _setup_batch(Epoch *ep, int slot, Py_ssize_t start) noexcept nogil:
    """Minibatch ``slot`` starts at ``start``: its size, its rows' noise keys
    (drawn in order from the engine's stream) and, for CSR, each row's first
    slot in the minibatch's entry arrays."""
    cdef Batch *bt = &ep.batch[slot]
    cdef Py_ssize_t r, row, acc = 0
    bt.start = start
    bt.size = min(ep.batch_size, ep.data.n - start)
    if ep.noise.noise != NOISE_NONE:
        for r in range(bt.size):
            bt.keys[r] = _next_u64(ep.rng)
    if ep.data.sparse:
        for r in range(bt.size):
            row = ep.order[start + r]
            bt.first[r] = acc
            acc += ep.data.indptr[row + 1] - ep.data.indptr[row]


cdef inline bint _has_next(const Epoch *ep) noexcept nogil:
    cdef const Batch *bt = &ep.batch[ep.cur]
    return bt.start + bt.size < ep.data.n


# ---------------------------------------------------------------------- #
# The denoising autoencoder
# ---------------------------------------------------------------------- #
cdef inline void _ae_slot(Epoch *ep, int slot, floating tag) noexcept nogil:
    """Point minibatch ``slot``'s dense inputs at the bottom of its ``M2``."""
    if not ep.data.sparse:
        ep.batch[slot].inputs = (<floating *> ep.M2[slot]) + ep.batch[slot].size * ep.data.d


cdef double _ae_forward(Epoch *ep, Py_ssize_t j0, Py_ssize_t j1, const Batch *bt,
                        floating tag) noexcept nogil:
    """Hidden units ``[j0, j1)`` of minibatch ``bt``: ``H = s(X~ Lenc + b)``
    into the top of ``M1``; with a contractive penalty also ``w2[j] = ||unit
    j||^2``, returning this block's penalty ``lam sum_rows sum_j s'(A)^2
    w2[j]``."""
    cdef Layer *enc = &ep.model.layers[0]
    cdef Py_ssize_t r, j, h = enc.n_out
    cdef floating *H = <floating *> ep.M1
    cdef floating *w2 = <floating *> ep.w2
    cdef floating a
    cdef double penalty = 0
    _data_forward(ep, bt, enc, j0, j1, H + j0, h)
    _activate_cols(H, h, bt.size, j0, j1, <floating *> enc.b.w, enc.activation)
    if ep.model.contraction > 0:
        _unit_norms(enc, j0, j1, w2)
        for r in range(bt.size):
            for j in range(j0, j1):
                a = _derivative(H[r * h + j], enc.activation)
                penalty += <double> (a * a * w2[j])
        penalty *= ep.model.contraction
    return penalty


cdef double _ae_decode(Epoch *ep, Py_ssize_t k0, Py_ssize_t k1, floating tag) noexcept nogil:
    """Columns ``[k0, k1)`` of the current minibatch: ``Z = H Ldec + c``,
    the loss against the clean rows (weighted by the emphasis), ``G_Z`` over
    ``Z`` (top of ``M2``), and the step on ``c[k0:k1]``. Returns the
    block's loss."""
    cdef Layer *dec = &ep.model.layers[1]
    cdef Batch *bt = &ep.batch[ep.cur]
    cdef Py_ssize_t r, d = dec.n_out, h = dec.n_in
    cdef floating *Z = <floating *> ep.M2[ep.cur]
    cdef floating *gc = <floating *> dec.b.g
    cdef const floating *X = <const floating *> ep.data.X
    cdef const floating *target
    cdef floating *weights = <floating *> bt.weights
    cdef floating inv_b = <floating> 1.0 / <floating> bt.size
    cdef double acc = 0
    if k1 <= k0:
        return 0
    _forward_cols(dec, k0, k1, bt.size, <floating *> ep.M1, h, Z + k0, d)
    for r in range(k0, k1):
        gc[r] = 0
    for r in range(bt.size):
        if bt.targets != NULL:
            target = (<const floating *> bt.targets) + r * d
        else:
            target = X + ep.order[bt.start + r] * d
        acc += _loss_row(Z + r * d, target, <floating *> dec.b.w, gc,
                         weights + r * d if weights != NULL else NULL, k0, k1, inv_b,
                         ep.model.loss, ep.model.output)
    _step_bias(&ep.opt, &dec.b, k0, k1, tag)
    return acc


cdef void _ae_contractive_delta(Epoch *ep, Py_ssize_t j0, Py_ssize_t j1, Py_ssize_t rows,
                                floating tag) noexcept nogil:
    """The contractive penalty ``lam/B sum_r sum_j a_rj^2 w2_j`` (``a =
    s'(A)``) in the backward pass of hidden units ``[j0, j1)``: through
    ``A`` it adds ``2 lam/B a s''(A) w2_j`` to ``G_A`` (with ``G_A = G_H
    a``, and ``gb``); directly, ``q_j W_j`` to the gradient of unit ``j``'s
    weights, ``q_j = 2 lam/B sum_r a_rj^2`` (stored for the update)."""
    cdef Layer *enc = &ep.model.layers[0]
    cdef Py_ssize_t r, j, h = enc.n_out
    cdef floating *H = <floating *> ep.M1
    cdef floating *GA = H + rows * h
    cdef floating *w2 = <floating *> ep.w2
    cdef floating *q = <floating *> ep.q
    cdef floating *gb = <floating *> enc.b.g
    cdef floating two_lam_b = <floating> (2 * ep.model.contraction / rows)
    cdef floating g, hv, a, da
    cdef int act = enc.activation
    for j in range(j0, j1):
        gb[j] = 0
        q[j] = 0
    for r in range(rows):
        for j in range(j0, j1):
            hv = H[r * h + j]
            a = _derivative(hv, act)
            # s''(A) through h: sigmoid a (1 - 2h), tanh -2 h a, relu 0
            da = a * (1 - 2 * hv) if act == ACT_SIGMOID else (
                -2 * hv * a if act == ACT_TANH else 0)
            g = GA[r * h + j] * a + two_lam_b * a * da * w2[j]
            GA[r * h + j] = g
            gb[j] += g
            q[j] += a * a
    for j in range(j0, j1):
        q[j] *= two_lam_b


cdef void _ae_update(Epoch *ep, Py_ssize_t j0, Py_ssize_t j1, floating tag) noexcept nogil:
    """The weight update of hidden units ``[j0, j1)``: their rows of the
    decoder (``dLdec = H^T G_Z``) and their columns of the encoder
    (``dLenc = X~^T G_A``). Tied weights on dense input: both halves in one
    GEMM, ``[H; G_A]^T [G_Z; X~]`` with K = 2B. Plain SGD accumulates
    straight into the weights (beta = 1 - lr alpha applies the L2 decay);
    other solvers go through the gradient buffers and ``_update``."""
    cdef Model *m = ep.model
    cdef Layer *enc = &m.layers[0]
    cdef Layer *dec = &m.layers[1]
    cdef Batch *bt = &ep.batch[ep.cur]
    cdef Py_ssize_t rows = bt.size, h = enc.n_out, d = enc.n_in
    cdef floating *H = <floating *> ep.M1
    cdef floating *GA = H + rows * h
    cdef floating *GZ = <floating *> ep.M2[ep.cur]
    cdef floating *q = <floating *> ep.q if m.contraction > 0 else NULL
    cdef bint fused = ep.opt.fused
    cdef floating lr = <floating> ep.opt.step
    cdef floating alpha = -lr if fused else 1
    cdef floating beta = 1 - lr * <floating> enc.W.decay if fused else 0
    cdef floating enc_beta = beta
    cdef void *dst_dec = dec.W.w if fused else dec.W.g
    cdef void *dst_enc = enc.W.w if fused else enc.W.g
    if fused and q != NULL:
        # each unit's decay and contraction term first, then accumulate
        _scale_units(enc, j0, j1, q, lr, <floating> enc.W.decay)
        enc_beta = 1
    if m.tied and not ep.data.sparse:
        _outer(dec, dst_dec, _block(j0, j1, 0, d), 2 * rows, H + j0, h, GZ, d, alpha,
               enc_beta)
    else:
        # decoder half; tied, the encoder half then adds to the same block
        _outer(dec, dst_dec, _block(j0, j1, 0, d), rows, H + j0, h, GZ, d, alpha,
               enc_beta if m.tied else beta)
        _data_gradient(ep, bt, enc, dst_enc, j0, j1, GA + j0, h, alpha,
                       1 if m.tied else enc_beta)
    if fused:
        return
    if q != NULL:
        _add_unit_terms(enc, j0, j1, q)
    if not m.tied:
        _step_inputs(&ep.opt, dec, j0, j1, tag)
    _step_units(&ep.opt, enc, j0, j1, tag)


cdef void _ae_backward(Epoch *ep, Py_ssize_t j0, Py_ssize_t j1, floating tag) noexcept nogil:
    """Hidden units ``[j0, j1)`` of the current minibatch: ``G_H = G_Z
    Ldec[j]^T`` (bottom of ``M1``, with the weights before the update),
    ``G_A = G_H s'(H)`` and ``gb``, the step on ``b[j0:j1]``, the weight
    update."""
    cdef Layer *enc = &ep.model.layers[0]
    cdef Layer *dec = &ep.model.layers[1]
    cdef Py_ssize_t rows = ep.batch[ep.cur].size, h = enc.n_out
    cdef floating *H = <floating *> ep.M1
    cdef floating *GA = H + rows * h
    if j1 <= j0:
        return
    _backprop_rows(dec, j0, j1, rows, <floating *> ep.M2[ep.cur], dec.n_out, GA + j0, h)
    if ep.model.contraction > 0:
        _ae_contractive_delta(ep, j0, j1, rows, tag)
    else:
        _hidden_delta(GA, h, rows, j0, j1, GA, H, enc.activation, <floating *> enc.b.g)
    _step_bias(&ep.opt, &enc.b, j0, j1, tag)
    _ae_update(ep, j0, j1, tag)


cdef int _ae_item(Epoch *ep, int item, floating tag) noexcept nogil:
    """Run item ``item`` of the current autoencoder phase; returns the item's
    kind for the thread's pace (items of one kind cost about the same)."""
    cdef Py_ssize_t h = ep.model.layers[0].n_out, d = ep.data.d
    cdef int nb, nxt = 1 - ep.cur
    cdef Batch *bt
    if ep.kind == AE_PREPARE or item >= ep.n_main:
        # rows of the next minibatch (of the first one, in AE_PREPARE)
        bt = &ep.batch[ep.cur if ep.kind == AE_PREPARE else nxt]
        item -= ep.n_main
        _prepare_rows(ep, bt, bt.size * item // ep.n_rows,
                      bt.size * (item + 1) // ep.n_rows, tag)
        return 0
    if ep.kind == AE_ENCODE:
        nb = ep.n_main
        ep.item_penalty[item] = _ae_forward(ep, _bound(h, nb, item), _bound(h, nb, item + 1),
                                            &ep.batch[ep.cur], tag)
        return 1
    if ep.kind == AE_DECODE:
        nb = ep.n_main
        ep.item_loss[item] = _ae_decode(ep, _bound(d, nb, item), _bound(d, nb, item + 1), tag)
        return 2
    # AE_BACKWARD, then the next minibatch's forward pass on the same units
    nb = ep.n_main
    _ae_backward(ep, _bound(h, nb, item), _bound(h, nb, item + 1), tag)
    if _has_next(ep):
        ep.item_penalty[item] = _ae_forward(ep, _bound(h, nb, item),
                                            _bound(h, nb, item + 1), &ep.batch[nxt], tag)
    return 3


cdef int _ae_next(Epoch *ep, floating tag) noexcept nogil:
    """Serial step after an autoencoder phase: choose and lay out the next
    phase; returns its item count, 0 to end the epoch."""
    cdef int T = ep.n_threads, i, nb_h
    cdef double batch_loss = 0
    cdef Py_ssize_t h = ep.model.layers[0].n_out
    nb_h = _n_blocks(ep, h)
    ep.n_rows = 0
    if ep.kind == AE_PREPARE:
        ep.kind = AE_ENCODE
        ep.n_main = nb_h
        return nb_h
    if ep.kind == AE_DECODE:
        for i in range(nb_h):
            batch_loss += ep.item_penalty[i]
        for i in range(ep.n_main):
            batch_loss += ep.item_loss[i]
        if not _end_batch(ep, batch_loss):
            return 0
        ep.kind = AE_BACKWARD
        ep.n_main = nb_h
        return nb_h
    # after AE_ENCODE or AE_BACKWARD: a minibatch starts its decode phase
    if ep.kind == AE_BACKWARD:
        ep.cur = 1 - ep.cur
    if not _begin_batch(ep):
        return 0
    ep.kind = AE_DECODE
    ep.n_main = _n_blocks(ep, ep.data.d)
    if _has_next(ep):
        # key the minibatch after this one now and corrupt it in this phase
        _setup_batch(ep, 1 - ep.cur, ep.batch[ep.cur].start + ep.batch[ep.cur].size)
        _ae_slot(ep, 1 - ep.cur, tag)
        ep.n_rows = _n_chunks(ep.batch[1 - ep.cur].size, T)
    return ep.n_main + ep.n_rows


# ---------------------------------------------------------------------- #
# The fine-tuned stack
# ---------------------------------------------------------------------- #
cdef double _head_rows(
    floating *A, const floating *bias, const Model *m, const Py_ssize_t *rows,
    Py_ssize_t bsz, Py_ssize_t k,
) noexcept nogil:
    """Add ``bias`` to each row of the pre-activations ``A`` (bsz, k), take the
    head's output ``P`` (softmax, or the identity) and overwrite ``A`` with
    ``(P - T) / bsz``, the loss's gradient at the pre-activations, ``T`` the
    rows' targets (one-hot class ``labels[rows[r]]``, or ``targets`` row
    ``rows[r]``). Returns the summed loss: the negative log-likelihood
    ``sum_rows log(sum exp(a - m)) - (a_y - m)``, or ``sum_rows 0.5 ||P -
    T||^2``."""
    cdef Py_ssize_t r, j, y
    cdef floating mx, s, inv_s, zy, diff
    cdef floating inv_b = <floating> 1.0 / <floating> bsz
    cdef floating *a
    cdef const floating *t
    cdef double acc = 0, sq
    for r in range(bsz):
        a = A + r * k
        if m.loss == LOSS_SQUARED_ERROR:
            t = (<const floating *> m.targets) + rows[r] * k
            sq = 0
            for j in range(k):
                diff = a[j] + bias[j] - t[j]
                sq += <double> diff * <double> diff
                a[j] = _flush_tiny(diff * inv_b)
            acc += 0.5 * sq
            continue
        y = m.labels[rows[r]]
        mx = a[0] + bias[0]
        for j in range(k):
            a[j] = a[j] + bias[j]
            if a[j] > mx:
                mx = a[j]
        zy = a[y] - mx
        s = 0
        for j in range(k):
            a[j] = _exp(a[j] - mx)
            s = s + a[j]
        acc += log(<double> s) - <double> zy
        inv_s = inv_b / s
        for j in range(k):
            a[j] = _flush_tiny(a[j] * inv_s)
        a[y] -= inv_b
    return acc


cdef double _st_output(Epoch *ep, floating tag) noexcept nogil:
    """The output layer: its pre-activations, the head's output, loss and
    gradient ``(P - T) / B`` over the pre-activations, the step on the
    layer's biases."""
    cdef int L = ep.model.n_layers
    cdef Layer *top = &ep.model.layers[L - 1]
    cdef Batch *bt = &ep.batch[ep.cur]
    cdef floating *Z = <floating *> ep.H[L]
    cdef floating *gb = <floating *> top.b.g
    cdef Py_ssize_t r, j, k = top.n_out
    cdef double loss
    _forward_cols(top, 0, k, bt.size, <floating *> ep.H[L - 1], top.n_in, Z, k)
    loss = _head_rows(Z, <floating *> top.b.w, ep.model, ep.order + bt.start, bt.size, k)
    for j in range(k):
        gb[j] = 0
    for r in range(bt.size):
        for j in range(k):
            gb[j] += Z[r * k + j]
    _step_bias(&ep.opt, &top.b, 0, k, tag)
    return loss


cdef void _st_forward(Epoch *ep, int l, Py_ssize_t o0, Py_ssize_t o1,
                      floating tag) noexcept nogil:
    """Output units ``[o0, o1)`` of hidden layer ``l``: ``H[l + 1] =
    s(H[l] L + b)``."""
    cdef Layer *L = &ep.model.layers[l]
    cdef floating *Out = <floating *> ep.H[l + 1]
    cdef Py_ssize_t rows = ep.batch[ep.cur].size
    if o1 <= o0:
        return
    if l == 0:
        _data_forward(ep, &ep.batch[ep.cur], L, o0, o1, Out + o0, L.n_out)
    else:
        _forward_cols(L, o0, o1, rows, <floating *> ep.H[l], L.n_in, Out + o0, L.n_out)
    _activate_cols(Out, L.n_out, rows, o0, o1, <floating *> L.b.w, L.activation)


cdef void _st_backward(Epoch *ep, int l, Py_ssize_t i0, Py_ssize_t i1,
                       floating tag) noexcept nogil:
    """Layer ``l >= 1``, input units ``[i0, i1)``: ``S = G L[i]^T`` (with the
    weights before their update), the update of ``L[i0:i1]`` from ``H[l]^T
    G``, then ``G_l = S s'(H[l])`` written over ``H[l]`` -- the layer below's
    output gradient -- and the step on the layer below's biases ``[i0,
    i1)``."""
    cdef Layer *L = &ep.model.layers[l]
    cdef Layer *below = &ep.model.layers[l - 1]
    cdef floating *G = <floating *> ep.H[l + 1]
    cdef floating *Hl = <floating *> ep.H[l]
    cdef floating *S = <floating *> ep.S
    cdef Py_ssize_t rows = ep.batch[ep.cur].size, n_in = L.n_in
    if i1 <= i0:
        return
    _backprop_rows(L, i0, i1, rows, G, L.n_out, S + i0, n_in)
    _update_block(&ep.opt, L, _block(i0, i1, 0, L.n_out), rows, Hl + i0, n_in, G, L.n_out,
                  tag)
    _hidden_delta(Hl, n_in, rows, i0, i1, S, Hl, below.activation, <floating *> below.b.g)
    _step_bias(&ep.opt, &below.b, i0, i1, tag)


cdef void _st_backward_data(Epoch *ep, Py_ssize_t o0, Py_ssize_t o1,
                            floating tag) noexcept nogil:
    """Layer 0, output units ``[o0, o1)``: the update of its weights from
    ``X~^T G`` (its biases were stepped with the layer above)."""
    if o1 <= o0:
        return
    _data_update(ep, &ep.batch[ep.cur], &ep.model.layers[0], o0, o1,
                 (<floating *> ep.H[1]) + o0, ep.model.layers[0].n_out, tag)


cdef int _st_item(Epoch *ep, int item, floating tag) noexcept nogil:
    """Run item ``item`` of the current fine-tuning phase; returns its kind."""
    cdef int k = ep.layer, nb = ep.n_main
    cdef Layer *L = &ep.model.layers[k]
    cdef Batch *bt
    if ep.kind == ST_PREPARE or item >= ep.n_main:
        bt = &ep.batch[ep.cur if ep.kind == ST_PREPARE else 1 - ep.cur]
        item -= ep.n_main
        _prepare_rows(ep, bt, bt.size * item // ep.n_rows,
                      bt.size * (item + 1) // ep.n_rows, tag)
        return 0
    if ep.kind == ST_FORWARD:
        _st_forward(ep, k, _bound(L.n_out, nb, item), _bound(L.n_out, nb, item + 1), tag)
        return 1 + (k & 1)
    if ep.kind == ST_OUTPUT:
        ep.item_loss[0] = _st_output(ep, tag)
        return 3
    if k > 0:
        _st_backward(ep, k, _bound(L.n_in, nb, item), _bound(L.n_in, nb, item + 1), tag)
        return 4 + (k & 1)
    _st_backward_data(ep, _bound(L.n_out, nb, item), _bound(L.n_out, nb, item + 1), tag)
    return 6


cdef int _st_next(Epoch *ep, floating tag) noexcept nogil:
    """Serial step after a fine-tuning phase; returns the next phase's item
    count, 0 to end the epoch."""
    cdef int T = ep.n_threads, L = ep.model.n_layers
    ep.n_rows = 0
    if ep.kind == ST_OUTPUT:
        if not _end_batch(ep, ep.item_loss[0]):
            return 0
        ep.kind = ST_BACKWARD
        ep.layer = L - 1
        ep.n_main = _n_blocks(ep, ep.model.layers[L - 1].n_in)
        return ep.n_main
    if ep.kind == ST_BACKWARD and ep.layer > 0:
        ep.layer -= 1
        if ep.layer == 0:
            ep.n_main = _n_blocks(ep, ep.model.layers[0].n_out)
        else:
            ep.n_main = _n_blocks(ep, ep.model.layers[ep.layer].n_in)
        return ep.n_main
    if ep.kind == ST_FORWARD and ep.layer + 1 < L - 1:
        ep.layer += 1
        ep.n_main = _n_blocks(ep, ep.model.layers[ep.layer].n_out)
        return ep.n_main
    if ep.kind == ST_FORWARD:
        # the output layer (one item), and the next minibatch's rows
        ep.kind = ST_OUTPUT
        ep.n_main = 1
        if _has_next(ep):
            _setup_batch(ep, 1 - ep.cur, ep.batch[ep.cur].start + ep.batch[ep.cur].size)
            ep.n_rows = _n_chunks(ep.batch[1 - ep.cur].size, T)
        return ep.n_main + ep.n_rows
    # after ST_PREPARE or the last backward phase: a minibatch starts
    if ep.kind == ST_BACKWARD:
        ep.cur = 1 - ep.cur
    if not _begin_batch(ep):
        return 0
    ep.kind = ST_FORWARD
    ep.layer = 0
    ep.n_main = _n_blocks(ep, ep.model.layers[0].n_out)
    return ep.n_main


# ---------------------------------------------------------------------- #
# The epoch skeleton, shared by both models
# ---------------------------------------------------------------------- #
cdef bint _begin_batch(Epoch *ep) noexcept nogil:
    """A minibatch is about to start (the current slot, set up): stop instead
    if every row was seen or an interrupt is pending; else take the
    optimizer's step size for it."""
    if ep.n_seen >= ep.data.n:
        return False
    if ep.interrupt:
        ep.status = STATUS_INTERRUPTED
        return False
    _begin_step(&ep.opt)
    return True


cdef bint _end_batch(Epoch *ep, double batch_loss) noexcept nogil:
    """The current minibatch's loss is known: stop if it is not finite, else
    count it and its rows."""
    if not isfinite(batch_loss):
        ep.status = STATUS_DIVERGED
        return False
    ep.loss_sum += batch_loss
    ep.n_seen += ep.batch[ep.cur].size
    return True


cdef int _next_phase(Epoch *ep, floating tag) noexcept nogil:
    if ep.model.kind == MODEL_AUTOENCODER:
        return _ae_next(ep, tag)
    return _st_next(ep, tag)


cdef int _do_item(Epoch *ep, int item, floating tag) noexcept nogil:
    if ep.model.kind == MODEL_AUTOENCODER:
        return _ae_item(ep, item, tag)
    return _st_item(ep, item, tag)


cdef int _poll_signals(Epoch *ep) noexcept with gil:
    """Run Python's pending signal handlers (thread 0 is the thread that
    called the engine, usually the main thread); an exception they raise
    (KeyboardInterrupt) is kept and the epoch stops before its next
    minibatch."""
    try:
        PyErr_CheckSignals()
    except BaseException as exc:
        if ep.exception == NULL:
            ep.exception = <PyObject *> exc
            Py_XINCREF(ep.exception)
        ep.interrupt = True
    return 0


cdef void _keep_pace(Epoch *ep, Pace *pace, int kind, int64_t took) noexcept nogil:
    """After an item: if it took far longer than items of the same kind
    usually take on the team's fastest thread, this thread was descheduled
    while holding it (another process wanted the core); it then rests, so
    the others carry on without waiting for it, for 2 ms at first and twice
    as long each time it happens again soon after, up to 64 ms."""
    cdef int64_t now = skdae_now_ns()
    cdef double typical = pace.typical[kind], usual = typical
    cdef int t
    # against the fastest thread's typical time: a thread that shares its core
    # all along has a slow typical time of its own
    for t in range(ep.n_threads):
        if 0 < ep.pace[t].typical[kind] < usual:
            usual = ep.pace[t].typical[kind]
    if ep.n_threads > 1 and typical > 0 and took > 8 * usual and took > 300000:
        if skdae_team_rest(&ep.team, ep.n_threads, pace.rest_ns):
            pace.rested_at = skdae_now_ns()
            pace.rest_ns = min(2 * pace.rest_ns, 64000000)
        return
    pace.typical[kind] = took if typical == 0 else 0.9 * typical + 0.1 * took
    if now - pace.rested_at > 1000000000:
        pace.rest_ns = 2000000


cdef void _worker(Epoch *ep, int tid, floating tag) noexcept nogil:
    """What every thread runs: claim an item, do it, and when it completed a
    phase, run the serial step and open the next phase."""
    cdef int item, phase, kind, n
    cdef int64_t started, took
    cdef Pace *pace = &ep.pace[tid]
    cdef unsigned int csr = skdae_enter_ftz()
    while True:
        item = skdae_team_claim(&ep.team, &phase)
        if item < 0:
            break
        started = skdae_now_ns()
        kind = _do_item(ep, item, tag)
        took = skdae_now_ns() - started
        if tid == 0 and started + took - pace.polled_at > POLL_NS:
            _poll_signals(ep)
            pace.polled_at = skdae_now_ns()
        if skdae_team_finish(&ep.team):
            n = _next_phase(ep, tag)
            if n > 0:
                skdae_team_open(&ep.team, n)
            else:
                skdae_team_end(&ep.team)
        # (only once the item is reported done: a resting thread holds nothing)
        _keep_pace(ep, pace, kind, took)
    skdae_leave_ftz(csr)


cdef void _run_epoch(Epoch *ep, floating tag) noexcept nogil:
    """One epoch: shuffle, set up the first minibatch, and let the threads
    work through the phases."""
    cdef Py_ssize_t i, j, tmp
    cdef int tid
    if ep.data.n == 0:
        return
    if ep.shuffle:  # Fisher-Yates, from the engine's stream
        for i in range(ep.data.n - 1, 0, -1):
            j = _randint(ep.rng, i + 1)
            tmp = ep.order[i]
            ep.order[i] = ep.order[j]
            ep.order[j] = tmp
    ep.cur = 0
    _setup_batch(ep, 0, 0)
    if ep.model.kind == MODEL_AUTOENCODER:
        _ae_slot(ep, 0, tag)
        ep.kind = AE_PREPARE
    else:
        ep.kind = ST_PREPARE
    ep.n_main = 0
    ep.n_rows = _n_chunks(ep.batch[0].size, ep.n_threads)
    skdae_team_init(&ep.team, ep.n_rows)
    if ep.n_threads == 1:
        _worker(ep, 0, tag)
    else:
        with parallel(num_threads=ep.n_threads):
            tid = threadid()
            _worker(ep, tid, tag)
    skdae_team_destroy(&ep.team)


# ---------------------------------------------------------------------- #
# Work buffers: laid out in one allocation, freed in one place
# ---------------------------------------------------------------------- #
cdef struct Arena:
    char *base      # NULL on the sizing pass
    size_t used


cdef void *_take(Arena *a, size_t nbytes) noexcept nogil:
    """``nbytes`` of the arena, 64-byte aligned; on the sizing pass
    (``a.base`` NULL) only counted."""
    cdef size_t at = (a.used + 63) // 64 * 64
    a.used = at + nbytes
    return a.base + at if a.base != NULL else NULL


cdef void _layout(Epoch *ep, Arena *a, size_t f) noexcept nogil:
    """Place every work buffer of the epoch in the arena (``f`` bytes per
    value): called once to size the arena, once to fill it."""
    cdef Model *m = ep.model
    cdef Py_ssize_t B = ep.batch_size, d = ep.data.d, width = 0
    cdef int s, k, L = m.n_layers
    cdef int n_items = BLOCKS_PER_THREAD * ep.n_threads + 1
    cdef size_t largest = 0
    cdef void *shared = NULL
    cdef Batch *bt
    ep.item_loss = <double *> _take(a, n_items * sizeof(double))
    ep.item_penalty = <double *> _take(a, n_items * sizeof(double))
    ep.pace = <Pace *> _take(a, ep.n_threads * sizeof(Pace))
    for k in range(L):
        m.layers[k].b.g = _take(a, m.layers[k].n_out * f)
        width = max(width, m.layers[k].n_in)
    if not ep.opt.fused and m.kind == MODEL_AUTOENCODER:
        # an item computes and steps both halves of its units' gradient
        m.layers[0].W.g = _take(a, m.layers[0].W.rows * m.layers[0].W.cols * f)
        m.layers[1].W.g = (m.layers[0].W.g if m.tied else
                           _take(a, m.layers[1].W.rows * m.layers[1].W.cols * f))
    elif not ep.opt.fused:
        # a stack updates one layer per phase, each item stepping the block
        # whose gradient it has just computed: one buffer serves every layer
        # (and stays in cache: on a 3 x 1000 stack at batch 5, an epoch is
        # bound by memory traffic)
        for k in range(L):
            largest = max(largest, <size_t> (m.layers[k].W.rows * m.layers[k].W.cols))
        shared = _take(a, largest * f)
        for k in range(L):
            m.layers[k].W.g = shared
    for s in range(2):
        bt = &ep.batch[s]
        bt.keys = <uint64_t *> _take(a, B * sizeof(uint64_t))
        bt.inputs = bt.targets = bt.weights = bt.val = NULL
        bt.first = bt.kept = bt.idx = NULL
        if ep.noise.emphasis:
            bt.weights = _take(a, B * d * f)
        if ep.data.sparse:
            bt.first = <Py_ssize_t *> _take(a, B * sizeof(Py_ssize_t))
            bt.kept = <Py_ssize_t *> _take(a, B * sizeof(Py_ssize_t))
            bt.idx = <Py_ssize_t *> _take(a, ep.max_batch_nnz * sizeof(Py_ssize_t))
            bt.val = _take(a, ep.max_batch_nnz * f)
    if m.kind == MODEL_AUTOENCODER:
        ep.M1 = _take(a, 2 * B * m.layers[0].n_out * f)
        ep.w2 = _take(a, m.layers[0].n_out * f)
        ep.q = _take(a, m.layers[0].n_out * f)
        for s in range(2):
            # [G_Z; X~]; sparse input has no dense X~, but its clean rows
            ep.M2[s] = _take(a, (1 if ep.data.sparse else 2) * B * d * f)
            if ep.data.sparse:
                ep.batch[s].targets = _take(a, B * d * f)
        return
    for k in range(1, L):
        ep.H[k] = _take(a, B * m.layers[k].n_in * f)
    ep.H[L] = _take(a, B * m.layers[L - 1].n_out * f)
    ep.S = _take(a, B * width * f)
    if not ep.data.sparse:
        for s in range(2):
            ep.batch[s].inputs = _take(a, B * d * f)


# ---------------------------------------------------------------------- #
# Entry points: check what Python hands over, build the structs, run
# ---------------------------------------------------------------------- #
cdef void *_array(object a, str name, tuple shape, object dtype,
                  bint writable=True) except? NULL:
    """The data pointer of ``a`` once checked to be what the engine will read
    or write: a C-contiguous numpy array of ``dtype`` and ``shape``,
    writable unless ``writable`` is False. A mismatch raises ValueError, so
    the engine never reads or writes outside the arrays it was handed."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"engine: {name} must be a numpy array, got {type(a).__name__}")
    if a.dtype != dtype:
        raise ValueError(f"engine: {name} has dtype {a.dtype}, expected {np.dtype(dtype)}")
    if a.shape != shape:
        raise ValueError(f"engine: {name} has shape {a.shape}, expected {shape}")
    if not a.flags.c_contiguous:
        raise ValueError(f"engine: {name} must be C-contiguous")
    if writable and not a.flags.writeable:
        raise ValueError(f"engine: {name} is read-only; the engine updates it in place")
    return cnp.PyArray_DATA(a)


cdef Optimizer _optimizer(dict settings) except *:
    """The optimizer from Python's settings (keys as the estimators'
    parameters, ``t`` the Adam steps taken)."""
    cdef Optimizer opt
    opt.solver = settings["solver"]
    if opt.solver != SOLVER_SGD and opt.solver != SOLVER_ADAM:
        raise ValueError(f"engine: unknown solver code {opt.solver}")
    opt.learning_rate = settings["learning_rate"]
    opt.momentum = settings["momentum"] if opt.solver == SOLVER_SGD else 0.0
    opt.beta1 = settings["beta_1"]
    opt.beta2 = settings["beta_2"]
    opt.epsilon = settings["epsilon"]
    opt.t = settings["t"]
    opt.step = opt.learning_rate
    opt.fused = opt.solver == SOLVER_SGD and opt.momentum == 0
    return opt


cdef Param _param(object w, object state, str name, object dtype, const Optimizer *opt,
                  double decay) except *:
    """A parameter array with its optimizer state ``state = (m, v)``, checked
    against the solver: SGD with momentum reads a velocity, Adam two
    moments, each an array of the parameter's shape."""
    cdef Param P
    shape = w.shape
    P.w = _array(w, name, shape, dtype)
    P.rows = shape[0] if len(shape) == 2 else 1
    P.cols = shape[len(shape) - 1]
    P.decay = decay
    P.g = P.m = P.v = NULL
    if opt.solver == SOLVER_ADAM or opt.momentum != 0:
        P.m = _array(state[0], name + "'s optimizer state 1", shape, dtype)
    if opt.solver == SOLVER_ADAM:
        P.v = _array(state[1], name + "'s optimizer state 2", shape, dtype)
    return P


cdef Layer _layer(object W, object b, object state_W, object state_b, str name,
                  object dtype, const Optimizer *opt, double alpha, bint transposed,
                  int activation) except *:
    """A layer: weights ``W`` of logical shape (n_in, n_out), stored as
    (n_out, n_in) when ``transposed``, and biases ``b`` of shape (n_out,)."""
    cdef Layer L
    L.W = _param(W, state_W, name + " weights", dtype, opt, alpha)
    L.transposed = transposed
    L.n_in = L.W.cols if transposed else L.W.rows
    L.n_out = L.W.rows if transposed else L.W.cols
    L.b = _param(b, state_b, name + " biases", dtype, opt, 0.0)
    if L.b.cols != L.n_out or b.ndim != 1:
        raise ValueError(f"engine: {name} biases have shape {b.shape}, expected "
                         f"({L.n_out},)")
    L.activation = activation
    if not 0 <= activation <= ACT_IDENTITY:
        raise ValueError(f"engine: unknown activation code {activation}")
    return L


cdef object _setup_rows(Epoch *ep, object X, object order, object rng_state,
                        object dtype, Py_ssize_t n_features, Py_ssize_t batch_size,
                        bint shuffle, int n_threads):
    """The epoch's rows (dense ``X`` an array, or a scipy CSR matrix), their
    order and the engine's random state, checked: a malformed matrix or an
    order out of range raises instead of reading past the arrays. Returns
    what must stay alive for the epoch (CSR's index arrays as intp)."""
    cdef Data *D = &ep.data
    cdef Py_ssize_t i, nnz
    cdef const Py_ssize_t[::1] ptr
    cdef const Py_ssize_t[::1] idx
    keep = None
    D.sparse = not isinstance(X, np.ndarray)
    D.X = D.values = NULL
    D.indices = D.indptr = NULL
    D.n, D.d = X.shape
    if D.d != n_features:
        raise ValueError(f"engine: X has {D.d} features, the model {n_features}")
    if not D.sparse:
        D.X = _array(X, "X", (D.n, D.d), dtype, writable=False)
    else:
        keep = (np.asarray(X.indptr, dtype=np.intp), np.asarray(X.indices, dtype=np.intp))
        ptr, idx = keep
        nnz = idx.shape[0]
        if ptr.shape[0] != D.n + 1 or ptr[0] != 0 or ptr[D.n] != nnz:
            raise ValueError("engine: malformed CSR matrix: indptr does not match the data")
        for i in range(D.n):
            if ptr[i + 1] < ptr[i]:
                raise ValueError("engine: malformed CSR matrix: indptr decreases")
        for i in range(nnz):
            if idx[i] < 0 or idx[i] >= D.d:
                raise ValueError("engine: malformed CSR matrix: a column index is out of "
                                 "range")
        D.values = _array(X.data, "X.data", (nnz,), dtype, writable=False) if nnz else NULL
        D.indptr = &ptr[0]
        D.indices = &idx[0] if nnz else NULL
    _array(order, "order", (D.n,), np.intp)
    if D.n and (order.min() < 0 or order.max() >= D.n):
        raise ValueError("engine: order holds row indices out of range")
    ep.order = <Py_ssize_t *> cnp.PyArray_DATA(order)
    ep.rng = <uint64_t *> _array(rng_state, "rng_state", (4,), np.uint64)
    ep.batch_size = batch_size
    ep.shuffle = shuffle
    ep.n_threads = n_threads
    ep.max_batch_nnz = _max_batch_nnz(keep[0] if keep else None,
                                      min(batch_size, max(D.n, 1)))
    return keep


cdef Corruption _corruption(dict noise, const Data *D, object dtype) except *:
    """The noise process from Python's settings (``noise`` code, ``level``,
    salt-and-pepper ``low``/``high``, ``emphasis`` None or ``(alpha,
    beta)``)."""
    cdef Corruption nz
    nz.noise = noise.get("noise", NOISE_NONE)
    nz.level = noise.get("level", 0.0)
    nz.threshold = _fraction_threshold(min(max(nz.level, 0.0), 1.0))
    nz.low = nz.high = NULL
    emphasis = noise.get("emphasis")
    nz.emphasis = emphasis is not None
    nz.alpha, nz.beta = emphasis if emphasis is not None else (1.0, 1.0)
    if not 0 <= nz.noise <= NOISE_SWAP:
        raise ValueError(f"engine: unknown noise code {nz.noise}")
    if nz.noise == NOISE_SALT_AND_PEPPER:
        nz.low = _array(noise["low"], "noise low", (D.d,), dtype, writable=False)
        nz.high = _array(noise["high"], "noise high", (D.d,), dtype, writable=False)
    if D.sparse and nz.noise != NOISE_NONE and nz.noise != NOISE_MASKING:
        raise ValueError("engine: only masking noise (or none) applies to sparse input")
    if nz.emphasis and nz.noise not in (NOISE_MASKING, NOISE_SALT_AND_PEPPER, NOISE_SWAP):
        raise ValueError("engine: emphasis needs a noise that corrupts some components")
    return nz


cdef object _train(Epoch *ep, Model *m, object dtype):
    """Allocate the work buffers, run the epoch without the GIL, free them;
    returns ``(loss_sum, adam_t, n_seen, status)`` and re-raises what a
    signal handler raised during the epoch (the epoch stopped before its
    next minibatch)."""
    cdef Arena a
    cdef char *raw
    cdef size_t f = 4 if dtype == np.float32 else 8
    cdef Py_ssize_t i
    if ep.n_threads < 1:
        raise ValueError("engine: n_threads must be at least 1")
    if ep.batch_size < 1:
        raise ValueError("engine: batch_size must be at least 1")
    ep.batch_size = min(ep.batch_size, max(ep.data.n, 1))
    ep.model = m
    ep.n_seen = 0
    ep.loss_sum = 0
    ep.status = STATUS_DONE
    ep.interrupt = False
    ep.exception = NULL
    a.base = NULL
    a.used = 0
    _layout(ep, &a, f)
    raw = <char *> malloc(a.used + 64)
    if raw == NULL:
        raise MemoryError(f"engine: could not allocate {a.used} bytes of work buffers")
    try:
        a.base = raw + (64 - <size_t> raw % 64) % 64
        a.used = 0
        _layout(ep, &a, f)
        memset(ep.pace, 0, ep.n_threads * sizeof(Pace))
        for i in range(ep.n_threads):
            ep.pace[i].rest_ns = 2000000
        with nogil:
            if f == 4:
                _run_epoch(ep, <float> 0)
            else:
                _run_epoch(ep, <double> 0)
    finally:
        free(raw)
    if ep.exception != NULL:
        exc = <object> ep.exception
        Py_XDECREF(ep.exception)
        raise exc
    return ep.loss_sum, ep.opt.t, ep.n_seen, ep.status


def train_autoencoder_epoch(X, order, rng_state, params, state, optimizer, model, noise,
                            *, Py_ssize_t batch_size, bint shuffle, int n_threads=1):
    """Run one epoch of minibatch training of a denoising autoencoder, in place.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or scipy CSR matrix
        Clean training rows (read-only arrays and memmaps work); the loss
        always compares with these.
    order : ndarray of shape (n_samples,), dtype intp
        Row order; shuffled in place (Fisher-Yates) when ``shuffle``.
    rng_state : ndarray of shape (4,), dtype uint64
        The engine's random state (shuffle and noise), advanced in place.
    params : list of ndarray
        ``[Lenc, Ldec, b, c]``: the encoder's weights as (n_features,
        n_hidden) when ``model["encoder_transposed"]`` is False (CSR: the
        caller holds ``components_.T``) or ``components_`` (n_hidden,
        n_features) when True; the decoder's (n_hidden, n_features) weights,
        or None when tied; the hidden and visible biases. Updated in place.
    state : list
        Optimizer state of each of ``params``: ``(m, v)`` arrays of its
        shape, the SGD velocity in ``m`` (read when momentum > 0) or Adam's
        moments (unused entries may be None).
    optimizer : dict
        ``solver`` (a ``Solver`` code), ``learning_rate``, ``momentum``,
        ``beta_1``, ``beta_2``, ``epsilon``, ``alpha`` (L2 on the weights),
        ``t`` (Adam steps so far).
    model : dict
        ``activation``, ``output`` (``Activation`` codes), ``loss`` (a
        ``Loss`` code), ``contraction`` (weight of the contractive penalty,
        evaluated at the encoder input), ``encoder_transposed``.
    noise : dict
        ``noise`` (a ``Noise`` code), ``level``, salt-and-pepper ``low`` and
        ``high`` (n_features,), ``emphasis`` None or ``(alpha, beta)``: the
        loss weights of corrupted and untouched components.
    batch_size, shuffle : int, bool
        Minibatch size (clipped to n_samples); whether to shuffle ``order``.
    n_threads : int, default=1
        Threads of the engine. With 1 every phase is one work item and each
        product one (possibly multi-threaded) BLAS call. With more, phases
        are cut into blocks handed out as threads come free; each block runs
        single-threaded BLAS (the caller must limit BLAS to one thread).
        Results depend on ``n_threads`` only through the blocks' sums, never
        on which thread ran which block.

    Returns
    -------
    loss_sum : float
        Sum over the rows of each row's loss (reconstruction, weighted by
        the emphasis, plus the contractive term), with the weights as they
        were for that row's minibatch.
    adam_t : int
        Adam steps taken after the epoch.
    n_seen : int
        Rows processed: fewer than n_samples if training stopped early.
    status : int
        A ``Status`` code: ``STATUS_DIVERGED`` when a minibatch's loss was not
        finite (training stopped at that minibatch).

    Raises
    ------
    KeyboardInterrupt
        Or whatever a signal handler raised during the epoch: thread 0 runs
        Python's signal handlers every 50 ms, and the epoch then stops
        between two minibatches, leaving the parameters partly updated (the
        caller restores its snapshot).
    """
    cdef Epoch ep
    cdef Model m
    cdef Layer layers[2]
    cdef bint tied = params[1] is None
    cdef bint enc_t = model["encoder_transposed"]
    Lenc = params[0]
    dtype = Lenc.dtype
    if dtype != np.float32 and dtype != np.float64:
        raise ValueError(f"engine: parameters must be float32 or float64, got {dtype}")
    ep.opt = _optimizer(optimizer)
    layers[0] = _layer(Lenc, params[2], state[0], state[2], "encoder", dtype, &ep.opt,
                       optimizer["alpha"], enc_t, model["activation"])
    if tied:
        # the decoder reads the encoder's weights the other way round
        layers[1] = layers[0]
        layers[1].transposed = not enc_t
        layers[1].n_in, layers[1].n_out = layers[0].n_out, layers[0].n_in
        layers[1].b = _param(params[3], state[3], "visible biases", dtype, &ep.opt, 0.0)
        layers[1].activation = model["output"]
    else:
        layers[1] = _layer(params[1], params[3], state[1], state[3], "decoder", dtype,
                           &ep.opt, optimizer["alpha"], False, model["output"])
    if layers[1].n_in != layers[0].n_out or layers[1].n_out != layers[0].n_in or (
            layers[1].b.cols != layers[0].n_in or params[3].ndim != 1):
        raise ValueError("engine: the decoder's weights or biases do not match the "
                         f"encoder's {layers[0].n_in} inputs and {layers[0].n_out} units")
    m.kind = MODEL_AUTOENCODER
    m.layers = layers
    m.n_layers = 2
    m.tied = tied
    m.loss = model["loss"]
    m.output = model["output"]
    m.contraction = model.get("contraction", 0.0)
    m.labels = NULL
    m.targets = NULL
    if m.loss != LOSS_SQUARED_ERROR and m.loss != LOSS_CROSS_ENTROPY:
        raise ValueError(f"engine: unknown loss code {m.loss}")
    _keep = _setup_rows(&ep, X, order, rng_state, dtype, layers[0].n_in, batch_size,
                        shuffle, n_threads)
    if ep.data.sparse and enc_t:
        raise ValueError("engine: sparse input needs the encoder as (n_features, n_hidden)")
    ep.noise = _corruption(noise, &ep.data, dtype)
    return _train(&ep, &m, dtype)


def train_stack_epoch(X, y, order, rng_state, coefs, intercepts, state, optimizer, *,
                      int activation, Py_ssize_t batch_size, bint shuffle,
                      int n_threads=1):
    """Run one epoch of supervised fine-tuning of a feed-forward stack in place.

    The output layer's head follows ``y``: class indices give a softmax
    output and the log-loss (``SdAClassifier``), real targets the identity
    and the squared error ``0.5 ||output - y||^2`` per row
    (``SdARegressor``).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or scipy CSR matrix
        Clean training inputs (fine-tuning applies no corruption).
    y : ndarray of shape (n_samples,), dtype intp, or of shape \
(n_samples, n_outputs) and the parameters' dtype
        Class index of each row, in ``[0, n_classes)``; or the target rows.
    order, rng_state, batch_size, shuffle, n_threads
        As for :func:`train_autoencoder_epoch`.
    coefs, intercepts : list of ndarray
        ``coefs[k]`` of shape (s_l, s_{k+1}), C-contiguous, and
        ``intercepts[k]`` of shape (s_{k+1},), updated in place; the last
        layer is the output layer (``n_classes`` or ``n_outputs`` units), the
        others use ``activation``.
    state : list
        Optimizer state ``(m, v)`` of each array of ``coefs + intercepts``.
    optimizer : dict
        As for :func:`train_autoencoder_epoch`; ``alpha`` is the L2 penalty
        on the weights (not the intercepts).
    activation : int
        ``Activation`` code of the hidden layers.

    Returns
    -------
    loss_sum, adam_t, n_seen, status
        As for :func:`train_autoencoder_epoch`, the loss being the
        cross-entropy of the softmax outputs, or the squared error.
    """
    cdef Epoch ep
    cdef Model m
    cdef Layer layers[MAX_LAYERS]
    cdef int k, L = len(coefs)
    cdef Py_ssize_t n_outputs
    if L < 2 or L > MAX_LAYERS or len(intercepts) != L or len(state) != 2 * L:
        raise ValueError(f"engine: a stack needs 2 to {MAX_LAYERS} layers with one "
                         "intercept array and one optimizer state per array")
    dtype = coefs[0].dtype
    if dtype != np.float32 and dtype != np.float64:
        raise ValueError(f"engine: parameters must be float32 or float64, got {dtype}")
    ep.opt = _optimizer(optimizer)
    for k in range(L):
        layers[k] = _layer(coefs[k], intercepts[k], state[k], state[L + k], f"layer {k}",
                           dtype, &ep.opt, optimizer["alpha"], False, activation)
        if k > 0 and layers[k].n_in != layers[k - 1].n_out:
            raise ValueError(f"engine: layer {k} takes {layers[k].n_in} inputs but layer "
                             f"{k - 1} has {layers[k - 1].n_out} outputs")
    n_outputs = layers[L - 1].n_out
    m.kind = MODEL_STACK
    m.layers = layers
    m.n_layers = L
    m.tied = False
    m.output = ACT_IDENTITY
    m.contraction = 0
    m.labels = NULL
    m.targets = NULL
    _keep = _setup_rows(&ep, X, order, rng_state, dtype, layers[0].n_in, batch_size,
                        shuffle, n_threads)
    ep.noise = _corruption({}, &ep.data, dtype)
    if isinstance(y, np.ndarray) and y.ndim == 2:
        m.loss = LOSS_SQUARED_ERROR
        m.targets = _array(y, "y", (ep.data.n, n_outputs), dtype, writable=False)
    else:
        m.loss = LOSS_CROSS_ENTROPY
        _array(y, "y", (ep.data.n,), np.intp, writable=False)
        if ep.data.n and (y.min() < 0 or y.max() >= n_outputs):
            raise ValueError(f"engine: class indices must lie in [0, {n_outputs})")
        m.labels = <const Py_ssize_t *> cnp.PyArray_DATA(y)
    return _train(&ep, &m, dtype)


cdef Py_ssize_t _max_batch_nnz(object indptr, Py_ssize_t batch_size) except -1:
    """Stored entries of the largest possible minibatch: its rows' counts,
    the ``batch_size`` longest rows (0 for dense input)."""
    if indptr is None:
        return 0
    counts = np.diff(indptr)
    if counts.shape[0] > batch_size:
        counts = np.partition(counts, counts.shape[0] - batch_size)[-batch_size:]
    return max(int(counts.sum()), 1)


def openmp_max_threads():
    """``omp_get_max_threads()`` when built with OpenMP (it follows
    ``OMP_NUM_THREADS`` and threadpoolctl), else 1."""
    return skdae_omp_max_threads()


def seed_rng(uint64_t[::1] state, uint64_t seed):
    """Fill the 4-word xoshiro256** ``state`` from ``seed`` with splitmix64."""
    cdef int i
    cdef uint64_t z
    if state.shape[0] != 4:
        raise ValueError("engine: rng_state must have 4 words")
    for i in range(4):
        seed += 0x9E3779B97F4A7C15u
        z = seed
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu
        state[i] = z ^ (z >> 31)
