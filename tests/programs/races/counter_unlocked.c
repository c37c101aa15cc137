/* counter_unlocked.c: a worker increments a global counter while main reads
 * it; no lock and nothing orders the two accesses.
 * expect-race: write 4 counter_unlocked.c:13 / read 4 counter_unlocked.c:21 */
#include <pthread.h>
#include <stdio.h>

int counter;
volatile int sink;

static void *worker(void *arg)
{
    (void)arg;
    counter += 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    sink = counter;
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
