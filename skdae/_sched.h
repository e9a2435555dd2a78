/* The engine's thread team: phases of work items handed out on demand.
 *
 * An epoch is a sequence of phases (for a denoising autoencoder: per
 * minibatch, the decoder/loss phase and the backward+forward phase); a phase
 * is a fixed list of work items (blocks of hidden units, of columns, of
 * rows) that touch disjoint memory. Every thread of an OpenMP team runs the
 * same loop: claim the next unclaimed item of the current phase, do it,
 * report it done. The thread that completes a phase's last item runs the
 * short serial step between phases (sums, the stop decision, the next
 * minibatch's random keys) and opens the next phase.
 *
 * Why not a barrier per phase: a barrier waits for every *thread*, so one
 * thread that the operating system has descheduled (another process wants
 * its core) stalls the team until it runs again, however little work it has
 * left. Here a phase waits only for its *items*: a descheduled thread that
 * holds no item holds up nothing, the others take the remaining items. What
 * a thread computes for an item does not depend on which thread took it, so
 * results are the same bit for bit whatever the scheduling; only the number
 * of items (fixed per fit by the engine's thread count) shapes the
 * arithmetic.
 *
 * Waits spin briefly (a quiet machine hands the next phase over within
 * microseconds) and then sleep on the operating system (futex on Linux, a
 * condition variable elsewhere), so that a waiting thread gives its core back
 * at once to whoever needs it, including a descheduled team mate.
 *
 * A thread that finds one of its items took far longer than the items
 * around it (it was descheduled while holding it) steps out of the team for
 * a while (skdae_team_rest): the others carry on without it instead of
 * waiting for it the next time it is descheduled. It rejoins after the rest,
 * or when the epoch ends. */
#ifndef SKDAE_SCHED_H
#define SKDAE_SCHED_H

#include <stdint.h>
#include <string.h>
#include <stdlib.h>

#if defined(_MSC_VER)
#include <windows.h>
#include <intrin.h>
#else
#include <time.h>
#include <sched.h>
#endif

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <limits.h>
#define SKDAE_FUTEX 1
#elif !defined(_MSC_VER)
#include <pthread.h>
#define SKDAE_FUTEX 0
#else
#define SKDAE_FUTEX 0
#endif

/* ---- atomics (GCC/Clang builtins, MSVC intrinsics) ---------------------- */
#if defined(_MSC_VER)
static __forceinline int64_t skdae_load64(volatile int64_t *p) { return InterlockedOr64(p, 0); }
static __forceinline int skdae_load32(volatile long *p) { return (int) InterlockedOr(p, 0); }
static __forceinline void skdae_store64(volatile int64_t *p, int64_t v) { InterlockedExchange64(p, v); }
static __forceinline void skdae_store32(volatile long *p, int v) { InterlockedExchange(p, v); }
static __forceinline int skdae_cas64(volatile int64_t *p, int64_t expected, int64_t desired)
{ return InterlockedCompareExchange64(p, desired, expected) == expected; }
static __forceinline int skdae_add32(volatile long *p, int v) { return (int) InterlockedExchangeAdd(p, v) + v; }
static __forceinline void skdae_pause(void) { YieldProcessor(); }
typedef volatile long skdae_atomic_int;
#else
static inline int64_t skdae_load64(volatile int64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline int skdae_load32(volatile int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void skdae_store64(volatile int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline void skdae_store32(volatile int *p, int v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline int skdae_cas64(volatile int64_t *p, int64_t expected, int64_t desired)
{
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}
static inline int skdae_add32(volatile int *p, int v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }
static inline void skdae_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}
typedef volatile int skdae_atomic_int;
#endif

/* ---- clock ---------------------------------------------------------------- */
static inline int64_t skdae_now_ns(void)
{
#if defined(_MSC_VER)
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (int64_t) ((double) c.QuadPart * 1e9 / (double) f.QuadPart);
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
#endif
}

/* ---- the team ------------------------------------------------------------- */
#define SKDAE_SPIN_NS 50000      /* spin this long for the next phase, then sleep */
#define SKDAE_REST_MIN_NS 2000000   /* first rest of a descheduled thread: 2 ms */
#define SKDAE_REST_MAX_NS 64000000  /* rests double up to 64 ms */

typedef struct {
    /* phase << 32 | next unclaimed item, advanced by compare-and-swap */
    volatile int64_t ticket;
    /* the item count of phase p is n_items[p & 1]; written before the
       ticket that opens the phase, so a claimer that read the ticket reads
       the right count (a stale claimer fails its compare-and-swap) */
    volatile int n_items[2];
    skdae_atomic_int done;       /* items of the current phase completed */
    skdae_atomic_int word;       /* bumped whenever a phase opens or the epoch ends */
    skdae_atomic_int sleepers;   /* threads asleep (or about to sleep) on word */
    skdae_atomic_int ended;
    skdae_atomic_int resting;    /* threads stepped out (skdae_team_rest) */
#if !SKDAE_FUTEX && !defined(_MSC_VER)
    pthread_mutex_t mutex;
    pthread_cond_t cond;
#elif defined(_MSC_VER)
    SRWLOCK lock;
    CONDITION_VARIABLE cond;
#endif
} skdae_team;

static void skdae_team_wait_word(skdae_team *t, int seen, int64_t timeout_ns)
{
    /* sleep while t->word == seen (or until the timeout, if positive) */
#if SKDAE_FUTEX
    struct timespec ts, *tsp = NULL;
    if (timeout_ns > 0) {
        ts.tv_sec = (time_t) (timeout_ns / 1000000000);
        ts.tv_nsec = (long) (timeout_ns % 1000000000);
        tsp = &ts;
    }
    syscall(SYS_futex, (int *) &t->word, FUTEX_WAIT_PRIVATE, seen, tsp, NULL, 0);
#elif defined(_MSC_VER)
    AcquireSRWLockExclusive(&t->lock);
    if (skdae_load32(&t->word) == seen)
        SleepConditionVariableSRW(&t->cond, &t->lock,
                                  timeout_ns > 0 ? (DWORD) (timeout_ns / 1000000 + 1)
                                                 : INFINITE, 0);
    ReleaseSRWLockExclusive(&t->lock);
#else
    pthread_mutex_lock(&t->mutex);
    if (skdae_load32(&t->word) == seen) {
        if (timeout_ns > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t ns = (int64_t) ts.tv_nsec + timeout_ns;
            ts.tv_sec += (time_t) (ns / 1000000000);
            ts.tv_nsec = (long) (ns % 1000000000);
            pthread_cond_timedwait(&t->cond, &t->mutex, &ts);
        } else {
            pthread_cond_wait(&t->cond, &t->mutex);
        }
    }
    pthread_mutex_unlock(&t->mutex);
#endif
}

static void skdae_team_wake(skdae_team *t)
{
    /* the word has just changed: wake the sleepers, if any */
    if (skdae_load32(&t->sleepers) == 0)
        return;
#if SKDAE_FUTEX
    syscall(SYS_futex, (int *) &t->word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#elif defined(_MSC_VER)
    AcquireSRWLockExclusive(&t->lock);
    ReleaseSRWLockExclusive(&t->lock);
    WakeAllConditionVariable(&t->cond);
#else
    pthread_mutex_lock(&t->mutex);
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mutex);
#endif
}

/* Set up the team with its first phase of n_items items (0 or more). */
static void skdae_team_init(skdae_team *t, int n_items)
{
    memset((void *) t, 0, sizeof(*t));
    t->n_items[0] = n_items;
#if !SKDAE_FUTEX && !defined(_MSC_VER)
    pthread_mutex_init(&t->mutex, NULL);
    pthread_cond_init(&t->cond, NULL);
#elif defined(_MSC_VER)
    InitializeSRWLock(&t->lock);
    InitializeConditionVariable(&t->cond);
#endif
}

static void skdae_team_destroy(skdae_team *t)
{
#if !SKDAE_FUTEX && !defined(_MSC_VER)
    pthread_mutex_destroy(&t->mutex);
    pthread_cond_destroy(&t->cond);
#else
    (void) t;
#endif
}

/* Claim the next item: returns its index in the current phase and stores the
 * phase's sequence number in *phase; -1 once the epoch has ended. Waits
 * (spinning, then asleep) while the current phase has no unclaimed item. */
static int skdae_team_claim(skdae_team *t, int *phase)
{
    int64_t spin_until = 0;
    for (;;) {
        int64_t ticket = skdae_load64(&t->ticket);
        int p = (int) (ticket >> 32), next = (int) (ticket & 0xFFFFFFFF);
        if (next < t->n_items[p & 1]) {
            if (skdae_cas64(&t->ticket, ticket, ticket + 1)) {
                *phase = p;
                return next;
            }
            continue;
        }
        if (skdae_load32(&t->ended))
            return -1;
        /* the current phase is handed out: wait for the next one */
        if (spin_until == 0) {
            spin_until = skdae_now_ns() + SKDAE_SPIN_NS;
        } else if (skdae_now_ns() < spin_until) {
            for (int i = 0; i < 32; i++)
                skdae_pause();
        } else {
            int seen = skdae_load32(&t->word);
            skdae_add32(&t->sleepers, 1);
            if (skdae_load64(&t->ticket) == ticket && !skdae_load32(&t->ended))
                skdae_team_wait_word(t, seen, 0);
            skdae_add32(&t->sleepers, -1);
            spin_until = 0;
        }
    }
}

/* Report one item of the current phase done. Returns 1 to the thread that
 * completed the phase's last item: it must then open the next phase
 * (skdae_team_open) or end the epoch (skdae_team_end). */
static int skdae_team_finish(skdae_team *t)
{
    int64_t ticket = skdae_load64(&t->ticket);
    int p = (int) (ticket >> 32);
    return skdae_add32(&t->done, 1) == t->n_items[p & 1];
}

/* Open the next phase with n_items items (n_items >= 1). */
static void skdae_team_open(skdae_team *t, int n_items)
{
    int64_t ticket = skdae_load64(&t->ticket);
    int p = (int) (ticket >> 32) + 1;
    t->n_items[p & 1] = n_items;
    skdae_store32(&t->done, 0);
    skdae_store64(&t->ticket, (int64_t) p << 32);
    skdae_add32(&t->word, 1);
    skdae_team_wake(t);
}

/* End the epoch: every claim from now on returns -1, sleepers wake. */
static void skdae_team_end(skdae_team *t)
{
    skdae_store32(&t->ended, 1);
    skdae_add32(&t->word, 1);
    skdae_team_wake(t);
}

/* Step out of the team for up to ns nanoseconds (or until the epoch ends),
 * unless that would leave none of the n_threads working: returns 1 if it
 * rested, 0 if it did not. */
static int skdae_team_rest(skdae_team *t, int n_threads, int64_t ns)
{
    if (skdae_add32(&t->resting, 1) >= n_threads) {
        skdae_add32(&t->resting, -1);
        return 0;
    }
    int64_t until = skdae_now_ns() + ns;
    for (;;) {
        if (skdae_load32(&t->ended))
            break;
        int64_t left = until - skdae_now_ns();
        if (left <= 0)
            break;
        int seen = skdae_load32(&t->word);
        /* not counted as a sleeper: phase changes must not end the rest,
           so the word is waited on with a timeout and re-checked */
        skdae_team_wait_word(t, seen, left < 1000000 ? left : 1000000);
    }
    skdae_add32(&t->resting, -1);
    return 1;
}

#endif
