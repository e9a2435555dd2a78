# A small, fast, seedable random number generator for the Cython engine:
# xoshiro256** (Blackman & Vigna), seeded through splitmix64. Its state is a
# ``uint64[4]`` array owned by the estimator, so a fit is reproducible bit for bit
# from ``random_state`` and can be continued by ``partial_fit``.
from libc.stdint cimport uint64_t, uint32_t


cdef inline uint64_t _rotl(uint64_t x, int k) noexcept nogil:
    return (x << k) | (x >> (64 - k))


cdef inline uint64_t _next_u64(uint64_t *s) noexcept nogil:
    """Next 64 random bits (xoshiro256**); advances the state ``s[0:4]``."""
    cdef uint64_t result = _rotl(s[1] * 5, 7) * 9
    cdef uint64_t t = s[1] << 17
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


cdef inline Py_ssize_t _randint(uint64_t *s, Py_ssize_t n) noexcept nogil:
    """Integer in [0, n) (Lemire's multiply-shift on 32 bits; n < 2**32)."""
    return <Py_ssize_t> (((_next_u64(s) >> 32) * <uint64_t> n) >> 32)


cdef inline uint64_t _mix64(uint64_t z) noexcept nogil:
    """splitmix64's finaliser: a bijective 64-bit hash."""
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu
    return z ^ (z >> 31)


cdef inline bint _masked(uint64_t key, Py_ssize_t k, uint64_t threshold) noexcept nogil:
    """Whether feature ``k`` of the row whose noise key is ``key`` is masked.

    Counter-based: the decision depends only on ``(key, k)``, so a dense row
    and the stored entries of the same sparse row get identical masks. One
    64-bit hash serves features ``2m`` and ``2m + 1`` (32 bits each);
    ``P(masked) = threshold / 2**32``.
    """
    cdef uint64_t r = _mix64(key + <uint64_t> (k >> 1) * 0x9E3779B97F4A7C15u)
    if k & 1:
        r >>= 32
    return (r & 0xFFFFFFFFu) < threshold
