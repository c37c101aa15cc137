/* atomic_vs_plain.c: one thread updates a word with __atomic_fetch_add, the
 * other reads it with a plain load. In C an atomic access races with a
 * plain one, and ThreadSanitizer, which sees the source, says so. In the
 * machine code the plain load is the same `mov` as a relaxed (or acquire)
 * atomic load, and hbgrind's atomics model takes every load and store of a
 * word that LOCK-prefixed instructions update as atomic (README, limits):
 * it cannot tell this program from a correct one and reports nothing.
 * expect-race: write 4 atomic_vs_plain.c:19 / read 4 atomic_vs_plain.c:27
 * hbgrind-expect: none */
#include <pthread.h>
#include <stdio.h>

int hits;
volatile int sink;

static void *worker(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&hits, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    sink = hits;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
