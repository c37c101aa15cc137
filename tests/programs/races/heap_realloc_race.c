/* heap_realloc_race.c: main grows a heap array with realloc (to a size the
 * allocator cannot extend in place, so the block moves), hands the new
 * block to a worker, and both write the same element. The report describes
 * the address as inside the realloc'd block of 256 bytes.
 * expect-race: write 4 heap_realloc_race.c:15 / write 4 heap_realloc_race.c:27 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

int *guard;

static void *worker(void *arg)
{
    int *p = arg;
    p[40] = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    int *p = calloc(16, sizeof *p);
    guard = malloc(16); /* sits after p: realloc must move p */
    int *q = realloc(p, 64 * sizeof *q);
    q[0] = 0;
    pthread_create(&t, NULL, worker, q);
    q[40] = 2;
    pthread_join(t, NULL);
    free(q);
    free(guard);
    printf("done\n");
    return 0;
}
