/* atomic_acquire_release.c: message passing with C11 atomics: the producer
 * writes plain data and then a flag with memory_order_release; the consumer
 * spins on the flag with memory_order_acquire and then reads the data.
 * Race-free (C11). On x86 both flag accesses compile to plain movs. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

atomic_int ready;
int data;

static void *producer(void *arg)
{
    (void)arg;
    data = 42;
    atomic_store_explicit(&ready, 1, memory_order_release);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    while (!atomic_load_explicit(&ready, memory_order_acquire))
        ;
    printf("data %d\n", data);
    pthread_join(t, NULL);
    return 0;
}
