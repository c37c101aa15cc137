/* c11_spinlock_flag_racy.c: as c11_spinlock_flag.c, but main writes the
 * counter without taking the atomic_flag lock the worker reads it under.
 * expect-race: read 8 c11_spinlock_flag_racy.c:17 / write 8 c11_spinlock_flag_racy.c:26 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

atomic_flag lock = ATOMIC_FLAG_INIT;
long counter;
volatile long sink;

static void *worker(void *arg)
{
    (void)arg;
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
        ;
    sink = counter;
    atomic_flag_clear_explicit(&lock, memory_order_release);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    counter = 100;
    pthread_join(t, NULL);
    printf("%d\n", counter >= 100);
    return 0;
}
