/* heap_aligned_race.c: main allocates one block with aligned_alloc and one
 * with posix_memalign, hands both to a worker, and both threads write one
 * element of each: two races, each described as inside its own block (of
 * the size asked for) with the allocation call's stack.
 * expect-race: write 4 heap_aligned_race.c:20 / write 4 heap_aligned_race.c:35
 * expect-race: write 8 heap_aligned_race.c:21 / write 8 heap_aligned_race.c:36 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct blocks {
    int *ints;
    long *longs;
};

static void *worker(void *arg)
{
    struct blocks *b = arg;
    __asm__ volatile("" ::: "memory");
    b->ints[3] = 1;
    b->longs[10] = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    struct blocks b;
    void *p = NULL;
    b.ints = aligned_alloc(64, 128);
    if (posix_memalign(&p, 256, 512) != 0)
        return 1;
    b.longs = p;
    pthread_create(&t, NULL, worker, &b);
    b.ints[3] = 2;
    b.longs[10] = 2;
    pthread_join(t, NULL);
    free(b.ints);
    free(b.longs);
    printf("done\n");
    return 0;
}
