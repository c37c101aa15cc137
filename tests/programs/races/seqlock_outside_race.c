/* seqlock_outside_race.c: the sequence lock of seqlock_atomic.c, with a
 * plain generation count the writer updates after closing each write
 * section and the readers read after each successful check, outside the
 * retry loop. The count is not protected by the sequence (a reader's check
 * orders it only after write sections that ended before): it races with
 * the writer's next store.
 * expect-race: write 8 seqlock_outside_race.c:29 / read 8 seqlock_outside_race.c:49 */
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
        atomic_fetch_add(&sequence, 1);
        generation = i;
    }
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    long good = 0;
    volatile long seen;
    atomic_fetch_add(&started, 1);
    for (int i = 0; i < 500; i++) {
        unsigned before, after;
        long a, b;
        do {
            before = atomic_load(&sequence);
            a = atomic_load(&first);
            b = atomic_load(&second);
            after = atomic_load(&sequence);
        } while ((before & 1) || before != after);
        seen = generation;
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
