/* tests/programs/explore/lock_order_deadlock.c (issue 12, item 5): a
 * deadlock that only some schedules reach. One thread takes `a` then `b`,
 * the other `b` then `a`, each with some work between: when a switch lands
 * while each holds its first lock, both wait forever (and main in its
 * join); otherwise the run ends, and the race tool reports the lock order
 * it saw violated. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;
static __thread volatile unsigned long sink;

/* Each loop iteration is one block: `n` blocks of the thread's own work. */
static void compute(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        sink += i;
}

static void *a_then_b(void *arg)
{
    compute(2000);
    pthread_mutex_lock(&a);
    compute(6000);
    pthread_mutex_lock(&b);
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);
    return arg;
}

static void *b_then_a(void *arg)
{
    compute(2000);
    pthread_mutex_lock(&b);
    compute(6000);
    pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a);
    pthread_mutex_unlock(&b);
    return arg;
}

int main(void)
{
    pthread_t x, y;
    pthread_create(&x, NULL, a_then_b, NULL);
    pthread_create(&y, NULL, b_then_a, NULL);
    pthread_join(x, NULL);
    pthread_join(y, NULL);
    printf("done\n");
    return 0;
}
