/* atomic_acquire_release_rmw.c: message passing where both flag operations
 * are read-modify-writes: the producer releases with an atomic exchange, the
 * consumer acquires with a compare-and-swap loop (LOCK CMPXCHG and XCHG on
 * x86). Race-free. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

atomic_int ready;
long data[2];

static void *producer(void *arg)
{
    (void)arg;
    data[0] = 4;
    data[1] = 2;
    atomic_exchange_explicit(&ready, 1, memory_order_release);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    int expected = 1;
    while (!atomic_compare_exchange_weak_explicit(&ready, &expected, 2, memory_order_acquire,
                                                  memory_order_relaxed))
        expected = 1;
    printf("data %ld%ld\n", data[0], data[1]);
    pthread_join(t, NULL);
    return 0;
}
