/* qemu_rcu.h: QEMU's RCU (util/rcu.c, include/qemu/rcu.h) and QemuEvent
 * (util/qemu-thread-posix.c) in small, as QEMU 7.2 compiles them on x86-64,
 * for qemu_rcu.c and qemu_rcu_racy.c. Each reader thread has a
 * thread-local rcu_reader {ctr, waiting, depth}; rcu_read_lock stores the
 * grace-period counter into ctr and fences, rcu_read_unlock stores 0,
 * fences, and if the updater marked it `waiting`, clears the flag and sets
 * rcu_gp_event. All of those are relaxed atomics (plain `mov`s) around
 * smp_mb(), which GCC emits as `lock or qword [rsp], 0`. synchronize_rcu
 * advances the counter, marks every registered reader waiting, fences,
 * drops the readers whose ctr is 0 or current, and sleeps on rcu_gp_event
 * (a futex QemuEvent: 0 set, 1 free, -1 busy) until all have left. The
 * function names are QEMU's, so QEMU's lock model applies. */
#if defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic ignored "-Wtsan" /* TSan ignores fences; the tests say what that changes */
#endif
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define qatomic_read(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define qatomic_set(p, v) __atomic_store_n(p, v, __ATOMIC_RELAXED)
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

/* QemuEvent (util/qemu-thread-posix.c): 0 set, 1 free, -1 busy. */
typedef struct {
    unsigned value;
} QemuEvent;

__attribute__((noinline)) void qemu_event_set(QemuEvent *ev)
{
    smp_mb();
    if (qatomic_read(&ev->value) != 0 && __atomic_exchange_n(&ev->value, 0, __ATOMIC_SEQ_CST) == -1u)
        syscall(SYS_futex, &ev->value, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

__attribute__((noinline)) void qemu_event_reset(QemuEvent *ev)
{
    if (qatomic_read(&ev->value) == 0)
        __atomic_fetch_or(&ev->value, 1, __ATOMIC_SEQ_CST);
}

__attribute__((noinline)) void qemu_event_wait(QemuEvent *ev)
{
    unsigned value = __atomic_load_n(&ev->value, __ATOMIC_ACQUIRE);
    if (value == 0)
        return;
    if (value == 1) {
        unsigned expected = 1;
        if (!__atomic_compare_exchange_n(&ev->value, &expected, -1u, false, __ATOMIC_SEQ_CST,
                                         __ATOMIC_SEQ_CST) && expected == 0)
            return;
    }
    syscall(SYS_futex, &ev->value, FUTEX_WAIT, -1u, NULL, NULL, 0);
}

struct rcu_reader_data {
    unsigned long ctr;
    bool waiting;
    unsigned depth;
    struct rcu_reader_data *next;
};

static __thread struct rcu_reader_data rcu_reader;
unsigned long rcu_gp_ctr = 1;
QemuEvent rcu_gp_event;
static pthread_mutex_t rcu_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rcu_reader_data *registry;

static inline void rcu_read_lock(void)
{
    struct rcu_reader_data *r = &rcu_reader;
    if (r->depth++ > 0)
        return;
    qatomic_set(&r->ctr, qatomic_read(&rcu_gp_ctr));
    smp_mb();
}

static inline void rcu_read_unlock(void)
{
    struct rcu_reader_data *r = &rcu_reader;
    if (--r->depth > 0)
        return;
    __atomic_store_n(&r->ctr, 0, __ATOMIC_RELEASE);
    smp_mb();
    if (qatomic_read(&r->waiting)) {
        qatomic_set(&r->waiting, false);
        qemu_event_set(&rcu_gp_event);
    }
}

static void rcu_register_thread(void)
{
    pthread_mutex_lock(&rcu_registry_lock);
    rcu_reader.next = registry;
    registry = &rcu_reader;
    pthread_mutex_unlock(&rcu_registry_lock);
}

static void rcu_unregister_thread(void)
{
    pthread_mutex_lock(&rcu_registry_lock);
    for (struct rcu_reader_data **p = &registry; *p; p = &(*p)->next)
        if (*p == &rcu_reader) {
            *p = rcu_reader.next;
            break;
        }
    pthread_mutex_unlock(&rcu_registry_lock);
}

static bool rcu_gp_ongoing(unsigned long *ctr)
{
    /* QEMU reads it relaxed and relies on the fences; acquire is the same
     * `mov` and tells ThreadSanitizer, which ignores fences, the same. */
    unsigned long v = __atomic_load_n(ctr, __ATOMIC_ACQUIRE);
    return v && v != rcu_gp_ctr;
}

__attribute__((noinline)) void synchronize_rcu(void)
{
    pthread_mutex_lock(&rcu_registry_lock);
    qatomic_set(&rcu_gp_ctr, rcu_gp_ctr + 2);
    for (;;) {
        qemu_event_reset(&rcu_gp_event);
        for (struct rcu_reader_data *r = registry; r; r = r->next)
            qatomic_set(&r->waiting, true);
        smp_mb();
        bool busy = false;
        for (struct rcu_reader_data *r = registry; r; r = r->next) {
            if (rcu_gp_ongoing(&r->ctr))
                busy = true;
            else
                qatomic_set(&r->waiting, false);
        }
        if (!busy)
            break;
        pthread_mutex_unlock(&rcu_registry_lock);
        qemu_event_wait(&rcu_gp_event);
        pthread_mutex_lock(&rcu_registry_lock);
    }
    pthread_mutex_unlock(&rcu_registry_lock);
}

