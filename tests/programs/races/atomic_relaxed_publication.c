/* atomic_relaxed_publication.c: the producer writes plain data and then sets
 * a flag with memory_order_relaxed; the consumer spins on the flag (relaxed)
 * and reads the data. Relaxed atomics do not synchronise, so the data
 * accesses race; the flag itself is atomic and does not.
 * On x86-64 the relaxed store and load compile to the same `mov`s as the
 * release/acquire pair of atomic_acquire_release.c, and the hardware (TSO)
 * orders them the same way: a binary-level detector cannot tell the two
 * programs apart, and hbgrind's atomics model takes the spin loop's flag as
 * an acquire/release location (papers/race-tool.md). ThreadSanitizer sees
 * the source-level orders and reports the race the compiler may exploit.
 * expect-race: write 4 atomic_relaxed_publication.c:24 / read 4 atomic_relaxed_publication.c:35
 * hbgrind-expect: none */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

atomic_int ready;
int data;
volatile int sink;

static void *producer(void *arg)
{
    (void)arg;
    data = 42;
    atomic_store_explicit(&ready, 1, memory_order_relaxed);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    while (!atomic_load_explicit(&ready, memory_order_relaxed))
        ;
    sink = data;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
