/* futex_semaphore.c: a counting semaphore made of a futex word: post adds
 * one with a release fetch_add and wakes a sleeper; wait takes one with an
 * acquire compare-and-swap, sleeping in FUTEX_WAIT while the count is 0.
 * The producer fills slot i and posts; the consumer waits and reads slot i.
 * Race-free. */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_int count;
static int slots[32];

static void sem_up(void)
{
    atomic_fetch_add_explicit(&count, 1, memory_order_release);
    syscall(SYS_futex, &count, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void sem_down(void)
{
    for (;;) {
        int c = atomic_load_explicit(&count, memory_order_relaxed);
        if (c > 0 && atomic_compare_exchange_weak_explicit(&count, &c, c - 1,
                                                           memory_order_acquire,
                                                           memory_order_relaxed))
            return;
        if (c == 0)
            syscall(SYS_futex, &count, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    }
}

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 32; i++) {
        slots[i] = i * 3;
        sem_up();
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    int sum = 0;
    for (int i = 0; i < 32; i++) {
        sem_down();
        sum += slots[i];
    }
    pthread_join(t, NULL);
    printf("%d\n", sum);
    return 0;
}
