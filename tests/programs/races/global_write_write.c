/* global_write_write.c: two threads store to the same global int without
 * synchronisation: a write/write race.
 * expect-race: write 4 global_write_write.c:12 / write 4 global_write_write.c:20 */
#include <pthread.h>
#include <stdio.h>

int shared;

static void *worker(void *arg)
{
    (void)arg;
    shared = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    shared = 2;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
