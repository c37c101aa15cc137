/* atomic_builtin_counter.c: two threads increment a counter with the GCC
 * __atomic_fetch_add builtin (LOCK XADD); atomic accesses never race with
 * each other. Race-free. */
#include <pthread.h>
#include <stdio.h>

unsigned long counter;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    worker(NULL);
    pthread_join(t, NULL);
    printf("counter %lu\n", counter);
    return 0;
}
