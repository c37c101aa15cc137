/* annotate_benign_race.c: a progress word is written by a worker and read by
 * main without synchronisation, declared benign with
 * ANNOTATE_BENIGN_RACE_SIZED before the threads start; a neighbouring word
 * that is not annotated is only written by the worker. No race for a tool
 * that honours Helgrind's client requests.
 * tsan-expect: race write 4 annotate_benign_race.c:18 / read 4 annotate_benign_race.c:28
 *   (TSan ignores Valgrind client requests.) */
#include <pthread.h>
#include <stdio.h>
#include <valgrind/helgrind.h>

int progress[2];
volatile int sink;

static void *worker(void *arg)
{
    (void)arg;
    progress[0] = 100;
    progress[1] = 1;
    return NULL;
}

int main(void)
{
    pthread_t t;
    ANNOTATE_BENIGN_RACE_SIZED(&progress[0], sizeof progress[0], "progress indicator");
    pthread_create(&t, NULL, worker, NULL);
    sink = progress[0];
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
