/* seqlock_racy.c: the sequence lock of seqlock_atomic.c, but the writer
 * also keeps a plain (not atomic) generation count inside its write
 * section, and the readers read it under the sequence check. A seqlock
 * reader runs alongside the writer by design (the writer waits until both
 * readers have started), so the plain field read under it races with the
 * writer's stores, and ThreadSanitizer reports it. hbgrind does not: the
 * reader's retry loop only loads and branches back to itself, which the
 * atomics model takes for a spin wait, and so every load in it for an
 * acquire load of a flag (README, limits).
 * tsan-expect: race write 8 seqlock_racy.c:31 / read 8 seqlock_racy.c:49 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_uint sequence;
static atomic_long first, second;
static long checked;
static long generation;
static atomic_int started;

static void *writer(void *arg)
{
    (void)arg;
    while (atomic_load(&started) < 2) /* both readers run alongside */
        sched_yield();
    for (long i = 1; i <= 500; i++) {
        atomic_fetch_add(&sequence, 1);
        atomic_store(&first, i);
        atomic_store(&second, -i);
        generation = i;
        atomic_fetch_add(&sequence, 1);
    }
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    long good = 0;
    atomic_fetch_add(&started, 1);
    for (int i = 0; i < 500; i++) {
        unsigned before, after;
        long a, b, g;
        do {
            before = atomic_load(&sequence);
            a = atomic_load(&first);
            b = atomic_load(&second);
            g = generation;
            after = atomic_load(&sequence);
        } while ((before & 1) || before != after);
        good += (a == -b) + (g < 0);
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
