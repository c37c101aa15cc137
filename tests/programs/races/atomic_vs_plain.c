/* atomic_vs_plain.c: one thread updates a word with __atomic_fetch_add, the
 * other reads it with a plain load. An atomic access races with a plain one.
 * expect-race: write 4 atomic_vs_plain.c:13 / read 4 atomic_vs_plain.c:21 */
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
