/* The engine's vectorisable C kernels (float32 and float64).
 *
 * Branch-free exp and log(1 + x) that GCC can vectorise.
 *
 * glibc's expf/logf are scalar calls, so a loop that uses them stays scalar
 * unless the whole module is built with -ffast-math (which would also break
 * the isfinite checks the engine relies on). These follow Cephes' expf and
 * logf (S. L. Moshier): range reduction plus a minimax polynomial, with the
 * branches written as selects. Max error about 2 ulp on the ranges the engine
 * uses; tests compare them with numpy over dense grids.
 */
#ifndef SKDAE_FASTMATH_H
#define SKDAE_FASTMATH_H
#include <stdint.h>
#include <string.h>
#include <stddef.h>
#include <math.h>

static inline float skdae_expf(float x)
{
    /* valid for x in [-87, 88]; clamped outside */
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float t = x * 1.44269504088896341f;
    /* round to nearest with the 1.5 * 2**23 trick (no libm call) */
    float n = (t + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * r2 + r + 1.0f;
    int32_t i = (int32_t) n;
    int32_t bits = (i + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof(scale));
    return p * scale;
}

static inline float skdae_log1p_unit(float e)
{
    /* log(1 + e) for e in [0, 1]: y = 1 + e in [1, 2] */
    float y = 1.0f + e;
    int big = y > 1.41421356237f;
    float m = big ? 0.5f * y : y;
    float k = big ? 1.0f : 0.0f;
    float x = m - 1.0f;
    float z = x * x;
    float p = 7.0376836292E-2f;
    p = p * x - 1.1514610310E-1f;
    p = p * x + 1.1676998740E-1f;
    p = p * x - 1.2420140846E-1f;
    p = p * x + 1.4249322787E-1f;
    p = p * x - 1.6668057665E-1f;
    p = p * x + 2.0000714765E-1f;
    p = p * x - 2.4999993993E-1f;
    p = p * x + 3.3333331174E-1f;
    float r = p * x * z;
    r += k * -2.12194440e-4f;
    r += -0.5f * z;
    return x + r + k * 0.693359375f;
}

/* float64 counterparts, branch-free so that GCC vectorises them, accurate to
 * about one ulp (the float64 engine is compared with NumPy to 1e-12).
 *
 * exp: x = n log 2 + r with |r| <= log(2) / 2 (Cody-Waite: log 2 in two
 * parts), exp(r) by its Taylor polynomial of degree 13 (truncation below
 * 1e-17 relative), scaled by 2**n through the exponent bits. */
static inline double skdae_exp(double x)
{
    x = x < -708.0 ? -708.0 : x;
    x = x > 709.0 ? 709.0 : x;
    /* round to nearest with the 1.5 * 2**52 trick: n also sits in the low
     * 32 bits of t's pattern, read back as an integer (no float-to-int64
     * conversion, which AVX-512F alone cannot vectorise) */
    double t = x * 1.4426950408889634 + 6755399441055744.0;
    double n = t - 6755399441055744.0;
    uint64_t t_bits;
    memcpy(&t_bits, &t, sizeof(t_bits));
    double r = x - n * 6.93147180369123816490e-01;
    r = r - n * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    int64_t bits = ((int64_t) (int32_t) (uint32_t) t_bits + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof(scale));
    return p * scale;
}

/* log(1 + e) for e in [0, 1]: fdlibm's log of y = 1 + e (y or y / 2 as
 * 1 + f with f in [-0.29, 0.42], s = f / (2 + f), its minimax R(s**2)), then
 * Goldberg's correction log(y) * e / (y - 1) for the rounding of 1 + e. */
static inline double skdae_log1p_unit64(double e)
{
    double y = 1.0 + e;
    int big = y > 1.41421356237309504880;
    double m = big ? 0.5 * y : y;
    double k = big ? 1.0 : 0.0;
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double w = z * z;
    double t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01
                     + w * 1.531383769920937332e-01));
    double t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01
                     + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    double hfsq = 0.5 * f * f;
    double log_y = k * 6.93147180369123816490e-01
        - ((hfsq - (s * (hfsq + t1 + t2) + k * 1.90821492927058770002e-10)) - f);
    double d = y - 1.0;
    return d == 0.0 ? e : log_y * (e / d);
}

/* Kernels compiled for several instruction sets: the build targets the
 * baseline x86-64 (SSE2, 4 floats per vector), and GCC's target_clones adds
 * AVX2 and AVX-512 versions picked at load time for the CPU at hand (glibc
 * ifunc). Elsewhere they compile once, for the build's target. */
#if defined(__GNUC__) || defined(__clang__)
#define SKDAE_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define SKDAE_INLINE static __forceinline
#else
#define SKDAE_INLINE static inline
#endif

/* target_clones needs GCC >= 6 and an ifunc-capable libc (glibc: __GLIBC__
 * comes from <features.h>, included by <stdint.h> above); musl has no ifunc. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__INTEL_COMPILER) \
    && __GNUC__ >= 6 && defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__)
#define SKDAE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SKDAE_CLONES
#endif

/* 1 if any of n values is NaN or infinite (exponent bits all ones), else 0.
 * Integer tests on the bit patterns: vectorised whatever the floating-point
 * flags, and free of float-to-double conversions. */
#define SKDAE_DEFINE_NONFINITE(NAME, T, U, EXPONENT)                           \
SKDAE_CLONES                                                                    \
static int NAME(const T *A, ptrdiff_t n)                                        \
{                                                                               \
    U flag = 0;                                                                 \
    for (ptrdiff_t i = 0; i < n; i++) {                                         \
        U u;                                                                    \
        memcpy(&u, A + i, sizeof(u));                                           \
        flag |= (u & (EXPONENT)) == (EXPONENT);                                 \
    }                                                                           \
    return flag != 0;                                                           \
}

SKDAE_DEFINE_NONFINITE(skdae_nonfinite_f32, float, uint32_t, 0x7F800000u)
SKDAE_DEFINE_NONFINITE(skdae_nonfinite_f64, double, uint64_t, 0x7FF0000000000000ull)

/* Masking noise for one row (the engine's counter-based mask): feature k is
 * dropped when the 32-bit half (low half for even k, high half for odd k) of
 * mix64(key + (k / 2) * 0x9E3779B97F4A7C15) is below thr, P = thr / 2**32.
 * The hashes of a block of features go to a buffer read back as 32-bit
 * halves, so both loops vectorise (64-bit multiplies, then a select per
 * value). Same decisions as the engine's scalar _masked(key, k, thr). */
static inline uint64_t skdae_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#define SKDAE_MASK_BLOCK 512
/* NAME(x, xt, d, key, thr, wt, alpha, beta): xt = the masked row; when wt is
 * not NULL also the emphasis weights wt[k] = alpha where feature k is
 * masked, beta elsewhere (x and xt may be NULL for weights alone). The
 * three variants are one inlined loop with constant flags. */
#define SKDAE_DEFINE_MASK_ROW(NAME, T)                                          \
SKDAE_INLINE void NAME##_loop(const T *x, T *xt, ptrdiff_t d, uint64_t key,    \
                              uint64_t thr, T *wt, T alpha, T beta,             \
                              const int do_x, const int do_w)                   \
{                                                                               \
    union { uint64_t q[SKDAE_MASK_BLOCK / 2]; uint32_t w[SKDAE_MASK_BLOCK]; } r; \
    if (thr > 0xFFFFFFFFull) {                                                  \
        for (ptrdiff_t k = 0; k < d; k++) {                                     \
            if (do_x) xt[k] = 0;                                                \
            if (do_w) wt[k] = alpha;                                            \
        }                                                                       \
        return;                                                                 \
    }                                                                           \
    uint32_t t32 = (uint32_t) thr;                                              \
    for (ptrdiff_t s0 = 0; s0 < d; s0 += SKDAE_MASK_BLOCK) {                    \
        ptrdiff_t n = d - s0 < SKDAE_MASK_BLOCK ? d - s0 : SKDAE_MASK_BLOCK;    \
        uint64_t m0 = (uint64_t) (s0 >> 1);                                     \
        for (ptrdiff_t m = 0; m < (n + 1) >> 1; m++)                            \
            r.q[m] = skdae_mix64(key + (m0 + (uint64_t) m)                      \
                                 * 0x9E3779B97F4A7C15ull);                      \
        for (ptrdiff_t k = 0; k < n; k++) {                                     \
            uint32_t u = SKDAE_LITTLE_ENDIAN ? r.w[k]                           \
                : (uint32_t) (r.q[k >> 1] >> (32 * (k & 1)));                  \
            if (do_x) xt[s0 + k] = u < t32 ? (T) 0 : x[s0 + k];                 \
            if (do_w) wt[s0 + k] = u < t32 ? alpha : beta;                      \
        }                                                                       \
    }                                                                           \
}                                                                               \
                                                                                \
SKDAE_CLONES                                                                    \
static void NAME(const T *x, T *xt, ptrdiff_t d, uint64_t key, uint64_t thr,    \
                 T *wt, T alpha, T beta)                                        \
{                                                                               \
    if (wt == NULL)                                                             \
        NAME##_loop(x, xt, d, key, thr, wt, alpha, beta, 1, 0);                 \
    else if (xt == NULL)                                                        \
        NAME##_loop(x, xt, d, key, thr, wt, alpha, beta, 0, 1);                 \
    else                                                                        \
        NAME##_loop(x, xt, d, key, thr, wt, alpha, beta, 1, 1);                 \
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define SKDAE_LITTLE_ENDIAN 0
#else
#define SKDAE_LITTLE_ENDIAN 1
#endif

SKDAE_DEFINE_MASK_ROW(skdae_mask_row_f32, float)
SKDAE_DEFINE_MASK_ROW(skdae_mask_row_f64, double)

/* A standard normal draw from 64 random bits, branch-free (Box-Muller, one
 * of its pair): z = sqrt(-2 log u1) cos(theta), u1 in (0, 1] from 24 bits
 * (so |z| <= 5.77, a tail of probability 8e-9 left out), theta uniform on
 * the circle as a quadrant (2 bits) plus an offset in [-pi/4, pi/4) (30
 * bits). log(u1) = e log 2 + log(1 + f) from the float's exponent and
 * mantissa; cos and sin of the offset by Cephes' minimax polynomials. */
SKDAE_INLINE float skdae_normal_from_bits(uint64_t r)
{
    float u1 = (float) ((uint32_t) (r & 0xFFFFFFu) + 1u) * 5.9604644775390625e-8f;
    uint32_t ub;
    memcpy(&ub, &u1, sizeof(ub));
    int32_t expo = (int32_t) (ub >> 23) - 127;
    uint32_t mb = (ub & 0x7FFFFFu) | 0x3F800000u;    /* mantissa in [1, 2) */
    float m;
    memcpy(&m, &mb, sizeof(m));
    float log_u1 = (float) expo * 0.693147180559945f + skdae_log1p_unit(m - 1.0f);
    float radius = sqrtf(-2.0f * log_u1);
    uint32_t hi = (uint32_t) (r >> 32);
    uint32_t quadrant = hi >> 30;
    float y = ((float) (hi & 0x3FFFFFFFu) * 9.313225746154785e-10f - 0.5f)
              * 1.5707963267948966f;               /* [-pi/4, pi/4) */
    float y2 = y * y;
    float sin_y = y + y * y2 * (-1.6666654611e-1f + y2 * (8.3321608736e-3f
                                                     + y2 * -1.9515295891e-4f));
    float cos_y = 1.0f - 0.5f * y2 + y2 * y2 * (4.166664568298827e-2f + y2
                  * (-1.388731625493765e-3f + y2 * 2.443315711809948e-5f));
    /* cos(quadrant * pi / 2 + y) */
    float c = (quadrant & 1u) ? sin_y : cos_y;
    c = ((quadrant + 1u) & 2u) ? -c : c;
    return radius * c;
}

/* Additive Gaussian noise on one row keyed by key: xt[k] = x[k] + level z_k,
 * z_k from mix64(key + k * 0x9E3779B97F4A7C15). */
#define SKDAE_DEFINE_GAUSSIAN_ROW(NAME, T)                                      \
SKDAE_CLONES                                                                    \
static void NAME(const T *x, T *xt, ptrdiff_t d, uint64_t key, T level)         \
{                                                                               \
    for (ptrdiff_t k = 0; k < d; k++) {                                         \
        uint64_t r = skdae_mix64(key + (uint64_t) k * 0x9E3779B97F4A7C15ull);   \
        xt[k] = x[k] + level * (T) skdae_normal_from_bits(r);                   \
    }                                                                           \
}

SKDAE_DEFINE_GAUSSIAN_ROW(skdae_gaussian_row_f32, float)
SKDAE_DEFINE_GAUSSIAN_ROW(skdae_gaussian_row_f64, double)

/* Salt-and-pepper noise on one row keyed by key: feature k is replaced when
 * the low 32 bits of mix64(key + k * 0x9E3779B97F4A7C15) are below thr (P =
 * thr / 2**32), by high[k] if bit 32 is set, else by low[k]; emphasis
 * weights as for masking when wt is not NULL. */
#define SKDAE_DEFINE_SALT_PEPPER_ROW(NAME, T)                                   \
SKDAE_INLINE void NAME##_loop(const T *x, T *xt, ptrdiff_t d, uint64_t key,    \
                              uint64_t thr, const T *low, const T *high,        \
                              T *wt, T alpha, T beta, const int do_w)           \
{                                                                               \
    for (ptrdiff_t k = 0; k < d; k++) {                                         \
        uint64_t r = skdae_mix64(key + (uint64_t) k * 0x9E3779B97F4A7C15ull);   \
        T noisy = (r >> 32) & 1u ? high[k] : low[k];                            \
        int hit = (r & 0xFFFFFFFFull) < thr;                                    \
        xt[k] = hit ? noisy : x[k];                                             \
        if (do_w) wt[k] = hit ? alpha : beta;                                   \
    }                                                                           \
}                                                                               \
                                                                                \
SKDAE_CLONES                                                                    \
static void NAME(const T *x, T *xt, ptrdiff_t d, uint64_t key, uint64_t thr,    \
                 const T *low, const T *high, T *wt, T alpha, T beta)           \
{                                                                               \
    if (wt == NULL)                                                             \
        NAME##_loop(x, xt, d, key, thr, low, high, wt, alpha, beta, 0);         \
    else                                                                        \
        NAME##_loop(x, xt, d, key, thr, low, high, wt, alpha, beta, 1);         \
}

SKDAE_DEFINE_SALT_PEPPER_ROW(skdae_salt_pepper_row_f32, float)
SKDAE_DEFINE_SALT_PEPPER_ROW(skdae_salt_pepper_row_f64, double)

/* Swap noise on one row keyed by key (the corruption of the denoising
 * autoencoders of the 2017 Porto Seguro competition): feature k is replaced
 * when the low 32 bits of mix64(key + k * 0x9E3779B97F4A7C15) are below thr
 * (P = thr / 2**32), by the same feature of another row of X (n rows of d
 * values, row-major), drawn uniformly from the n - 1 rows other than row
 * `self` with the high 32 bits (Lemire's multiply-shift). A corrupted value
 * thus keeps its column's own distribution. Emphasis weights as for
 * masking when wt is not NULL. With n = 1 the row stays as it is. */
#define SKDAE_DEFINE_SWAP_ROW(NAME, T)                                          \
SKDAE_INLINE void NAME##_loop(const T *x, T *xt, ptrdiff_t d, uint64_t key,    \
                              uint64_t thr, const T *X, ptrdiff_t n,            \
                              ptrdiff_t self, T *wt, T alpha, T beta,           \
                              const int do_w)                                   \
{                                                                               \
    uint64_t others = n > 1 ? (uint64_t) (n - 1) : 0;                           \
    for (ptrdiff_t k = 0; k < d; k++) {                                         \
        uint64_t r = skdae_mix64(key + (uint64_t) k * 0x9E3779B97F4A7C15ull);   \
        ptrdiff_t other = (ptrdiff_t) (((r >> 32) * others) >> 32);             \
        other = n > 1 ? other + (other >= self) : self;                         \
        int hit = (r & 0xFFFFFFFFull) < thr;                                    \
        xt[k] = hit ? X[other * d + k] : x[k];                                  \
        if (do_w) wt[k] = hit ? alpha : beta;                                   \
    }                                                                           \
}                                                                               \
                                                                                \
SKDAE_CLONES                                                                    \
static void NAME(const T *x, T *xt, ptrdiff_t d, uint64_t key, uint64_t thr,    \
                 const T *X, ptrdiff_t n, ptrdiff_t self, T *wt, T alpha,       \
                 T beta)                                                        \
{                                                                               \
    if (wt == NULL)                                                             \
        NAME##_loop(x, xt, d, key, thr, X, n, self, wt, alpha, beta, 0);        \
    else                                                                        \
        NAME##_loop(x, xt, d, key, thr, X, n, self, wt, alpha, beta, 1);        \
}

SKDAE_DEFINE_SWAP_ROW(skdae_swap_row_f32, float)
SKDAE_DEFINE_SWAP_ROW(skdae_swap_row_f64, double)

/* The row kernels of the engine, one definition for float32 and float64:
 * T the type, EXP and LOG1P its exp and log(1 + e) above. */

/* A[j] = sigmoid(A[j] + bias[j]) over m contiguous values. */
#define SKDAE_DEFINE_SIGMOID_BIAS(NAME, T, EXP)                                 \
SKDAE_CLONES                                                                    \
static void NAME(T *A, const T *bias, ptrdiff_t m)                              \
{                                                                               \
    for (ptrdiff_t j = 0; j < m; j++) {                                         \
        T a = A[j] + bias[j];                                                   \
        T na = a >= 0 ? -a : a;                                                 \
        T e = EXP(na);                                                          \
        T inv = (T) 1 / ((T) 1 + e);                                            \
        A[j] = a >= 0 ? inv : e * inv;                                          \
    }                                                                           \
}

/* Cross-entropy of one row's columns [k0, k1) from decoder pre-activations
 * Zr (bias c not yet added) against the clean row Xr: overwrites Zr with
 * G_Z = w (sigmoid(z) - x) * inv_b, adds it to gc, and returns the summed loss
 * w (max(z, 0) - x z + log(1 + exp(-|z|))), with w = Wr[k] the emphasis
 * weight of the value, or 1 when Wr is NULL (the unweighted loop, a separate
 * inlined copy, so its arithmetic is exactly the plain loss's). The loss
 * terms go through a stack buffer and are summed in double in eight
 * interleaved lanes (term k into lane (k - k0) % 8), a fixed order the
 * compiler can vectorise; one sequential sum would cost a dependent add (4
 * cycles) per value. */
#define SKDAE_DEFINE_CROSS_ENTROPY_ROW(NAME, T, EXP, LOG1P)                     \
SKDAE_INLINE double NAME##_loop(T *Zr, const T *Xr, const T *c, T *gc,         \
                                const T *Wr, ptrdiff_t k0, ptrdiff_t k1,        \
                                T inv_b, const int weighted)                    \
{                                                                               \
    T terms[512];                                                               \
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                  \
    for (ptrdiff_t s0 = k0; s0 < k1; s0 += 512) {                               \
        ptrdiff_t s1 = s0 + 512 < k1 ? s0 + 512 : k1;                           \
        for (ptrdiff_t k = s0; k < s1; k++) {                                   \
            T z = Zr[k] + c[k];                                                 \
            T x = Xr[k];                                                        \
            T az = z >= 0 ? z : -z;                                             \
            T e = EXP(-az);                                                     \
            T inv = (T) 1 / ((T) 1 + e);                                        \
            T p = z >= 0 ? inv : e * inv;                                       \
            T term = (z > 0 ? z : (T) 0) - x * z + LOG1P(e);                    \
            T g = (p - x) * inv_b;                                              \
            if (weighted) {                                                     \
                term *= Wr[k];                                                  \
                g *= Wr[k];                                                     \
            }                                                                   \
            terms[k - s0] = term;                                               \
            Zr[k] = g;                                                          \
            gc[k] += g;                                                         \
        }                                                                       \
        ptrdiff_t k = 0;                                                        \
        for (; k + 8 <= s1 - s0; k += 8)                                        \
            for (int l = 0; l < 8; l++)                                         \
                lane[l] += (double) terms[k + l];                               \
        for (int l = 0; k < s1 - s0; k++, l++)                                  \
            lane[l] += (double) terms[k];                                       \
    }                                                                           \
    return ((lane[0] + lane[1]) + (lane[2] + lane[3]))                          \
         + ((lane[4] + lane[5]) + (lane[6] + lane[7]));                         \
}                                                                               \
                                                                                \
SKDAE_CLONES                                                                    \
static double NAME(T *Zr, const T *Xr, const T *c, T *gc, const T *Wr,          \
                   ptrdiff_t k0, ptrdiff_t k1, T inv_b)                         \
{                                                                               \
    if (Wr == NULL)                                                             \
        return NAME##_loop(Zr, Xr, c, gc, Wr, k0, k1, inv_b, 0);                \
    return NAME##_loop(Zr, Xr, c, gc, Wr, k0, k1, inv_b, 1);                    \
}

/* Squared error of one row's columns [k0, k1), as the cross-entropy kernel:
 * output o(z) = z (sigmoid_out = 0) or sigmoid(z), loss w (o - x)**2 / 2 per
 * value (in double, eight lanes), Zr overwritten with G_Z = w dL/dz * inv_b,
 * also added to gc; w from Wr as for the cross-entropy. NAME##_value is one
 * value and NAME##_lanes the loop, inlined with constant flags so that the
 * identity loop does not compute (and discard) the sigmoid, as it would
 * after if-conversion of a runtime test, and the unweighted loop does not
 * multiply by weights. */
#define SKDAE_DEFINE_SQUARED_ERROR_ROW(NAME, T, EXP)                            \
SKDAE_INLINE double NAME##_value(T *Zr, const T *Xr, const T *c, T *gc,         \
                                 const T *Wr, ptrdiff_t k, T inv_b,             \
                                 int sigmoid_out, int weighted)                 \
{                                                                               \
    T z = Zr[k] + c[k];                                                         \
    T o = z, slope = 1;                                                         \
    if (sigmoid_out) {                                                          \
        T nz = z >= 0 ? -z : z;                                                 \
        T e = EXP(nz);                                                          \
        T inv = (T) 1 / ((T) 1 + e);                                            \
        o = z >= 0 ? inv : e * inv;                                             \
        slope = o * ((T) 1 - o);                                                \
    }                                                                           \
    T diff = o - Xr[k];                                                         \
    T g = diff * slope * inv_b;                                                 \
    double term = 0.5 * (double) diff * (double) diff;                          \
    if (weighted) {                                                             \
        g *= Wr[k];                                                             \
        term *= (double) Wr[k];                                                 \
    }                                                                           \
    Zr[k] = g;                                                                  \
    gc[k] += g;                                                                 \
    return term;                                                                \
}                                                                               \
                                                                                \
SKDAE_INLINE double NAME##_lanes(T *Zr, const T *Xr, const T *c, T *gc,         \
                                 const T *Wr, ptrdiff_t k0, ptrdiff_t k1,       \
                                 T inv_b, const int sigmoid_out,                \
                                 const int weighted)                            \
{                                                                               \
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                  \
    ptrdiff_t k = k0;                                                           \
    for (; k + 8 <= k1; k += 8)                                                 \
        for (int l = 0; l < 8; l++)                                             \
            lane[l] += NAME##_value(Zr, Xr, c, gc, Wr, k + l, inv_b,            \
                                    sigmoid_out, weighted);                     \
    for (int l = 0; k < k1; k++, l++)                                           \
        lane[l] += NAME##_value(Zr, Xr, c, gc, Wr, k, inv_b, sigmoid_out,       \
                                weighted);                                      \
    return ((lane[0] + lane[1]) + (lane[2] + lane[3]))                          \
         + ((lane[4] + lane[5]) + (lane[6] + lane[7]));                         \
}                                                                               \
                                                                                \
SKDAE_CLONES                                                                    \
static double NAME(T *Zr, const T *Xr, const T *c, T *gc, const T *Wr,          \
                   ptrdiff_t k0, ptrdiff_t k1, T inv_b, int sigmoid_out)        \
{                                                                               \
    if (Wr == NULL) {                                                           \
        if (sigmoid_out)                                                        \
            return NAME##_lanes(Zr, Xr, c, gc, Wr, k0, k1, inv_b, 1, 0);        \
        return NAME##_lanes(Zr, Xr, c, gc, Wr, k0, k1, inv_b, 0, 0);            \
    }                                                                           \
    if (sigmoid_out)                                                            \
        return NAME##_lanes(Zr, Xr, c, gc, Wr, k0, k1, inv_b, 1, 1);            \
    return NAME##_lanes(Zr, Xr, c, gc, Wr, k0, k1, inv_b, 0, 1);                \
}

SKDAE_DEFINE_SIGMOID_BIAS(skdae_sigmoid_bias_f32, float, skdae_expf)
SKDAE_DEFINE_SIGMOID_BIAS(skdae_sigmoid_bias_f64, double, skdae_exp)
SKDAE_DEFINE_CROSS_ENTROPY_ROW(skdae_cross_entropy_row_f32, float, skdae_expf,
                               skdae_log1p_unit)
SKDAE_DEFINE_CROSS_ENTROPY_ROW(skdae_cross_entropy_row_f64, double, skdae_exp,
                               skdae_log1p_unit64)
SKDAE_DEFINE_SQUARED_ERROR_ROW(skdae_squared_error_row_f32, float, skdae_expf)
SKDAE_DEFINE_SQUARED_ERROR_ROW(skdae_squared_error_row_f64, double, skdae_exp)

#endif
