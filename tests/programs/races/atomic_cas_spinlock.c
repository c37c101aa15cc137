/* atomic_cas_spinlock.c: a hand-written spin lock (__atomic_compare_exchange
 * with acquire, __atomic_store_n with release) protects a plain counter.
 * Race-free. */
#include <pthread.h>
#include <stdio.h>

int lock_word;
long counter;

static void acquire(void)
{
    int expected = 0;
    while (!__atomic_compare_exchange_n(&lock_word, &expected, 1, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
        expected = 0;
}

static void release(void)
{
    __atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);
}

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        acquire();
        counter++;
        release();
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    worker(NULL);
    pthread_join(t, NULL);
    printf("counter %ld\n", counter);
    return 0;
}
