/* tests/programs/explore/lost_update.c (issue 12): a lost update. Each
 * worker reads the counter in one critical section and writes back the
 * incremented value in another, some work later. Only when a switch lands
 * between a worker's load and its store, and the other worker loads
 * meanwhile, is an increment lost: main then aborts. No data race: every
 * access is locked; the atomicity violation shows only as the abort. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long counter;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static __thread volatile unsigned long sink;

/* Each loop iteration is one block: `n` blocks of the thread's own work. */
static void compute(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        sink += i;
}

static void *incrementer(void *arg)
{
    compute(300);
    pthread_mutex_lock(&m);
    long seen = counter; /* the load */
    pthread_mutex_unlock(&m);
    compute(4000);
    pthread_mutex_lock(&m);
    counter = seen + 1; /* the store */
    pthread_mutex_unlock(&m);
    return arg;
}

int main(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, incrementer, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    if (counter != 3)
        abort();
    printf("done\n");
    return 0;
}
