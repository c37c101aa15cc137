/* thread_local.c: each thread writes and reads its own copy of a __thread
 * variable (FS-relative accesses). Race-free. */
#include <pthread.h>
#include <stdio.h>

__thread unsigned long scratch;

static long work(long seed)
{
    for (int i = 0; i < 100; i++)
        scratch = scratch * 3 + seed;
    return (long)(scratch % 1000);
}

static void *worker(void *arg)
{
    return (void *)work((long)arg);
}

int main(void)
{
    pthread_t t;
    void *theirs;
    pthread_create(&t, NULL, worker, (void *)2L);
    long mine = work(1);
    pthread_join(t, &theirs);
    printf("%ld %ld\n", mine, (long)theirs);
    return 0;
}
