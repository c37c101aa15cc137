/* futex_mutex.c: a hand-written futex mutex (a compare-and-swap from 0 to 1
 * takes it, contention marks it 2 and sleeps in FUTEX_WAIT; unlocking
 * decrements it with LOCK XADD and, if someone may sleep, stores 0 with a
 * release store and calls FUTEX_WAKE). Three threads bump a plain counter
 * under it. Race-free. */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_int mutex;
static long counter;

static void futex(atomic_int *word, int op, int val)
{
    syscall(SYS_futex, (int *)word, op, val, NULL, NULL, 0);
}

static void lock(atomic_int *m)
{
    int c = 0;
    if (atomic_compare_exchange_strong(m, &c, 1))
        return;
    if (c != 2)
        c = atomic_exchange(m, 2);
    while (c != 0) {
        futex(m, FUTEX_WAIT_PRIVATE, 2);
        c = atomic_exchange(m, 2);
    }
}

static void unlock(atomic_int *m)
{
    if (atomic_fetch_sub(m, 1) != 1) {
        atomic_store_explicit(m, 0, memory_order_release);
        futex(m, FUTEX_WAKE_PRIVATE, 1);
    }
}

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        lock(&mutex);
        counter++;
        unlock(&mutex);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("counter %ld\n", counter);
    return 0;
}
