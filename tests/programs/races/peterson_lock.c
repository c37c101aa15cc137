/* peterson_lock.c: Peterson's mutual exclusion for two threads with
 * sequentially consistent C11 atomics (the flags and `turn` are stored with
 * `xchg`, loaded with plain `mov`s); each thread bumps a plain counter
 * inside the lock. Race-free. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int interested[2];
static atomic_int turn;
static long counter;

static void lock(int me)
{
    int other = 1 - me;
    atomic_store(&interested[me], 1);
    atomic_store(&turn, other);
    while (atomic_load(&interested[other]) && atomic_load(&turn) == other)
        ;
}

static void unlock(int me)
{
    atomic_store(&interested[me], 0);
}

static void *worker(void *arg)
{
    int me = (int)(long)arg;
    for (int i = 0; i < 2000; i++) {
        lock(me);
        counter++;
        unlock(me);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("counter %ld\n", counter);
    return 0;
}
