/* seqlock_atomic.c: a sequence lock written with C11 atomics. The writer
 * makes the sequence odd with an atomic increment, stores the two halves
 * of a pair with seq_cst atomic stores, and makes it even again; readers
 * load the sequence, the pair, and the sequence again, retrying while it
 * was odd or changed. Every shared access is atomic: race-free. (With
 * relaxed stores of the pair the data would be plain `mov`s that nothing
 * shows to be atomic, and hbgrind would report them: README, limits.) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_uint sequence;
static atomic_long first, second;
static long checked;

static void *writer(void *arg)
{
    (void)arg;
    for (long i = 1; i <= 500; i++) {
        atomic_fetch_add(&sequence, 1);
        atomic_store(&first, i);
        atomic_store(&second, -i);
        atomic_fetch_add(&sequence, 1);
    }
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    long good = 0;
    for (int i = 0; i < 500; i++) {
        unsigned before, after;
        long a, b;
        do {
            before = atomic_load(&sequence);
            a = atomic_load(&first);
            b = atomic_load(&second);
            after = atomic_load(&sequence);
        } while ((before & 1) || before != after);
        good += (a == -b);
    }
    return (void *)good;
}

int main(void)
{
    pthread_t w, r[2];
    pthread_create(&w, NULL, writer, NULL);
    for (int i = 0; i < 2; i++)
        pthread_create(&r[i], NULL, reader, NULL);
    pthread_join(w, NULL);
    for (int i = 0; i < 2; i++) {
        void *good;
        pthread_join(r[i], &good);
        checked += (long)good;
    }
    printf("consistent %ld\n", checked);
    return 0;
}
