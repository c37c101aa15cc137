/* tests/programs/explore/spin_handoff.c (issue 12): a hand-off through
 * atomics in the wrong order, read by a spin wait. The producer raises
 * `flag` before it stores `data`; the consumer spins (no syscall, no
 * yield) until `flag` is up, then checks `data`. Only a switch between
 * the producer's two stores, with the consumer running then, lets it see
 * the flag without the data: it aborts. The atomics order everything, so
 * there is no data race. The spin also checks that a schedule lets the
 * producer run while the consumer spins (PCT drops a thread that spins
 * too long below the others). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static int flag, data;
static __thread volatile unsigned long sink;

/* Each loop iteration is one block: `n` blocks of the thread's own work. */
static void compute(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        sink += i;
}

static void *producer(void *arg)
{
    compute(300);
    __atomic_store_n(&flag, 1, __ATOMIC_SEQ_CST); /* too early */
    compute(5000);
    __atomic_store_n(&data, 42, __ATOMIC_SEQ_CST);
    return arg;
}

static void *consumer(void *arg)
{
    while (!__atomic_load_n(&flag, __ATOMIC_SEQ_CST))
        __builtin_ia32_pause();
    if (__atomic_load_n(&data, __ATOMIC_SEQ_CST) != 42)
        abort();
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
