# Thin row-major BLAS wrappers over scipy.linalg.cython_blas.
#
# SciPy ships the BLAS library and its Cython declarations, so no link flags are
# needed. BLAS is column-major; a row-major product C = op(A) op(B) is computed as
# the column-major product C^T = op(B)^T op(A)^T, i.e. with A and B swapped (the
# trick sklearn's ``_gemm`` uses).
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm, saxpy, daxpy


cdef inline void _gemm(
    bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
    const floating *a, int lda, const floating *b, int ldb, floating beta,
    floating *c, int ldc,
) noexcept nogil:
    """Row-major ``C[m, n] = alpha * op(A)[m, k] @ op(B)[k, n] + beta * C``."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if m == 0 or n == 0:
        return
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float *> b, &ldb, <float *> a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double *> b, &ldb, <double *> a, &lda,
              &beta, c, &ldc)


cdef inline void _axpy(int n, floating alpha, const floating *x, floating *y) noexcept nogil:
    """``y += alpha * x`` over ``n`` contiguous elements."""
    cdef int inc = 1
    if floating is float:
        saxpy(&n, &alpha, <float *> x, &inc, y, &inc)
    else:
        daxpy(&n, &alpha, <double *> x, &inc, y, &inc)
