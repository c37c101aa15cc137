/* heap_unlocked.c: main and a worker both write the same element of a heap
 * array that main allocated before the create.
 * expect-race: write 4 heap_unlocked.c:11 / write 4 heap_unlocked.c:20 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *worker(void *arg)
{
    int *p = arg;
    p[3] = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    int *p = calloc(8, sizeof *p);
    pthread_create(&t, NULL, worker, p);
    p[3] = 2;
    pthread_join(t, NULL);
    free(p);
    printf("done\n");
    return 0;
}
