/* heap_handoff_join.c: a worker allocates and fills a heap block and returns
 * it through pthread_exit's value; main reads it after the join. Race-free. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *worker(void *arg)
{
    (void)arg;
    long *p = malloc(16 * sizeof *p);
    for (int i = 0; i < 16; i++)
        p[i] = i * i;
    return p;
}

int main(void)
{
    pthread_t t;
    void *ret;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, &ret);
    long *p = ret;
    long sum = 0;
    for (int i = 0; i < 16; i++)
        sum += p[i];
    free(p);
    printf("sum %ld\n", sum);
    return 0;
}
