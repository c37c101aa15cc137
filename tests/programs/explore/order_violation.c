/* tests/programs/explore/order_violation.c (issue 12): an order violation
 * that only some schedules show. The producer writes `data`, then sets
 * `ready` under a lock; the consumer takes the lock, then reads `data`
 * whether or not `ready` was set. When the producer's critical section
 * comes first, its unlock orders the write before the read: no race. When
 * the consumer's comes first, nothing orders them: a race (the bug:
 * reading `data` without waiting for `ready`). Both threads compute for a
 * while first, so which comes first depends on when threads are switched
 * (--sched-seed). No syscall between, so a seed gives the same schedule
 * every time. */
#include <pthread.h>
#include <stdio.h>

static int data;
static int ready;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static __thread volatile unsigned long sink;

/* Each loop iteration is one block: `n` blocks of the thread's own work. */
static void compute(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        sink += i;
}

static void *producer(void *arg)
{
    compute(10000);
    data = 42;
    pthread_mutex_lock(&m);
    ready = 1;
    pthread_mutex_unlock(&m);
    return arg;
}

static void *consumer(void *arg)
{
    compute(1000);
    pthread_mutex_lock(&m);
    int r = ready;
    pthread_mutex_unlock(&m);
    sink += (unsigned long)(r + data);
    return arg;
}

int main(void)
{
    pthread_t p, c;
    pthread_create(&p, NULL, producer, NULL);
    pthread_create(&c, NULL, consumer, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    printf("done\n");
    return 0;
}
