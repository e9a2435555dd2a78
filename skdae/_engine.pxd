# The engine's vocabulary: the option codes (declared once, read by Python
# through ``skdae._engine``), the structs that carry a training epoch, and the
# small inline pieces of arithmetic shared by the training engine
# (``_engine.pyx``) and the inference kernels (``_autoencoder_fast.pyx``).
#
# Structs cannot hold fused types, so their buffers are ``void *``; the
# functions that use them are fused over ``floating`` and cast once.
from cython cimport floating
from libc.math cimport exp, expf, tanh, tanhf, sqrt
from libc.stdint cimport uint64_t, int64_t
from libc.string cimport memcpy


# ---------------------------------------------------------------------- #
# Option codes (Python maps the parameter strings to these: skdae/_options.py)
# ---------------------------------------------------------------------- #
cpdef enum Activation:
    ACT_SIGMOID = 0
    ACT_TANH = 1
    ACT_RELU = 2
    ACT_IDENTITY = 3

cpdef enum Loss:
    LOSS_SQUARED_ERROR = 0
    LOSS_CROSS_ENTROPY = 1

cpdef enum Noise:
    NOISE_NONE = 0
    NOISE_MASKING = 1
    NOISE_GAUSSIAN = 2
    NOISE_SALT_AND_PEPPER = 3
    NOISE_SWAP = 4

cpdef enum Solver:
    SOLVER_SGD = 0
    SOLVER_ADAM = 1

cpdef enum Status:
    STATUS_DONE = 0           # every minibatch ran
    STATUS_DIVERGED = 1       # a minibatch's loss was not finite: training stopped there
    STATUS_INTERRUPTED = 2    # a signal handler raised (Ctrl-C): stopped between minibatches


# ---------------------------------------------------------------------- #
# C kernels
# ---------------------------------------------------------------------- #
cdef extern from "_fastmath.h":
    float skdae_expf(float x) noexcept nogil
    float skdae_log1p_unit(float e) noexcept nogil
    double skdae_exp(double x) noexcept nogil
    double skdae_log1p_unit64(double e) noexcept nogil
    void skdae_sigmoid_bias_f32(float *A, const float *bias, Py_ssize_t m) noexcept nogil
    void skdae_sigmoid_bias_f64(double *A, const double *bias, Py_ssize_t m) noexcept nogil
    double skdae_cross_entropy_row_f32(float *Zr, const float *Xr, const float *c,
                                       float *gc, const float *Wr, Py_ssize_t k0,
                                       Py_ssize_t k1, float inv_b) noexcept nogil
    double skdae_cross_entropy_row_f64(double *Zr, const double *Xr, const double *c,
                                       double *gc, const double *Wr, Py_ssize_t k0,
                                       Py_ssize_t k1, double inv_b) noexcept nogil
    double skdae_squared_error_row_f32(float *Zr, const float *Xr, const float *c,
                                       float *gc, const float *Wr, Py_ssize_t k0,
                                       Py_ssize_t k1, float inv_b,
                                       int sigmoid_out) noexcept nogil
    double skdae_squared_error_row_f64(double *Zr, const double *Xr, const double *c,
                                       double *gc, const double *Wr, Py_ssize_t k0,
                                       Py_ssize_t k1, double inv_b,
                                       int sigmoid_out) noexcept nogil
    int skdae_nonfinite_f32(const float *A, Py_ssize_t n) noexcept nogil
    int skdae_nonfinite_f64(const double *A, Py_ssize_t n) noexcept nogil
    void skdae_mask_row_f32(const float *x, float *xt, Py_ssize_t d, uint64_t key,
                            uint64_t thr, float *wt, float alpha,
                            float beta) noexcept nogil
    void skdae_mask_row_f64(const double *x, double *xt, Py_ssize_t d, uint64_t key,
                            uint64_t thr, double *wt, double alpha,
                            double beta) noexcept nogil
    void skdae_gaussian_row_f32(const float *x, float *xt, Py_ssize_t d, uint64_t key,
                                float level) noexcept nogil
    void skdae_gaussian_row_f64(const double *x, double *xt, Py_ssize_t d, uint64_t key,
                                double level) noexcept nogil
    void skdae_salt_pepper_row_f32(const float *x, float *xt, Py_ssize_t d, uint64_t key,
                                   uint64_t thr, const float *low, const float *high,
                                   float *wt, float alpha, float beta) noexcept nogil
    void skdae_salt_pepper_row_f64(const double *x, double *xt, Py_ssize_t d,
                                   uint64_t key, uint64_t thr, const double *low,
                                   const double *high, double *wt, double alpha,
                                   double beta) noexcept nogil
    void skdae_swap_row_f32(const float *x, float *xt, Py_ssize_t d, uint64_t key,
                            uint64_t thr, const float *X, Py_ssize_t n, Py_ssize_t self,
                            float *wt, float alpha, float beta) noexcept nogil
    void skdae_swap_row_f64(const double *x, double *xt, Py_ssize_t d, uint64_t key,
                            uint64_t thr, const double *X, Py_ssize_t n,
                            Py_ssize_t self, double *wt, double alpha,
                            double beta) noexcept nogil

cdef extern from "_sched.h":
    ctypedef struct skdae_team:
        pass
    int64_t skdae_now_ns() noexcept nogil
    void skdae_team_init(skdae_team *t, int n_items) noexcept nogil
    void skdae_team_destroy(skdae_team *t) noexcept nogil
    int skdae_team_claim(skdae_team *t, int *phase) noexcept nogil
    int skdae_team_finish(skdae_team *t) noexcept nogil
    void skdae_team_open(skdae_team *t, int n_items) noexcept nogil
    void skdae_team_end(skdae_team *t) noexcept nogil
    int skdae_team_rest(skdae_team *t, int n_threads, int64_t ns) noexcept nogil

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int skdae_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int skdae_omp_max_threads(void) { return 1; }
    #endif
    /* Flush-to-zero and denormals-are-zero for the calling thread (x86 MXCSR
       bits 15 and 6), so that subnormal values (a decaying velocity, the
       softmax gradient of a class the network rules out) cost nothing; the
       previous mode is restored afterwards. */
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
    int skdae_omp_max_threads() noexcept nogil
    unsigned int skdae_enter_ftz() noexcept nogil
    void skdae_leave_ftz(unsigned int old) noexcept nogil


# ---------------------------------------------------------------------- #
# What an epoch is made of
# ---------------------------------------------------------------------- #
cdef struct Optimizer:
    int solver
    double learning_rate
    double momentum         # SGD only
    double beta1, beta2, epsilon
    long t                  # Adam steps taken so far
    double step             # this minibatch's step (bias-corrected for Adam)
    bint fused              # plain SGD: the gradient GEMM accumulates into the weights

cdef struct Param:
    # One parameter array (row-major, rows x cols, contiguous) and its state.
    void *w
    void *g                 # gradient scratch (NULL when the update is fused)
    void *m                 # SGD velocity or Adam first moment (NULL when unused)
    void *v                 # Adam second moment (NULL when unused)
    Py_ssize_t rows, cols
    double decay            # L2 coefficient: alpha for weights, 0 for biases

cdef struct Layer:
    # out = act(in L + b), L of logical shape (n_in, n_out) stored as is, or
    # transposed as (n_out, n_in) (an autoencoder's components_).
    Param W
    Param b
    Py_ssize_t n_in, n_out
    bint transposed
    int activation

cdef struct Data:
    # The training rows: dense (n, d) row-major, or CSR.
    bint sparse
    const void *X
    const void *values
    const Py_ssize_t *indices
    const Py_ssize_t *indptr
    Py_ssize_t n, d

cdef struct Corruption:
    int noise
    double level
    uint64_t threshold      # fractions as 32-bit thresholds
    const void *low         # salt-and-pepper values, (d,)
    const void *high
    bint emphasis           # weight the loss: alpha where corrupted, beta elsewhere
    double alpha, beta

cdef struct Batch:
    # One minibatch as the first layer reads it (double-buffered: the next
    # one is prepared while the current one trains).
    Py_ssize_t start, size  # rows order[start:start + size]
    uint64_t *keys          # one noise key per row
    void *inputs            # dense: the (corrupted) rows, size x d
    void *targets           # sparse: the clean rows scattered, size x d (else NULL)
    void *weights           # emphasis weights, size x d (or NULL)
    Py_ssize_t *first       # sparse: per row, first slot in idx/val
    Py_ssize_t *kept        # sparse: per row, number of entries kept
    Py_ssize_t *idx
    void *val

cdef struct Pace:
    # A thread's view of its own speed (see skdae_team_rest in _sched.h).
    double typical[8]       # running typical item time per kind of phase, ns
    int64_t rest_ns         # length of the next rest
    int64_t rested_at       # when the last rest ended
    int64_t polled_at       # thread 0: when signals were last checked


# ---------------------------------------------------------------------- #
# Inline arithmetic shared by training and inference
# ---------------------------------------------------------------------- #
cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating _activate(floating a, int act) noexcept nogil:
    """Scalar ``act(a)`` (the sigmoid without overflow for large ``|a|``)."""
    cdef floating e
    if act == ACT_SIGMOID:
        if a >= 0:
            return 1 / (1 + _exp(-a))
        e = _exp(a)
        return e / (1 + e)
    elif act == ACT_TANH:
        if floating is float:
            return tanhf(a)
        else:
            return tanh(a)
    elif act == ACT_RELU:
        return a if a > 0 else 0
    return a


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


cdef inline floating _derivative(floating h, int act) noexcept nogil:
    """``s'(a)`` expressed through ``h = s(a)``."""
    if act == ACT_SIGMOID:
        return h * (1 - h)
    elif act == ACT_TANH:
        return 1 - h * h
    elif act == ACT_RELU:
        return 1 if h > 0 else 0
    return 1


cdef inline floating _flush_tiny(floating x) noexcept nogil:
    """``x``, or 0 when ``|x|`` is below 1e-30 (float32) or 1e-290 (float64).

    Keeps subnormal numbers, which cost the CPU up to a hundred cycles each,
    out of the gradients that go into BLAS (whose own worker threads do not
    run in the engine's flush-to-zero mode). They appear once a unit
    saturates or a network fits its training set; values that small are zero
    for any purpose."""
    # no short-circuit on the sign: a data-dependent branch per value is
    # mispredicted half the time and blocks vectorisation
    cdef floating tiny = <floating> (1e-30 if floating is float else 1e-290)
    cdef floating ax = x if x >= 0 else -x
    return x if ax >= tiny else 0


cdef inline double _loss_row(
    floating *Zr, const floating *Xr, const floating *c, floating *gc,
    const floating *Wr, Py_ssize_t k0, Py_ssize_t k1, floating inv_b, int loss,
    int output,
) noexcept nogil:
    """Loss of one row's columns ``[k0, k1)`` from the decoder
    pre-activations ``Zr`` (bias ``c`` not yet added) against the clean row
    ``Xr``, weighted by ``Wr`` (NULL: unweighted); overwrites ``Zr`` with
    ``G_Z = dL/dZ * inv_b`` and adds it to ``gc`` (the vectorised C row
    kernels)."""
    if floating is float:
        if loss == LOSS_CROSS_ENTROPY:
            return skdae_cross_entropy_row_f32(Zr, Xr, c, gc, Wr, k0, k1, inv_b)
        return skdae_squared_error_row_f32(Zr, Xr, c, gc, Wr, k0, k1, inv_b,
                                           output == ACT_SIGMOID)
    else:
        if loss == LOSS_CROSS_ENTROPY:
            return skdae_cross_entropy_row_f64(Zr, Xr, c, gc, Wr, k0, k1, inv_b)
        return skdae_squared_error_row_f64(Zr, Xr, c, gc, Wr, k0, k1, inv_b,
                                           output == ACT_SIGMOID)


cdef inline int _nonfinite(const floating *A, Py_ssize_t n) noexcept nogil:
    """1 if any of ``n`` values is NaN or infinite, else 0 (vectorised)."""
    if floating is float:
        return skdae_nonfinite_f32(A, n)
    else:
        return skdae_nonfinite_f64(A, n)


cdef inline void _corrupt_row(
    const floating *x, floating *xt, Py_ssize_t d, const Corruption *noise,
    uint64_t key, const floating *X, Py_ssize_t n, Py_ssize_t self, floating *wt,
) noexcept nogil:
    """Write a corrupted copy of the row ``x`` into ``xt``, every random
    decision a hash of ``(key, feature)`` (the vectorised C kernels): a row's
    noise is a function of its key alone, whichever thread computes it.
    ``X`` (``n`` rows) and ``self`` (the row's index in it) serve swap noise;
    ``wt`` receives the emphasis weights when not NULL."""
    cdef floating a = <floating> noise.alpha, b_ = <floating> noise.beta
    cdef uint64_t thr = noise.threshold
    if noise.noise == NOISE_MASKING:
        if floating is float:
            skdae_mask_row_f32(x, xt, d, key, thr, wt, a, b_)
        else:
            skdae_mask_row_f64(x, xt, d, key, thr, wt, a, b_)
    elif noise.noise == NOISE_GAUSSIAN:
        if floating is float:
            skdae_gaussian_row_f32(x, xt, d, key, <float> noise.level)
        else:
            skdae_gaussian_row_f64(x, xt, d, key, noise.level)
    elif noise.noise == NOISE_SALT_AND_PEPPER:
        if floating is float:
            skdae_salt_pepper_row_f32(x, xt, d, key, thr, <const float *> noise.low,
                                      <const float *> noise.high, wt, a, b_)
        else:
            skdae_salt_pepper_row_f64(x, xt, d, key, thr, <const double *> noise.low,
                                      <const double *> noise.high, wt, a, b_)
    elif noise.noise == NOISE_SWAP:
        if floating is float:
            skdae_swap_row_f32(x, xt, d, key, thr, X, n, self, wt, a, b_)
        else:
            skdae_swap_row_f64(x, xt, d, key, thr, X, n, self, wt, a, b_)
    else:
        memcpy(xt, x, d * sizeof(floating))


cdef inline uint64_t _fraction_threshold(double level) noexcept nogil:
    """A fraction in [0, 1] as the 32-bit threshold the noise kernels compare
    their random bits with (``bits < threshold`` with probability ``level``)."""
    return <uint64_t> (level * 4294967296.0)
