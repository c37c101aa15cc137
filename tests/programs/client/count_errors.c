/* count_errors.c: a worker writes a global that main reads without
 * synchronisation (one race, as in races/counter_unlocked.c); after the join
 * main prints VALGRIND_COUNT_ERRORS: 1 under the race tool, 0 natively and
 * under --tool=none. */
#include <pthread.h>
#include <stdio.h>
#include <valgrind/valgrind.h>

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
    printf("errors so far: %u\n", (unsigned)VALGRIND_COUNT_ERRORS);
    return 0;
}
