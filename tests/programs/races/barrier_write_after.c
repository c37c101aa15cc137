/* barrier_write_after.c: both threads pass a barrier; afterwards one writes
 * a global and the other reads it. The barrier orders only what came before
 * it.
 * expect-race: write 4 barrier_write_after.c:16 / read 4 barrier_write_after.c:26 */
#include <pthread.h>
#include <stdio.h>

pthread_barrier_t barrier;
int shared;
volatile int sink;

static void *worker(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&barrier);
    shared = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_create(&t, NULL, worker, NULL);
    pthread_barrier_wait(&barrier);
    sink = shared;
    pthread_join(t, NULL);
    pthread_barrier_destroy(&barrier);
    printf("done\n");
    return 0;
}
