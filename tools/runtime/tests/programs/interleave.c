/* interleave.c: two threads run a loop and log, without any
 * synchronisation, the iteration at which each noticed that the other one
 * had run in between: the log is the interleaving the scheduler chose.
 * Under --sched-seed the same seed must give the same log every time. */
#include <pthread.h>
#include <stdio.h>

enum { N = 3000000, LOG = 64 };
static volatile int turn_log[LOG];
static volatile int switches, last = -1;

static void *run(void *arg)
{
    int me = (int)(long)arg;
    for (int i = 0; i < N; i++) {
        if (last != me) {
            if (switches < LOG)
                turn_log[switches] = i;
            switches++;
            last = me;
        }
    }
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, run, (void *)1L);
    pthread_create(&b, NULL, run, (void *)2L);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%d switches:", switches);
    for (int i = 0; i < LOG && i < switches; i++)
        printf(" %d", turn_log[i]);
    printf("\n");
    return 0;
}
