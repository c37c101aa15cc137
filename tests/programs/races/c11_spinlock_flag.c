/* c11_spinlock_flag.c: a spin lock made of a C11 atomic_flag: test-and-set
 * with acquire to take it, clear with release to give it back. Three
 * threads bump a shared counter under it. Race-free. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

atomic_flag lock = ATOMIC_FLAG_INIT;
long counter;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
            ;
        counter++;
        atomic_flag_clear_explicit(&lock, memory_order_release);
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
    printf("%ld\n", counter);
    return 0;
}
